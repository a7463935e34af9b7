"""Application services: the SQL that crosses the domain packages (``campaigns`` and ``lists``)
and the daemon's tables — diagnostics, scheduled jobs, the compliance report, retargeting, the
campaign report, and the campaign and list views the CLI shows.

Layer: above the domain (``campaigns``, ``lists``), the pure core and the daemon's storage
(``dialer.models``, ``dialer.claim``, ``dialer.schema``); below the shell (engine, API, scheduler,
server, demo, CLI), which is the only importer.  See docs/architecture.md, "Layers".
"""
