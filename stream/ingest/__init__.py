"""The HTTP ingest endpoint: validate events exactly as the worker does, then produce them.

``auth`` resolves and checks the bearer token, ``batch`` turns a request body into
validated lines (pure), ``producer`` owns the aiokafka producer and its connection state,
``server`` is the aiohttp application. ``supportpulse ingest`` (``stream.cli.ingest_cmd``)
wires them together.
"""
