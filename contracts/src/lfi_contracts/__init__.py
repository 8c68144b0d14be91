"""The published event contracts of every service: the public interface between them.

Each producing service owns one module (``lfi_contracts.referrals`` …) and only it publishes
those types; any service may consume them. Contracts only ever grow: a field is added with a
default; removing or retyping one is a new ``vN`` type. ``all_contracts()`` imports every
module, so the event catalogue sees every type.
"""

from __future__ import annotations

import importlib

from lfi_shared.messaging import EventCatalogue, contract_registry

PRODUCERS = ("referrals", "placements", "funding")


def all_contracts() -> EventCatalogue:
    """A catalogue of every published contract of the platform's producers.

    Only these producers' types: a process may declare other contracts (a test's own, say),
    which are not part of what the platform publishes.
    """
    for producer in PRODUCERS:
        importlib.import_module(f"lfi_contracts.{producer}")
    catalogue = EventCatalogue()
    for contract in contract_registry:
        if contract.producer() in PRODUCERS:
            catalogue.register(contract)
    return catalogue
