"""Print a development bearer token signed with the local key.

    python -m lfi_shared.auth.devtoken --role school_staff --urn 123456
    python -m lfi_shared.auth.devtoken --role tas_practitioner --zone north

Issuer and audience default to the development ones, or ``LFI_AUTH_ISSUER`` /
``LFI_AUTH_AUDIENCE`` when set, or the flags. The key pair is made on first use.
The token alone goes to standard output, so ``TOKEN=$(make token ROLE=...)`` works.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from lfi_shared.auth.local_keys import ensure_local_keypair
from lfi_shared.auth.principal import Role, is_urn
from lfi_shared.settings import DEFAULT_DEV_KEY_DIR, DEV_AUDIENCE, DEV_ISSUER


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise argparse.ArgumentTypeError(
            f"unknown role {value!r}; choose from: {choices}"
        ) from None


def _urn(value: str) -> str:
    if not is_urn(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a school URN (six digits)")
    return value


def _lifetime(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not 0 < seconds <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError("lifetime must be a number of seconds, 1 to 604800")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m lfi_shared.auth.devtoken``."""
    parser = argparse.ArgumentParser(
        prog="python -m lfi_shared.auth.devtoken",
        description="Print a development bearer token signed with the local key.",
    )
    parser.add_argument(
        "--role",
        type=_role,
        action="append",
        required=True,
        help="a role (repeatable): " + ", ".join(role.value for role in Role),
    )
    parser.add_argument(
        "--urn",
        type=_urn,
        action="append",
        default=[],
        help="a school URN the token covers (repeatable)",
    )
    parser.add_argument(
        "--zone", action="append", default=[], help="a zone the token covers (repeatable)"
    )
    parser.add_argument(
        "--scope", action="append", default=[], help="a scope, for service_client (repeatable)"
    )
    parser.add_argument("--subject", help="the token's subject (default: dev-<first role>)")
    parser.add_argument("--name", help="a display name")
    parser.add_argument(
        "--keys",
        default=str(DEFAULT_DEV_KEY_DIR),
        help="the local key folder (default: %(default)s)",
    )
    parser.add_argument(
        "--lifetime",
        type=_lifetime,
        default=3600,
        help="seconds until the token expires (default: %(default)s)",
    )
    parser.add_argument("--issuer", default=os.environ.get("LFI_AUTH_ISSUER", DEV_ISSUER))
    parser.add_argument("--audience", default=os.environ.get("LFI_AUTH_AUDIENCE", DEV_AUDIENCE))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; the exit status is 0, or 2 for a usage error (argparse's)."""
    args = build_parser().parse_args(argv)
    roles: list[Role] = list(dict.fromkeys(args.role))
    if Role.school_staff in roles and not args.urn:
        print("warning: a school_staff token without --urn can see no school", file=sys.stderr)
    if Role.tas_practitioner in roles and not args.zone:
        print("warning: a tas_practitioner token without --zone covers no zone", file=sys.stderr)
    keys = ensure_local_keypair(args.keys)
    token = keys.issue_token(
        args.subject or f"dev-{roles[0].value}",
        roles,
        school_urns=args.urn,
        zones=[zone for zone in args.zone if zone],
        scopes=args.scope,
        issuer=args.issuer,
        audience=args.audience,
        lifetime_s=args.lifetime,
        extra_claims={"name": args.name} if args.name else None,
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
