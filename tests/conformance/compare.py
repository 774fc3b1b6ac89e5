#!/usr/bin/env python3
"""compare.py - compare, as data, what nebula-host wrote with what a
conformance corpus says it should be.

  compare.py json-records INPUT OUTPUT [INPUT OUTPUT ...]
      Each INPUT is a JSON text (a JSONTestSuite y_ case) that the json source
      read with format auto; OUTPUT the JSON Lines the json destination
      wrote from it.  Checks that OUTPUT holds exactly the records the json source
      documents for INPUT: the elements of a top-level array, or the one
      value; an object's members become columns (first-seen order, the last
      of duplicate names wins), any other value a column "value"; every row
      has every column, null where its record lacks the member.  Numbers
      are compared as written (their text), strings decoded, nested objects
      member by member in order (duplicates kept).

  compare.py dead-letters DEAD_LETTER_FILE FILE...
      The dead-letter file of one run over many files must name each FILE
      (and no other) with a line, a column, and a reason that names the
      file, line and column too.

  compare.py csv CASE EXPECTED_JSON OUTPUT
      EXPECTED_JSON is csv-spectrum's JSON for case CASE (records whose
      values are strings); OUTPUT the JSON Lines nebula wrote from the CSV.
      Checks the same records, columns in the same order, same strings.

Prints what differs and exits 1 on a mismatch, 2 on unreadable input.
"""
import json
import sys


class Number(str):
    """A JSON number, kept as the text it was written as."""

    def __repr__(self):
        return "Number(%s)" % str.__repr__(self)

    def __eq__(self, other):
        return isinstance(other, Number) and str.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__


class Object(tuple):
    """A JSON object as its (name, value) pairs in order, duplicates kept."""

    def __repr__(self):
        return "Object(%s)" % tuple.__repr__(self)


def reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def load_exact(text):
    return json.loads(text, parse_int=Number, parse_float=Number,
                      parse_constant=reject_constant,
                      object_pairs_hook=lambda pairs: Object(pairs))


def column_name(key):
    # Column names are C strings: the json source names a member whose
    # name holds U+0000 with the six characters \u0000 in its place
    # (json_source.c, a documented limit of the connector ABI).
    return key.replace("\0", "\\u0000")


def expected_records(doc):
    records = list(doc) if isinstance(doc, list) else [doc]
    rows = []
    for rec in records:
        if isinstance(rec, Object):
            row = {}
            for key, value in rec:  # a later duplicate replaces the value
                row[column_name(key)] = value
            rows.append(row)
        else:
            rows.append({"value": rec})
    columns = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return [[(c, row.get(c)) for c in columns] for row in rows]


def output_records(path, what):
    rows = []
    with open(path, "rb") as f:
        for number, line in enumerate(f.read().split(b"\n"), 1):
            if line == b"":
                continue
            try:
                value = load_exact(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise SystemExit("%s: line %d of %s is not JSON: %s"
                                 % (what, number, path, e))
            if not isinstance(value, Object):
                raise SystemExit("%s: line %d of %s is not a JSON object"
                                 % (what, number, path))
            rows.append(list(value))
    return rows


def report(what, expected, got):
    if expected == got:
        return 0
    print("%s: values differ" % what)
    if len(expected) != len(got):
        print("  expected %d records, got %d" % (len(expected), len(got)))
    for i, (e, g) in enumerate(zip(expected, got)):
        if e != g:
            print("  record %d:\n    expected %r\n    got      %r" % (i + 1, e, g))
    return 1


def cmd_json_records(pairs):
    status = 0
    for inp, out in zip(pairs[0::2], pairs[1::2]):
        with open(inp, "rb") as f:
            data = f.read()
        try:
            doc = load_exact(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as e:
            print("%s: the corpus case is not JSON to Python either: %s" % (inp, e))
            status = max(status, 2)
            continue
        status = max(status, report(inp, expected_records(doc),
                                    output_records(out, inp)))
    return status


def cmd_dead_letters(path, files):
    named = {}
    status = 0
    with open(path, "rb") as f:
        for number, line in enumerate(f.read().split(b"\n"), 1):
            if line == b"":
                continue
            d = json.loads(line.decode("utf-8"))
            where = "%s line %d" % (path, number)
            stream, ln, col = d.get("stream"), d.get("line"), d.get("column")
            if not (isinstance(ln, int) and ln >= 1 and isinstance(col, int) and col >= 1):
                print("%s: no line and column for %s: %r" % (where, stream, d))
                status = 1
                continue
            located = '"%s" at line %d, column %d' % (stream, ln, col)
            if located not in d.get("reason", ""):
                print("%s: the reason does not say %s: %r" % (where, located, d))
                status = 1
            named[stream] = named.get(stream, 0) + 1
    for f in files:
        if f not in named:
            print("%s: accepted, but it is not valid JSON" % f)
            status = 1
    for f in sorted(set(named) - set(files)):
        print("%s: rejected, but it is valid" % f)
        status = 1
    return status


# Known errors in csv-spectrum 2.0.0's expected JSON, corrected only when
# the corpus still says exactly what is listed here.
CSV_ERRATA = {
    "location_coordinates": [
        # csv-spectrum issue #20: the expected JSON has a different phone
        # number from the one in the CSV file.
        (0, "Contact Phone Number", "1234567890", "2095257564"),
    ],
}


def cmd_csv(case, expected_path, out):
    with open(expected_path, "rb") as f:
        expected = json.loads(f.read().decode("utf-8"),
                              object_pairs_hook=lambda pairs: list(pairs))
    if expected and isinstance(expected[0], tuple):
        # csv-spectrum issue #22: a file holds one object, not an array.
        expected = [expected]
    for row, column, says, holds in CSV_ERRATA.get(case, []):
        rec = expected[row]
        for i, (key, value) in enumerate(rec):
            if key == column and value == says:
                rec[i] = (key, holds)
                print("%s: corpus erratum applied: record %d column \"%s\" "
                      "expected %r, not the corpus's %r"
                      % (case, row + 1, column, holds, says))
    got = output_records(out, case)
    expected = [[(k, v) for k, v in rec] for rec in expected]
    return report(case, expected, got)


def main(argv):
    if len(argv) >= 4 and len(argv) % 2 == 0 and argv[1] == "json-records":
        return cmd_json_records(argv[2:])
    if len(argv) >= 3 and argv[1] == "dead-letters":
        return cmd_dead_letters(argv[2], argv[3:])
    if len(argv) == 5 and argv[1] == "csv":
        return cmd_csv(argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
