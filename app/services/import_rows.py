"""Turning one row of an import file into clean customer and booking values.

No database here: :class:`RowCleaner` knows the column mapping, the business settings and
each date column's dd/mm or mm/dd decision, and answers a :class:`CleanRow` holding clean
values plus every problem found, each with its row, column and reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Any

import ftfy
import phonenumbers

from app.models import search_index
from app.models.booking import CHANNELS
from app.services import import_cleaning as cl
from app.services.import_mapping import ColumnMapping, Profile
from app.services.normalize import Email, Phone, display_name, fold, sort_key
from app.services.phone_format import display_forms
from app.services.timeutil import parse_local

# customer columns an import may fill (first and last name are handled apart)
PROFILE_VALUES = (
    "preferred_language",
    "birthday",
    "street",
    "postcode",
    "city",
    "region",
    "country",
    "company",
    "first_contact",
)
_FIELD_TO_COLUMN = {"language": "preferred_language"}
# stays without a time: the usual check-in and check-out hours
CHECK_IN = dt.time(15, 0)
CHECK_OUT = dt.time(11, 0)
APPOINTMENT_TIME = dt.time(9, 0)


@dataclass
class Problem:
    """One problem: which row (header = 1), which column, what is wrong."""

    row: int
    column: str
    message: str
    severity: str = "error"  # error: the row cannot be imported; warning: it can

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class CleanRow:
    number: int
    first: str = ""
    last: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # field -> header, for messages
    phones: list[Phone] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    consent: bool | None = None
    booking: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    # derived forms computed with the row (display, sort key, search names; phone views),
    # so a helper process does this work rather than the writer
    names: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    phone_views: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    # the search index's word columns for this row's names and emails, when it has names:
    # ((names, emails), words) as search_index.word_columns gives them
    word_columns: tuple[tuple[str, str], tuple[str, str]] | None = None

    # a helper process pickles 2000 rows a chunk for the writer: the fields travel as one
    # tuple, in __init__'s order, instead of a state dict per row (a third less to load, and
    # fewer objects for the collector to walk while a chunk arrives)
    def __reduce__(self) -> tuple[type[CleanRow], tuple[Any, ...]]:
        return CleanRow, _row_fields(self)

    @property
    def bad(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def error(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.number, column, message))

    def warn(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.number, column, message, "warning"))

    @property
    def is_empty(self) -> bool:
        return not (
            self.first or self.last or self.phones or self.emails or self.refs or self.booking
        )


_row_fields = operator.attrgetter(*(f.name for f in fields(CleanRow)))


@dataclass
class Settings:
    region: str
    currency: str
    timezone: str
    kind: str  # guesthouse or salon


_STATUS_WORDS = (
    ("cancelled", ("cancel", "annul", "storn", "取消", "refus", "declin")),
    ("no-show", ("no show", "noshow", "no_show", "absent", "nicht erschienen", "未到")),
    (
        "checked-in",
        (
            "checked in",
            "currently hosting",
            "arrived",
            "en cours",
            "angereist",
            "已入住",
            "in house",
        ),
    ),
    (
        "completed",
        (
            "complet",
            "done",
            "past guest",
            "checked out",
            "termin",
            "effectu",
            "abgeschlossen",
            "erledigt",
            "已完成",
            "已离店",
            "finished",
        ),
    ),
    (
        "requested",
        (
            "request",
            "pending",
            "en attente",
            "demande",
            "angefragt",
            "待确认",
            "inquiry",
            "tentative",
        ),
    ),
    (
        "confirmed",
        (
            "confirm",
            "ok",
            "book",
            "reserv",
            "bestätigt",
            "gebucht",
            "确认",
            "已预订",
            "upcoming",
            "accepted",
        ),
    ),
)
_CHANNEL_WORDS = (
    ("booking.com", ("booking",)),
    ("airbnb", ("airbnb",)),
    ("walk-in", ("walk", "passage", "laufkund", "到店")),
    ("phone", ("phone", "téléphone", "telephone", "telefon", "tel", "电话")),
    ("website", ("web", "site", "online", "internet", "网站", "网上")),
    ("direct", ("direct", "direkt", "email", "e-mail", "mail", "直接")),
)


def name_views(first: str, last: str) -> tuple[str, str, str]:
    """(display name, sort key, search-index names) as the shared helpers make them."""
    display = display_name(first, last)
    return display, sort_key(first, last), " ".join(search_index.name_tokens(first, last, display))


@functools.lru_cache(maxsize=8192)
def name_views_cached(first: str, last: str) -> tuple[str, str, str]:
    """:func:`name_views`, remembered: first and family names repeat in a customer file,
    and the transliterations behind a name's search tokens cost ~0.1 ms a name."""
    return name_views(first, last)


def phone_views(e164: str) -> tuple[str, list[str]]:
    """``normalize.format_phone`` and ``search_index.phone_digit_forms`` from one parse (the
    derived-data test checks they agree): three parses per new number cost seconds at 100k."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164, [e164.lstrip("+")]
    return number_views(e164, number)


def number_views(e164: str, number: phonenumbers.PhoneNumber) -> tuple[str, list[str]]:
    """:func:`phone_views` from the number the cleaner parsed already (no second parse).

    Only the parts of the number that its E.164 form keeps are used (an extension typed
    after the number is not), so the answer is the one ``phone_views(e164)`` gives.
    """
    if number.extension or number.raw_input or number.preferred_domestic_carrier_code:
        number = phonenumbers.PhoneNumber(
            country_code=number.country_code,
            national_number=number.national_number,
            italian_leading_zero=number.italian_leading_zero,
            number_of_leading_zeros=number.number_of_leading_zeros,
        )
    intl, national = display_forms(number)
    digits = "".join(filter(str.isdigit, national))
    forms = [f for f in (e164.lstrip("+"), digits) if f]
    if len(forms) == 2 and forms[0] == forms[1]:
        del forms[1]
    return intl, forms


def _phone_cell(value: Any, region: str) -> tuple[tuple[Phone, tuple[str, list[str]]], ...]:
    """The phones of a cell with their display and search forms (:func:`number_views`)."""
    if type(value) is str:
        return _phone_text_cell(value, region)
    return _phone_numbers_views(value, region)


def _phone_numbers_views(
    value: Any, region: str
) -> tuple[tuple[Phone, tuple[str, list[str]]], ...]:
    return tuple(
        (phone, number_views(phone.e164, number))
        for phone, number in cl.clean_phone_numbers(value, region)
    )


# a returning guest's number recurs in a booking export (one row a stay); parsing,
# validating and formatting a number costs ~0.1 ms, a miss here about 1 µs. Failures
# (CellError) are not remembered
_phone_text_cell = functools.lru_cache(maxsize=4096)(_phone_numbers_views)


@functools.lru_cache(maxsize=256)
def _status(text: str) -> str | None:
    low = fold(text).replace("_", " ")
    for status, words in _STATUS_WORDS:
        if any(w in low for w in words):
            return status
    return None


@functools.lru_cache(maxsize=256)
def _channel(text: str) -> str:
    low = fold(text)
    if low in CHANNELS:
        return low
    for channel, words in _CHANNEL_WORDS:
        if any(w in low for w in words):
            return channel
    return "other"


_BLANKS = re.compile(r"[ \t\u00a0]+")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _note_text(value: Any) -> str:
    """Notes keep their line breaks; everything else is cleaned like any text."""
    try:
        return _note_text_cached(value)
    except TypeError:  # not hashable: nothing to remember
        return _clean_note(value)


def _clean_note(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if not text.isascii():
        text = ftfy.fix_text(text, uncurl_quotes=False, fix_character_width=False)
    text = unicodedata.normalize("NFC", text)
    lines = [_BLANKS.sub(" ", line).strip() for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    return "" if text.casefold() in cl.PLACEHOLDERS else text


# the same remark recurs across rows ('Allergie aux noix', 'late arrival', empty requests),
# and ftfy costs ~0.1 ms a non-ASCII note (typed: 1 and 1.0 are different cells)
_note_text_cached = functools.lru_cache(maxsize=4096, typed=True)(_clean_note)


def _ref_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return cl.repair_text(value)


def _to_utc(moment: dt.datetime, tz: str) -> dt.datetime:
    if moment.tzinfo is None and not moment.fold:
        return _local_to_utc(moment, tz)
    # equal aware (or fold=1) date-times can be different moments: not remembered
    return parse_local(moment, tz)


# a booking file's arrivals share their days and the check-in hour
_local_to_utc = functools.lru_cache(maxsize=4096)(parse_local)


class RowCleaner:
    """Cleans rows for one mapping, one set of settings and one date-order decision."""

    def __init__(
        self,
        mapping: list[ColumnMapping],
        settings: Settings,
        profile: Profile,
        date_orders: dict[int, str],
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.date_orders = date_orders
        self.by_field: dict[str, list[ColumnMapping]] = defaultdict(list)
        for m in mapping:
            if m.field:
                self.by_field[m.field].append(m)
        self.now = dt.datetime.now(dt.UTC)

    def clean(self, number: int, cells: list[Any]) -> CleanRow:
        row = CleanRow(number)
        try:
            self._clean(row, cells)
        except Exception as exc:  # a cell no parser foresaw must not stop a 100k import
            row.error("", f"this row could not be read ({type(exc).__name__}: {exc})")
        return row

    # -------------------------------------------------------------- helpers

    def _cells(self, name: str, cells: list[Any]) -> list[tuple[ColumnMapping, Any]]:
        maps = self.by_field.get(name)
        if not maps:  # most fields are not in a given file: ~20 such calls a row
            return []
        out = []
        for m in maps:
            value = cells[m.index] if m.index < len(cells) else None
            if value is not None and value != "":
                out.append((m, value))
        return out

    def _text(self, row: CleanRow, name: str, cells: list[Any]) -> str:
        parts = []
        for m, value in self._cells(name, cells):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            text = cl.repair_text(value)
            if text:
                parts.append(text)
                row.columns.setdefault(name, m.header)
        if len(parts) < 2:
            return parts[0] if parts else ""
        return " ".join(cl.unique(parts))

    def _date(self, row: CleanRow, name: str, cells: list[Any]):
        for m, value in self._cells(name, cells):
            row.columns.setdefault(name, m.header)
            try:
                return cl.parse_date_value(value, self.date_orders.get(m.index, "dmy"))
            except cl.YearlessDate as exc:
                row.warn(m.header, f"{exc}: left out")
                return None
            except cl.CellError as exc:
                if cl.repair_text(value) == "":
                    continue
                row.error(m.header, str(exc))
                return None
        return None

    # -------------------------------------------------------------- the row

    def _clean(self, row: CleanRow, cells: list[Any]) -> None:
        first = self._text(row, "first_name", cells)
        last = self._text(row, "last_name", cells)
        if not (first or last):
            full = self._text(row, "full_name", cells)
            if full:
                first, last = cl.split_full_name(full)
                row.columns.setdefault("first_name", row.columns.get("full_name", ""))
                row.columns.setdefault("last_name", row.columns.get("full_name", ""))
        row.first, row.last = cl.recase_name(first), cl.recase_name(last, surname=True)

        views: dict[str, tuple[str, list[str]]] = {}
        for m, value in self._cells("phone", cells):
            try:
                for phone, (intl, forms) in _phone_cell(value, self.settings.region):
                    row.phones.append(phone)
                    views[phone.e164] = (intl, list(forms))  # a row's own list
            except cl.CellError as exc:
                row.error(m.header, str(exc))
        for m, value in self._cells("email", cells):
            try:
                row.emails += cl.clean_emails(value)
            except cl.CellError as exc:
                row.error(m.header, str(exc))
        if len(row.phones) > 1:
            row.phones = list({p.e164: p for p in row.phones}.values())
        if len(row.emails) > 1:
            row.emails = list({e.address.lower(): e for e in row.emails}.values())

        for m, value in self._cells("external_ref", cells):
            ref = _ref_text(value)
            if ref:
                row.refs.append(ref[:200])
                row.columns.setdefault("external_ref", m.header)
        for _m, value in self._cells("tags", cells):
            for tag in cl.split_list(str(value)):
                if not tag.startswith("*"):  # Google's system groups ('* myContacts')
                    row.tags.append(tag[:60])
        row.tags = cl.unique(row.tags)
        for _m, value in self._cells("notes", cells):
            note = _note_text(value)
            if note:
                row.notes.append(note)

        for m, value in self._cells("marketing_consent", cells):
            try:
                row.consent = cl.parse_yes_no(value)
            except cl.CellError as exc:
                row.warn(m.header, f"{exc}: consent not recorded")
            break

        for name in ("street", "postcode", "city", "region", "company"):
            text = self._text(row, name, cells)
            if text:
                row.values[name] = text
        for m, value in self._cells("country", cells):
            try:
                code = cl.parse_country(value)
            except cl.CellError as exc:
                row.warn(m.header, f"{exc}: left out")
                continue
            if code:
                row.values["country"] = code
                row.columns["country"] = m.header
                break
        for m, value in self._cells("language", cells):
            try:
                code = cl.parse_language(value)
            except cl.CellError as exc:
                row.warn(m.header, f"{exc}: left out")
                continue
            if code:
                row.values["preferred_language"] = code
                row.columns["preferred_language"] = m.header
                break
        birthday = self._date(row, "birthday", cells)
        if birthday is not None:
            day = cl.as_date(birthday)
            if not (dt.date(1900, 1, 1) <= day <= self.now.date()):
                row.error(row.columns["birthday"], f"{day.isoformat()} is not a plausible birthday")
            else:
                row.values["birthday"] = day
        first_contact = self._date(row, "first_contact", cells)
        if first_contact is not None:
            row.values["first_contact"] = cl.as_date(first_contact)

        self._booking(row, cells)
        if row.first or row.last:
            names = row.names[(row.first, row.last)] = name_views_cached(row.first, row.last)
            emails = " ".join(e.address.lower() for e in row.emails)
            row.word_columns = ((names[2], emails), search_index.word_columns(names[2], emails))
        for phone in row.phones:
            row.phone_views[phone.e164] = views[phone.e164]
        anonymous = not (row.first or row.last or row.phones or row.emails or row.refs)
        if anonymous and (row.booking or row.values or row.notes):
            row.error("", "no name, phone, email or reference: cannot tell who this is")

    def _booking(self, row: CleanRow, cells: list[Any]) -> None:
        start = self._date(row, "booking_start", cells)
        end = self._date(row, "booking_end", cells)
        service = self._text(row, "service", cells)
        room = self._text(row, "room", cells)
        price_cells = self._cells("price", cells)
        if start is None:
            column = row.columns.get("booking_start")
            has_details = end is not None or service or room or price_cells
            if has_details and column is None and "booking_start" in self.by_field:
                row.warn(
                    self.by_field["booking_start"][0].header,
                    "booking details without a start date: no booking created",
                )
            return
        tz = self.settings.timezone
        is_stay = bool(room) or (
            not service and (self.settings.kind == "guesthouse" or end is not None)
        )
        if not isinstance(start, dt.datetime):
            start = dt.datetime.combine(start, CHECK_IN if is_stay else APPOINTMENT_TIME)
        if end is not None and not isinstance(end, dt.datetime):
            end = dt.datetime.combine(end, CHECK_OUT if is_stay else APPOINTMENT_TIME)
        start_utc = _to_utc(start, tz)
        end_utc = _to_utc(end, tz) if end is not None else None
        if end_utc is not None and end_utc < start_utc:
            row.error(row.columns.get("booking_end", ""), "the booking ends before it starts")
            return
        currency = self.settings.currency
        for m, value in self._cells("currency", cells):
            code = cl.repair_text(value).upper()
            if code == "RMB":
                code = "CNY"
            if not _CURRENCY_CODE.fullmatch(code):
                row.error(m.header, f"'{code}' is not a currency code such as EUR")
                return
            currency = code
            break
        price = 0
        for m, value in price_cells:
            try:
                price, currency = cl.parse_price(value, currency)
            except cl.CellError as exc:
                if cl.repair_text(value):
                    row.error(m.header, str(exc))
                    return
            break
        status_text = self._text(row, "status", cells)
        status = _status(status_text) if status_text else None
        if status_text and status is None:
            row.warn(row.columns.get("status", ""), f"'{status_text}' is not a booking status")
        if status in (None, "confirmed"):
            # a confirmed booking that has already ended is a past visit
            status = "completed" if (end_utc or start_utc) < self.now else "confirmed"
        channel_text = self._text(row, "channel", cells)
        channel = _channel(channel_text) if channel_text else (self.profile.channel or "direct")
        party = 1
        for m, value in self._cells("party_size", cells):
            try:
                party = max(1, cl.parse_int(value))
            except cl.CellError as exc:
                row.warn(m.header, f"{exc}: party size left at 1")
            break
        row.booking = {
            "kind": "stay" if is_stay else "appointment",
            "service": service or None,
            "room": room or None,
            "staff": self._text(row, "staff", cells) or None,
            "location": self._text(row, "location", cells) or None,
            "start_at": start_utc,
            "end_at": end_utc,
            "status": status,
            "price_minor": price,
            "currency": currency,
            "channel": channel,
            "party_size": party,
            "special_requests": _note_text(
                " ".join(str(v) for _m, v in self._cells("special_requests", cells))
            )
            or None,
            "external_ref": (
                " ".join(_ref_text(v) for _m, v in self._cells("booking_ref", cells)) or None
            ),
            "cancelled_at": self.now if status == "cancelled" else None,
        }
