"""``python -m lfi_bench.load.worker``: run one load spec (JSON on stdin), print its report.

The report is the last line of standard output, as JSON. The generator runs on uvloop, as
the services do, so that the client costs as little CPU as it can.
"""

from __future__ import annotations

import json
import sys

from lfi_bench.load.generator import LoadReport, LoadSpec, run
from lfi_bench.loops import run_async


def main() -> int:
    spec = LoadSpec.from_json(json.loads(sys.stdin.read()))
    report: LoadReport = run_async(run(spec))
    sys.stdout.write(json.dumps(report.to_json()) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
