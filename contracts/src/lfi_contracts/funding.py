"""Events published by the funding service (``lfi.funding.*``)."""

from __future__ import annotations
