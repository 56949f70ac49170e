"""The changes people make to a store's data: unit costs, reorder settings, corrections.

Each edit validates everything first, writes in one transaction, and in that transaction makes
the store's cached query results stale (`amzinsight.cache.bump_data_version`).
"""
