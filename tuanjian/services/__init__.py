"""Use cases. They take (session, actor, inputs), call domain rules, read and write models.

They never commit and never touch the request: the caller (a view or a CLI command) commits once.
"""
