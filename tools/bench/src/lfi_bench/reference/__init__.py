"""The reference: a minimal FastAPI app measured in the same run as the services.

One endpoint inserts one row with SQLAlchemy (async, asyncpg), one reads a single row by key.
It runs under the very same command line as the services (:func:`lfi_shared.cli.service_main`,
so the same uvicorn options: one worker, uvloop, httptools, no access log) with the same
engine settings (:class:`lfi_shared.db.Database`, the services' pool size), and nothing else:
no token check, no middleware, no outbox. What a service costs beyond it is what the
platform's conventions cost.
"""
