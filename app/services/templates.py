"""Message templates per kind and language, rendered in a sandbox.

Shipped defaults live in ``resources/templates/<language>/<kind>.txt`` (a ``Subject:``
line, a blank line, the body); templates edited by the owner are stored in the
``MessageTemplate`` table and win over the shipped ones. Templates use Jinja2 syntax and
are rendered by a :class:`~jinja2.sandbox.SandboxedEnvironment` over plain strings only,
so a template typed into the window can fill in placeholders but never run code.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select

from app.assets import resource_path
from app.models import MessageTemplate
from app.services.errors import ServiceError, ValidationError
from app.services.normalize import clean_text
from app.services.store import Store

TEMPLATES_DIR = resource_path("templates")

# the order the queue and the editor show them in
KINDS = ("confirmation", "reminder", "pre-arrival", "follow-up", "birthday", "win-back")
# sent only with recorded marketing consent, never to a booking-site relay address
MARKETING_KINDS = frozenset({"birthday", "win-back"})
SHIPPED_LANGUAGES = ("en", "fr", "de", "zh-Hans")

KIND_LABELS = {
    "confirmation": "Booking confirmation",
    "reminder": "Reminder before the booking",
    "pre-arrival": "Pre-arrival information (stays)",
    "follow-up": "Thank-you after the visit",
    "birthday": "Birthday greeting",
    "win-back": "Win-back after months without a visit",
}

# every name a template may use, with what it holds (shown in the editor and the CLI)
PLACEHOLDERS: dict[str, str] = {
    "first_name": "the customer's first name (the full name when there is none)",
    "last_name": "the customer's last name",
    "display_name": "the customer's name as shown in lists ('Zoé Lefèvre', '林美')",
    "date": "the booking's date in the customer's language ('mardi 24 novembre 2026')",
    "time": "the booking's start time in the customer's language",
    "end_date": "the last day of a stay, or the end date of the booking",
    "nights": "how many nights a stay lasts",
    "is_stay": "non-empty for stays, empty for appointments ({% if is_stay %}…{% endif %})",
    "room": "the room booked",
    "service": "the service booked",
    "what": "the room or, for appointments, the service",
    "staff": "who looks after the customer",
    "business_name": "the business name (settings)",
    "business_address": "the business address (settings)",
    "business_phone": "the business phone (settings)",
    "business_email": "the business email (settings)",
    "balance_due": "what is still to pay on the booking, as money; empty when nothing",
    "checkin_time": "check-in time (settings), in the customer's language",
    "directions": "directions for arriving guests (settings)",
    "door_code": "door or key-box code (settings)",
    "review_link": "link to leave a review (settings); empty when not set",
}

_MAX_OUTPUT = 20_000
_SAFE_STR_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith"}
)
# filters that only shorten or re-case text; padding ones (center, indent, format) could be
# asked for gigabytes
_SAFE_FILTERS = frozenset(
    {"upper", "lower", "title", "capitalize", "trim", "default", "d", "length", "count"}
    | {"first", "last", "truncate", "wordcount", "striptags"}
)


class TemplateError(ServiceError):
    """A template that cannot be saved or rendered; the message says where and why."""


@dataclass(frozen=True)
class Template:
    kind: str
    language: str
    subject: str
    body: str
    custom: bool  # stored by the owner (True) or shipped with Regulars (False)


class _Sandbox(SandboxedEnvironment):
    """The stock sandbox refuses attribute tricks; this one also refuses the arithmetic
    that would build huge strings or numbers ('x' * 10**9) and freeze the window."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_callable(self, obj: Any) -> bool:
        # a few harmless string methods ({{ first_name.upper() }}); every other call is
        # refused, which also closes str.format's width tricks
        return getattr(obj, "__name__", "") in _SAFE_STR_METHODS and isinstance(
            getattr(obj, "__self__", None), str
        )

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "%" and isinstance(left, str):
            raise SecurityError("'%' string formatting is not available in message templates")
        if op == "**" and not (isinstance(right, int) and -64 <= right <= 64):
            raise SecurityError("exponent too large for a message template")
        if op == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(count, int)
                if sized and len(seq) * count > _MAX_OUTPUT:
                    raise SecurityError("repetition too large for a message template")
        return {"*": operator.mul, "**": operator.pow, "%": operator.mod}[op](left, right)


@functools.cache
def _env() -> _Sandbox:
    env = _Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain-text messages, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    # no range(), lipsum(), cycler(): a template sees its placeholders and nothing else
    env.globals.clear()
    env.filters = {k: v for k, v in env.filters.items() if k in _SAFE_FILTERS}
    return env


# ---------------------------------------------------------------- languages


@functools.lru_cache(maxsize=512)
def _locale(tag: str | None) -> Locale | None:
    if not tag:
        return None
    try:
        return Locale.parse(str(tag).strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _script(loc: Locale) -> str | None:
    if loc.script:
        return loc.script
    likely = get_global("likely_subtags")
    full = likely.get(f"{loc.language}_{loc.territory}") if loc.territory else None
    full = full or likely.get(loc.language) or ""
    parts = full.split("_")
    return parts[1] if len(parts) > 2 else None


def resolve_language(tag: str | None, available: Iterable[str], fallback: str = "en") -> str:
    """The best available template language for a customer's language tag.

    'fr-CA' → 'fr', 'zh', 'zh-CN' or 'zh_Hans' → 'zh-Hans'; 'zh-TW' → 'zh-Hant' when such
    templates exist, else 'zh-Hans' (still readable); anything unknown → ``fallback``.
    """
    available = list(available)
    by_lower = {a.lower(): a for a in available}
    if tag:
        cleaned = str(tag).strip().replace("_", "-")
        if cleaned.lower() in by_lower:
            return by_lower[cleaned.lower()]
        loc = _locale(cleaned)
        if loc is not None:
            script = _script(loc)
            candidates = []
            if script:
                candidates.append(f"{loc.language}-{script}")
            candidates.append(loc.language)
            candidates.extend(a for a in available if a.lower().startswith(loc.language + "-"))
            for cand in candidates:
                if cand.lower() in by_lower:
                    return by_lower[cand.lower()]
    if fallback.lower() in by_lower:
        return by_lower[fallback.lower()]
    return "en" if "en" in available else available[0]


def format_locale(tag: str | None, template_language: str) -> Locale:
    """The Babel locale for dates and money: the customer's own tag when Babel knows it
    ('fr-CA' writes '15 h 30'), else the template's language."""
    return _locale(tag) or _locale(template_language) or Locale.parse("en")


# ---------------------------------------------------------------- reading


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError("kind", f"'{kind}' is not one of {', '.join(KINDS)}")
    return kind


def _check_language(language: str) -> str:
    text = clean_text(language).replace("_", "-")
    if _locale(text) is None:
        raise ValidationError(
            "language", f"'{language}' is not a language code such as en, fr, de, zh-Hans"
        )
    for shipped in SHIPPED_LANGUAGES:
        if shipped.lower() == text.lower():
            return shipped
    return text


def parse_file_text(text: str, source: str = "template") -> tuple[str, str]:
    """Split a template file into (subject, body): 'Subject: …', blank line, body."""
    first, _, rest = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise TemplateError(f"{source}: the first line must be 'Subject: …'")
    return first.split(":", 1)[1].strip(), rest.lstrip("\n").rstrip() + "\n"


@functools.cache
def _shipped(kind: str, language: str) -> tuple[str, str] | None:
    path = TEMPLATES_DIR / language / f"{kind}.txt"
    if not path.is_file():
        return None
    return parse_file_text(path.read_text(encoding="utf-8"), str(path))


def shipped_template(kind: str, language: str) -> Template | None:
    """The template shipped with Regulars, or None for a language we do not ship."""
    found = _shipped(_check_kind(kind), language)
    if found is None:
        return None
    return Template(kind, language, found[0], found[1], custom=False)


def _custom_rows(store: Store) -> dict[tuple[str, str], Template]:
    with store.reader() as s:
        return {
            (r.kind, r.language): Template(r.kind, r.language, r.subject, r.body, custom=True)
            for r in s.scalars(select(MessageTemplate)).all()
        }


class TemplateSet:
    """Every template for one drafting run, read once (the queue renders hundreds)."""

    def __init__(self, store: Store, fallback_language: str = "en") -> None:
        self.custom = _custom_rows(store)
        self.fallback = fallback_language

    def languages(self, kind: str) -> list[str]:
        extra = sorted(lang for (k, lang) in self.custom if k == kind)
        return list(dict.fromkeys([*SHIPPED_LANGUAGES, *extra]))

    def pick(self, kind: str, customer_language: str | None) -> Template:
        language = resolve_language(customer_language, self.languages(kind), self.fallback)
        return self.get(kind, language)

    def get(self, kind: str, language: str) -> Template:
        found = self.custom.get((kind, language)) or shipped_template(kind, language)
        if found is None:
            found = shipped_template(kind, "en")
        assert found is not None, f"shipped template {kind}/en is missing"
        return found


def get_template(store: Store, kind: str, language: str) -> Template:
    """The template in effect for this kind and language (stored, else shipped)."""
    _check_kind(kind)
    language = _check_language(language)
    custom = _custom_rows(store).get((kind, language))
    if custom is not None:
        return custom
    shipped = shipped_template(kind, language)
    if shipped is None:
        raise TemplateError(
            f"no {kind} template in {language}: write one, or customers speaking it get "
            "the business language"
        )
    return shipped


def list_templates(store: Store) -> list[Template]:
    """Every template in effect: shipped languages plus languages the owner added."""
    custom = _custom_rows(store)
    out = []
    for kind in KINDS:
        languages = list(SHIPPED_LANGUAGES) + sorted(
            lang for (k, lang) in custom if k == kind and lang not in SHIPPED_LANGUAGES
        )
        for language in languages:
            row = custom.get((kind, language))
            if row is not None:
                out.append(row)
            else:
                shipped = shipped_template(kind, language)
                if shipped is not None:
                    out.append(shipped)
    return out


# ---------------------------------------------------------------- checking and saving


def problems(subject: str, body: str) -> list[str]:
    """What is wrong with a template, in words; empty when it can be saved.

    Reports syntax errors with their line and every placeholder that is not in
    :data:`PLACEHOLDERS` (a typo like ``{{ frist_name }}`` would otherwise fail at send
    time, or worse, print nothing).
    """
    found: list[str] = []
    if not clean_text(body):
        found.append("the message is empty")
    for part, source in (("subject", subject), ("body", body)):
        try:
            # compiling (not only parsing) also catches unknown filters such as |center
            names = meta.find_undeclared_variables(_env().parse(source))
        except jinja2.TemplateSyntaxError as exc:
            found.append(f"{part}, line {exc.lineno}: {exc.message}")
            continue
        unknown = sorted(names - PLACEHOLDERS.keys())
        for name in unknown:
            found.append(f"{part}: unknown placeholder '{name}'")
    if "\n" in subject.strip():
        found.append("subject: must be a single line")
    if not found:
        # a trial render on sample values, both for a stay and an appointment, catches
        # what parsing cannot: the sandbox refusing ''.__class__ and the like
        for sample in (SAMPLE_VALUES, {**SAMPLE_VALUES, "is_stay": ""}):
            for part, source in (("subject", subject), ("body", body)):
                try:
                    render_text(source, sample, part)
                except TemplateError as exc:
                    found.append(str(exc))
                    return found
    return found


SAMPLE_VALUES = {
    "first_name": "Zoé",
    "last_name": "Lefèvre",
    "display_name": "Zoé Lefèvre",
    "date": "Tuesday, 24 November 2026",
    "time": "10:00",
    "end_date": "Friday, 27 November 2026",
    "nights": "3",
    "is_stay": "yes",
    "room": "Lavande",
    "service": "Colour",
    "what": "Lavande",
    "staff": "Inès",
    "business_name": "Chez Nous",
    "business_address": "1 rue de la Paix",
    "business_phone": "+33 1 23 45 67 89",
    "business_email": "hello@example.org",
    "balance_due": "€45.00",
    "checkin_time": "15:00",
    "directions": "Second door on the left",
    "door_code": "1234",
    "review_link": "https://example.org/review",
}


def save_template(store: Store, kind: str, language: str, subject: str, body: str) -> Template:
    """Store the owner's version of a template after checking it.

    Raises:
        TemplateError: with every problem found (unknown placeholders, syntax errors);
            nothing is stored then.
    """
    _check_kind(kind)
    language = _check_language(language)
    subject = clean_text(subject)
    body = body.replace("\r\n", "\n").rstrip() + "\n"
    found = problems(subject, body)
    if found:
        raise TemplateError(f"{kind} template ({language}): " + "; ".join(found))
    with store.session() as s:
        row = s.scalar(
            select(MessageTemplate).where(
                MessageTemplate.kind == kind, MessageTemplate.language == language
            )
        )
        if row is None:
            row = MessageTemplate(kind=kind, language=language)
            s.add(row)
        row.subject, row.body = subject, body
    return Template(kind, language, subject, body, custom=True)


def reset_template(store: Store, kind: str, language: str) -> Template | None:
    """Forget the owner's version; returns the shipped template now in effect (if any)."""
    _check_kind(kind)
    language = _check_language(language)
    with store.session() as s:
        row = s.scalar(
            select(MessageTemplate).where(
                MessageTemplate.kind == kind, MessageTemplate.language == language
            )
        )
        if row is not None:
            s.delete(row)
    return shipped_template(kind, language)


# ---------------------------------------------------------------- rendering


class _SafeValues(dict):
    _safe = True


def safe_context(values: Mapping[str, Any]) -> dict[str, str]:
    """Every placeholder as a plain string ('' when missing): nothing with methods or
    attributes worth reaching for is ever handed to a template."""
    return _SafeValues(
        (name, "" if values.get(name) is None else str(values[name])) for name in PLACEHOLDERS
    )


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    # compiling costs ~1000x rendering; the queue renders the same dozen sources
    # thousands of times (a syntax error is raised again on each call: not cached)
    return _env().from_string(source)


def render_text(source: str, values: Mapping[str, Any], where: str = "template") -> str:
    """Render one template string over the safe placeholder mapping.

    Raises:
        TemplateError: for syntax errors, unknown placeholders and anything the sandbox
            refuses (attribute access such as ``''.__class__``, calls, huge repetition).
    """
    try:
        out = _compiled(source).render(
            values if getattr(values, "_safe", False) else safe_context(values)
        )
    except SecurityError as exc:
        raise TemplateError(f"{where}: refused by the sandbox ({exc})") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{where}, line {exc.lineno}: {exc.message}") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"{where}: {exc}") from None
    if len(out) > _MAX_OUTPUT:
        raise TemplateError(f"{where}: the message is longer than {_MAX_OUTPUT} characters")
    return out


def render(template: Template, values: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a template filled with ``values``."""
    where = f"{template.kind} template ({template.language})"
    values = safe_context(values)
    subject = " ".join(render_text(template.subject, values, where + ", subject").split())
    body = render_text(template.body, values, where)
    # conditionals leave runs of blank lines behind; keep at most one
    lines: list[str] = []
    for line in body.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return subject, "\n".join(lines).strip() + "\n"
