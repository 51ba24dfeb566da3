"""Which column holds which field: header names in English, French, German and Chinese,
the exports of Google Contacts, Outlook, Booking.com and Airbnb, and — for headers we do
not know — a look at the values (a column of email addresses is an email column).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.services.errors import ValidationError
from app.services.normalize import fold

CUSTOMER_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "birthday",
    "language",
    "street",
    "postcode",
    "city",
    "region",
    "country",
    "company",
    "notes",
    "tags",
    "external_ref",
    "marketing_consent",
    "first_contact",
)
BOOKING_FIELDS = (
    "booking_start",
    "booking_end",
    "service",
    "room",
    "staff",
    "location",
    "price",
    "currency",
    "status",
    "channel",
    # beyond the list: what booking-site exports carry and re-imports need
    "booking_ref",
    "party_size",
    "special_requests",
)
FIELDS = CUSTOMER_FIELDS + BOOKING_FIELDS
# several columns mapped to one of these give several values, not one joined text
LIST_FIELDS = frozenset({"email", "phone", "tags", "notes"})
DATE_FIELDS = frozenset({"birthday", "first_contact", "booking_start", "booking_end"})

_SYNONYMS: dict[str, Sequence[str]] = {
    "first_name": (
        "first name",
        "firstname",
        "first",
        "given name",
        "given names",
        "forename",
        "middle name",
        "additional name",
        "prénom",
        "prenom",
        "prénoms",
        "vorname",
        "vornamen",
        "名",
        "名字",
        "vcard n given",
    ),
    "last_name": (
        "last name",
        "lastname",
        "last",
        "surname",
        "family name",
        "nom",
        "nom de famille",
        "nachname",
        "familienname",
        "zuname",
        "姓",
        "姓氏",
        "vcard n family",
    ),
    "full_name": (
        "name",
        "full name",
        "fullname",
        "contact",
        "contact name",
        "customer",
        "customer name",
        "client",
        "client name",
        "guest",
        "guest name",
        "guest names",
        "guest name s",
        "guest s",
        "booker name",
        "display name",
        "nom complet",
        "nom et prénom",
        "prénom nom",
        "nom prénom",
        "client e",
        "vollständiger name",
        "kunde",
        "kundenname",
        "gast",
        "gastname",
        "name des gastes",
        "姓名",
        "客户",
        "客户姓名",
        "客人",
        "客人姓名",
        "联系人",
        "入住人",
        "vcard fn",
    ),
    "email": (
        "email",
        "e mail",
        "mail",
        "email address",
        "e mail address",
        "e mail value",
        "mail address",
        "primary email",
        "home email",
        "work email",
        "courriel",
        "adresse e mail",
        "adresse email",
        "adresse mail",
        "e mail adresse",
        "emailadresse",
        "邮箱",
        "电子邮件",
        "电子邮箱",
        "邮件",
        "email 地址",
        "vcard email",
    ),
    "phone": (
        "phone",
        "phone number",
        "telephone",
        "tel",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "phone value",
        "home phone",
        "business phone",
        "work phone",
        "primary phone",
        "other phone",
        "phone numbers",
        "téléphone",
        "tél",
        "téléphone portable",
        "portable",
        "numéro de téléphone",
        "mobile number",
        "telefon",
        "telefonnummer",
        "handy",
        "mobil",
        "mobilnummer",
        "mobiltelefon",
        "rufnummer",
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "电话号码",
        "联系电话",
        "联系方式",
        "vcard tel",
    ),
    "birthday": (
        "birthday",
        "birth date",
        "date of birth",
        "dob",
        "birthdate",
        "born",
        "date de naissance",
        "naissance",
        "anniversaire",
        "geburtstag",
        "geburtsdatum",
        "生日",
        "出生日期",
        "vcard bday",
    ),
    "language": (
        "language",
        "preferred language",
        "lang",
        "langue",
        "langue préférée",
        "sprache",
        "语言",
        "vcard lang",
    ),
    "street": (
        "street",
        "address",
        "street address",
        "address street",
        "address line 1",
        "address line 2",
        "home street",
        "home street 2",
        "adresse",
        "rue",
        "adresse postale",
        "straße",
        "strasse",
        "adresse straße",
        "anschrift",
        "地址",
        "街道",
        "详细地址",
        "vcard adr street",
    ),
    "postcode": (
        "postcode",
        "post code",
        "postal code",
        "zip",
        "zip code",
        "address postal code",
        "home postal code",
        "code postal",
        "cp",
        "plz",
        "postleitzahl",
        "邮编",
        "邮政编码",
        "vcard adr postcode",
    ),
    "city": (
        "city",
        "town",
        "address city",
        "home city",
        "ville",
        "commune",
        "ort",
        "stadt",
        "wohnort",
        "城市",
        "市",
        "vcard adr city",
    ),
    "region": (
        "region",
        "state",
        "province",
        "county",
        "address region",
        "home state",
        "région",
        "département",
        "bundesland",
        "kanton",
        "省",
        "省份",
        "地区",
        "vcard adr region",
    ),
    "country": (
        "country",
        "address country",
        "home country region",
        "country region",
        "booker country",
        "nationality",
        "pays",
        "land",
        "staat",
        "国家",
        "国籍",
        "vcard adr country",
    ),
    "company": (
        "company",
        "organization",
        "organisation",
        "organization name",
        "organization 1 name",
        "employer",
        "société",
        "entreprise",
        "firma",
        "unternehmen",
        "公司",
        "单位",
        "vcard org",
    ),
    "notes": (
        "notes",
        "note",
        "comments",
        "comment",
        "remarks",
        "memo",
        "remarques",
        "commentaire",
        "commentaires",
        "notizen",
        "notiz",
        "bemerkung",
        "bemerkungen",
        "anmerkungen",
        "备注",
        "说明",
        "vcard note",
    ),
    "tags": (
        "tags",
        "tag",
        "labels",
        "label",
        "group membership",
        "groups",
        "categories",
        "category",
        "étiquettes",
        "étiquette",
        "catégories",
        "groupes",
        "schlagworte",
        "kategorien",
        "gruppen",
        "标签",
        "分组",
        "vcard categories",
    ),
    "external_ref": (
        "id",
        "customer id",
        "client id",
        "customer number",
        "client number",
        "customer ref",
        "reference",
        "ref",
        "uid",
        "contact id",
        "id client",
        "numéro client",
        "référence",
        "kundennummer",
        "kunden nr",
        "kundennr",
        "referenz",
        "客户编号",
        "编号",
        "会员号",
        "vcard uid",
    ),
    "marketing_consent": (
        "marketing consent",
        "consent",
        "newsletter",
        "opt in",
        "optin",
        "marketing",
        "email opt in",
        "accepts marketing",
        "subscribed",
        "consentement",
        "consentement marketing",
        "accord newsletter",
        "einwilligung",
        "werbeeinwilligung",
        "newsletter einwilligung",
        "同意营销",
        "营销同意",
        "订阅",
    ),
    "first_contact": (
        "first contact",
        "customer since",
        "client since",
        "created",
        "date added",
        "first visit",
        "premier contact",
        "client depuis",
        "date de création",
        "erstkontakt",
        "kunde seit",
        "首次到访",
        "首次联系",
        "注册日期",
    ),
    "booking_start": (
        "booking start",
        "start",
        "start date",
        "start time",
        "check in",
        "checkin",
        "arrival",
        "arrival date",
        "date",
        "appointment",
        "appointment date",
        "appointment time",
        "from",
        "arrivée",
        "date d arrivée",
        "date arrivée",
        "début",
        "rendez vous",
        "date rdv",
        "anreise",
        "anreisedatum",
        "ankunft",
        "termin",
        "beginn",
        "入住",
        "入住日期",
        "入住时间",
        "到店时间",
        "预约时间",
        "开始时间",
    ),
    "booking_end": (
        "booking end",
        "end",
        "end date",
        "end time",
        "check out",
        "checkout",
        "departure",
        "departure date",
        "to",
        "until",
        "départ",
        "date de départ",
        "fin",
        "abreise",
        "abreisedatum",
        "ende",
        "离店",
        "离店日期",
        "退房",
        "退房日期",
        "结束时间",
    ),
    "service": (
        "service",
        "services",
        "treatment",
        "prestation",
        "soin",
        "leistung",
        "dienstleistung",
        "behandlung",
        "服务",
        "项目",
        "服务项目",
    ),
    "room": (
        "room",
        "rooms",
        "room type",
        "unit",
        "unit type",
        "listing",
        "accommodation",
        "chambre",
        "logement",
        "zimmer",
        "zimmertyp",
        "unterkunft",
        "房间",
        "房型",
    ),
    "staff": (
        "staff",
        "employee",
        "stylist",
        "therapist",
        "with",
        "employé",
        "coiffeur",
        "coiffeuse",
        "praticien",
        "mitarbeiter",
        "friseur",
        "员工",
        "技师",
        "发型师",
    ),
    "location": (
        "location",
        "branch",
        "site",
        "salon",
        "property",
        "lieu",
        "établissement",
        "standort",
        "filiale",
        "门店",
        "分店",
    ),
    "price": (
        "price",
        "amount",
        "total",
        "total price",
        "earnings",
        "revenue",
        "payout",
        "cost",
        "prix",
        "montant",
        "tarif",
        "total ttc",
        "preis",
        "betrag",
        "gesamtpreis",
        "价格",
        "金额",
        "总价",
        "房费",
    ),
    "currency": ("currency", "devise", "monnaie", "währung", "币种", "货币"),
    "status": (
        "status",
        "booking status",
        "reservation status",
        "statut",
        "état",
        "buchungsstatus",
        "状态",
        "订单状态",
    ),
    "channel": (
        "channel",
        "source",
        "booking source",
        "booked via",
        "canal",
        "provenance",
        "kanal",
        "quelle",
        "buchungskanal",
        "渠道",
        "来源",
        "预订渠道",
    ),
    "booking_ref": (
        "book number",
        "booking number",
        "booking id",
        "booking reference",
        "reservation",
        "reservation id",
        "reservation number",
        "confirmation code",
        "confirmation number",
        "numéro de réservation",
        "réservation",
        "buchungsnummer",
        "reservierungsnummer",
        "预订号",
        "订单号",
        "预订编号",
    ),
    "party_size": (
        "people",
        "persons",
        "guests",
        "number of guests",
        "adults",
        "of adults",
        "pax",
        "personnes",
        "nombre de personnes",
        "adultes",
        "personen",
        "erwachsene",
        "人数",
        "入住人数",
    ),
    "special_requests": (
        "special requests",
        "requests",
        "guest request",
        "demandes spéciales",
        "sonderwünsche",
        "特殊要求",
    ),
}


def normalise_header(header: str) -> str:
    """'E-mail 2 Address' -> 'e mail address', 'Prénom ' -> 'prenom'."""
    text = fold(str(header))
    text = re.sub(r"[^\w]+", " ", text)
    # numbered repeats (Google 'Phone 1 - Value', Outlook 'E-mail 2 Address')
    text = re.sub(r"(?:^|\s)\d+(?=\s|$)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_LOOKUP: dict[str, str] = {}
for _field, _names in _SYNONYMS.items():
    for _name in _names:
        _LOOKUP.setdefault(normalise_header(_name), _field)


@dataclass
class ColumnMapping:
    """What one column of the file holds."""

    index: int
    header: str
    field: str | None
    how: str = ""  # header, content, user, or '' for unmapped


@dataclass(frozen=True)
class Profile:
    """The tool that exported a file, when its headers say so."""

    name: str  # generic, google, outlook, booking.com, airbnb, vcard
    channel: str | None = None  # default booking channel
    ref_system: str = ""  # ExternalRef.system for customer references


_PROFILES = (
    (("book number", "booked by"), Profile("booking.com", "booking.com", "booking.com")),
    (("confirmation code", "listing"), Profile("airbnb", "airbnb", "airbnb")),
    (("given name", "family name", "group membership"), Profile("google", None, "google")),
    (("first name", "last name", "labels", "phone value"), Profile("google", None, "google")),
    (("first name", "last name", "e mail address", "mobile phone"), Profile("outlook")),
    (("vcard fn",), Profile("vcard", None, "vcard")),
)

# columns of known exports that look like a field but are not one
_IGNORE = {
    "booking.com": {"booked on", "commission", "commission amount", "booked by"},
    "airbnb": {"booked", "of nights"},
    "outlook": {
        "business street",
        "business city",
        "business state",
        "business postal code",
        "business country region",
        "other street",
        "other city",
        "other state",
        "other postal code",
        "other country region",
        "business fax",
        "home fax",
    },
    "google": {"name prefix", "name suffix", "nickname", "file as"},
}

# where a known export's header means something other than usual
_PROFILE_FIELDS = {
    "airbnb": {"contact": "phone", "earnings": "price", "of adults": "party_size"},
    "booking.com": {"people": "party_size", "persons": "party_size", "remarks": "special_requests"},
}


def detect_profile(headers: Sequence[str]) -> Profile:
    names = {normalise_header(h) for h in headers}
    for required, profile in _PROFILES:
        if all(r in names for r in required):
            return profile
    return Profile("generic")


def field_for_header(header: str) -> str | None:
    return _LOOKUP.get(normalise_header(header))


def detect_mapping(
    headers: Sequence[str], sample_rows: Iterable[Sequence[Any]] = (), region: str = "FR"
) -> list[ColumnMapping]:
    """A mapping for every column: by header name first, then by the values."""
    profile = detect_profile(headers)
    ignored = _IGNORE.get(profile.name, set())
    out = []
    for i, header in enumerate(headers):
        norm = normalise_header(header)
        field = None if norm in ignored else _LOOKUP.get(norm)
        out.append(ColumnMapping(i, header, field, "header" if field else ""))
    for col in out:
        special = _PROFILE_FIELDS.get(profile.name, {}).get(normalise_header(col.header))
        if special:
            col.field, col.how = special, "header"
    samples = [list(r) for r in sample_rows]
    for col in out:
        if col.field is None and samples:
            guessed = _guess_from_values(
                [r[col.index] for r in samples if col.index < len(r)], region
            )
            if guessed and not (col.header.lower().endswith(("type", "label"))):
                col.field, col.how = guessed, "content"
    return out


def _guess_from_values(values: list[Any], region: str) -> str | None:
    from app.services.import_cleaning import CellError, clean_email, clean_phones, repair_text

    texts = [repair_text(v) for v in values if v not in (None, "")]
    texts = [t for t in texts if t][:50]
    if len(texts) < 2:
        return None

    def share(check) -> float:
        ok = 0
        for t in texts:
            with contextlib.suppress(CellError):
                ok += bool(check(t))
        return ok / len(texts)

    if sum("@" in t for t in texts) >= 0.8 * len(texts) and share(clean_email) >= 0.8:
        return "email"
    if (
        sum(c.isdigit() for t in texts for c in t) >= 6 * len(texts)
        and share(lambda t: clean_phones(t, region)) >= 0.8
    ):
        return "phone"
    return None


def apply_overrides(mapping: list[ColumnMapping], overrides: dict[str, str]) -> None:
    """Apply ``COLUMN=FIELD`` choices; COLUMN is a header or a 1-based column number,
    FIELD a canonical field or '' / 'ignore' to leave the column out."""
    for column, field in overrides.items():
        field = field.strip()
        if field in ("", "-", "ignore", "none"):
            field = None
        elif field not in FIELDS:
            raise ValidationError("map", f"'{field}' is not a field; fields: {', '.join(FIELDS)}")
        targets = [m for m in mapping if m.header == column]
        if not targets:
            targets = [m for m in mapping if m.header.strip().lower() == column.strip().lower()]
        if not targets and column.strip().isdigit():
            number = int(column.strip())
            targets = [m for m in mapping if m.index == number - 1]
        if not targets:
            raise ValidationError(
                "map",
                f"the file has no column '{column}' (columns: "
                + ", ".join(m.header for m in mapping)
                + ")",
            )
        for m in targets:
            m.field, m.how = field, "user" if field else ""


def parse_map_args(items: Iterable[str]) -> dict[str, str]:
    """['Tel.=phone', 'Col 3=ignore'] -> {'Tel.': 'phone', 'Col 3': 'ignore'}."""
    out: dict[str, str] = {}
    for item in items:
        column, sep, field = item.rpartition("=")
        if not sep or not column:
            raise ValidationError("map", f"'{item}' is not COLUMN=FIELD")
        out[column] = field
    return out


def unmapped_columns(mapping: Sequence[ColumnMapping]) -> list[str]:
    return [m.header for m in mapping if m.field is None]
