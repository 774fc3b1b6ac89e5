#!/bin/sh
# json_read_boundaries.sh - the json source reads files in 1 MiB pieces;
# put the end of the first piece at chosen places in a record (exactly at
# the end of a record, inside a string escape, a UTF-8 sequence, a number, a
# literal, between "\r" and "\n", after an array element) and check that
# every record arrives with its exact value.
#
# Found with the JSONTestSuite records: when the first piece ended exactly
# at the end of a line, the records of that whole piece were lost without
# any error (json_reader_begin refilled the buffer while the schema was
# being sampled).  Needs python3; no corpus.
set -u
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-boundaries.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

python3 - "$NEBULA_HOST" "$PLUGIN_DIR" "$work" <<'EOF'
import json, subprocess, sys

host, plugins, work = sys.argv[1:4]
PIECE = 1 << 20  # JSON_IO_SIZE: bytes per read of the json source

# (what, record, bytes of the record before the end of the first piece)
CASES = [
    ("right after a record", b'{"value":"abc"}', 0),
    ("inside a string escape", b'{"value":"a\\u00e9\\ud834\\udd1e\\n"}', 13),
    ("between the halves of a surrogate pair", b'{"value":"a\\u00e9\\ud834\\udd1e\\n"}', 23),
    ("inside a UTF-8 sequence", b'{"value":"\xf0\x9d\x84\x9e"}', 12),
    ("inside a number", b'{"value":-12.5e+3}', 13),
    ("inside a literal", b'{"value":true}', 11),
    ("between \\r and \\n", b'{"value":"abc"}\r', 16),
    ("inside a nested value", b'{"value":[1, {"b" : null}]}', 17),
]

def decode_all(data):
    """The JSON values of data, one after another (pairs kept in order)."""
    dec = json.JSONDecoder(parse_int=str, parse_float=str,
                           object_pairs_hook=lambda p: p)
    text, i, out = data.decode("utf-8"), 0, []
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            return out
        value, i = dec.raw_decode(text, i)
        out.append(value)

failed = 0
for fmt in ("lines", "array"):
    for what, record, cut in CASES:
        if fmt == "lines":
            # one filler line so that the record starts `cut` bytes before
            # the end of the first piece
            head = b'{"value":"' + b"p" * (PIECE - cut - 13) + b'"}\n'
            data = head + record + b"\n" + record + b'\n{"value":"end"}\n'
        else:
            if record.endswith(b"\r"):
                continue
            # cut 0: the piece ends right after the first element
            sep = b",\n" if cut else b""
            head = b'[{"value":"' + b"p" * (PIECE - cut - 13 - len(sep)) + b'"}' + sep
            data = head + (b"" if sep else b",\n") + record + b",\n" + record + b',{"value":"end"}]\n'
        assert len(head) == PIECE - cut
        src, dst = work + "/in.json", work + "/out.jsonl"
        with open(src, "wb") as f:
            f.write(data)
        run = subprocess.run([host, "--quiet", "--plugin-dir", plugins, "pipeline",
                              "json", "json", "--source-path", src,
                              "--dest-path", dst], capture_output=True)
        name = "%s, the first piece ends %s" % (fmt, what)
        if run.returncode != 0:
            print("FAIL: %s: exit %d: %s" % (name, run.returncode, run.stderr[:300]))
            failed += 1
            continue
        expected = decode_all(data)
        if fmt == "array":
            expected = expected[0]
        with open(dst, "rb") as f:
            got = decode_all(f.read())
        if got != expected:
            print("FAIL: %s: %d records expected, %d written%s" % (
                name, len(expected), len(got),
                "" if len(got) != len(expected) else " (values differ)"))
            failed += 1
        else:
            print("ok: %s" % name)
total = 2 * len(CASES) - 1
print("boundaries: %d passed, %d failed" % (total - failed, failed))
sys.exit(1 if failed else 0)
EOF
