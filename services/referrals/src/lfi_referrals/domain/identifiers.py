"""School and pupil identifiers: UPN, URN and LAESTAB.

Each identifier comes three ways:

* a predicate (``is_valid_upn``) and a fault finder (``upn_fault``) that says what is wrong;
* a checker (``check_upn``) that raises :class:`InvalidIdentifier` naming the field at fault;
* an annotated type for the API schemas (``Upn``), whose errors carry the same stable code
  (``upn_check_letter``, ...) and never echo the value. The types accept exactly what their JSON
  Schema says (no trimming or case folding), so generated clients, schema-driven fuzzing and the
  server agree; :func:`normalise_upn` is there for imports that need to tidy input first.

UPN rules (DfE): 13 characters. Character 1 is a check letter from ``UPN_ALPHABET`` (23
letters, no I, O or S; A=0 … Z=22). Characters 2 to 12 are digits. Character 13 is a digit on a
permanent UPN and a letter of the same alphabet on a temporary UPN (the DfE marks a temporary UPN
by an alphabetic 13th character). Characters 2 to 13 are weighted by their positions 2 to 13
(digits by value, a final letter by its alphabet index); the sum mod 23 indexes the alphabet and
must give character 1. Everything checks the value exactly as given.

LAESTAB: 7 digits, a 3-digit local authority code then a 4-digit establishment number. Which LA
is "ours" (Norfolk: 926) is configuration passed in as ``la_code``, never a literal here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from lfi_referrals.domain.errors import Fault, InvalidIdentifier
from lfi_shared.http.problems import FieldError

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_LENGTH = 13
_UPN_BODY_LENGTH = UPN_LENGTH - 1
_FIRST_WEIGHTED_POSITION = 2

_DIGITS = re.compile(r"[0-9]*")
_URN = re.compile(r"[0-9]{6}")
_LAESTAB = re.compile(r"[0-9]{7}")
_LA_CODE = re.compile(r"[0-9]{3}")
_ESTABLISHMENT_NUMBER = re.compile(r"[0-9]{4}")

# --------------------------------------------------------------------------------------- UPN

_UPN_LENGTH_FAULT = Fault("upn_length", "The UPN must be 13 characters long.")
_UPN_DIGITS_FAULT = Fault("upn_characters", "The UPN's characters 2 to 12 must be digits.")
_UPN_FIRST_FAULT = Fault(
    "upn_forbidden_letter",
    "The UPN's first character must be a letter of the UPN alphabet (A to Z without I, O or S).")
_UPN_LAST_FAULT = Fault(
    "upn_forbidden_letter",
    "The UPN's last character must be a digit or a letter of the UPN alphabet "
    "(A to Z without I, O or S).")
_UPN_CHECK_FAULT = Fault("upn_check_letter", "The UPN's check letter is wrong.")


def _body_fault(body: str) -> Fault | None:
    if not _DIGITS.fullmatch(body[:-1]):
        return _UPN_DIGITS_FAULT
    last = body[-1]
    if not (_DIGITS.fullmatch(last) or last in UPN_ALPHABET):
        return _UPN_LAST_FAULT
    return None


def _check_letter(body: str) -> str:
    total = 0
    for position, char in enumerate(body, start=_FIRST_WEIGHTED_POSITION):
        value = int(char) if char.isdigit() else UPN_ALPHABET.index(char)
        total += position * value
    return UPN_ALPHABET[total % len(UPN_ALPHABET)]


def upn_check_letter(body: str) -> str:
    """The check letter (character 1) for a UPN whose characters 2 to 13 are ``body``.

    For test factories and seed data: ``"B" + "801200005001"`` is valid because
    ``upn_check_letter("801200005001") == "B"``.

    Raises:
        ValueError: if ``body`` is not 12 characters, 11 digits then a digit or a letter of
            the UPN alphabet.
    """
    if len(body) != _UPN_BODY_LENGTH:
        raise ValueError("a UPN body is 12 characters")
    fault = _body_fault(body)
    if fault is not None:
        raise ValueError(fault.message)
    return _check_letter(body)


def upn_fault(value: str) -> Fault | None:
    """What is wrong with ``value`` as a UPN (checked exactly as given), or ``None`` if valid."""
    if len(value) != UPN_LENGTH:
        return _UPN_LENGTH_FAULT
    if value[0] not in UPN_ALPHABET:
        return _UPN_FIRST_FAULT
    body = value[1:]
    fault = _body_fault(body)
    if fault is not None:
        return fault
    if _check_letter(body) != value[0]:
        return _UPN_CHECK_FAULT
    return None


def is_valid_upn(value: str) -> bool:
    """Whether ``value`` is a valid permanent or temporary UPN."""
    return upn_fault(value) is None


def is_temporary_upn(value: str) -> bool:
    """Whether ``value`` is a valid temporary UPN: a valid UPN whose 13th character is a letter."""
    return is_valid_upn(value) and value[-1] in UPN_ALPHABET


def normalise_upn(value: str) -> str:
    """``value`` without surrounding spaces and in capitals, as schools often type it."""
    return value.strip().upper()


def check_upn(value: str, *, field: str = "body.child.upn") -> str:
    """Return ``value`` if it is a valid UPN.

    Raises:
        InvalidIdentifier: naming ``field`` and what is wrong (never the value itself).
    """
    return _check(upn_fault(value), value, field, "The UPN is not valid.")


# -------------------------------------------------------------------------------- URN, LAESTAB

_URN_FAULT = Fault("urn_format", "The URN must be 6 digits.")
_LAESTAB_FAULT = Fault("laestab_format", "The LAESTAB must be 7 digits.")
_LA_CODE_FAULT = Fault("la_code_format", "The local authority code must be 3 digits.")
_LAESTAB_LA_FAULT = Fault(
    "laestab_la_code", "The LAESTAB does not start with this local authority's code.")


def urn_fault(value: str) -> Fault | None:
    """What is wrong with ``value`` as a school URN, or ``None`` if it is 6 digits."""
    return None if _URN.fullmatch(value) else _URN_FAULT


def is_valid_urn(value: str) -> bool:
    """Whether ``value`` is a URN: exactly 6 digits."""
    return urn_fault(value) is None


def check_urn(value: str, *, field: str = "body.school_urn") -> str:
    """Return ``value`` if it is a valid URN.

    Raises:
        InvalidIdentifier: naming ``field``.
    """
    return _check(urn_fault(value), value, field, "The URN is not valid.")


def is_valid_la_code(value: str) -> bool:
    """Whether ``value`` is a local authority code: exactly 3 digits."""
    return _LA_CODE.fullmatch(value) is not None


def laestab_fault(value: str, *, la_code: str | None = None) -> Fault | None:
    """What is wrong with ``value`` as a LAESTAB, or ``None`` if valid.

    With ``la_code`` (e.g. Norfolk's, from configuration) the LAESTAB must also belong to that
    local authority.

    Raises:
        ValueError: if ``la_code`` is given and is not 3 digits (a configuration mistake).
    """
    if la_code is not None and not is_valid_la_code(la_code):
        raise ValueError(_LA_CODE_FAULT.message)
    if not _LAESTAB.fullmatch(value):
        return _LAESTAB_FAULT
    if la_code is not None and not value.startswith(la_code):
        return _LAESTAB_LA_FAULT
    return None


def is_valid_laestab(value: str, *, la_code: str | None = None) -> bool:
    """Whether ``value`` is a LAESTAB (of the local authority ``la_code``, if given).

    Raises:
        ValueError: if ``la_code`` is given and is not 3 digits.
    """
    return laestab_fault(value, la_code=la_code) is None


def check_laestab(value: str, *, la_code: str | None = None,
                  field: str = "body.laestab") -> str:
    """Return ``value`` if it is a valid LAESTAB (of ``la_code``, if given).

    Raises:
        InvalidIdentifier: naming ``field``.
        ValueError: if ``la_code`` is given and is not 3 digits.
    """
    return _check(laestab_fault(value, la_code=la_code), value, field, "The LAESTAB is not valid.")


def split_laestab(value: str) -> tuple[str, str]:
    """A LAESTAB as ``(la_code, establishment_number)``: ``"9262001"`` → ``("926", "2001")``.

    Raises:
        InvalidIdentifier: if ``value`` is not a LAESTAB.
    """
    check_laestab(value)
    return value[:3], value[3:]


def make_laestab(la_code: str, establishment_number: str) -> str:
    """The LAESTAB of an establishment, as the DfE register gives its two parts.

    Raises:
        InvalidIdentifier: if ``la_code`` is not 3 digits or ``establishment_number`` not 4.
    """
    errors: list[FieldError] = []
    if not is_valid_la_code(la_code):
        errors.append(_LA_CODE_FAULT.at("la_code"))
    if not _ESTABLISHMENT_NUMBER.fullmatch(establishment_number):
        errors.append(Fault("establishment_number_format",
                            "The establishment number must be 4 digits.")
                      .at("establishment_number"))
    if errors:
        raise InvalidIdentifier("The LAESTAB parts are not valid.", errors=errors)
    return la_code + establishment_number


def _check(fault: Fault | None, value: str, field: str, detail: str) -> str:
    if fault is not None:
        raise InvalidIdentifier(f"{detail} {fault.message}", errors=[fault.at(field)])
    return value


# ------------------------------------------------------------------- types for the API schemas


def _pydantic_check(find_fault: Callable[[str], Fault | None]) -> Callable[[str], str]:
    def validate(value: str) -> str:
        fault = find_fault(value)
        if fault is not None:
            # The code becomes the problem's field error code; the message never has the value.
            raise PydanticCustomError(fault.code, fault.message)
        return value

    return validate


Upn = Annotated[
    str,
    AfterValidator(_pydantic_check(upn_fault)),
    Field(description="Unique pupil number: a check letter (A to Z without I, O, S) then 11 "
                      "digits and a final digit, or a final letter on a temporary UPN.",
          examples=["B801200005001"],
          json_schema_extra={"minLength": UPN_LENGTH, "maxLength": UPN_LENGTH,
                             "pattern": f"^[{UPN_ALPHABET}][0-9]{{11}}[0-9{UPN_ALPHABET}]$"}),
]
"""A valid UPN (permanent or temporary)."""

Urn = Annotated[
    str,
    AfterValidator(_pydantic_check(urn_fault)),
    Field(description="School unique reference number: 6 digits.", examples=["121212"],
          json_schema_extra={"pattern": "^[0-9]{6}$"}),
]
"""A school URN: 6 digits."""

Laestab = Annotated[
    str,
    AfterValidator(_pydantic_check(laestab_fault)),
    Field(description="LA code (3 digits) and establishment number (4 digits).",
          examples=["9262001"], json_schema_extra={"pattern": "^[0-9]{7}$"}),
]
"""A LAESTAB of any local authority; check it belongs to ours with :func:`check_laestab`."""
