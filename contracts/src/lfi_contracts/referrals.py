"""Events published by the referrals service (``lfi.referrals.*``)."""

from __future__ import annotations
