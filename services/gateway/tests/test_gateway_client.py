"""The frontend's TypeScript types: `make client`'s steps, run in a copy of the client folder.

The steps are the Makefile's: the merged document written by ``python -m lfi_gateway openapi``
(called in-process here), ``npm ci``, ``npm run generate`` (openapi-typescript) and
``npm run typecheck`` (tsc, which checks ``src/example.ts`` against the generated types).
npm is required: without it this test fails, it does not skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from lfi_gateway.__main__ import main as gateway_main

REPO = Path(__file__).resolve().parents[3]
CLIENT = REPO / "clients" / "typescript"
CLIENT_FILES = ("package.json", "package-lock.json", "tsconfig.json", "src/example.ts")


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


def test_typescript_client_is_generated_from_the_merged_document_and_type_checks(
        tmp_path: Path) -> None:
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed to build the TypeScript client (make client)"
    work = tmp_path / "typescript"
    for name in CLIENT_FILES:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CLIENT / name, work / name)

    # npm ci downloads while the document is built
    install = subprocess.Popen([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                               cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        assert gateway_main(["openapi", "--out", str(work / "openapi.json")]) == 0
    finally:
        output, _ = install.communicate(timeout=300)
    assert install.returncode == 0, f"npm ci failed:\n{output}"
    document = json.loads((work / "openapi.json").read_text())
    assert document["openapi"] == "3.1.0"

    _run([npm, "run", "generate"], work)
    _run([npm, "run", "typecheck"], work)

    types = (work / "src" / "lfi-api.d.ts").read_text()
    assert '"/health/ready"' in types
    assert "gateway_health_ready" in types
    for path in document["paths"]:
        assert f'"{path}"' in types, path
