"""Messaging: contacts, the customer portal, the owner's inbox, files and live events.

Modules by side: `portal` (customers, by session token), `inbox` and `contacts` (owners, by workspace),
`files` (upload checks and access-checked links), `views` (what pages receive), `events` (what pages hear).
"""
