"""avro_interop.py - Debian's python3-avro against Nebula's avro connector.

  avro_interop.py write CODEC FILE ROWS   write FILE (every type, nulls,
                                          non-ASCII, extremes) with CODEC
  avro_interop.py check FILE ROWS         FILE (written by Nebula from one
                                          written by `write`) holds exactly
                                          the values `write` wrote, as
                                          Nebula maps them (see
                                          docs/avro-connector.md)

Exit status 0 when every value matches; the first differences are printed.
"""
import datetime
import decimal
import json
import sys
import uuid

import avro.datafile
import avro.io
import avro.schema

UTC = datetime.timezone.utc
decimal.getcontext().prec = 80

SCHEMA = {
    "type": "record", "name": "Everything", "namespace": "test.nebula",
    "fields": [
        {"name": "l", "type": "long"},
        {"name": "i", "type": "int"},
        {"name": "d", "type": "double"},
        {"name": "f", "type": "float"},
        {"name": "b", "type": "boolean"},
        {"name": "s", "type": "string"},
        {"name": "ns", "type": ["null", "string"]},
        {"name": "nl", "type": ["long", "null"]},
        {"name": "by", "type": "bytes"},
        {"name": "date", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tms", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "tus", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "tsms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tsus", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        {"name": "ltsms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 4}},
        {"name": "decf", "type": {"type": "fixed", "name": "D12", "size": 12, "logicalType": "decimal",
                                  "precision": 20, "scale": 2}},
        {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}},
        {"name": "fx", "type": {"type": "fixed", "name": "F4", "size": 4}},
        {"name": "rec", "type": {"type": "record", "name": "Inner", "fields": [
            {"name": "x", "type": "long"}, {"name": "tag", "type": ["null", "string"]},
            {"name": "c", "type": "Color"}]}},
        {"name": "arr", "type": {"type": "array", "items": "double"}},
        {"name": "map", "type": {"type": "map", "values": ["null", "long"]}},
        {"name": "uni", "type": ["int", "string", "Inner"]},
        {"name": "nrec", "type": ["null", "Inner"]},
    ]}

TEXTS = ["", "plain", "héllo wörld", "日本語テキスト", "emoji \U0001F600 tail", "quote \" back \\ nl \n tab \t",
         "00501", "x" * 3000]
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def row(k):
    """Row k: deterministic, extremes on the first rows."""
    longs = [0, INT64_MIN, INT64_MAX, -1, 1 << 53, -(1 << 53) - 1]
    ints = [0, INT32_MIN, INT32_MAX, -1]
    doubles = [0.0, -0.0, 1.7976931348623157e308, 5e-324, -2.5, 0.1, float("inf"), float("-inf")]
    floats = [0.0, 1.5, -0.25, 3.4028234663852886e38, 1.401298464324817e-45]
    inner = {"x": k * 7 - 3, "tag": None if k % 2 else TEXTS[k % len(TEXTS)], "c": ["RED", "GREEN", "BLUE"][k % 3]}
    dec = [decimal.Decimal("0.0000"), decimal.Decimal("-99999999999999999999999999999999.9999"),
           decimal.Decimal("99999999999999999999999999999999.9999"), decimal.Decimal("123.4500"),
           decimal.Decimal(k) / 10000]
    return {
        "l": longs[k] if k < len(longs) else k * 1000003 - 7,
        "i": ints[k] if k < len(ints) else k - 500,
        "d": doubles[k] if k < len(doubles) else k / 8.0,
        "f": floats[k] if k < len(floats) else float(k % 100) / 4,
        "b": k % 3 == 0,
        "s": TEXTS[k % len(TEXTS)],
        "ns": None if k % 4 == 1 else TEXTS[(k + 2) % len(TEXTS)],
        "nl": None if k % 5 == 2 else (INT64_MAX if k == 3 else k),
        "by": bytes((k + j) % 256 for j in range(k % 9)),
        "date": datetime.date(1970, 1, 1) + datetime.timedelta(days=(k * 37) % 40000 - 20000),
        "tms": datetime.time(k % 24, k % 60, (k * 7) % 60, (k * 1000) % 1000000),
        "tus": datetime.time(23, 59, 59, 999999) if k == 0 else datetime.time(k % 24, 1, 2, k % 1000000),
        "tsms": datetime.datetime(1970, 1, 1, tzinfo=UTC) + datetime.timedelta(milliseconds=k * 86400123 - 10 ** 12),
        "tsus": None if k % 6 == 5 else datetime.datetime(2024, 2, 29, 23, 59, 59, k % 1000000, tzinfo=UTC),
        "ltsms": k * 1000 + 1700000000000,
        # quantized: python3-avro writes a Decimal's own digits, whatever
        # the schema's scale
        "dec": (dec[k] if k < len(dec) else decimal.Decimal(k * 3 - 1000) / 10000).quantize(decimal.Decimal("0.0001")),
        "decf": (decimal.Decimal(k * 11 - 500) / 100).quantize(decimal.Decimal("0.01")),
        "u": str(uuid.UUID(int=k * 0x1234567890abcdef)),
        "e": ["RED", "GREEN", "BLUE"][k % 3],
        "fx": bytes([k % 256, 0, 255, 7]),
        "rec": inner,
        "arr": [float(j) / 2 for j in range(k % 5)],
        "map": {"k%d" % j: (None if j == 1 else j * k) for j in range(k % 4)},
        "uni": [k, TEXTS[k % len(TEXTS)], inner][k % 3],
        "nrec": None if k % 2 else inner,
    }


def write(codec, path, rows):
    schema = avro.schema.parse(json.dumps(SCHEMA))
    with avro.datafile.DataFileWriter(open(path, "wb"), avro.io.DatumWriter(), schema, codec=codec) as w:
        for k in range(rows):
            w.append(row(k))


def hexs(b):
    return b.hex()


def nested(v):
    """A nested value as Nebula's JSON text holds it."""
    if isinstance(v, bytes):
        return hexs(v)
    if isinstance(v, dict):
        return {k: nested(x) for k, x in v.items()}
    if isinstance(v, list):
        return [nested(x) for x in v]
    return v


def time_text(t, micros):
    frac = "%06d" % t.microsecond if micros else "%03d" % (t.microsecond // 1000)
    return "%02d:%02d:%02d.%s" % (t.hour, t.minute, t.second, frac)


def expected(k):
    """Row k as Nebula writes it back (docs/avro-connector.md)."""
    r = row(k)
    return {
        "l": r["l"], "i": r["i"], "d": r["d"], "f": r["f"], "b": r["b"], "s": r["s"], "ns": r["ns"],
        "nl": r["nl"], "by": hexs(r["by"]), "date": r["date"],
        "tms": time_text(r["tms"], False), "tus": time_text(r["tus"], True),
        "tsms": r["tsms"], "tsus": r["tsus"], "ltsms": r["ltsms"] * 1000,
        "dec": r["dec"], "decf": r["decf"], "u": r["u"], "e": r["e"], "fx": hexs(r["fx"]),
        "rec": nested(r["rec"]), "arr": r["arr"], "map": r["map"], "uni": nested(r["uni"]),
        "nrec": nested(r["nrec"]),
    }


JSON_FIELDS = {"rec", "arr", "map", "uni", "nrec"}


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b and str(a) == str(b)  # -0.0 vs 0.0 too
    return type(a) is type(b) and a == b


def check(path, rows):
    reader = avro.datafile.DataFileReader(open(path, "rb"), avro.io.DatumReader())
    bad = 0
    n = 0
    for k, got in enumerate(reader):
        n += 1
        want = expected(k)
        for name, w in want.items():
            g = got.get(name)
            if name in JSON_FIELDS and g is not None:
                g = json.loads(g)
            if not same(w, g) and not (name in JSON_FIELDS and w == g):
                bad += 1
                if bad <= 10:
                    print("row %d column %s: expected %r, got %r" % (k, name, w, g))
    if n != rows:
        print("expected %d rows, got %d" % (rows, n))
        bad += 1
    return bad == 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "check":
        sys.exit(0 if check(sys.argv[2], int(sys.argv[3])) else 1)
    else:
        sys.exit("usage: avro_interop.py write CODEC FILE ROWS | check FILE ROWS")
