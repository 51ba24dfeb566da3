"""Run the benchmark suite and write docs/benchmarks.md.

python -m bench                      # 10k and 100k
python -m bench --sizes 10k,100k,1m  # add the million-customer store
python -m bench --only search        # one module (bench/bench_search.py)
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import pkgutil
import sys
import tempfile
from pathlib import Path

import bench
from bench.common import Context, Figure, demo_store, machine

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def _size(text: str) -> int:
    text = text.strip().lower()
    if text.endswith("k"):
        return int(float(text[:-1]) * 1000)
    if text.endswith("m"):
        return int(float(text[:-1]) * 1_000_000)
    return int(text)


def _label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 else f"{size // 1000}k"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.3g} {unit}".strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="10k,100k")
    parser.add_argument("--only", default="", help="comma-separated module names")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    sizes = [_size(s) for s in args.sizes.split(",") if s]
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    modules = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_") and (not only or info.name[6:] in only):
            modules.append(importlib.import_module(f"bench.{info.name}"))
    results: list[tuple[int, str, Figure]] = []
    for size in sizes:
        wanted = [m for m in modules if size in getattr(m, "SIZES", ())]
        if not wanted:
            continue
        store_dir = demo_store(size)
        for module in wanted:
            name = module.__name__.split(".")[-1][6:]
            print(f"\n== {name} @ {size:,} customers", flush=True)
            with tempfile.TemporaryDirectory(prefix="regulars-bench-") as tmp:
                ctx = Context(size=size, store_dir=store_dir, work_dir=Path(tmp))
                for fig in module.run(ctx):
                    results.append((size, name, fig))
                    ratio = f"{fig.ratio:.1f}×" if fig.ratio else ""
                    print(
                        f"  {fig.name:<44} ours {_fmt(fig.ours, fig.unit):>12}   "
                        f"{fig.baseline_label or 'baseline'} {_fmt(fig.baseline, fig.unit):>12}  "
                        f"{ratio:>7}  {fig.target}",
                        flush=True,
                    )
    if not args.no_write and results:
        _write_docs(results)
    return 0


HEADER = """# Benchmarks

Produced by `python -m bench` (see README). Each section below comes from one run of one
module at one store size; a later run replaces only the sections it measured, so every
section carries its own date, machine and command. Every figure stands beside a baseline
measured in the same run; ratio = baseline / ours (higher is better for us).
"""


def _section(size: int, name: str, figs: list[Figure]) -> str:
    lines = [
        f"## {name} — {size:,} customers",
        "",
        f"Measured {dt.date.today().isoformat()} on {machine()}; "
        f"`python -m bench --only {name} --sizes {_label(size)}`.",
        "",
        "| figure | ours | baseline | ratio | target | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for fig in figs:
        ratio = f"{fig.ratio:.1f}×" if fig.ratio else "—"
        base = _fmt(fig.baseline, fig.unit)
        if fig.baseline_label and fig.baseline is not None:
            base += f" ({fig.baseline_label})"
        ours = _fmt(fig.ours, fig.unit)
        lines.append(f"| {fig.name} | {ours} | {base} | {ratio} | {fig.target} | {fig.note} |")
    return "\n".join(lines) + "\n"


def _write_docs(results: list[tuple[int, str, Figure]]) -> None:
    """Replace the sections this run measured in docs/benchmarks.md; keep the others."""
    sections: dict[tuple[str, int], str] = {}
    if DOCS.exists():
        text = DOCS.read_text(encoding="utf-8")
        for chunk in text.split("\n## ")[1:]:
            title = chunk.split("\n", 1)[0]
            name, _, rest = title.partition(" — ")
            try:
                size = int(rest.split(" ")[0].replace(",", ""))
            except ValueError:
                continue
            sections[(name, size)] = "## " + chunk.rstrip("\n") + "\n"
    grouped: dict[tuple[str, int], list[Figure]] = {}
    for size, name, fig in results:
        grouped.setdefault((name, size), []).append(fig)
    for (name, size), figs in grouped.items():
        sections[(name, size)] = _section(size, name, figs)
    body = "\n".join(sections[k] for k in sorted(sections, key=lambda k: (k[0], k[1])))
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(HEADER + "\n" + body, encoding="utf-8")
    print(f"\nwrote {DOCS}")


if __name__ == "__main__":
    sys.exit(main())
