#!/usr/bin/env python3
"""Precision and recall of the press-text extractor on hand-labelled real releases (tests/fixtures/press_eval).

usage: .venv/bin/python scripts/eval_press_text.py TEXTS_DIR [--labels FILE] [--verbose]

TEXTS_DIR holds each release's text as <id>.txt (UTF-8), copied from the page named by its source_url; the
texts are not in the repository. A figure counts as correct when area, year, month window, measure and the
value as written all equal a labelled fact; growth is scored separately, on the correct figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from citytrade.ingest.areas import default_resolver  # noqa: E402
from citytrade.ingest.parsers.press_text_v1 import cny_per_usd  # noqa: E402
from citytrade.ingest.press_text.extract import extract_figures  # noqa: E402
from citytrade.ingest.press_text.text import PressText, fold  # noqa: E402


def fact_key(text: str) -> tuple[tuple, Decimal | None]:
    area, year, window, measure, value, *growth = text.split()
    low, high = window.split("-")
    return (area, int(year), int(low), int(high), measure, Decimal(value)), (Decimal(growth[0]) if growth else None)


def evaluate(texts: Path, labels: list[dict], verbose: bool) -> dict:
    resolver = default_resolver()
    totals = {"facts": 0, "predicted": 0, "correct": 0, "growth_right": 0, "refused": 0}
    for release in labels:
        path = texts / f"{release['id']}.txt"
        if not path.is_file():
            raise SystemExit(f"eval_press_text: {path} is missing: save the text of {release['source_url']} there")
        text = path.read_text(encoding="utf-8")
        published_on = release["published_on"]
        if not isinstance(published_on, dt.date):
            published_on = dt.date.fromisoformat(str(published_on))
        extraction = extract_figures(PressText(text, "utf-8", fold(text)), published_on, release.get("area"), "firm_location",
                                     resolver, cny_per_usd)  # fmt: skip
        facts = dict(fact_key(fact) for fact in release["facts"])
        predicted = {
            (f.area_code, f.year, f.month_from, f.month_to, f.measure, Decimal(f.value)): (Decimal(str(f.yoy_pct)) if f.yoy_pct is not None else None)
            for f in extraction.figures
        }  # fmt: skip
        correct = set(facts) & set(predicted)
        growth_right = sum(1 for key in correct if facts[key] == predicted[key])
        totals["facts"] += len(facts)
        totals["predicted"] += len(predicted)
        totals["correct"] += len(correct)
        totals["growth_right"] += growth_right
        totals["refused"] += len(extraction.refused)
        print(f"{release['id']:26} facts {len(facts):2}  predicted {len(predicted):2}  correct {len(correct):2}  "
              f"growth right {growth_right:2}  refused {len(extraction.refused):2}")  # fmt: skip
        if verbose:
            for key in sorted(set(predicted) - set(facts), key=str):
                print(f"    wrong  {key}")
            for key in sorted(set(facts) - set(predicted), key=str):
                print(f"    missed {key}")
            for key in sorted(correct, key=str):
                if facts[key] != predicted[key]:
                    print(f"    growth {key}: labelled {facts[key]}, read {predicted[key]}")
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", type=Path)
    parser.add_argument("--labels", type=Path, default=REPO / "tests" / "fixtures" / "press_eval" / "labels.yaml")
    parser.add_argument("--verbose", action="store_true", help="list every wrong, missed and mis-grown figure")
    args = parser.parse_args()
    labels = yaml.safe_load(args.labels.read_text(encoding="utf-8"))
    totals = evaluate(args.texts, labels, args.verbose)
    precision = totals["correct"] / totals["predicted"] if totals["predicted"] else float("nan")
    recall = totals["correct"] / totals["facts"] if totals["facts"] else float("nan")
    growth = totals["growth_right"] / totals["correct"] if totals["correct"] else float("nan")
    print(f"\n{len(labels)} releases, {totals['facts']} labelled figures, {totals['predicted']} extracted, "
          f"{totals['correct']} correct, {totals['refused']} refusals")  # fmt: skip
    print(f"precision {precision:.1%}  recall {recall:.1%}  growth right on {growth:.1%} of the correct figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
