"""Reading import files as header + rows: CSV (any delimiter, any common encoding), XLSX
(streamed with openpyxl read-only) and vCard 3.0/4.0.

A file is recognised by its content, not its name, and one that is not what it claims
(binary, a truncated workbook, empty, a 10 MB line with no line break) raises
:class:`ImportFileError` before anything is read into the store.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.services.errors import ServiceError
from app.services.xlsx_strings import close_strings, read_shared_strings

SNIFF_BYTES = 1 << 20
MAX_FIELD = 1 << 20  # one cell may hold a long note, not a whole file
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "gb18030", "big5", "shift_jis")
# what charset-normalizer may answer, mapped to the codec we decode with (supersets)
_ENCODING_FAMILY = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "hz": "gb18030",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "iso8859_15": "cp1252",
    "ascii": "utf-8",
    "utf_8": "utf-8",
}

# vCard properties become these columns (the mapping recognises the names)
VCARD_COLUMNS = (
    "vCard FN",
    "vCard N family",
    "vCard N given",
    "vCard TEL",
    "vCard EMAIL",
    "vCard BDAY",
    "vCard ADR street",
    "vCard ADR postcode",
    "vCard ADR city",
    "vCard ADR region",
    "vCard ADR country",
    "vCard ORG",
    "vCard NOTE",
    "vCard CATEGORIES",
    "vCard LANG",
    "vCard UID",
)


class ImportFileError(ServiceError):
    """The file cannot be read as a table; the message says which file and why."""


@dataclass
class TableSource:
    """An opened import file: its header, and its data rows read lazily."""

    path: Path
    kind: str  # csv, xlsx, vcard
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[str] = field(default_factory=list)
    sheet: str | None = None
    estimated_rows: int | None = None
    # the open workbook, loaded once: loading a read-only workbook whose sheets carry no
    # <dimension> (openpyxl's own write-only output, several exporters) reads each sheet
    # to its end, ~4 s per 100k rows, and an import reads the file up to four times
    _book: Any = field(default=None, repr=False, compare=False)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as the user sees it, cells) for every data row; header is row 1."""
        if self.kind == "csv":
            yield from _csv_rows(self)
        elif self.kind == "xlsx":
            yield from _xlsx_rows(self)
        else:
            yield from _vcard_rows(self)

    def close(self) -> None:
        """Let go of the open workbook, if any (reading again reopens it)."""
        if self._book is not None:
            self._book.close()
            self._book = None

    def _workbook(self) -> Any:
        if self._book is None:
            self._book = _load_workbook(self.path)
        return self._book


def open_table(path: Path | str, *, sheet: str | None = None, encoding: str | None = None):
    """Open ``path`` as a table; raises :class:`ImportFileError` for unusable files."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if path.is_dir():
        raise ImportFileError(f"{path} is a folder, not a file")
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(f"{path.name} is empty")
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _open_xlsx(path, sheet)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            f"{path.name} is an old Excel .xls (or other Office 97) file: "
            "save it as .xlsx or CSV and import that"
        )
    for magic, what in (
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"SQLite format 3", "an SQLite database"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"7z\xbc\xaf", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"\x7fELF", "a program"),
        (b"MZ", "a program"),
    ):
        if head.startswith(magic):
            raise ImportFileError(f"{path.name} is {what}, not a table or contact file")
    enc = encoding or detect_encoding(path, head)
    try:
        codecs.lookup(enc)
    except LookupError:
        raise ImportFileError(f"'{enc}' is not a text encoding") from None
    text_head = _decode_head(path, head, enc)
    if not text_head.strip():
        raise ImportFileError(f"{path.name} holds no text (only blanks)")
    if text_head.lstrip("\ufeff \r\n\t").upper().startswith("BEGIN:VCARD"):
        return _open_vcard(path, enc)
    if "\n" not in text_head and "\r" not in text_head and size >= SNIFF_BYTES:
        raise ImportFileError(
            f"{path.name}: no line break in the first {SNIFF_BYTES // (1 << 20)} MB, "
            "so it is not a table (CSV rows end with a line break)"
        )
    return _open_csv(path, enc, text_head)


# ---------------------------------------------------------------- encodings


def detect_encoding(path: Path, head: bytes) -> str:
    """BOM, then UTF-16 without BOM, then strict UTF-8 over the whole file, then
    charset-normalizer's best guess, verified over the whole file."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        even = sample[0::2].count(b"\x00")
        odd = sample[1::2].count(b"\x00")
        if odd > even * 4:
            return "utf-16-le"
        if even > odd * 4:
            return "utf-16-be"
    if b"\x00" in head:
        raise ImportFileError(f"{path.name} is a binary file, not text (it holds NUL bytes)")
    if _decodes(path, "utf-8"):
        return "utf-8"
    from charset_normalizer import from_bytes

    candidates: list[str] = []
    for match in from_bytes(head, cp_exclusion=["utf_16", "utf_32"]):
        name = _ENCODING_FAMILY.get(match.encoding, match.encoding)
        if name not in candidates:
            candidates.append(name)
    if (
        candidates
        and _single_byte(candidates[0])
        and _western_score(head, "cp1252") >= (_western_score(head, candidates[0]))
    ):
        # short Western files fool the detector (cp1250 for 'Lefèvre'): prefer cp1252 when
        # it reads at least as many everyday French and German letters
        candidates.insert(0, "cp1252")
    for name in [*candidates, "cp1252", "gb18030", "latin-1"]:
        if _decodes(path, name):
            if name == "latin-1" and _looks_binary(head):
                break
            return name
    raise ImportFileError(
        f"{path.name}: cannot tell its text encoding; choose one (utf-8, cp1252, gb18030…)"
    )


_WESTERN = frozenset("éèêëàâäçôöûüùîïœßÉÈÀÇÖÜÄŒæÆñÑ€")


def _single_byte(encoding: str) -> bool:
    name = encoding.lower().replace("-", "_")
    return name.startswith(("cp12", "iso8859", "latin", "mac_", "windows_12"))


def _western_score(head: bytes, encoding: str) -> int:
    try:
        text = head.decode(encoding, errors="ignore")
    except LookupError:
        return -1
    return sum(1 for ch in text if ch in _WESTERN)


def _looks_binary(head: bytes) -> bool:
    controls = sum(1 for b in head[:65536] if b < 9 or 13 < b < 32)
    return controls > len(head[:65536]) // 100


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _decode_head(path: Path, head: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path.name} is not {encoding} text (bad byte at position {exc.start})"
        ) from None
    if _looks_binary(text.encode("utf-8", "surrogatepass")[:65536]):
        raise ImportFileError(f"{path.name} is a binary file, not text")
    return text


# ---------------------------------------------------------------- CSV


def _sniff_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    if len(lines) > 1 and len(text) >= SNIFF_BYTES - 4:
        lines = lines[:-1]  # the last line may be cut in the middle
    sample = "\n".join(lines)
    best, best_score = ",", (0, 0)
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delim))
        except csv.Error:
            continue
        rows = [r for r in rows if any(c.strip() for c in r)]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def _csv_reader(source: TableSource, fh) -> Iterator[list[str]]:
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(fh, delimiter=source.delimiter or ",")
    try:
        yield from reader
    except csv.Error as exc:
        line = reader.line_num
        if "field larger" in str(exc):
            raise ImportFileError(
                f"{source.path.name}, line {line}: a cell longer than 1 MB — not a table"
            ) from None
        raise ImportFileError(f"{source.path.name}, line {line}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{source.path.name} is not {source.encoding} text after line {reader.line_num} "
            f"({exc.reason}); choose another encoding"
        ) from None


def _open_csv(path: Path, encoding: str, text_head: str) -> TableSource:
    source = TableSource(path=path, kind="csv", headers=[], encoding=encoding)
    source.delimiter = _sniff_delimiter(text_head.lstrip("\ufeff"))
    with open(path, encoding=encoding, newline="") as fh:
        for row in _csv_reader(source, fh):
            if any(c.strip() for c in row):
                source.headers = _headers([c.lstrip("\ufeff") for c in row])
                break
    if not source.headers:
        raise ImportFileError(f"{path.name} has no header row")
    source.estimated_rows = max(_count_lines(path) - 1, 0)
    return source


def _count_lines(path: Path) -> int:
    """Line breaks in the file: the row count to within quoted multi-line cells (for
    progress, and to choose how to import), at memory speed."""
    newlines = returns = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            newlines += block.count(b"\n")
            returns += block.count(b"\r")
    return max(newlines, returns)  # old Mac files end lines with \r alone


def _csv_rows(source: TableSource) -> Iterator[tuple[int, list[Any]]]:
    with open(source.path, encoding=source.encoding, newline="") as fh:
        seen_header = False
        for number, row in enumerate(_csv_reader(source, fh), start=1):
            if not seen_header:
                if any(c.strip() for c in row):
                    seen_header = True
                continue
            if any(c.strip() for c in row):
                yield number, row


def _headers(cells: list[Any]) -> list[str]:
    out = []
    for i, cell in enumerate(cells, start=1):
        text = str(cell).strip() if cell is not None else ""
        out.append(text or f"Column {i}")
    while out and out[-1].startswith("Column ") and len(out) > 1 and not cells[len(out) - 1]:
        out.pop()
    return out


# ---------------------------------------------------------------- XLSX


class _Workbook:
    """A workbook opened read-only, with its shared strings spooled to an encrypted
    temporary file when there are many (:mod:`app.services.xlsx_strings`): closing it
    closes both."""

    def __init__(self, path: Path) -> None:
        from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader

        strings: list[Sequence[str]] = []

        class Reader(ExcelReader):
            # openpyxl's own read_strings() keeps the whole table in a list
            def read_strings(self) -> None:
                part = self.package.find(SHARED_STRINGS)
                if part is not None:
                    with self.archive.open(part.PartName[1:]) as src:
                        self.shared_strings = read_shared_strings(src)
                        strings.append(self.shared_strings)

        reader = Reader(path, read_only=True, data_only=True)
        try:
            reader.read()
        except BaseException:
            reader.archive.close()
            for table in strings:
                close_strings(table)
            raise
        self.book = reader.wb
        self.strings = strings[0] if strings else None

    @property
    def sheetnames(self) -> list[str]:
        return list(self.book.sheetnames)

    def __getitem__(self, name: str) -> Any:
        return self.book[name]

    def close(self) -> None:
        self.book.close()
        if self.strings is not None:
            close_strings(self.strings)


def _sheet_rows(book: _Workbook, name: str) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cell values) of each row a sheet stores, as ``iter_rows(values_only=
    True)`` reads them (openpyxl's own cell parser: types, dates, shared strings) but in
    constant memory: openpyxl leaves each parsed row in its XML tree, ~90 bytes a row."""
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    data_tag, row_tag = f"{{{SHEET_MAIN_NS}}}sheetData", f"{{{SHEET_MAIN_NS}}}row"
    wb = book.book
    with book[name]._get_source() as src:
        parser = WorkSheetParser(
            src,
            book.strings if book.strings is not None else [],
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        rows_parent = None
        for event, element in iterparse(src, events=("start", "end")):
            if event == "start":
                if element.tag == data_tag:
                    rows_parent = element
                continue
            if element.tag != row_tag:
                continue
            number, cells = parser.parse_row(element)
            if rows_parent is not None:
                rows_parent.clear()  # the row read goes (a cleared one stays in the tree)
            parser.row_dimensions.clear()  # rows with a height are remembered there
            values: list[Any] = [None] * max((c["column"] for c in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield number, values


def _load_workbook(path: Path) -> _Workbook:
    try:
        return _Workbook(path)
    except zipfile.BadZipFile:
        raise ImportFileError(
            f"{path.name} is a damaged or truncated workbook (not a complete .xlsx file)"
        ) from None
    except (KeyError, OSError, ValueError, TypeError) as exc:
        raise ImportFileError(f"{path.name} is not a readable .xlsx workbook ({exc})") from None
    except Exception as exc:  # openpyxl raises many kinds for broken XML
        raise ImportFileError(f"{path.name} is not a readable .xlsx workbook ({exc})") from None


def _open_xlsx(path: Path, sheet: str | None) -> TableSource:
    wb = _load_workbook(path)
    kept = False
    try:
        names = wb.sheetnames
        if not names:
            raise ImportFileError(f"{path.name} has no sheets")
        if sheet is not None and sheet not in names:
            raise ImportFileError(
                f"{path.name} has no sheet '{sheet}' (sheets: {', '.join(names)})"
            )
        chosen = sheet or names[0]
        ws = wb[chosen]
        headers: list[str] = []
        try:
            for _number, row in _sheet_rows(wb, chosen):
                if any(c not in (None, "") for c in row):
                    headers = _headers(row)
                    break
        except Exception as exc:
            raise ImportFileError(f"{path.name}: sheet '{chosen}' cannot be read ({exc})") from None
        if not headers:
            raise ImportFileError(f"{path.name}: sheet '{chosen}' is empty")
        estimated = ws.max_row - 1 if ws.max_row else _rows_by_size(path, ws)
        source = TableSource(
            path=path,
            kind="xlsx",
            headers=headers,
            sheets=names,
            sheet=chosen,
            estimated_rows=estimated,
            _book=wb,
        )
        kept = True
        return source
    finally:
        if not kept:
            wb.close()


def _rows_by_size(path: Path, ws: Any) -> int | None:
    """About how many rows a sheet without a <dimension> holds: its size over the size of
    its first rows (for progress, and to choose how to import; never for the data)."""
    try:
        with zipfile.ZipFile(path) as book:
            member = book.getinfo(ws._worksheet_path)
            with book.open(member) as fh:
                head = fh.read(1 << 20)
    except (KeyError, AttributeError, OSError, zipfile.BadZipFile):
        return None
    rows = head.count(b"<row ") + head.count(b"<row>")
    if not rows:
        return None
    return max(round(rows * member.file_size / len(head)) - 1, 0)


def _xlsx_rows(source: TableSource) -> Iterator[tuple[int, list[Any]]]:
    seen_header = False
    try:
        for number, row in _sheet_rows(source._workbook(), source.sheet or ""):
            filled = any(c not in (None, "") for c in row)
            if not seen_header:
                seen_header = filled
                continue
            if filled:
                yield number, row
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(
            f"{source.path.name}: sheet '{source.sheet}' is damaged ({exc})"
        ) from None


# ---------------------------------------------------------------- vCard


def _open_vcard(path: Path, encoding: str) -> TableSource:
    source = TableSource(path=path, kind="vcard", headers=list(VCARD_COLUMNS), encoding=encoding)
    # counted without parsing (a card costs vobject ~0.5 ms); the first card is parsed, so
    # a file that only starts like a vCard is refused before anything is shown or written
    count = 0
    for number, line, text in _card_texts(source):
        if count == 0:
            _parse_card(source, number, line, text)
        count += 1
    if not count:
        raise ImportFileError(f"{path.name} holds no contact cards")
    source.estimated_rows = count
    return source


def _vcard_rows(source: TableSource) -> Iterator[tuple[int, list[Any]]]:
    for number, line, text in _card_texts(source):
        card = _parse_card(source, number, line, text)
        if card.name.upper() == "VCARD":
            yield number, _card_cells(card)


def _card_texts(source: TableSource) -> Iterator[tuple[int, int, str]]:
    """(card number, line it starts on, its text) for each card, one card in memory at a
    time: a phone's export of thousands of contacts (photos included) is not read whole."""
    depth = 0
    lines: list[str] = []
    number = start = line_number = 0
    with open(source.path, encoding=source.encoding or "utf-8") as fh:
        try:
            for line_number, line in enumerate(fh, start=1):
                if line_number == 1:
                    line = line.lstrip("\ufeff")
                mark = line.strip().upper()
                if mark == "BEGIN:VCARD":
                    if depth == 0:
                        lines, start = [], line_number
                    depth += 1  # a card may carry another (vCard 2.1/3.0 AGENT)
                if depth:
                    lines.append(line)
                    if mark == "END:VCARD":
                        depth -= 1
                        if depth == 0:
                            number += 1
                            yield number, start, "".join(lines)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{source.path.name} is not {source.encoding} text after line {line_number} "
                f"({exc.reason}); choose another encoding"
            ) from None
    if depth:
        raise ImportFileError(
            f"{source.path.name}: contact card {number + 1} (from line {start}) has no "
            "END:VCARD: the file is cut short"
        )


def _parse_card(source: TableSource, number: int, line: int, text: str) -> Any:
    import vobject

    try:
        return vobject.readOne(text, ignoreUnreadable=True)
    except Exception as exc:
        raise ImportFileError(
            f"{source.path.name}: contact card {number} (from line {line}) cannot be read ({exc})"
        ) from None


def _values(card, name: str) -> list[Any]:
    return [line.value for line in card.contents.get(name, [])]


def _card_cells(card) -> list[Any]:
    def text(value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return " ".join(str(v) for v in value if v)
        return str(value or "")

    family = given = ""
    for n in _values(card, "n"):
        if hasattr(n, "family"):
            family = text(n.family)
            given = " ".join(p for p in (text(n.given), text(n.additional)) if p)
        else:
            parts = str(n).split(";")
            family, given = parts[0], parts[1] if len(parts) > 1 else ""
        break
    street = postcode = city = region = country = ""
    for adr in _values(card, "adr"):
        if hasattr(adr, "street"):
            street = " ".join(p for p in (text(adr.box), text(adr.extended), text(adr.street)) if p)
            postcode, city = text(adr.code), text(adr.city)
            region, country = text(adr.region), text(adr.country)
        break
    orgs = [text(o) for o in _values(card, "org")]
    categories: list[str] = []
    for c in _values(card, "categories"):
        categories += c if isinstance(c, list) else str(c).split(",")
    return [
        text(next(iter(_values(card, "fn")), "")),
        family,
        given,
        "\n".join(text(t) for t in _values(card, "tel")),
        "\n".join(text(e) for e in _values(card, "email")),
        text(next(iter(_values(card, "bday")), "")),
        street,
        postcode,
        city,
        region,
        country,
        orgs[0] if orgs else "",
        "\n".join(text(n) for n in _values(card, "note")),
        ", ".join(c.strip() for c in categories if c.strip()),
        text(next(iter(_values(card, "lang")), "")),
        text(next(iter(_values(card, "uid")), "")),
    ]


def sheet_names(path: Path | str) -> list[str]:
    """The sheets of a workbook ([] for other files)."""
    source = open_table(path)
    source.close()
    return source.sheets
