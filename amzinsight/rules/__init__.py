"""Rules as pure functions and constants: no database, no network, no files.

Periods and date ranges, the listing rules and score, how settlement lines are classified: the
queries in `amzinsight.analytics`, the edits, ingestion and the assistant apply them from here.
"""
