"""The services' seed data refer to the same zones: the ids the zones' owner gives them."""

from __future__ import annotations

from lfi_contracts.referrals import seeded_zone_id
from lfi_placements import seed as placements_seed
from lfi_referrals.sample_register import ZONES


def test_every_seeded_provision_is_in_a_zone_the_referrals_service_seeds() -> None:
    referral_zone_ids = {seeded_zone_id(zone.code) for zone in ZONES}
    assert len(referral_zone_ids) == 15
    provision_zone_ids = {placements_seed.zone_id_for(p.zone)
                          for p in placements_seed.seed_provisions()}
    assert provision_zone_ids <= referral_zone_ids
    assert {placements_seed.zone_id_for(code) for code, _ in placements_seed.ZONES} == (
        referral_zone_ids)
