"""Read-only query functions per domain (SQL aggregates, frames out) that the pages show.

Nothing here writes: the edits people make are in `amzinsight.edits`, the pure rules the queries
apply in `amzinsight.rules`, and cache invalidation in `amzinsight.cache`.
"""
