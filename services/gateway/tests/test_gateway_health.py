"""``/health`` and ``/health/ready`` report every upstream's readiness in one answer."""

from __future__ import annotations

import httpx
from gateway_harness import dead_url, gateway_settings, running_gateway, stand_in

from lfi_shared.auth import LocalKeyPair


def test_health_is_503_naming_each_upstream_that_is_not_ready(local_keys: LocalKeyPair) -> None:
    with stand_in("referrals") as (_, referrals_url), \
            stand_in("placements", ready=False) as (_, placements_url), \
            stand_in("events", health_delay_s=8.0) as (_, events_url), \
            running_gateway(gateway_settings(
                local_keys.jwks_path, referrals_url=referrals_url,
                placements_url=placements_url, funding_url=dead_url(), events_url=events_url,
                health_timeout_s=3.0)) as url, \
            httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
        for path in ("/health", "/health/ready"):
            response = http.get(path)
            assert response.status_code == 503, path
            report = response.json()
            assert report["status"] == "unavailable"
            assert sorted(report["not_ready"]) == ["events", "funding", "placements"]
            services = report["services"]
            assert services["referrals"]["status"] == "ok"
            assert services["placements"]["status"] == "not_ready"
            assert services["placements"]["checks"]["nats"].startswith("failing")
            assert services["funding"]["status"] == "unreachable"
            assert services["events"]["status"] == "timeout"
        # the gateway process itself is alive all the same
        assert http.get("/health/live").status_code == 200


def test_health_is_200_when_every_upstream_is_ready(local_keys: LocalKeyPair) -> None:
    with stand_in("referrals") as (referrals, r_url), stand_in("placements") as (_, p_url), \
            stand_in("funding") as (_, f_url), stand_in("events") as (_, e_url), \
            running_gateway(gateway_settings(
                local_keys.jwks_path, referrals_url=r_url, placements_url=p_url,
                funding_url=f_url, events_url=e_url)) as url, \
            httpx.Client(base_url=url, trust_env=False, timeout=10) as http:
        response = http.get("/health")
        assert response.status_code == 200
        assert response.json()["not_ready"] == []
        assert set(response.json()["services"]) == {"referrals", "placements", "funding",
                                                    "events"}
        assert [seen.path for seen in referrals.requests] == ["/health/ready"]
