"""Garbage in: property-based CSVs must never crash an import nor half-write the store."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import importing
from app.services.errors import ServiceError
from app.services.importing import ImportOptions
from tests.test_import import dump

HEADERS = [
    "Name",
    "First name",
    "Last name",
    "Phone",
    "Email",
    "Birthday",
    "Arrival",
    "Departure",
    "Room",
    "Price",
    "Status",
    "Tags",
    "Notes",
    "Country",
    "Language",
    "Consent",
    "ID",
    "Prénom",
    "手机",
    "Geburtstag",
    "Currency",
    "People",
]
CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "N/A",
            "-",
            "06 52 52 72 72",
            "+33652527272",
            "12",
            "zoe@example.org",
            "x@",
            "31/02/2020",
            "13/13/2013",
            "2024-02-30",
            "45000",
            "€1.234,50",
            "-5 EUR",
            "yes",
            "peut-être",
            "ZZ",
            "ZoÃ© LefÃ¨vre",
            "张伟",
            "DUPONT Jean",
            "\x00",
            "\u202e",
            "=cmd|' /C calc'!A0",
            "1e309",
            "99999999999999999999",
            "12:00",
            "cancelled",
            "🙂",
            "\r",
            '"',
            "--0315",
            "0",
        ]
    ),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "gb18030"]


@st.composite
def csv_files(draw) -> bytes:
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=400))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    headers = draw(st.lists(st.sampled_from(HEADERS) | st.text(max_size=8), min_size=1, max_size=8))
    rows = draw(
        st.lists(st.lists(CELLS, min_size=0, max_size=len(headers) + 2), min_size=0, max_size=8)
    )
    lines = [delimiter.join(headers)]
    for row in rows:
        quoted = ['"' + c.replace('"', '""') + '"' if draw(st.booleans()) else c for c in row]
        lines.append(delimiter.join(quoted))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


_counter = itertools.count()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=csv_files(), skip=st.booleans(), dry=st.booleans())
def test_garbage_csv_never_crashes_nor_half_writes(empty_store, tmp_path, data, skip, dry):
    path = tmp_path / f"garbage-{next(_counter)}.csv"
    path.write_bytes(data)
    before = dump(empty_store)
    try:
        report = importing.import_file(
            empty_store, path, ImportOptions(skip_bad_rows=skip, dry_run=dry)
        )
    except ServiceError as exc:
        assert str(exc)  # a clear message, and nothing written
        assert dump(empty_store) == before
        return
    if report.batch is None:
        assert dump(empty_store) == before
        assert dry or report.skipped or report.cancelled or not (report.created or report.updated)
    else:
        assert not dry and (skip or not report.skipped)
        importing.undo_import(empty_store, report.batch)
        assert dump(empty_store) == before
