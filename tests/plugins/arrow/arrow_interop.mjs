// arrow_interop.mjs - the independent side of the Arrow IPC interop tests:
// apache-arrow (the JavaScript implementation, npm) reads the files Nebula
// writes and writes files Nebula reads.
//
//   node arrow_interop.mjs dump FILE      print FILE's rows as JSON Lines,
//                                         formatted as Nebula's json
//                                         destination formats them
//   node arrow_interop.mjs write DIR      write DIR/js.arrow, DIR/js.arrows
//                                         (several batches, dictionaries,
//                                         types the engine converts) and
//                                         DIR/js-delta.arrows (a delta
//                                         dictionary batch) and
//                                         DIR/*.expected.jsonl:
//                                         what Nebula must read from them
//
// ARROW_NODE_MODULES names the node_modules holding apache-arrow.
import { createRequire } from 'module';
import fs from 'fs';

const require = createRequire((process.env.ARROW_NODE_MODULES ||
  `${process.env.HOME}/.cache/nebula/node_modules`) + '/');
const arrow = require('apache-arrow');

// ---- formatting, as Nebula's json destination does ----
const pad = (n, w) => String(n).padStart(w, '0');
function dateText(days) {
  return new Date(Number(days) * 86400000).toISOString().slice(0, 10);
}
function timestampText(micros, suffix) {
  micros = BigInt(micros);
  let secs = micros / 1000000n;
  if (micros % 1000000n !== 0n && micros < 0n) secs -= 1n;
  const frac = micros - secs * 1000000n;
  let days = secs / 86400n;
  if (secs % 86400n !== 0n && secs < 0n) days -= 1n;
  const sod = Number(secs - days * 86400n);
  let s = `${dateText(days)}T${pad(Math.floor(sod / 3600), 2)}:${pad(Math.floor(sod / 60) % 60, 2)}:${pad(sod % 60, 2)}`;
  if (frac !== 0n) s += '.' + pad(frac, 6).replace(/0+$/, '');
  return s + suffix;
}
function decimalText(unscaled, scale) {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  }
  return (neg ? '-' : '') + digits;
}
function floatText(x) {
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

// ---- reading: values straight from the buffers, exactly ----
function int64At(values, i) {
  if (values instanceof BigInt64Array) return values[i];
  // older layouts: pairs of int32
  return (BigInt(values[2 * i + 1]) << 32n) | BigInt(values[2 * i] >>> 0);
}
function cellText(field, data, i) {
  const t = field.type;
  const j = data.offset + i;
  if (data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0 &&
      !((data.nullBitmap[j >> 3] >> (j & 7)) & 1)) return 'null';
  const ext = field.metadata.get('ARROW:extension:name');
  switch (t.typeId) {
    case arrow.Type.Int:
      return String(t.bitWidth === 64 ? int64At(data.values, j) : data.values[j]);
    case arrow.Type.Float: return floatText(data.values[j]);
    case arrow.Type.Bool: return ((data.values[j >> 3] >> (j & 7)) & 1) ? 'true' : 'false';
    case arrow.Type.Utf8: case arrow.Type.LargeUtf8: {
      const o = data.valueOffsets;
      const text = Buffer.from(data.values.buffer, data.values.byteOffset + Number(o[j]),
                               Number(o[j + 1]) - Number(o[j])).toString('utf8');
      if (ext === 'nebula.number' || ext === 'arrow.json') return text;
      return JSON.stringify(text);
    }
    case arrow.Type.Decimal: {
      const w = data.values; // Uint32Array, 4 words per value, little-endian
      let v = 0n;
      for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(w[4 * j + k] >>> 0);
      if (v >= (1n << 127n)) v -= (1n << 128n);
      return decimalText(v, t.scale);
    }
    case arrow.Type.Date:
      return JSON.stringify(dateText(data.values[j]));
    case arrow.Type.Timestamp: {
      if (t.unit !== arrow.TimeUnit.MICROSECOND) throw new Error('unexpected unit');
      return JSON.stringify(timestampText(int64At(data.values, j), t.timezone ? 'Z' : ''));
    }
    default: throw new Error(`type ${t} not expected in a Nebula file`);
  }
}
function dump(path) {
  const table = arrow.tableFromIPC(fs.readFileSync(path));
  const fields = table.schema.fields;
  const out = [];
  for (const batch of table.batches) {
    for (let i = 0; i < batch.numRows; i++) {
      const cells = fields.map((f, c) =>
        `${JSON.stringify(f.name)}:${cellText(f, batch.getChildAt(c).data[0], i)}`);
      out.push(`{${cells.join(',')}}\n`);
    }
  }
  process.stdout.write(out.join(''));
}

// ---- writing ----
function makeFixed(type, typed, valid) {
  const length = valid.length;
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  valid.forEach((ok, i) => { if (ok) nullBitmap[i >> 3] |= 1 << (i & 7); else nullCount++; });
  return arrow.makeVector(arrow.makeData({ type, length, nullCount, nullBitmap, data: typed }));
}
function batchOf(k) {
  // k: 0 or 1, two batches with different values (and dictionaries)
  const v = {
    i8: arrow.vectorFromArray(k ? [5, null] : [1, -128, 127, null], new arrow.Int8()),
    u32: arrow.vectorFromArray(k ? [1, 2] : [0, 4294967295, null, 7], new arrow.Uint32()),
    i64: arrow.vectorFromArray(k ? [1n, null] : [-9223372036854775808n, 9223372036854775807n, 0n, null], new arrow.Int64()),
    u64: arrow.vectorFromArray(k ? [2n, 3n] : [18446744073709551615n, 0n, null, 1n], new arrow.Uint64()),
    f32: arrow.vectorFromArray(k ? [0.5, null] : [1.5, -0, null, 3.25], new arrow.Float32()),
    f64: arrow.vectorFromArray(k ? [2.5, 1e-300] : [0.1, -1e-300, null, 123456789.125], new arrow.Float64()),
    b: arrow.vectorFromArray(k ? [null, false] : [true, false, null, true], new arrow.Bool()),
    s: arrow.vectorFromArray(k ? ['ok', null] : ['héllo ✓', '', null, '日本\n"q"'], new arrow.Utf8()),
    ls: arrow.vectorFromArray(k ? ['z', 'y'] : ['a', null, 'bb', ''], new arrow.LargeUtf8()),
    color: arrow.vectorFromArray(k ? ['blue', 'red'] : ['red', 'green', null, 'red'],
                                 new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32())),
    day: makeFixed(new arrow.DateDay(), Int32Array.from(k ? [1, 2] : [0, -719162, 2932896, 0]),
                   k ? [true, true] : [true, true, true, false]),
    tms: makeFixed(new arrow.TimestampMillisecond('UTC'),
                   BigInt64Array.from(k ? [5n, 6n] : [1706702400123n, 0n, -1n, 0n]),
                   k ? [true, true] : [true, false, true, true]),
    tns: makeFixed(new arrow.TimestampNanosecond(),
                   BigInt64Array.from(k ? [2000n, 3000n] : [1000n, 1706702400123456000n, 0n, -1000n]),
                   k ? [true, true] : [true, true, false, true]),
    dec: makeFixed(new arrow.Decimal(2, 10, 128),
                   Uint32Array.from(k ? [5, 0, 0, 0, 0, 0, 0, 0]
                                      : [12345, 0, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                                         0, 0, 0, 0, 0, 0, 0, 0]),
                   k ? [true, false] : [true, true, false, true]),
  };
  return v;
}
function expectedRows(k) {
  const S = JSON.stringify;
  const rows = k ? [
    ['5', '1', '1', '2', '0.5', '2.5', 'null', S('ok'), S('z'), S('blue'), S('1970-01-02'), S('1970-01-01T00:00:00.005Z'), S('1970-01-01T00:00:00.000002'), '0.05'],
    ['null', '2', 'null', '3', 'null', '1e-300', 'false', 'null', S('y'), S('red'), S('1970-01-03'), S('1970-01-01T00:00:00.006Z'), S('1970-01-01T00:00:00.000003'), 'null'],
  ] : [
    ['1', '0', '-9223372036854775808', '18446744073709551615', '1.5', '0.1', 'true', S('héllo ✓'), S('a'), S('red'), S('1970-01-01'), S('2024-01-31T12:00:00.123Z'), S('1970-01-01T00:00:00.000001'), '123.45'],
    ['-128', '4294967295', '9223372036854775807', '0', '-0', '-1e-300', 'false', S(''), 'null', S('green'), S('0001-01-01'), 'null', S('2024-01-31T12:00:00.123456'), '-0.01'],
    ['127', 'null', '0', 'null', 'null', 'null', 'null', 'null', S('bb'), 'null', S('9999-12-31'), S('1969-12-31T23:59:59.999Z'), 'null', 'null'],
    ['null', '7', 'null', '1', '3.25', '123456789.125', 'true', S('日本\n"q"'), S(''), S('red'), 'null', S('1970-01-01T00:00:00Z'), S('1969-12-31T23:59:59.999999'), '0.00'],
  ];
  const names = Object.keys(batchOf(k));
  return rows.map(r => `{${r.map((v, c) => `${S(names[c])}:${v}`).join(',')}}\n`).join('');
}
function write(dir) {
  const t0 = new arrow.Table(batchOf(0));
  const t1 = new arrow.Table(batchOf(1));
  const table = t0.concat(t1);
  fs.writeFileSync(`${dir}/js.arrows`, arrow.tableToIPC(table, 'stream'));
  fs.writeFileSync(`${dir}/js.arrows.expected.jsonl`, expectedRows(0) + expectedRows(1));
  // The file format allows no replacement dictionary: one batch.
  fs.writeFileSync(`${dir}/js.arrow`, arrow.tableToIPC(t0, 'file'));
  fs.writeFileSync(`${dir}/js.arrow.expected.jsonl`, expectedRows(0));
  // A dictionary of two chunks: apache-arrow writes the second as a delta
  // DictionaryBatch (isDelta), which Nebula appends.
  const dict = arrow.vectorFromArray(['a', 'b'], new arrow.Utf8())
    .concat(arrow.vectorFromArray(['c', 'é'], new arrow.Utf8()));
  const data = arrow.makeData({ type: new arrow.Dictionary(new arrow.Utf8(), new arrow.Int16()),
                                length: 5, nullCount: 0, data: Int16Array.from([2, 0, 1, 3, 2]),
                                dictionary: dict });
  fs.writeFileSync(`${dir}/js-delta.arrows`,
                   arrow.tableToIPC(new arrow.Table({ k: arrow.makeVector(data) }), 'stream'));
  fs.writeFileSync(`${dir}/js-delta.arrows.expected.jsonl`,
                   ['c', 'a', 'b', 'é', 'c'].map(v => `{"k":${JSON.stringify(v)}}\n`).join(''));
}

const [cmd, arg] = process.argv.slice(2);
if (cmd === 'dump') dump(arg);
else if (cmd === 'write') write(arg);
else { console.error('usage: arrow_interop.mjs dump FILE | write DIR'); process.exit(2); }
