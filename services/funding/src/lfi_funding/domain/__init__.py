"""Domain layer of the funding service: rules and state machines, no I/O.

- ``money``: pence and pound strings, largest-remainder apportionment.
- ``financial_year``: ``FinancialYear`` ("2025-26", 1 April to 31 March).
- ``formula``: the versioned Element 3 formula (factors and weights as data).
- ``allocation``: ``allocate()`` the formula block to schools, explained per factor.
- ``what_if``: compare two allocations.
- ``budget``: ``Element3Budget``: blocks, approval, adjustments, commitments.
- ``applications``: cohort / whole-school applications and panel decisions.
- ``payments``: termly instalments (4/12, 3/12, 5/12 as data) and mid-year awards.
- ``seed_data``: published and illustrative figures to seed.
- ``errors``: the domain's problem types.
"""
