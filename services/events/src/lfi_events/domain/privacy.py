"""Spotting a child's personal data in an event's ``data``.

Only the referrals service holds a child's name, date of birth and UPN; no event may carry
them (DESIGN §1, §2). The store refuses an event that looks as if it does. The checks are
deliberately broad on field names and exact on values (a UPN must pass its check letter), and
a finding names the field's path only, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


@dataclass(frozen=True)
class PersonalDataPolicy:
    """Which field names and values count as a child's personal data (configuration)."""

    forbidden_fields: frozenset[str]
    child_contexts: frozenset[str]
    context_name_fields: frozenset[str]

    @classmethod
    def of(cls, forbidden_fields: Iterable[str], child_contexts: Iterable[str],
           context_name_fields: Iterable[str]) -> PersonalDataPolicy:
        return cls(frozenset(_normal(f) for f in forbidden_fields),
                   frozenset(_normal(c) for c in child_contexts),
                   frozenset(_normal(n) for n in context_name_fields))


@dataclass(frozen=True)
class PersonalDataFinding:
    path: str
    code: str  # personal_data_field | personal_data_upn

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code}


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_UPN_SHAPE = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")


def is_upn(value: str) -> bool:
    """Whether ``value`` is a well-formed UPN (13 characters and a matching check letter)."""
    candidate = value.strip().upper()
    if not _UPN_SHAPE.match(candidate) or candidate[0] not in UPN_ALPHABET:
        return False
    total = 0
    for position, char in enumerate(candidate[1:], start=2):
        if char.isdigit():
            total += int(char) * position
        elif position == 13 and char in UPN_ALPHABET:
            total += UPN_ALPHABET.index(char) * position
        else:
            return False
    return UPN_ALPHABET[total % 23] == candidate[0]


def personal_data_findings(data: Any, policy: PersonalDataPolicy) -> list[PersonalDataFinding]:
    """Every place in ``data`` that looks like a child's name, date of birth or UPN."""
    return sorted(set(_walk(data, "$", (), policy)), key=lambda f: (f.path, f.code))


def _walk(node: Any, path: str, context: tuple[str, ...],
          policy: PersonalDataPolicy) -> Iterator[PersonalDataFinding]:
    if isinstance(node, dict):
        for key, value in node.items():
            key_text = str(key)
            name = _normal(key_text)
            child_path = f"{path}.{key_text}"
            in_child_context = any(c in part for part in (*context, name)
                                   for c in policy.child_contexts)
            if name in policy.forbidden_fields or (
                in_child_context and name in policy.context_name_fields
            ) or (name not in policy.context_name_fields and any(
                name.startswith(c) and name[len(c):] in policy.context_name_fields
                for c in policy.child_contexts
            )):
                yield PersonalDataFinding(child_path, "personal_data_field")
            yield from _walk(value, child_path, (*context, name), policy)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]", context, policy)
    elif isinstance(node, str) and is_upn(node):
        yield PersonalDataFinding(path, "personal_data_upn")
