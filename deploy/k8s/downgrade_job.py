"""Print a Job that downgrades one service's schema, made from that service's migration Job in
a rendered overlay (same image, settings, secrets and security context; `downgrade REVISION`
instead of `migrate`):

    kubectl kustomize deploy/k8s/overlays/prod \\
      | uv run python deploy/k8s/downgrade_job.py referrals 0001 \\
      | kubectl apply -f -

Render the overlay that still names the image holding the revision being undone: only that
image has its downgrade step. See docs/operations.md, "Roll back".
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

import yaml


def downgrade_job(resources: Sequence[dict[str, object]], service: str, revision: str
                  ) -> dict[str, object]:
    """The downgrade Job for ``service``.

    Raises:
        LookupError: the rendered resources have no migration Job for ``service``.
    """
    for resource in resources:
        metadata = resource.get("metadata")
        if (resource.get("kind") == "Job" and isinstance(metadata, dict)
                and metadata.get("name") == f"{service}-migrate"):
            job = yaml.safe_load(yaml.safe_dump(resource))  # a deep copy
            job["metadata"]["name"] = f"{service}-downgrade"
            job["metadata"]["labels"]["app.kubernetes.io/component"] = "schema-downgrade"
            template = job["spec"]["template"]
            template["metadata"]["labels"]["app.kubernetes.io/component"] = "schema-downgrade"
            job["spec"]["backoffLimit"] = 0
            (container,) = template["spec"]["containers"]
            container["name"] = "downgrade"
            container["command"] = ["python", "-m", f"lfi_{service}", "downgrade", revision]
            return dict(job)
    raise LookupError(f"no Job {service}-migrate in the input")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("service", help="referrals, placements, funding or events")
    parser.add_argument("revision", help="the Alembic revision to go back to")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_+-]+", args.revision):
        parser.error(f"not an Alembic revision: {args.revision!r}")
    resources = [doc for doc in yaml.safe_load_all(sys.stdin) if doc]
    try:
        job = downgrade_job(resources, args.service, args.revision)
    except LookupError as error:
        parser.error(str(error))
    yaml.safe_dump(job, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
