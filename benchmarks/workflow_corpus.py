"""W1–W12 over the workflow pattern corpus (issue 10): per criterion, the share of ``error``
verdicts and the share of verdicts that disagree with the corpus's expectations.

Goal: an error only where the verdict really depends on an unknown value, and always naming it
(the unknown the expectation names, and a ``file:line``); every other verdict agrees. So: no
disagreement at all, and every error expected and naming its unknown. Exits 1 when missed.

    python3 benchmarks/workflow_corpus.py [-v]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.workflow.corpus import CRITERIA, load_cases, make_repo, verdicts  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="print every disagreement")
    args = ap.parse_args()
    cases = load_cases()
    errors = {c: 0 for c in CRITERIA}
    disagree = {c: 0 for c in CRITERIA}
    unnamed = {c: 0 for c in CRITERIA}
    misses: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            repo, target = make_repo(case, Path(tmp) / case.name)
            got = verdicts(repo, target)
            for cid in CRITERIA:
                verdict, message = got[cid]
                expected = case.expect[cid][0]
                if verdict == "error":
                    errors[cid] += 1
                    named = all(n in message for n in case.names(cid)) and ".yml" in message
                    if expected == "error" and not named:
                        unnamed[cid] += 1
                        misses.append(f"{case.name} {cid}: the error does not name {case.names(cid)}: {message}")
                if verdict != expected:
                    disagree[cid] += 1
                    misses.append(f"{case.name} {cid}: expected {expected}, got {verdict}: {message[:200]}")
    took = time.perf_counter() - start
    n = len(cases)
    print(f"workflow corpus: {n} workflows x {len(CRITERIA)} criteria in {took:.1f} s")
    print(f"{'criterion':<10}{'errors':>10}{'disagree':>10}{'unnamed':>9}")
    for cid in CRITERIA:
        print(f"{cid:<10}{errors[cid] / n:>10.0%}{disagree[cid] / n:>10.0%}{unnamed[cid]:>9}")
    total = n * len(CRITERIA)
    all_errors, all_disagree, all_unnamed = sum(errors.values()), sum(disagree.values()), sum(unnamed.values())
    print(f"{'all':<10}{all_errors / total:>10.1%}{all_disagree / total:>10.1%}{all_unnamed:>9}")
    print("goal: 0% disagreement; every error expected (it depends on an unknown) and naming it")
    if args.verbose or all_disagree or all_unnamed:
        for m in misses:
            print("  " + m)
    ok = all_disagree == 0 and all_unnamed == 0
    print("goal met" if ok else "goal MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
