"""The one writer of each person table (issue 24, "One way in for people, places and accounts").

Each module here is the only code that creates, changes or ends rows of its tables, and it applies
``domain.policy`` on every write, for the actor who causes it (and, for deferred writes, for the requester too):

- ``people``      — ``people`` (a person's own fields)
- ``memberships`` — ``members`` (a place as 团员 in a 团支部)
- ``posts``       — ``cadre_posts`` and ``post_changes`` (a place as 团干部)
- ``grants``      — ``admin_grants`` (a place as 管理员)
- ``accounts``    — ``accounts``, ``first_login_codes`` and ``reset_codes`` (what opens an account)

Forms, imports, 上报文件, approvals, transfers, registration, the CLI and the demo call these owners (bulk paths through
their set-at-a-time functions); ``tests/test_owners.py`` fails when any other module writes those models.
"""
