"""Markdown tables of the criterion results, each store next to its raw baseline.

Usage: python3 benches/summarize.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else target/criterion)

Reads every `new/benchmark.json` + `new/estimates.json` criterion wrote and
prints, per group, one row per case: the store's and the raw baseline's
median time per iteration, throughput where the bench declares one, and
`store speed / raw speed` (= raw time / store time; 1.0 = no overhead).
"""

import json
import os
import sys
from collections import defaultdict
from pathlib import Path


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_rate(per_s):
    if per_s >= 1e6:
        return f"{per_s / 1e6:.3g} M/s"
    if per_s >= 1e3:
        return f"{per_s / 1e3:.3g} k/s"
    return f"{per_s:.3g} /s"


def load(root):
    """{group: {case: {side: (median_ns, elements)}}}."""
    results = defaultdict(lambda: defaultdict(dict))
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        function = meta["function_id"] or ""
        side, _, op = function.partition("/")
        case = "/".join(p for p in (op, meta.get("value_str") or "") if p)
        elements = (meta.get("throughput") or {}).get("Elements")
        results[meta["group_id"]][case][side] = (est["median"]["point_estimate"], elements)
    return results


def main():
    default = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    results = load(root)
    if not results:
        sys.exit(f"no criterion results under {root}")
    for group in sorted(results):
        print(f"\n### {group}\n")
        print("| case | store (median) | raw baseline (median) | store / raw speed |")
        print("|---|---:|---:|---:|")
        for case in sorted(results[group], key=sort_key):
            sides = results[group][case]
            cells = []
            for side in ("store", "raw"):
                if side not in sides:
                    cells.append("–")
                    continue
                ns, elements = sides[side]
                cell = fmt_time(ns)
                if elements:
                    cell += f" ({fmt_rate(elements / (ns / 1e9))})"
                cells.append(cell)
            ratio = "–"
            if "store" in sides and "raw" in sides:
                ratio = f"{sides['raw'][0] / sides['store'][0]:.2f}"
            print(f"| {case} | {cells[0]} | {cells[1]} | {ratio} |")


def sort_key(case):
    """Numbers inside a case name sort numerically (w4 before w16)."""
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", case)]


if __name__ == "__main__":
    main()
