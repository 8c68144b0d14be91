"""python -m lfi_shared.auth.devtoken, run as `make token` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lfi_shared.auth import Role, ensure_local_keypair
from lfi_shared.testing.auth import make_token_validator


def devtoken(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lfi_shared.auth.devtoken", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_printed_token_validates_with_the_local_keys(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    result = devtoken("--role", "school_staff", "--urn", "123456", "--keys", str(keys_dir))
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    principal = make_token_validator(ensure_local_keypair(keys_dir)).validate(token)
    assert principal.roles == {Role.school_staff}
    assert principal.school_urns == {"123456"}
    assert principal.subject == "dev-school_staff"


def test_zone_subject_and_issuer_from_the_environment(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    result = devtoken(
        "--role", "tas_practitioner", "--zone", "north", "--subject", "tas-1",
        "--keys", str(keys_dir), "--lifetime", "120",
        env={"LFI_AUTH_ISSUER": "https://other.localhost/", "LFI_AUTH_AUDIENCE": "api://x"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    validator = make_token_validator(
        ensure_local_keypair(keys_dir), issuer="https://other.localhost/", audience="api://x"
    )
    principal = validator.validate(result.stdout.strip())
    assert principal.subject == "tas-1"
    assert principal.zones == {"north"}


def test_unknown_role_exits_non_zero_naming_the_roles(tmp_path: Path) -> None:
    result = devtoken("--role", "wizard", "--keys", str(tmp_path / "keys"))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "unknown role 'wizard'" in result.stderr
    assert "la_admin" in result.stderr


def test_bad_urn_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    result = devtoken("--role", "school_staff", "--urn", "12345", "--keys", str(tmp_path / "k"))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "'12345' is not a school URN (six digits)" in result.stderr
