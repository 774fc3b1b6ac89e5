// avro_avsc.js - the npm package avsc (pure JavaScript) against Nebula's
// avro connector.  NODE_PATH must lead to avsc.
//
//   node avro_avsc.js write CODEC FILE ROWS   avsc writes FILE (codec null
//                                             or deflate) with every
//                                             primitive, nested types,
//                                             nulls, non-ASCII, extremes
//   node avro_avsc.js check FILE ROWS         FILE (Nebula's copy of one
//                                             `write` wrote) holds exactly
//                                             those values, as Nebula maps
//                                             them (docs/avro-connector.md)
//   node avro_avsc.js dump FILE               every record as a JSON line
//                                             (longs as strings, bytes hex)
// Longs are read and written as BigInt: no value beyond 2^53 is rounded.
'use strict';
const avsc = require('avsc');
const zlib = require('zlib');

const longType = avsc.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(),
  toBuffer: (n) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a === b ? 0 : a < b ? -1 : 1),
});
// avsc builds a long written as {"type": "long", ...} (a logical type)
// without the registry: make every long the plain name first.
function plainLongs(s) {
  if (Array.isArray(s)) return s.map(plainLongs);
  if (s && typeof s === 'object') {
    if (s.type === 'long') return 'long';
    const o = {};
    for (const [k, v] of Object.entries(s)) o[k] = k === 'fields' ? v.map((f) => ({ ...f, type: plainLongs(f.type) })) : k === 'items' || k === 'values' || k === 'type' ? plainLongs(v) : v;
    return o;
  }
  return s;
}
const parseHook = (schema) => avsc.Type.forSchema(plainLongs(schema), { registry: { long: longType } });
const codecs = {
  null: (buf, cb) => cb(null, buf),
  deflate: (buf, cb) => zlib.inflateRaw(buf, cb),
};
const encodeCodecs = {
  null: (buf, cb) => cb(null, buf),
  deflate: (buf, cb) => zlib.deflateRaw(buf, cb),
};

const schema = {
  type: 'record', name: 'Js', fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'score', type: 'double' },
    { name: 'ratio', type: 'float' },
    { name: 'flag', type: 'boolean' },
    { name: 'maybe', type: ['null', 'string'] },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'BLUE'] } },
    { name: 'raw', type: 'bytes' },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
  ],
};
const TEXTS = ['', 'plain', 'héllo wörld', '日本語', 'emoji \u{1F600}', 'q " b \\ n \n', '00501'];
const LONGS = [0n, -(1n << 63n), (1n << 63n) - 1n, -1n, (1n << 53n) + 1n];

function row(k) {
  return {
    id: k < LONGS.length ? LONGS[k] : BigInt(k) * 1000003n,
    name: TEXTS[k % TEXTS.length],
    score: [0, -0, 1.7976931348623157e308, 5e-324, 0.1, -2.5][k % 6] + (k >= 6 ? k : 0),
    ratio: [0, 1.5, -0.25, 1024][k % 4],
    flag: k % 2 === 0,
    maybe: k % 3 === 0 ? null : TEXTS[(k + 1) % TEXTS.length],
    color: ['RED', 'GREEN', 'BLUE'][k % 3],
    raw: Buffer.from([k % 256, 0, 255].slice(0, k % 4)),
    day: (k * 37) % 40000 - 20000,
    at: BigInt(k) * 86400123n - 1000000000000n,
    tags: TEXTS.slice(0, k % 4),
    attrs: Object.fromEntries([...Array(k % 3).keys()].map((j) => ['k' + j, BigInt(j * k)])),
  };
}

// Nebula's mapping: bytes -> hex text, enum -> text, int -> long, array
// and map -> JSON text (longs inside as numbers).  avsc drops logical
// types it has no class for from the schema it writes, so day and at are
// a plain int and long in its file (python3-avro covers logical types).
function expected(k) {
  const r = row(k);
  return {
    id: r.id, name: r.name, score: r.score, ratio: r.ratio, flag: r.flag, maybe: r.maybe,
    color: r.color, raw: r.raw.toString('hex'), day: BigInt(r.day), at: r.at,
    tags: JSON.stringify(r.tags),
    attrs: JSON.stringify(Object.fromEntries(Object.entries(r.attrs).map(([a, b]) => [a, Number(b)]))),
  };
}

function canonical(v) {
  if (typeof v === 'bigint') return 'n' + v.toString();
  if (Buffer.isBuffer(v)) return 'x' + v.toString('hex');
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string' && (v.startsWith('[') || v.startsWith('{'))) {
    try { return JSON.stringify(JSON.parse(v)); } catch (e) { return v; }
  }
  return JSON.stringify(v);
}

function readAll(file, done) {
  const rows = [];
  avsc.createFileDecoder(file, { codecs, parseHook })
    .on('data', (r) => rows.push(r))
    .on('error', (e) => { console.error('avsc: ' + e.message); process.exit(1); })
    .on('end', () => done(rows));
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'write') {
  const enc = avsc.createFileEncoder(b, parseHook(schema), { codec: a, codecs: encodeCodecs, blockSize: 4096 });
  for (let k = 0; k < Number(c); k++) enc.write(row(k));
  enc.end();
} else if (mode === 'check') {
  readAll(a, (rows) => {
    let bad = 0;
    if (rows.length !== Number(b)) { console.log(`expected ${b} rows, got ${rows.length}`); bad++; }
    rows.forEach((got, k) => {
      const want = expected(k);
      for (const name of Object.keys(want)) {
        if (canonical(want[name]) !== canonical(got[name])) {
          if (++bad <= 10) console.log(`row ${k} column ${name}: expected ${canonical(want[name])}, got ${canonical(got[name])}`);
        }
      }
    });
    process.exit(bad === 0 ? 0 : 1);
  });
} else if (mode === 'dump') {
  readAll(a, (rows) => {
    const out = rows.map((r) => JSON.stringify(r, (k, v) =>
      typeof v === 'bigint' ? v.toString() : v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v));
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
  });
} else {
  console.error('usage: avro_avsc.js write CODEC FILE ROWS | check FILE ROWS | dump FILE');
  process.exit(2);
}
