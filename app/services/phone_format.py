"""The international and national forms of many phone numbers, as phonenumbers writes them.

``phonenumbers.format_number`` looks its formatting rules up again on every call and
expands them through ``re.sub`` templates: about 22 µs for the two forms of one number,
the largest single cost of cleaning an import's rows after parsing. Here each calling
code's rules (phonenumbers' own metadata) are prepared once: patterns compiled, templates
turned into ``str.format`` strings, the national prefix rule folded in. A number is then
formatted with the choice phonenumbers makes (the first rule whose leading digits match
the start of the national number and whose pattern matches all of it) in about 6 µs.

Whatever the prepared rules do not cover (an extension, a number without digits, a
template this module does not read) is left to ``format_number``; a test compares both
for every region's example numbers.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberFormat

# a formatting template refers to the pattern's groups as \1 … \9
_GROUP_REF = re.compile(r"\\(\d)")
# the first group reference of a template: where a national prefix rule goes (this is the
# pattern phonenumbers applies for the same purpose)
_FIRST_GROUP = re.compile(r"(\\\d)")

_Rule = tuple["re.Pattern[str] | None", "re.Pattern[str]", str]


def display_forms(number: PhoneNumber) -> tuple[str, str]:
    """``number`` in phonenumbers' INTERNATIONAL and NATIONAL formats: '+33 6 52 52 72 72'
    and '06 52 52 72 72' (the same strings ``phonenumbers.format_number`` gives)."""
    plan = None if number.extension or not number.national_number else _plan(number.country_code)
    if plan is not None:
        head, international, national = plan
        nsn = phonenumbers.national_significant_number(number)
        intl, nat = _apply(international, nsn), _apply(national, nsn)
        if intl is not None and nat is not None:
            return head + intl, nat
    return (
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
    )


def _apply(rules: tuple[_Rule, ...], nsn: str) -> str | None:
    for leading, pattern, template in rules:
        if (leading is None or leading.match(nsn)) and pattern.fullmatch(nsn):
            # re.sub replaces the leftmost match; phonenumbers calls it on a pattern that
            # matches the whole number, which that match is unless the pattern is lazy
            found = pattern.match(nsn)
            if found is None or found.end() != len(nsn):
                return None
            return template.format(*found.groups(""))
    return nsn  # no rule fits: phonenumbers leaves the digits as they are


@functools.cache
def _plan(country_code: int) -> tuple[str, tuple[_Rule, ...], tuple[_Rule, ...]] | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region.upper())
    if metadata is None:
        return None
    national = _rules(metadata.number_format, national=True)
    # the international form has rules of its own in some regions (phonenumbers' choice)
    international = _rules(metadata.intl_number_format or metadata.number_format, national=False)
    if national is None or international is None:
        return None
    return f"+{country_code} ", international, national


def _rules(formats: list, *, national: bool) -> tuple[_Rule, ...] | None:
    rules = []
    for fmt in formats:
        template = fmt.format
        if national and fmt.national_prefix_formatting_rule:
            template = _FIRST_GROUP.sub(fmt.national_prefix_formatting_rule, template, count=1)
        as_format = _format_string(template)
        pattern = re.compile(fmt.pattern)
        refs = [int(group) for group in _GROUP_REF.findall(template)]
        if as_format is None or pattern.fullmatch("") or max(refs, default=0) > pattern.groups:
            return None  # a rule this module does not read: the calling code uses the library
        leading = re.compile(fmt.leading_digits_pattern[-1]) if fmt.leading_digits_pattern else None
        rules.append((leading, pattern, as_format))
    return tuple(rules)


def _format_string(template: str) -> str | None:
    """'\\1 \\2' -> '{0} {1}'; None for a template with anything but literals and groups."""
    parts = _GROUP_REF.split(template)
    literals, groups = parts[0::2], parts[1::2]
    if any("\\" in text or "$" in text for text in literals):
        return None
    out = []
    for i, text in enumerate(literals):
        out.append(text.replace("{", "{{").replace("}", "}}"))
        if i < len(groups):
            if groups[i] == "0":
                return None
            out.append(f"{{{int(groups[i]) - 1}}}")
    return "".join(out)
