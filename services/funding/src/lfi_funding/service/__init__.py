"""Use cases of the funding service: load → domain → persist → outbox. They flush, never commit.

- ``context``: who acts, when, and how events are recorded.
- ``budgets``: draft, revise, approve and adjust a year's budget.
- ``formula``: formula versions, CSV inputs, what-if previews, publishing allocations.
- ``applications``: applications, panels, decisions and commitments.
- ``payments``: term dates, payment schedules and payment runs.
- ``reports``: budget, committed, paid and remaining; year-on-year history.
- ``read_models``: schools and zones from the referrals service's events.
"""
