"""The merged document built offline, for client generation: ``python -m lfi_gateway openapi``.

It imports each service's ``create_app`` (this tool only: the running gateway never imports a
service) and merges their ``app.openapi()`` exactly as the running gateway merges the
documents it fetches. No database, NATS or network is touched: apps are built, not started.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI

from lfi_gateway.openapi.live import ASYNCAPI_PATH
from lfi_gateway.openapi.merge import merge_openapi
from lfi_gateway.routing import SERVICES
from lfi_gateway.settings import Settings

APP_FACTORIES: dict[str, str] = {name: f"lfi_{name}.main:create_app" for name in SERVICES}
"""Where each service's app factory is (``module:function``)."""


class ServiceNotInstalled(RuntimeError):
    """A service's package cannot be imported (install the whole workspace)."""


def service_document(factory_path: str) -> dict[str, Any]:
    """The OpenAPI document of the app ``factory_path`` builds.

    Raises:
        ServiceNotInstalled: the module cannot be imported.
    """
    module_name, _, function_name = factory_path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ServiceNotInstalled(f"cannot import {module_name}: {error}") from error
    factory = cast(Callable[[], FastAPI], getattr(module, function_name))
    return factory().openapi()


def build_offline_document(settings: Settings | None = None) -> dict[str, Any]:
    """The merged document of the gateway and every service, from their code.

    Raises:
        ServiceNotInstalled: a service's package is missing: the document would be partial.
    """
    from lfi_gateway.main import create_app  # here: main wires up the whole gateway

    settings = settings or Settings()
    gateway = create_app(settings).openapi()
    documents = {name: service_document(path) for name, path in APP_FACTORIES.items()}
    return merge_openapi(gateway, documents, version=settings.version,
                         asyncapi_url=f"{settings.public_url}{ASYNCAPI_PATH}")


def main(argv: Sequence[str] | None = None) -> int:
    """``openapi --out FILE``: write the merged document (``-`` for standard output)."""
    parser = argparse.ArgumentParser(
        prog="python -m lfi_gateway openapi",
        description="Write the gateway's merged OpenAPI document, built from the services' code.",
    )
    parser.add_argument("--out", default="-", help="the file to write (default: stdout)")
    args = parser.parse_args(argv)
    try:
        document = build_offline_document()
    except ServiceNotInstalled as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out} ({len(document['paths'])} paths)", file=sys.stderr)
    return 0
