"""The client's request id and trace reach a real service (its own process) and come back."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from gateway_harness import free_port, gateway_settings, running_gateway

import lfi_referrals
from lfi_shared import migrations
from lfi_shared.auth import LocalKeyPair, Role
from lfi_shared.testing.auth import TokenFactory, bearer
from lfi_shared.testing.plugin import SchemaFactory

REFERRALS_DIR = Path(lfi_referrals.__file__).resolve().parents[2]
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


async def _wait_until_live(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(trust_env=False, timeout=1) as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"referrals exited:\n{log.read_text()[-3000:]}"
            try:
                if (await http.get(f"{url}/health/live")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"referrals did not start:\n{log.read_text()[-3000:]}")


async def _log_line(log: Path, request_id: str) -> dict[str, Any]:
    """The referrals service's access log line of ``request_id`` (it is written on return)."""
    deadline = time.monotonic() + 5
    while True:
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("request_id") == request_id and record.get("event") == "request":
                return dict(record)
        assert time.monotonic() < deadline, f"no log line of {request_id}:\n{log.read_text()}"
        await asyncio.sleep(0.05)


async def test_request_id_sent_by_the_client_appears_in_the_service_log_and_comes_back(
        local_keys: LocalKeyPair, token_factory: TokenFactory,
        make_service_schema: SchemaFactory, nats_url: str, nats_namespace: str,
        tmp_path: Path) -> None:
    database_url = await make_service_schema("referrals")
    await asyncio.to_thread(migrations.upgrade, REFERRALS_DIR, database_url, "referrals")
    port = free_port()
    referrals_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LFI_REFERRALS_ENVIRONMENT": "test",
        "LFI_REFERRALS_HOST": "127.0.0.1",
        "LFI_REFERRALS_PORT": str(port),
        "LFI_REFERRALS_DATABASE_URL": database_url,
        "LFI_REFERRALS_DB_SCHEMA": "referrals",
        "LFI_REFERRALS_NATS_URL": nats_url,
        "LFI_REFERRALS_NATS_NAMESPACE": nats_namespace,
        "LFI_REFERRALS_AUTH_JWKS_FILE": str(local_keys.jwks_path),
        "LFI_REFERRALS_LOG_JSON": "true",
    }
    log = tmp_path / "referrals.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "lfi_referrals", "serve"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        await _wait_until_live(referrals_url, process, log)
        request_id = f"gw-{os.urandom(6).hex()}"
        with running_gateway(gateway_settings(local_keys.jwks_path,
                                              referrals_url=referrals_url)) as gateway:
            async with httpx.AsyncClient(base_url=gateway, trust_env=False, timeout=10) as http:
                response = await http.get("/v1/referrals", headers={
                    **bearer(token_factory(Role.la_admin)),
                    "X-Request-ID": request_id,
                    "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01",
                })
        assert response.status_code != 401  # the service took the gateway's token as well
        assert response.status_code < 500, response.text
        assert response.headers["x-request-id"] == request_id
        assert response.headers["traceparent"].split("-")[1] == TRACE_ID
        record = await _log_line(log, request_id)
        assert record["service"] == "referrals"
        assert record["trace_id"] == TRACE_ID
        assert record["status"] == response.status_code
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
