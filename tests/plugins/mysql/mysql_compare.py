#!/usr/bin/env python3
"""mysql_compare.py BATCH JSONL KINDS - compare `mariadb --batch` output with
the JSON Lines the mysql source wrote, value for value.

BATCH: tab-separated rows (--batch escaping: \\t \\n \\\\ \\0), nulls as
\\N.  KINDS: comma-separated kind per column: int, exact (decimal text,
compared as text), float, text, hex, date, datetime, timestamp, json.
Exits 1 with a line per difference."""
import datetime
import json
import sys


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            n = s[i + 1]
            out.append({'t': '\t', 'n': '\n', '\\': '\\', '0': '\0'}.get(n, '\\' + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


class Raw(str):
    """A JSON number kept as its text."""


def parse_dt(s):
    s = s.replace('T', ' ').rstrip('Z')
    if '.' in s:
        head, frac = s.split('.')
        s = head + '.' + (frac + '000000')[:6]
    else:
        s += '.000000'
    return datetime.datetime.strptime(s, '%Y-%m-%d %H:%M:%S.%f')


def same(kind, ref, got):
    ref = unescape(ref)
    if ref == '\\N':
        return got is None
    if got is None:
        return False
    if kind in ('int', 'exact'):
        return isinstance(got, Raw) and str(got) == ref
    if kind == 'float':
        return isinstance(got, Raw) and float(got) == float(ref)
    if kind in ('text', 'hex', 'date'):
        return isinstance(got, str) and not isinstance(got, Raw) and got == ref
    if kind in ('datetime', 'timestamp'):
        return (kind == 'timestamp') == got.endswith('Z') and parse_dt(got) == parse_dt(ref)
    if kind == 'json':
        return json.loads(ref) == got
    raise SystemExit('unknown kind ' + kind)


def main():
    batch, jsonl, kinds = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
    with open(batch, encoding='utf-8') as f:
        ref_rows = [line.rstrip('\n').split('\t') for line in f if line.strip('\n') != '']
    with open(jsonl, encoding='utf-8') as f:
        lines = [line for line in f if line.strip()]
    got_rows = [json.loads(line, parse_int=Raw, parse_float=Raw, object_pairs_hook=lambda p: p)
                for line in lines]
    plain_rows = [list(json.loads(line).values()) for line in lines]
    bad = 0
    if len(ref_rows) != len(got_rows):
        print('rows: mariadb has %d, nebula wrote %d' % (len(ref_rows), len(got_rows)))
        return 1
    for r, (ref, got) in enumerate(zip(ref_rows, got_rows), 1):
        if len(ref) != len(kinds) or len(got) != len(kinds):
            print('row %d: %d / %d values, %d kinds' % (r, len(ref), len(got), len(kinds)))
            bad += 1
            continue
        for k, kind in enumerate(kinds):
            name, value = got[k]
            if kind == 'json':
                value = plain_rows[r - 1][k]
            if not same(kind, ref[k], value):
                print('row %d column %s (%s): mariadb %r, nebula %r' % (r, name, kind, ref[k], value))
                bad += 1
    print('%d rows compared, %d differences' % (len(ref_rows), bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
