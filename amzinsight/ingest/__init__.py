"""The one ingestion path: fetch -> archive -> parse -> upsert -> record the run."""
