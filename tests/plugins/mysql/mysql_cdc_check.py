#!/usr/bin/env python3
"""mysql_cdc_check.py CDC.jsonl TABLE.tsv COLUMNS

Replays the change records of mode cdc (JSON Lines) in order on an empty
table (op t, a truncate, empties it) and checks that: every insert (and initial snapshot row, op r) adds
a new key, every update's and
delete's before image equals the row the replay holds at that point (so a
change out of commit order, lost or delivered twice is caught), binlog
positions never go back, and the replay ends equal to the table's rows
(TABLE.tsv: `mariadb --batch --skip-column-names`, NULL as NULL).
COLUMNS: comma-separated column names, the first one the primary key."""
import json
import sys


def main():
    path, table, cols = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    key = cols[0]
    model = {}
    last = None
    n = 0
    for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
        r = json.loads(line)
        n += 1
        after = tuple(r[c] for c in cols)
        before = tuple(r["before_" + c] for c in cols)
        where = (r["_binlog_file"], r["_binlog_pos"])
        if last is not None and where < last:
            sys.exit("line %d: binlog position %s goes back from %s" % (lineno, where, last))
        last = where
        op = r["_op"]
        if op in ("c", "r"):
            if r[key] in model:
                sys.exit("line %d: insert of existing key %r (duplicate?)" % (lineno, r[key]))
            model[r[key]] = after
        elif op == "u":
            k = r["before_" + key]
            if model.get(k) != before:
                sys.exit("line %d: update before image %r, replay holds %r" % (lineno, before, model.get(k)))
            del model[k]
            model[r[key]] = after
        elif op == "t":
            model.clear()
        elif op == "d":
            if model.get(r[key]) != after:
                sys.exit("line %d: delete image %r, replay holds %r" % (lineno, after, model.get(r[key])))
            del model[r[key]]
        else:
            sys.exit("line %d: op %r" % (lineno, op))
    want = {}
    for line in open(table, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        row = tuple(None if v == "NULL" else (int(v) if v.lstrip("-").isdigit() else v) for v in f)
        want[row[0]] = row
    if model != want:
        missing = [k for k in want if model.get(k) != want[k]][:5]
        extra = [k for k in model if k not in want][:5]
        sys.exit("replay differs from the table: keys %r differ, %r extra (%d vs %d rows)"
                 % (missing, extra, len(model), len(want)))
    print("%d changes replayed, %d rows equal" % (n, len(want)))


main()
