"""Who is calling: the roles and scopes a validated bearer token grants.

A :class:`Principal` is built from a token's claims only after the token has been
validated (see :mod:`lfi_shared.auth.tokens`). It carries no personal data beyond the
opaque subject and an optional display name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# A school's Unique Reference Number (DfE): six digits.
URN_PATTERN = re.compile(r"^[0-9]{6}$")


class Role(StrEnum):
    """The application roles of the platform (the token's ``roles`` claim)."""

    school_staff = "school_staff"
    tas_practitioner = "tas_practitioner"
    placements_officer = "placements_officer"
    funding_officer = "funding_officer"
    panel_member = "panel_member"
    la_admin = "la_admin"
    auditor = "auditor"
    service_client = "service_client"


def is_urn(value: object) -> bool:
    """Whether ``value`` is a school URN (a string of exactly six digits)."""
    return isinstance(value, str) and URN_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller.

    ``school_urns`` and ``zones`` are scopes named in the token; whether a role needs them
    (``school_staff`` needs URNs, ``tas_practitioner`` zones) is decided by the owning
    service's object-level checks, never here.
    """

    subject: str
    roles: frozenset[Role] = frozenset()
    school_urns: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    name: str | None = None  # display only; never an identifier, never logged
    client_id: str | None = None
    token_id: str | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build a principal from a *validated* token's claims.

        Unknown role names and values that are not six-digit URNs are ignored, so an identity
        provider may add roles of other applications without breaking this one.

        Raises:
            ValueError: ``sub`` is missing or not a non-empty string.
        """
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise ValueError("token has no subject")
        roles = frozenset(
            Role(name) for name in _strings(claims.get("roles")) if name in Role.__members__
        )
        urns = [*_strings(claims.get("school_urns")), *_strings(claims.get("urn"))]
        scope_claim = claims.get("scp", claims.get("scope"))
        scopes = (
            scope_claim.split() if isinstance(scope_claim, str) else list(_strings(scope_claim))
        )
        return cls(
            subject=subject,
            roles=roles,
            school_urns=frozenset(urn for urn in urns if is_urn(urn)),
            zones=frozenset(zone for zone in _strings(claims.get("zones")) if zone),
            scopes=frozenset(scopes),
            name=_optional_string(claims.get("name")),
            client_id=_optional_string(claims.get("azp", claims.get("appid"))),
            token_id=_optional_string(claims.get("jti", claims.get("uti"))),
        )

    def has_role(self, role: Role) -> bool:
        """Whether the principal holds ``role``."""
        return role in self.roles

    def has_any_role(self, *roles: Role) -> bool:
        """Whether the principal holds at least one of ``roles`` (``False`` for none given)."""
        return not self.roles.isdisjoint(roles)

    def has_scopes(self, *scopes: str) -> bool:
        """Whether the principal holds every one of ``scopes``."""
        return self.scopes.issuperset(scopes)

    def can_act_for_school(self, urn: str) -> bool:
        """Whether the token names the school ``urn`` (say, a ``school_staff`` member's own)."""
        return urn in self.school_urns

    def can_act_in_zone(self, zone: str) -> bool:
        """Whether the token names ``zone`` (say, one a ``tas_practitioner`` covers)."""
        return zone in self.zones


def _strings(value: object) -> Iterable[str]:
    """A claim as strings: a single string, or the strings in a list; anything else is none."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _optional_string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
