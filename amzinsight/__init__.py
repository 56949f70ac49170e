"""AmzInsight core: settings, schema, Amazon clients, ingestion and analytics (no UI, no queue)."""

__version__ = "0.1.0"
