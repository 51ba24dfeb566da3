"""Cleaning imported values: mojibake, casing, phones, emails, dates, money, yes/no.

Pure functions over one cell at a time (plus a per-column date-order decision), so the
import service can clean 100k rows without touching the database. Each parser returns the
clean value or raises :class:`CellError` with a reason written for the person importing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import ftfy
import phonenumbers
from babel import Locale

from app.services import money
from app.services.errors import ValidationError
from app.services.normalize import (
    Email,
    Phone,
    clean_text,
    fold,
    has_cjk,
    is_relay_domain,
    parse_email,
    parse_phone_number,
)

# phonenumbers compiles its metadata patterns through re.compile on every call; with its own
# cache on, validating and formatting a number costs about half as much (an import checks
# 100k numbers, and re's small cache is shared with every other pattern in the process)
phonenumbers.enable_pattern_cache()


class CellError(ValueError):
    """A value that cannot be used; ``str(exc)`` says why."""


class YearlessDate(CellError):
    """A date with day and month but no year (phone contacts' birthdays)."""


# ---------------------------------------------------------------- text

PLACEHOLDERS = frozenset(
    {
        "n/a",
        "na",
        "n.a.",
        "n/d",
        "-",
        "--",
        "---",
        "none",
        "null",
        "nil",
        "nan",
        "unknown",
        "?",
        "??",
        ".",
        "/",
        "0000-00-00",
        "inconnu",
        "néant",
        "aucun",
        "keine",
        "unbekannt",
        "无",
        "暂无",
        "未知",
    }
)
PLACEHOLDER_EMAILS = frozenset(
    {
        "test@test.com",
        "test@example.com",
        "none@none.com",
        "no@email.com",
        "noemail@noemail.com",
        "nomail@nomail.com",
        "no@mail.com",
        "na@na.com",
        "x@x.com",
        "email@example.com",
        "email@email.com",
        "a@a.com",
        "aucun@aucun.fr",
    }
)
# bad-encoding signatures: UTF-8 read as cp1252/latin-1 ('Ã©', 'â€™', 'Ã¼'); checking for
# them first keeps ftfy (about 70 µs a call) off the clean majority of cells
_MOJIBAKE_HINT = re.compile(
    "[ÃÂâÅÐÑØÙæåäçèéï][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)


def repair_text(value: Any) -> str:
    """Mojibake repaired (ftfy), NFC, whitespace collapsed; placeholders become ''."""
    try:
        return _repair_text_cached(value)
    except TypeError:  # not hashable: nothing to remember
        return _repair_text(value)


def _repair_text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if not text.isascii() and _MOJIBAKE_HINT.search(text):
        text = ftfy.fix_text(
            text,
            unescape_html=False,
            uncurl_quotes=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
            normalization="NFC",
        )
    text = clean_text(text)
    if text.casefold() in PLACEHOLDERS:
        return ""
    return text


# a file repeats its cities, tags, rooms, prices and first names thousands of times: each
# distinct cell is cleaned once (typed: 1 and 1.0 are different cells)
_repair_text_cached = lru_cache(maxsize=8192, typed=True)(_repair_text)


# ---------------------------------------------------------------- names

# lower-case inside a name ("Charles de Gaulle", "Ludwig van Beethoven")
_PARTICLES = frozenset(
    {
        "de",
        "du",
        "des",
        "da",
        "di",
        "do",
        "dos",
        "das",
        "del",
        "della",
        "van",
        "von",
        "der",
        "den",
        "ter",
        "ten",
        "zu",
        "y",
        "af",
        "av",
        "bin",
        "ibn",
        "al",
    }
)
# lower-case only right after another particle ("de la Fontaine", "van der Berg")
_SECOND_PARTICLES = frozenset({"la", "le", "les", "den", "der", "het", "'t"})
# 'Mac' + letters is usually a Scottish prefix, but not in these ordinary names
_MAC_EXCEPTIONS = frozenset(
    {
        "mack",
        "macey",
        "mace",
        "macon",
        "machado",
        "macias",
        "machin",
        "mackie",
        "macedo",
        "macri",
        "machinist",
        "macaulay",
    }
)


def _cap_word(word: str) -> str:
    low = word.lower()
    if low.startswith("mc") and len(low) > 3:
        return "Mc" + low[2].upper() + low[3:]
    if low.startswith("mac") and len(low) > 5 and low not in _MAC_EXCEPTIONS:
        return "Mac" + low[3].upper() + low[4:]
    return low[:1].upper() + low[1:]


def _cap_apostrophes(word: str, first: bool) -> str:
    # O'Neill, d'Artagnan (particle), N'Diaye
    if "'" in word or "’" in word:
        mark = "'" if "'" in word else "’"
        head, _, tail = word.partition(mark)
        if head.lower() in ("d", "l") and not first:
            return head.lower() + mark + _cap_apostrophes(tail, True)
        return _cap_word(head) + mark + _cap_apostrophes(tail, True)
    return _cap_word(word)


@lru_cache(maxsize=8192)
def recase_name(name: str, surname: bool = False) -> str:
    """Re-case a name typed in ALL CAPS or all lower case; leave mixed case alone.

    Keeps particles lower-case inside the name (de, van, von…; at the start too for a
    ``surname``: 'VAN BEETHOVEN' -> 'van Beethoven'), and Mc/Mac/O' prefixes:
    'JEAN-PIERRE DE LA FONTAINE' -> 'Jean-Pierre de la Fontaine', "o'neill" -> "O'Neill".
    """
    letters = [c for c in name if c.isalpha()]
    if not letters or has_cjk(name):
        return name
    cased = [c for c in letters if c.lower() != c.upper()]
    if not cased:
        return name
    if not (all(c.isupper() for c in cased) or all(c.islower() for c in cased)):
        return name
    if len(cased) == 1:
        return name.upper()
    words = name.split(" ")
    out = []
    prev_particle = False
    for i, word in enumerate(words):
        low = word.lower()
        leading = i > 0 or (surname and len(words) > 1)
        if leading and (low in _PARTICLES or (prev_particle and low in _SECOND_PARTICLES)):
            out.append(low)
            prev_particle = True
            continue
        prev_particle = False
        out.append("-".join(_cap_apostrophes(part, i == 0) for part in word.split("-")))
    return " ".join(out)


# two-character Chinese family names (the rest are one character)
_CJK_COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "司徒",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "夏侯",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "万俟",
        "闻人",
        "澹台",
        "西门",
    }
)


def split_full_name(full: str) -> tuple[str, str]:
    """(first, last) from one name cell.

    'Dupont, Jean' and 'DUPONT Jean' (French registers put the family name first in
    capitals) give the family name correctly; '张伟' splits after the family name;
    particles stay with the family name ('Charles de Gaulle' -> 'Charles', 'de Gaulle').
    """
    full = full.strip()
    if not full:
        return "", ""
    if has_cjk(full) and " " not in full:
        family = 2 if full[:2] in _CJK_COMPOUND_SURNAMES and len(full) > 2 else 1
        return (full[family:], full[:family]) if len(full) > 1 else ("", full)
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    words = full.split()
    if len(words) == 1:
        return "", words[0]
    caps = [w for w in words if len(w) > 1 and w.isupper()]
    if caps and len(caps) < len(words):
        # the capitalised words are the family name, wherever they stand
        last = " ".join(w for w in words if w in caps)
        first = " ".join(w for w in words if w not in caps)
        return first, last
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in (_PARTICLES | _SECOND_PARTICLES):
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


# ---------------------------------------------------------------- phones and emails

_NON_DIGITS = re.compile(r"\D")
_LIST_SPLIT = re.compile(r"\s*(?:;|,|\||\n|:::| / )\s*")


def split_list(value: str) -> list[str]:
    """Several values in one cell: ';', ',', '|', new lines, ' ::: ' (Google), ' / '."""
    return list(_split_list(value))


# tag cells repeat ('VIP', 'Stammgast; Familie') as much as cities do
@lru_cache(maxsize=4096)
def _split_list(value: str) -> tuple[str, ...]:
    return tuple(p for p in (repair_text(v) for v in _LIST_SPLIT.split(value)) if p)


def _cell_parts(value: Any, text: str) -> list[str]:
    """A cell's values (:func:`split_list`); ``text`` is the cell already repaired, its one
    value in the usual case, so that one is not cleaned a second time."""
    return split_list(str(value)) if _LIST_SPLIT.search(str(value)) else [text]


def _typed_phone(value: Any) -> str:
    # spreadsheets turn 33652527272 into 33652527272.0 and drop leading zeros
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def clean_phone(value: Any, region: str) -> Phone:
    """One phone to E.164 with the default region; the typed form is kept as ``raw``."""
    return clean_phone_number(value, region)[0]


def clean_phone_number(value: Any, region: str) -> tuple[Phone, phonenumbers.PhoneNumber]:
    """:func:`clean_phone` and the parsed number it came from."""
    return _phone_from_text(repair_text(_typed_phone(value)), region)


def _phone_from_text(typed: str, region: str) -> tuple[Phone, phonenumbers.PhoneNumber]:
    """:func:`clean_phone_number` of a cell's text that :func:`repair_text` gave already."""
    if not typed:
        raise CellError("empty phone number")
    tel = typed.startswith("tel:")
    if tel:
        typed = typed[4:]
    # only an all-digit cell can be an international number whose '+' was eaten
    digits = _NON_DIGITS.sub("", typed) if typed.isdigit() else ""
    if len(digits) >= 11:
        code = str(phonenumbers.country_code_for_region(region.upper()))
        if digits.startswith(code):
            # '4915123456789' from a number cell: the '+' was eaten, not a national number
            with contextlib.suppress(ValidationError):
                phone, number = parse_phone_number("+" + digits, region)
                return Phone(raw=typed, e164=phone.e164), number
    try:
        return parse_phone_number(typed, region, clean=tel)
    except ValidationError as exc:
        # an international number whose '+' a spreadsheet ate: 33652527272
        if len(digits) >= 11:
            try:
                phone, number = parse_phone_number("+" + digits, region)
                return Phone(raw=typed, e164=phone.e164), number
            except ValidationError:
                pass
        raise CellError(exc.message) from None


def clean_phones(value: Any, region: str) -> list[Phone]:
    """Every phone in a cell (several may be separated by ';', ',', new lines…)."""
    return [phone for phone, _number in clean_phone_numbers(value, region)]


def clean_phone_numbers(value: Any, region: str) -> list[tuple[Phone, phonenumbers.PhoneNumber]]:
    """:func:`clean_phones`, each with the parsed number it came from."""
    if isinstance(value, (int, float)):
        return [clean_phone_number(value, region)]
    # not remembered: phone cells are all different (and would push out the cities)
    text = _repair_text(value)
    if not text:
        return []
    parts = _cell_parts(value, text)
    try:
        if parts == [text]:  # the usual single number, repaired above
            return [_phone_from_text(text, region)]
        found = [clean_phone_number(p, region) for p in parts]
        if len(found) == 1:
            return found
        return list({pair[0].e164: pair for pair in found}.values())
    except CellError:
        if len(parts) > 1:
            # '06 52 52 72 72, poste 12' and the like: try the cell as one number
            return [clean_phone_number(text, region)]
        raise


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"^({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})$")
_SPECIAL = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def clean_email(value: str) -> Email | None:
    """A syntactically valid address (domain lower-cased), or None for placeholders."""
    return _email_from_text(repair_text(value))


def _email_from_text(text: str) -> Email | None:
    """:func:`clean_email` of a cell's text that :func:`repair_text` gave already."""
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if not text or text.lower() in PLACEHOLDER_EMAILS:
        return None
    m = _PLAIN_EMAIL.match(text) if len(text) <= 254 else None
    if m and len(m.group(1)) <= 64 and m.group(2).rsplit(".", 1)[1].lower() not in _SPECIAL:
        # the everyday ASCII address: same answer as email-validator at a tenth of the cost
        local, domain = m.groups()
        domain = domain.lower()
        return Email(address=f"{local}@{domain}", is_relay=is_relay_domain(domain))
    try:
        return parse_email(text)
    except ValidationError as exc:
        raise CellError(exc.message) from None


def clean_emails(value: Any) -> list[Email]:
    text = _repair_text(value)  # not remembered: every address is different
    if not text:
        return []
    parts = _cell_parts(value, text)
    if parts == [text]:  # the usual single address, repaired above
        email = _email_from_text(text)
        return [email] if email is not None else []
    found = [clean_email(p) for p in parts]
    return list({e.address.lower(): e for e in found if e is not None}.values())


# ---------------------------------------------------------------- dates

_ISO = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?$"
)
_DMY = re.compile(
    r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})\.?(?:[ ,T]+(\d{1,2})[:h.](\d{2})"
    r"(?::(\d{2}))?\s*([ap]\.?m\.?)?)?$",
    re.IGNORECASE,
)
_CJK_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?(?:\s*(\d{1,2})[:时](\d{2})分?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?Z?)?$")
_YEARLESS = re.compile(r"^--(\d{2})-?(\d{2})$")
_SERIAL = re.compile(r"^\d{4,5}(?:\.\d+)?$")
_WORDY = re.compile(
    r"^(?:(\d{1,2})\.?\s+([^\W\d_]+)\.?,?\s+(\d{4})|([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4}))$"
)
_MONTHS = {
    name: i + 1
    for names in (
        "january february march april may june july august september october november december",
        "jan feb mar apr may jun jul aug sep oct nov dec",
        "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
        "janv fevr mars avr mai juin juil aout sept oct nov dec",
        "januar februar marz april mai juni juli august september oktober november dezember",
        "jan feb mrz apr mai jun jul aug sep okt nov dez",
    )
    for i, name in enumerate(names.split())
}
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# serials between 1910 and 2100 are the only plausible dates in a customer file
_SERIAL_RANGE = (3654, 73051)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        # two-digit years: 00-29 are this century, the rest the last one
        year += 2000 if year < 30 else 1900
    return year


def dmy_parts(value: Any) -> tuple[int, int] | None:
    """The first two numbers of a dd/mm or mm/dd date, for the per-column decision."""
    if not isinstance(value, str):
        return None
    m = _DMY.match(value.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass
class DateOrder:
    """How a column's 'a/b/yyyy' dates are read: 'dmy' or 'mdy', and why."""

    order: str
    ambiguous: bool = False
    inconsistent: bool = False


class DateOrderSniffer:
    """Looks at every value of a date column to decide dd/mm versus mm/dd."""

    def __init__(self) -> None:
        self.day_first = 0  # first number > 12
        self.month_first = 0  # second number > 12
        self.undecided = 0

    def add(self, other: DateOrderSniffer) -> None:
        """Count what another sniffer saw of the same column (another part of the file)."""
        self.day_first += other.day_first
        self.month_first += other.month_first
        self.undecided += other.undecided

    def feed(self, value: Any) -> None:
        parts = dmy_parts(value)
        if parts is None:
            return
        a, b = parts
        if a > 12 >= b:
            self.day_first += 1
        elif b > 12 >= a:
            self.month_first += 1
        elif a <= 12 and b <= 12:
            self.undecided += 1

    def decide(self, default: str) -> DateOrder | None:
        """None when the column holds no dd/mm-style dates at all."""
        if not (self.day_first or self.month_first or self.undecided):
            return None
        if self.day_first and self.month_first:
            order = "dmy" if self.day_first >= self.month_first else "mdy"
            return DateOrder(order, inconsistent=True)
        if self.day_first:
            return DateOrder("dmy")
        if self.month_first:
            return DateOrder("mdy")
        return DateOrder(default, ambiguous=True)


def default_date_order(region: str) -> str:
    """mm/dd where that is the local habit, dd/mm everywhere else."""
    return "mdy" if region.upper() in ("US", "PH", "FM", "MH", "PW", "CA") else "dmy"


def _build(year: int, month: int, day: int, hh=None, mm=None, ss=None, ampm=None):
    if ampm:
        hour = int(hh) % 12 + (12 if ampm.lower().startswith("p") else 0)
    else:
        hour = int(hh) if hh is not None else None
    try:
        if hour is None:
            return dt.date(year, month, day)
        return dt.datetime(year, month, day, hour, int(mm), int(ss or 0))
    except ValueError as exc:
        raise CellError(f"not a real date ({exc})") from None


def parse_date_value(value: Any, order: str = "dmy") -> dt.date | dt.datetime:
    """A date (or naive local date-time) from what a spreadsheet or person wrote.

    ISO, dd/mm/yyyy or mm/dd/yyyy (``order``), yyyymmdd, '15 mars 2024', '2024年3月15日',
    Excel serial numbers and the spreadsheet's own date cells are understood.
    """
    if type(value) is str:  # equal strings are the same date (equal datetimes need not be)
        return _parse_date_cached(value, order)
    return _parse_date_value(value, order)


def _parse_date_value(value: Any, order: str) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise CellError(f"'{value}' is not a date")
    if isinstance(value, (int, float)):
        return _from_number(value)
    text = repair_text(value)
    if not text:
        raise CellError("empty date")
    if m := _ISO.match(text):
        y, mo, d, hh, mi, ss, tz = m.groups()
        if tz:
            try:
                return dt.datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
            except ValueError:
                raise CellError(f"'{text}' is not a real date") from None
        return _build(int(y), int(mo), int(d), hh, mi, ss)
    if m := _DMY.match(text):
        a, b, y, hh, mi, ss, ampm = m.groups()
        day, month = (int(a), int(b)) if order == "dmy" else (int(b), int(a))
        if month > 12:
            layout = "dd/mm/yyyy" if order == "dmy" else "mm/dd/yyyy"
            raise CellError(f"'{text}' does not fit this column's {layout} dates")
        return _build(_year(y), month, day, hh, mi, ss, ampm)
    if m := _COMPACT.match(text):
        y, mo, d, hh, mi, ss = m.groups()
        return _build(int(y), int(mo), int(d), hh, mi, ss)
    if m := _CJK_DATE.match(text):
        y, mo, d, hh, mi = m.groups()
        return _build(int(y), int(mo), int(d), hh, mi)
    if _SERIAL.match(text):
        return _from_number(float(text))
    if m := _WORDY.match(fold(text)):
        d1, name1, y1, name2, d2, y2 = m.groups()
        name, day, year = (name1, d1, y1) if name1 else (name2, d2, y2)
        month = _MONTHS.get(name.rstrip("."))
        if month:
            return _build(int(year), month, int(day))
    if m := _YEARLESS.match(text):
        raise YearlessDate(f"'{text}' has no year")
    raise CellError(f"'{text}' is not a date")


# arrival and departure days repeat across a booking file, birthdays across a big one
_parse_date_cached = lru_cache(maxsize=8192)(_parse_date_value)


def _from_number(number: float) -> dt.date | dt.datetime:
    if number == int(number) and 19000101 <= number <= 21001231:
        text = str(int(number))
        return _build(int(text[:4]), int(text[4:6]), int(text[6:]))
    if not (_SERIAL_RANGE[0] <= number <= _SERIAL_RANGE[1]):
        raise CellError(f"'{number:g}' is not a date")
    moment = _EXCEL_EPOCH + dt.timedelta(days=float(number))
    if number == int(number):
        return moment.date()
    return moment.replace(microsecond=0)


def as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# ---------------------------------------------------------------- money, yes/no, codes

_CURRENCY_SIGNS = {
    "€": "EUR",
    "£": "GBP",
    "$": "USD",
    "us$": "USD",
    "¥": "CNY",
    "￥": "CNY",
    "元": "CNY",
    "rmb": "CNY",
    "chf": "CHF",
    "fr.": "CHF",
}
_AMOUNT = re.compile(r"[-+]?\d[\d\s.,'’\u00a0\u202f]*")
_CODE_WORDS = re.compile(r"\b[A-Za-z]{3}\b")
_GROUPING = re.compile(r"[\s'’\u00a0\u202f]")


def parse_price(value: Any, default_currency: str) -> tuple[int, str]:
    """(minor units, currency) from '240 EUR', '€1,234.50', '1.234,50 €', '¥880' or 85.5."""
    try:
        return _parse_price_cached(value, default_currency)
    except TypeError:  # not hashable: nothing to remember
        return _parse_price(value, default_currency)


def _parse_price(value: Any, default_currency: str) -> tuple[int, str]:
    currency = default_currency.upper()
    if isinstance(value, bool):
        raise CellError(f"'{value}' is not an amount")
    if isinstance(value, (int, float)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return _to_minor(number, currency, str(value)), currency
    text = repair_text(value)
    if not text:
        raise CellError("empty amount")
    low = text.lower()
    for sign, code in _CURRENCY_SIGNS.items():
        if sign in low:
            currency = code if not (sign in ("¥", "￥") and currency == "JPY") else "JPY"
            break
    codes = _CODE_WORDS.findall(text)
    if codes:
        currency = codes[0].upper()
        if currency == "RMB":
            currency = "CNY"
    m = _AMOUNT.search(text)
    if not m:
        raise CellError(f"'{text}' is not an amount")
    digits = _GROUPING.sub("", m.group(0)).rstrip(".,")
    if "," in digits and "." in digits:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
    elif "," in digits:
        tail = digits.rsplit(",", 1)[1]
        decimal_mark = "," if len(tail) != 3 and digits.count(",") == 1 else ""
    elif digits.count(".") > 1:
        decimal_mark = ""
    else:
        decimal_mark = "."
    thousands = "." if decimal_mark == "," else ","
    number_text = digits.replace(thousands, "")
    if decimal_mark == ",":
        number_text = number_text.replace(",", ".")
    elif decimal_mark == "":
        number_text = number_text.replace(".", "").replace(",", "")
    try:
        number = Decimal(number_text)
    except InvalidOperation:
        raise CellError(f"'{text}' is not an amount") from None
    return _to_minor(number, currency, text), currency


# prices repeat (a room's rate, a service's price)
_parse_price_cached = lru_cache(maxsize=1024, typed=True)(_parse_price)


def _to_minor(number: Decimal, currency: str, shown: str) -> int:
    try:
        money.exponent(currency)
    except Exception:
        raise CellError(f"'{currency}' is not a currency code") from None
    if number < 0:
        raise CellError(f"'{shown}' is negative")
    # spreadsheets store 85.1 as 85.09999999999999: round to the currency's precision
    number = number.quantize(Decimal(1).scaleb(-money.exponent(currency)))
    try:
        return money.to_minor(number, currency)
    except ValidationError as exc:
        raise CellError(exc.message) from None


_YES = frozenset(
    {
        "yes",
        "y",
        "true",
        "1",
        "x",
        "✓",
        "✔",
        "oui",
        "o",
        "ja",
        "j",
        "是",
        "同意",
        "opt-in",
        "optin",
        "subscribed",
        "abonné",
        "abonniert",
        "ok",
    }
)
_NO = frozenset(
    {
        "no",
        "n",
        "false",
        "0",
        "non",
        "nein",
        "否",
        "不同意",
        "opt-out",
        "optout",
        "unsubscribed",
        "désabonné",
        "abgemeldet",
    }
)


def parse_yes_no(value: Any) -> bool | None:
    """True/False from yes/no in four languages; None when empty."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = repair_text(value).lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(f"'{text}' is not yes or no")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for lang in ("en", "fr", "de", "zh"):
        for code, name in Locale.parse(lang).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(fold(name), code)
    names.update({"uk": "GB", "england": "GB", "usa": "US", "u.s.a.": "US", "holland": "NL"})
    return names


def parse_country(value: Any) -> str:
    """ISO 3166 alpha-2 code from a code or a country name (en, fr, de, zh)."""
    text = repair_text(value)
    if not text:
        return ""
    if len(text) == 2 and text.isalpha() and text.isascii():
        code = text.upper()
        if code in Locale.parse("en").territories:
            return code
    found = _country_names().get(fold(text))
    if not found:
        raise CellError(f"'{text}' is not a country name or code")
    return found


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for lang in ("en", "fr", "de", "zh"):
        loc = Locale.parse(lang)
        for code, name in loc.languages.items():
            if "_" not in code:
                names.setdefault(fold(name), code)
    names.update({"chinese": "zh", "mandarin": "zh", "中文": "zh", "普通话": "zh"})
    return names


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def parse_language(value: Any) -> str:
    """A language code ('fr', 'zh-Hans') from a code or a language name."""
    text = repair_text(value)
    if not text:
        return ""
    code = text.replace("_", "-")
    if _LANGUAGE_TAG.fullmatch(code):
        base, _, rest = code.partition("-")
        if base.lower() in Locale.parse("en").languages:
            return base.lower() + ("-" + rest if rest else "")
    found = _language_names().get(fold(text))
    if not found:
        raise CellError(f"'{text}' is not a language")
    return found


_DIGIT_RUN = re.compile(r"\d+")


def parse_int(value: Any) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    text = repair_text(value)
    m = _DIGIT_RUN.search(text)
    if not m:
        raise CellError(f"'{text}' is not a number")
    return int(m.group(0))


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def same_text(a: str, b: str) -> bool:
    """Equal once case, accents, punctuation and spacing are ignored."""
    return _squash(a) == _squash(b)


_NON_WORD = re.compile(r"[\W_]+")


def _squash(text: str) -> str:
    return _NON_WORD.sub("", fold(text))


def fold_key(name: str) -> str:
    """Tag names that differ only in case or accents are one tag."""
    return fold(name)


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
