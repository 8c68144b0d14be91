"""UPN, URN and LAESTAB validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from lfi_referrals.domain.errors import InvalidIdentifier
from lfi_referrals.domain.identifiers import (
    UPN_ALPHABET,
    Laestab,
    Upn,
    Urn,
    check_laestab,
    check_upn,
    check_urn,
    is_temporary_upn,
    is_valid_laestab,
    is_valid_upn,
    is_valid_urn,
    make_laestab,
    normalise_upn,
    split_laestab,
    upn_check_letter,
    upn_fault,
)
from lfi_shared.http.problems import field_errors_from_validation

# --------------------------------------------------------------------------------------- UPN


def test_the_published_example_upn_is_valid_and_permanent() -> None:
    assert is_valid_upn("B801200005001")
    assert not is_temporary_upn("B801200005001")
    assert upn_check_letter("801200005001") == "B"


def test_hand_checked_temporary_upn_is_valid() -> None:
    # Body 9 2 6 2 5 0 0 0 1 2 3 K at positions 2..13, K = 9 in the UPN alphabet:
    # 18 + 6 + 24 + 10 + 30 + 0 + 0 + 0 + 10 + 22 + 36 + 117 = 273; 273 mod 23 = 20 → X.
    assert upn_check_letter("92625000123K") == "X"
    assert is_valid_upn("X92625000123K")
    assert is_temporary_upn("X92625000123K")


@pytest.mark.parametrize("last", list(UPN_ALPHABET))
def test_computed_temporary_upn_with_any_final_letter_is_valid(last: str) -> None:
    body = "88112345678" + last
    upn = upn_check_letter(body) + body
    assert is_valid_upn(upn)
    assert is_temporary_upn(upn)


def test_wrong_check_letter_is_refused_without_quoting_the_upn() -> None:
    upn = "C801200005001"
    fault = upn_fault(upn)
    assert fault is not None and fault.code == "upn_check_letter"
    with pytest.raises(InvalidIdentifier) as caught:
        check_upn(upn)
    problem = caught.value
    assert problem.status == 422
    assert problem.errors is not None
    assert [(e.field, e.code) for e in problem.errors] == [("body.child.upn", "upn_check_letter")]
    assert upn not in problem.detail
    assert all(upn not in e.message for e in problem.errors)


@pytest.mark.parametrize("upn", ["B80120000500", "B8012000050012", "", "B"])
def test_wrong_length_is_refused(upn: str) -> None:
    fault = upn_fault(upn)
    assert fault is not None and fault.code == "upn_length"


@pytest.mark.parametrize("upn", [
    "I801200005001", "O801200005001", "S801200005001",  # check letter not in the alphabet
    "B80120000500I", "B80120000500O", "B80120000500S",  # temporary letter not in the alphabet
])
def test_letters_outside_the_upn_alphabet_are_refused(upn: str) -> None:
    fault = upn_fault(upn)
    assert fault is not None and fault.code == "upn_forbidden_letter"


@pytest.mark.parametrize("upn", ["B8012A0005001", "B801200005 01", "B٨01200005001"])
def test_non_digits_in_positions_2_to_12_are_refused(upn: str) -> None:
    fault = upn_fault(upn)
    assert fault is not None and fault.code == "upn_characters"


def test_lower_case_or_padded_input_is_not_a_upn_until_normalised() -> None:
    class Child(BaseModel):
        upn: Upn

    for typed in ("b801200005001", " B801200005001"):
        assert not is_valid_upn(typed)
        with pytest.raises(ValidationError):
            Child(upn=typed)
    assert normalise_upn(" b801200005001 ") == "B801200005001"
    assert Child(upn="B801200005001").upn == "B801200005001"


def test_schema_type_reports_a_stable_code_and_never_the_value() -> None:
    class Child(BaseModel):
        upn: Upn

    with pytest.raises(ValidationError) as caught:
        Child(upn="C801200005001")
    errors = field_errors_from_validation(caught.value.errors())
    assert [(e.field, e.code) for e in errors] == [("upn", "upn_check_letter")]
    assert "C801200005001" not in errors[0].message


@pytest.mark.parametrize("body", ["80120000500", "8012000050011", "8012A0005001", "80120000500I"])
def test_check_letter_of_a_malformed_body_is_refused(body: str) -> None:
    with pytest.raises(ValueError, match=r"UPN|12 characters"):
        upn_check_letter(body)


_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)
_last = st.sampled_from("0123456789" + UPN_ALPHABET)


@given(digits=_digits, last=_last)
def test_any_body_with_its_computed_check_letter_validates(digits: str, last: str) -> None:
    body = digits + last
    assert is_valid_upn(upn_check_letter(body) + body)


@given(digits=_digits, last=_last, data=st.data())
def test_changing_any_one_digit_breaks_the_check_letter(digits: str, last: str,
                                                        data: st.DataObject) -> None:
    upn = upn_check_letter(digits + last) + digits + last
    digit_positions = [i for i in range(1, 13) if upn[i].isdigit()]
    index = data.draw(st.sampled_from(digit_positions))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != upn[index]]))
    changed = upn[:index] + other + upn[index + 1:]
    fault = upn_fault(changed)
    assert fault is not None and fault.code == "upn_check_letter"


# --------------------------------------------------------------------------------------- URN


@pytest.mark.parametrize("urn", ["121212", "100000", "999999"])
def test_six_digit_urns_are_valid(urn: str) -> None:
    assert is_valid_urn(urn)
    assert check_urn(urn) == urn


@pytest.mark.parametrize("urn", ["12121", "1212123", "12a212", "١٢١٢١٢", " 121212", "121212\n"])
def test_anything_but_six_ascii_digits_is_not_a_urn(urn: str) -> None:
    assert not is_valid_urn(urn)
    with pytest.raises(InvalidIdentifier) as caught:
        check_urn(urn, field="body.school_urn")
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "urn_format"


def test_urn_schema_type_accepts_six_digits_only() -> None:
    class School(BaseModel):
        urn: Urn

    assert School(urn="121212").urn == "121212"
    with pytest.raises(ValidationError):
        School(urn=" 121212")
    with pytest.raises(ValidationError) as caught:
        School(urn="12345")
    assert caught.value.errors()[0]["type"] == "urn_format"


# ----------------------------------------------------------------------------------- LAESTAB


def test_a_norfolk_laestab_is_valid_and_splits_into_its_parts() -> None:
    assert is_valid_laestab("9262001")
    assert is_valid_laestab("9262001", la_code="926")
    assert split_laestab("9262001") == ("926", "2001")
    assert make_laestab("926", "2001") == "9262001"


@pytest.mark.parametrize("laestab", ["926200", "92620011", "926-2001", "92620O1", ""])
def test_anything_but_seven_digits_is_not_a_laestab(laestab: str) -> None:
    assert not is_valid_laestab(laestab)
    with pytest.raises(InvalidIdentifier):
        split_laestab(laestab)


def test_a_laestab_of_another_authority_is_refused_when_ours_is_required() -> None:
    assert is_valid_laestab("8812001")
    assert not is_valid_laestab("8812001", la_code="926")
    with pytest.raises(InvalidIdentifier) as caught:
        check_laestab("8812001", la_code="926")
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "laestab_la_code"


def test_a_malformed_configured_la_code_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="3 digits"):
        is_valid_laestab("9262001", la_code="92")


def test_make_laestab_names_each_bad_part() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        make_laestab("92", "20011")
    assert caught.value.errors is not None
    assert [e.field for e in caught.value.errors] == ["la_code", "establishment_number"]


def test_laestab_schema_type() -> None:
    class School(BaseModel):
        laestab: Laestab

    assert School(laestab="9262001").laestab == "9262001"
    with pytest.raises(ValidationError):
        School(laestab="926200")
