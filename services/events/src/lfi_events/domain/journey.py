"""Which referral's journey an event belongs to.

By convention (DESIGN §3) the journey's correlation id is the referral's own id; events about a
referral carry it as ``data.referral_id`` (placements and funding) or as their subject (the
referral aggregate's own events). The store keeps the id it finds here in ``referral_id`` so a
timeline is three index look-ups: subject, correlation id and referral id.
"""

from __future__ import annotations

from typing import Any

REFERRAL_AGGREGATE_PREFIX = "lfi.referrals.referral."


def referral_id_of(event_type: str, subject: str, data: dict[str, Any]) -> str | None:
    """The referral an event is about, if it says so."""
    value = data.get("referral_id")
    if isinstance(value, str) and value:
        return value.lower()
    if event_type.startswith(REFERRAL_AGGREGATE_PREFIX):
        return subject.lower()
    return None
