"""Clients for Amazon's APIs (or the sandbox): auth, request, poll, download, retry."""
