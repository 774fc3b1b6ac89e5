// parquet_hyparquet.mjs - an independent pure-JavaScript Parquet reader and
// writer (npm hyparquet, hyparquet-compressors and hyparquet-writer,
// installed under ~/.cache/nebula by .ci/install-deps.sh) for
// tests/plugins/parquet/parquet_hyparquet.sh.
//
//   node parquet_hyparquet.mjs read FILE
//       prints every row of FILE, one JSON array per line, every value as
//       exact text: integers in decimal (INT64 as BigInt), timestamps as
//       ISO 8601 with the file's full precision (micro/nanoseconds kept,
//       trailing zeros of the fraction dropped),
//       dates as YYYY-MM-DD, floats as JavaScript prints them (NaN, -0),
//       binary as hex, JSON and nested values as JSON text, null as null.
//       DECIMAL is the one exception: hyparquet converts it to a double.
//   node parquet_hyparquet.mjs write-nested FILE
//       writes nested columns (lists, lists of structs, structs with lists)
//   node parquet_hyparquet.mjs write-legacy FILE
//       writes a LIST whose repeated group is named "array" (legacy rules)
//   node parquet_hyparquet.mjs compare-nested FILE JSONL
//       every row hyparquet reads from FILE equals the JSON line Nebula
//       wrote for it (numbers compared exactly: int64 as text)
//   node parquet_hyparquet.mjs write FILE CODEC
//       writes the fixed table below (every type hyparquet-writer has,
//       nulls, extremes, non-ASCII text) with codec UNCOMPRESSED, SNAPPY
//       or GZIP, small row groups and pages.
//
// Module resolution: ES modules ignore NODE_PATH, so the packages are
// imported by absolute path from NEBULA_NODE_MODULES.
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.NEBULA_NODE_MODULES || path.join(process.env.HOME, '.cache/nebula/node_modules');
const load = (name, file) => import(pathToFileURL(path.join(modules, name, file)).href);

// Exact ISO text of an integer count of units since 1970-01-01T00:00:00Z.
function isoFromUnits(value, digits) {
  const big = BigInt(value);
  const per = 10n ** BigInt(digits);
  let seconds = big / per;
  let frac = big % per;
  if (frac < 0n) { frac += per; seconds -= 1n; }
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  // Trailing zeros are dropped: the same instant prints the same whatever
  // the unit (a MILLIS file and its MICROS copy compare equal).
  const fraction = frac.toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction ? `${base}.${fraction}Z` : `${base}Z`;
}

const parsers = {
  timestampFromMilliseconds: (v) => ({ ts: isoFromUnits(v, 3) }),
  timestampFromMicroseconds: (v) => ({ ts: isoFromUnits(v, 6) }),
  timestampFromNanoseconds: (v) => ({ ts: isoFromUnits(v, 9) }),
  dateFromDays: (v) => ({ ts: new Date(Number(v) * 86400000).toISOString().slice(0, 10) }),
  stringFromBytes: (b) => b && new TextDecoder().decode(b),
  jsonFromBytes: (b) => b && { json: new TextDecoder().decode(b) },
};

function text(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'boolean' || typeof v === 'string') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (v && typeof v.ts === 'string') return v.ts;
  if (v && typeof v.json === 'string') return v.json;
  return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

async function read(file) {
  const { parquetReadObjects, asyncBufferFromFile } = await load('hyparquet', 'src/node.js');
  const { compressors } = await load('hyparquet-compressors', 'src/index.js');
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), compressors, parsers, utf8: true });
  const out = rows.map((row) => JSON.stringify(Object.values(row).map(text)));
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}

async function write(file, codec) {
  const { parquetWriteFile } = await load('hyparquet-writer', 'src/node.js');
  const n = 2500;
  const col = (f) => Array.from({ length: n }, (_, i) => f(i));
  const columnData = [
    { name: 'b', type: 'BOOLEAN', data: col((i) => (i % 7 === 3 ? null : i % 3 === 0)) },
    { name: 'i32', type: 'INT32', data: col((i) => (i === 0 ? -2147483648 : i === 1 ? 2147483647 : i % 11 === 5 ? null : i * 37 - 5000)) },
    { name: 'i64', type: 'INT64', data: col((i) => (i === 0 ? -9223372036854775808n : i === 1 ? 9223372036854775807n : i % 13 === 4 ? null : BigInt(i) * 1000000007n)) },
    { name: 'f32', type: 'FLOAT', data: col((i) => (i === 2 ? NaN : i % 9 === 1 ? null : i * 0.5 - 3)) },
    { name: 'f64', type: 'DOUBLE', data: col((i) => (i === 2 ? -0 : i === 3 ? 1.7976931348623157e308 : i % 10 === 6 ? null : i / 3)) },
    { name: 's', type: 'STRING', data: col((i) => (i % 6 === 2 ? null : i % 5 === 0 ? '' : `héllo 世界 ${i % 40}`)) },
    { name: 'ts', type: 'TIMESTAMP', data: col((i) => (i % 8 === 7 ? null : new Date(-86400000 * 400 + i * 3600123))) },
    { name: 'j', type: 'JSON', data: col((i) => (i % 4 === 1 ? null : { k: i, a: [1, 'x'] })) },
  ];
  const compressors = { GZIP: (input) => new Uint8Array(gzipSync(input)) };
  parquetWriteFile({ filename: file, columnData, codec, compressors, rowGroupSize: 1000, pageSize: 4096 });
}

// Nested columns with an explicit schema: a list of required int64, a
// list of structs, a struct with a list inside; nulls, empty lists, null
// elements.  (hyparquet-writer writes no repeated leaf, so no legacy
// two-level list.)
async function writeNested(file) {
  const { parquetWriteFile } = await load('hyparquet-writer', 'src/node.js');
  const n = 1500;
  const col = (f) => Array.from({ length: n }, (_, i) => f(i));
  const schema = [
    { name: 'root', num_children: 4 },
    { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
    { name: 'two', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'INT64', repetition_type: 'REQUIRED' },
    { name: 'three', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    { name: 'x', type: 'INT32', repetition_type: 'OPTIONAL' },
    { name: 'y', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'st', repetition_type: 'OPTIONAL', num_children: 2 },
    { name: 'a', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'b', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  ];
  const columnData = [
    { name: 'id', data: col((i) => i) },
    { name: 'two', data: col((i) => (i % 5 === 0 ? null : i % 5 === 1 ? [] : [BigInt(i), -9223372036854775808n])) },
    { name: 'three', data: col((i) => (i % 6 === 0 ? null : i % 6 === 1 ? [] : [{ x: i, y: `é${i}` }, null, { x: null, y: null }])) },
    { name: 'st', data: col((i) => (i % 4 === 0 ? null : { a: i % 4 === 1 ? null : i / 8, b: i % 3 === 0 ? null : ['p', null, 'q"'] })) },
  ];
  parquetWriteFile({ filename: file, columnData, schema, rowGroupSize: 400, pageSize: 2048 });
}

// JSON text to values whose numbers stay text ({num: '...'}), so int64
// extremes and 2.0 versus 2 are compared exactly.
function parseExact(text) {
  let i = 0;
  const ws = () => { while (/\s/.test(text[i])) i++; };
  const value = () => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const obj = ch === '{', out = obj ? {} : [];
      i++;
      ws();
      if (text[i] === (obj ? '}' : ']')) { i++; return out; }
      for (;;) {
        if (obj) { const k = value(); ws(); i++; out[k] = value(); } else out.push(value());
        ws();
        if (text[i++] !== ',') return out;
      }
    }
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = JSON.parse(text.slice(i, j + 1));
      i = j + 1;
      return s;
    }
    const m = /^(true|false|null|-?[0-9][0-9.eE+-]*)/.exec(text.slice(i));
    if (!m) throw new Error(`bad JSON at ${i}: ${text.slice(i, i + 20)}`);
    i += m[0].length;
    return m[0] === 'true' ? true : m[0] === 'false' ? false : m[0] === 'null' ? null : { num: m[0] };
  };
  return value();
}

// hyparquet's value v equals Nebula's exactly parsed value w.
function same(v, w) {
  if (v === null || v === undefined) return w === null;
  if (typeof v === 'bigint') return w !== null && typeof w === 'object' && w.num === v.toString();
  if (typeof v === 'number') return w !== null && typeof w === 'object' && typeof w.num === 'string' && Number(w.num) === v;
  if (typeof v !== 'object') return v === w;
  if (w === null || typeof w !== 'object') return false;
  if (Array.isArray(v)) return Array.isArray(w) && v.length === w.length && v.every((x, k) => same(x, w[k]));
  const keys = Object.keys(v);
  return !Array.isArray(w) && keys.length === Object.keys(w).length && keys.every((k) => k in w && same(v[k], w[k]));
}

// Every row of PARQUET read by hyparquet equals Nebula's JSON lines.
async function compareNested(file, jsonl) {
  const { parquetReadObjects, asyncBufferFromFile } = await load('hyparquet', 'src/node.js');
  const { readFileSync } = await import('node:fs');
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), utf8: true });
  const lines = readFileSync(jsonl, 'utf8').split('\n').filter((l) => l !== '');
  if (rows.length !== lines.length) throw new Error(`${rows.length} rows in hyparquet, ${lines.length} from Nebula`);
  rows.forEach((row, r) => {
    const got = parseExact(lines[r]);
    if (!same(row, got)) throw new Error(`row ${r} differs: hyparquet ${text(row)}, Nebula ${lines[r]}`);
  });
  console.log(`${rows.length} rows equal`);
}

// A list in the legacy shape whose repeated group is named "array": by
// LogicalTypes.md's backward-compatibility rules the group itself is the
// element (a struct {v}).  hyparquet-writer lays out the levels the same
// whichever reading it takes; rows: [1,null], null, [], [4].
async function writeLegacy(file) {
  const { parquetWriteFile } = await load('hyparquet-writer', 'src/node.js');
  const schema = [
    { name: 'root', num_children: 1 },
    { name: 'l', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'array', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'v', type: 'INT64', repetition_type: 'OPTIONAL' },
  ];
  const columnData = [{ name: 'l', data: [[1n, null], null, [], [4n]] }];
  parquetWriteFile({ filename: file, columnData, schema });
}

const [mode, file, codec] = process.argv.slice(2);
const job = mode === 'read' ? read(file) : mode === 'write' ? write(file, codec)
  : mode === 'write-nested' ? writeNested(file) : mode === 'write-legacy' ? writeLegacy(file) : mode === 'compare-nested' ? compareNested(file, codec)
  : Promise.reject(new Error(`unknown mode ${mode}`));
job.catch((e) => {
  console.error(`hyparquet: ${e.stack || e.message}`);
  process.exit(1);
});
