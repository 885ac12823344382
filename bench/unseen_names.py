#!/usr/bin/env python3
"""Pick benign projects the rules were not tuned on: a seeded random sample
of popular projects (by download rank) that are not in the development list.

  bench/unseen_names.py RANKS_TSV [--top 3000] [--count 150] [--seed 7] > names.txt
  bench/fetch_benign.py --names names.txt --out target/bench-data/unseen
  bench/detection.py --benign target/bench-data/unseen

RANKS_TSV has a header and columns name, version, month, rank (the machine's
package list, /work/.library/env/packages/pypi.tsv, has that shape).
"""
import argparse
import csv
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ranks")
    ap.add_argument("--top", type=int, default=3000)
    ap.add_argument("--count", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--exclude", default=os.path.join(HERE, "..", "..", "shared", "datasets", "benign-dev.txt"))
    args = ap.parse_args()
    ranked = []
    with open(args.ranks, newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        next(rows)
        for row in rows:
            if len(row) > 3 and row[3].strip().isdigit():
                ranked.append((int(row[3]), row[0]))
    ranked.sort()
    with open(args.exclude) as f:
        seen = {line.strip().lower() for line in f if line.strip()}
    pool = [name for rank, name in ranked if rank <= args.top and name.lower() not in seen]
    random.seed(args.seed)
    for name in random.sample(pool, min(args.count, len(pool))):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
