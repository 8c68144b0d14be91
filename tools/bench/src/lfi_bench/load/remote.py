"""Running the load generator in a process of its own and reading back its report."""

from __future__ import annotations

import asyncio
import json
import sys

from lfi_bench.load.generator import LoadReport, LoadSpec
from lfi_devstack.processes import die_with_parent


class LoadGeneratorFailed(RuntimeError):
    """The generator's process exited without a report."""


async def run_load(spec: LoadSpec) -> LoadReport:
    """Run ``spec`` in a child ``python -m lfi_bench.load.worker`` and return its report.

    Raises:
        LoadGeneratorFailed: the child exited non-zero or printed no report.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lfi_bench.load.worker",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent(),
    )
    try:
        out, err = await process.communicate(json.dumps(spec.to_json()).encode())
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    lines = out.decode("utf-8", errors="replace").strip().splitlines()
    if process.returncode != 0 or not lines:
        raise LoadGeneratorFailed(
            f"load generator exited with {process.returncode}: "
            f"{err.decode('utf-8', errors='replace')[-2000:]}")
    return LoadReport.from_json(json.loads(lines[-1]))
