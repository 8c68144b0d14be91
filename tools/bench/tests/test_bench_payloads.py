"""What the scenarios send is what the services' APIs take."""

from __future__ import annotations

from lfi_bench.openapi import request_body_problems
from lfi_bench.scenarios.referrals_api import child_referral, serial, upn


def test_generated_upns_pass_the_referrals_service_check() -> None:
    from lfi_referrals.domain.identifiers import is_valid_upn

    for phase, worker, iteration in ((0, 0, 0), (1, 15, 123456), (9, 99, 999999)):
        assert is_valid_upn(upn(f"926{serial(phase, worker, iteration)}"))


def test_the_design_example_upn_is_reproduced() -> None:
    assert upn("801200005001") == "B801200005001"


def test_a_body_missing_a_required_field_is_reported() -> None:
    document = {"components": {"schemas": {"Create": {
        "type": "object", "required": ["school_urn", "child"], "additionalProperties": False,
        "properties": {"school_urn": {"type": "string"},
                       "child": {"$ref": "#/components/schemas/Child"}}},
        "Child": {"type": "object", "required": ["upn"], "properties": {"upn": {}}}}}}
    op = {"requestBody": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Create"}}}}}

    problems = request_body_problems(document, op, {"child": {}, "colour": "blue"})

    assert problems == ["body.school_urn is required", "body.colour is not a known field",
                        "body.child.upn is required"]


def test_the_referral_body_fits_the_referrals_service_schema() -> None:
    from lfi_referrals.schemas.referrals import ReferralCreate

    ReferralCreate.model_validate(child_referral("121234", serial(1, 2, 3)))
