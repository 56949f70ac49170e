"""Query functions per domain (SQL aggregates, frames out) and the decision logic pages show."""
