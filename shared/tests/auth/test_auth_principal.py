"""Principal: what a validated token's claims grant."""

from __future__ import annotations

import pytest

from lfi_shared.auth import Principal, Role


def test_roles_urns_zones_and_scopes_are_read_from_claims() -> None:
    principal = Principal.from_claims(
        {
            "sub": "u-1",
            "roles": ["school_staff", "auditor"],
            "school_urns": ["123456", "654321"],
            "zones": ["north"],
            "scp": "referrals.read referrals.write",
            "name": "A. Teacher",
            "azp": "frontend",
            "jti": "t-1",
        }
    )
    assert principal == Principal(
        subject="u-1",
        roles=frozenset({Role.school_staff, Role.auditor}),
        school_urns=frozenset({"123456", "654321"}),
        zones=frozenset({"north"}),
        scopes=frozenset({"referrals.read", "referrals.write"}),
        name="A. Teacher",
        client_id="frontend",
        token_id="t-1",
    )


def test_unknown_roles_are_ignored_not_an_error() -> None:
    principal = Principal.from_claims({"sub": "u", "roles": ["Task.Write", "la_admin", 7]})
    assert principal.roles == {Role.la_admin}


def test_single_urn_claim_is_accepted_and_non_urns_dropped() -> None:
    principal = Principal.from_claims(
        {"sub": "u", "urn": "100001", "school_urns": ["12345", "1234567", "abcdef", "100002"]}
    )
    assert principal.school_urns == {"100001", "100002"}


def test_scope_claim_and_entra_appid_are_understood() -> None:
    principal = Principal.from_claims({"sub": "c", "scope": "a b", "appid": "app-1", "uti": "x"})
    assert principal.scopes == {"a", "b"}
    assert principal.client_id == "app-1"
    assert principal.token_id == "x"


def test_a_token_without_subject_is_refused() -> None:
    with pytest.raises(ValueError):
        Principal.from_claims({"roles": ["la_admin"]})


def test_helpers_answer_only_from_the_token() -> None:
    staff = Principal(
        subject="s",
        roles=frozenset({Role.school_staff}),
        school_urns=frozenset({"123456"}),
        zones=frozenset({"north"}),
        scopes=frozenset({"x", "y"}),
    )
    assert staff.has_role(Role.school_staff)
    assert not staff.has_role(Role.la_admin)
    assert staff.has_any_role(Role.la_admin, Role.school_staff)
    assert not staff.has_any_role()
    assert staff.can_act_for_school("123456")
    assert not staff.can_act_for_school("654321")
    assert staff.can_act_in_zone("north")
    assert not staff.can_act_in_zone("south")
    assert staff.has_scopes("x", "y")
    assert not staff.has_scopes("x", "z")
