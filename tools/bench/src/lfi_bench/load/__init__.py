"""The load generator: closed-loop or burst load over aiohttp, every latency recorded.

Why aiohttp and not httpx: on this project's two-core machines httpx 0.28's shared connection
pool reached about 350 requests a second against a trivial FastAPI endpoint, aiohttp's client
about 3,000; with httpx the bench would measure its own client. Locust was considered too; its
statistics are bucketed, and what is wanted here is every latency of a fixed-concurrency run.
"""
