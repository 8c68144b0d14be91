"""``make bench``: the platform's speed, measured against a minimal reference in the same run.

``python -m lfi_bench`` ensures PostgreSQL and NATS as the devstack does, makes a database
(``lfi_bench_<id>``), roles and a NATS namespace of its own, runs each scenario, prints a table
of every figure beside its target and writes the same as JSON (``bench/results/latest.json``).
See ``tools/bench/README.md``.
"""
