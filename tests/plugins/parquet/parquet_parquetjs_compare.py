#!/usr/bin/env python3
"""parquet_parquetjs_compare.py EXPECTED GOT - compare Nebula's JSON lines
with the values parquetjs wrote (tags: see parquet_parquetjs.js).  Prints
each difference (first 20) and exits 1 if there is any."""
import datetime
import decimal
import json
import struct
import sys

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def micros_of(text):
    # "1970-01-01T00:00:01.234567Z": whole seconds plus up to 9 fraction digits.
    if not isinstance(text, str) or not text.endswith("Z"):
        return None
    head, _, frac = text[:-1].partition(".")
    t = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    delta = t - EPOCH
    whole = (delta.days * 86400 + delta.seconds) * 1000000
    return whole + int((frac + "000000")[:6]) if frac else whole


def same(want, got):
    if isinstance(want, dict) and len(want) == 1:
        tag, value = next(iter(want.items()))
        if tag == "$micros":
            return micros_of(got) == int(value)
        if tag == "$date":
            return got == value
        if tag == "$decimal":
            return isinstance(got, decimal.Decimal) and got == decimal.Decimal(value)
        if tag == "$float32":
            return isinstance(got, (int, float, decimal.Decimal)) and \
                struct.pack("<f", float(got)) == struct.pack("<f", value)
    if isinstance(want, dict):
        return isinstance(got, dict) and want.keys() == got.keys() and \
            all(same(want[k], got[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and \
            all(same(a, b) for a, b in zip(want, got))
    if isinstance(want, float):
        return isinstance(got, decimal.Decimal) and float(got) == want
    if isinstance(want, bool) or want is None:
        return got is want
    if isinstance(want, int):
        return isinstance(got, int) and not isinstance(got, bool) and got == want
    return want == got


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        want = [json.loads(line) for line in f]
    with open(sys.argv[2], encoding="utf-8") as f:
        got = [json.loads(line, parse_float=decimal.Decimal) for line in f]
    problems = []
    if len(want) != len(got):
        problems.append(f"{len(got)} rows, expected {len(want)}")
    for i, (w, g) in enumerate(zip(want, got)):
        for key in w:
            if key not in g or not same(w[key], g[key]):
                problems.append(f"row {i + 1}, column {key}: expected {w[key]!r}, got {g.get(key)!r}")
        extra = set(g) - set(w)
        if extra:
            problems.append(f"row {i + 1}: unexpected columns {sorted(extra)}")
    for p in problems[:20]:
        print(p)
    sys.exit(1 if problems else 0)


main()
