"""The daemon's storage layer: one statement builder per query, for sync and async callers.

Each module holds the SQL of one subject: :mod:`.calls` (dial attempts: status, end, give
back, dispositions), :mod:`.agents` (agent rows and the state log), :mod:`.leads` (a number's
history for the rules, applying a rule's decision to a lead, the lists leads move to, the
zone keys of the calling windows), :mod:`.campaigns` (campaign rows, learned pacing state),
:mod:`.details` (a call's screen pop), :mod:`.outbox` (the webhook events written with the
outcomes they report, and their delivery state).  Functions named like ``*_stmt`` return SQLAlchemy
statements and touch no connection; the others are thin wrappers that execute them on an
async connection (``*_sync``: a sync one).  Times in and out are aware UTC (``UtcDateTime``).
"""
