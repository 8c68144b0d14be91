"""The environment each service gets follows the services' settings contract."""

from __future__ import annotations

from pathlib import Path

from lfi_devstack.paths import LocalPaths
from lfi_devstack.stack import DATA_SERVICES, GATEWAY, Stack


def _stack(**env: str) -> Stack:
    return Stack(
        repo=Path("/repo"),
        local=LocalPaths(Path("/repo/.local")),
        pg_admin_url="postgresql://postgres@127.0.0.1:55432/postgres",
        nats_url="nats://127.0.0.1:54222",
        password="pw",
        base_env=env,
    )


def test_each_data_service_connects_as_its_own_role_to_database_lfi() -> None:
    env = _stack().service_env(DATA_SERVICES[0])

    assert env["LFI_REFERRALS_DATABASE_URL"] == (
        "postgresql+asyncpg://lfi_referrals:pw@127.0.0.1:55432/lfi"
    )
    assert env["LFI_REFERRALS_DB_SCHEMA"] == "referrals"
    assert env["LFI_REFERRALS_NATS_URL"] == "nats://127.0.0.1:54222"
    assert env["LFI_REFERRALS_NATS_NAMESPACE"] == ""
    assert env["LFI_REFERRALS_AUTH_JWKS_FILE"] == "/repo/.local/keys/jwks.json"
    assert env["LFI_REFERRALS_ENVIRONMENT"] == "development"
    assert env["LFI_REFERRALS_PORT"] == "8001"


def test_the_gateway_points_at_each_service_and_follows_a_moved_port() -> None:
    env = _stack(LFI_FUNDING_PORT="9103").service_env(GATEWAY)

    assert env["LFI_GATEWAY_PORT"] == "8000"
    assert env["LFI_GATEWAY_REFERRALS_URL"] == "http://127.0.0.1:8001"
    assert env["LFI_GATEWAY_FUNDING_URL"] == "http://127.0.0.1:9103"
    assert "LFI_GATEWAY_DATABASE_URL" not in env
