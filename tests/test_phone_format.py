"""The import's phone display forms are the ones phonenumbers writes, for every region."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from app.services import phone_format
from app.services.phone_format import display_forms

_TYPES = [
    value
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int) and name != "UNKNOWN"
]


def _library(number: phonenumbers.PhoneNumber) -> tuple[str, str]:
    return (
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
    )


def _examples() -> list[phonenumbers.PhoneNumber]:
    """Every region's example numbers of every type, and valid numbers made from them by
    changing their last digits (other lengths and leading digits pick other rules)."""
    rng = random.Random(20261123)
    numbers = []
    regions = [(r, None) for r in sorted(phonenumbers.SUPPORTED_REGIONS)]
    regions += [(None, cc) for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)]
    for region, code in regions:
        for kind in _TYPES:
            if region is not None:
                example = phonenumbers.example_number_for_type(region, kind)
            else:
                example = phonenumbers.example_number_for_non_geo_entity(code)
            if example is None:
                continue
            numbers.append(example)
            digits = phonenumbers.national_significant_number(example)
            for _ in range(6):
                cut = rng.randint(1, min(4, len(digits)))
                extra = rng.choice(["", "", str(rng.randint(0, 9))])
                tail = "".join(str(rng.randint(0, 9)) for _ in range(cut)) + extra
                candidate = f"+{example.country_code}{digits[:-cut]}{tail}"
                try:
                    number = phonenumbers.parse(candidate, None)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number):
                    numbers.append(number)
    return numbers


def test_every_region_formats_as_phonenumbers_does():
    numbers = _examples()
    assert len(numbers) > 2000
    different = [
        (phonenumbers.format_number(n, PhoneNumberFormat.E164), display_forms(n), _library(n))
        for n in numbers
        if display_forms(n) != _library(n)
    ]
    assert different == []


@pytest.mark.parametrize("code", [1, 33, 39, 44, 49, 86, 852, 800])
def test_common_calling_codes_take_the_prepared_rules(code):
    # the comparison above would also pass if every number went to format_number
    assert phone_format._plan(code) is not None


@pytest.mark.parametrize(
    ("typed", "region", "international", "national"),
    [
        ("06 52 52 72 72", "FR", "+33 6 52 52 72 72", "06 52 52 72 72"),
        ("030 1234567", "DE", "+49 30 1234567", "030 1234567"),
        ("138 0013 8000", "CN", "+86 138 0013 8000", "138 0013 8000"),
        ("(201) 555-0123", "US", "+1 201-555-0123", "(201) 555-0123"),
        ("06 12345678", "IT", "+39 06 1234 5678", "06 1234 5678"),  # Italian leading zero
    ],
)
def test_numbers_as_a_receptionist_reads_them(typed, region, international, national):
    assert display_forms(phonenumbers.parse(typed, region)) == (international, national)


def test_a_number_with_an_extension_keeps_it_as_phonenumbers_writes_it():
    number = phonenumbers.parse("+44 20 7946 0958 ext. 12", None)
    assert number.extension == "12"
    assert display_forms(number) == _library(number)
    assert display_forms(number)[0].endswith("12")
