"""Events published by the placements service (``lfi.placements.*``)."""

from __future__ import annotations
