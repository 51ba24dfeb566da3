"""How long "messages to send today" takes to prepare, and what the template sandbox costs.

* the whole queue (candidate queries, contacts, rendering) beside the naive way: loading
  every booking and every customer through the ORM and filtering in Python;
* rendering one reminder in the Jinja2 sandbox beside ``str.format_map`` on the same text.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from app.models import Booking, Customer
from app.services import reminders, templates
from bench.common import Context, Figure, median, timer

SIZES = (10_000, 100_000)


def _naive_candidates(store) -> int:
    """Every booking and customer into Python, then filtered: what the queue avoids."""
    now = dt.datetime.now(dt.UTC)
    with store.reader() as s:
        found = 0
        for b in s.scalars(select(Booking)).all():
            if b.status in ("requested", "confirmed") and now < b.start_at < now + dt.timedelta(
                days=3
            ):
                found += 1
        for c in s.scalars(select(Customer)).all():
            if c.marketing_consent and c.birthday is not None:
                found += 0
    return found


def run(ctx: Context) -> list[Figure]:
    # opening refreshes stale figures (a write): never on the shared cache itself
    store = ctx.open_copy("reminders")
    try:
        runs, listed = [], []
        for _ in range(3):
            with timer() as t:
                queue = reminders.draft_queue(store, days=0)
            runs.append(t[0])
            with timer() as t:
                reminders.draft_queue(store, days=0, render=False)
            listed.append(t[0])
        with timer() as naive:
            _naive_candidates(store)
        figures = [
            Figure(
                "draft queue, listed (window)",
                median(listed) * 1000,
                naive[0] * 1000,
                "ms",
                baseline_label="ORM load of all bookings+customers, filter in Python",
                note="texts rendered when a draft is shown",
            ),
            Figure(
                "draft queue, rendered (CLI)",
                median(runs) * 1000,
                naive[0] * 1000,
                "ms",
                baseline_label="ORM load of all bookings+customers, filter in Python",
                target="< 1 s at 100k (opening the window)",
                note=f"{len(queue.drafts)} drafts, {len(queue.unreachable)} unreachable",
            ),
        ]
    finally:
        store.close()

    template = templates.shipped_template("reminder", "fr")
    values = templates.SAMPLE_VALUES
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        templates.render(template, values)
    sandbox = (time.perf_counter() - start) / n
    plain = (
        "Bonjour {first_name},\n\nPetit rappel de votre rendez-vous pour {service} le {date} à "
        "{time} avec {staff}.\n\nReste à régler : {balance_due}.\n\n{business_name}\n"
    )
    start = time.perf_counter()
    for _ in range(n):
        plain.format_map(values)
    fmt = (time.perf_counter() - start) / n
    figures.append(
        Figure(
            "render one reminder (sandboxed Jinja2)",
            sandbox * 1e6,
            fmt * 1e6,
            "µs",
            baseline_label="str.format_map on the same text",
            note="compiled template cached by Jinja2",
        )
    )
    return figures
