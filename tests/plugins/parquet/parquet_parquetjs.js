// parquet_parquetjs.js DIR - write Parquet files with @dsnp/parquetjs (an
// independent writer) and, for each, the values Nebula must read back as
// JSON lines (DIR/NAME.parquet, DIR/NAME.expected.jsonl).  Expected values
// that JSON cannot carry exactly are tagged: {"$micros": "N"} a timestamp,
// {"$date": "YYYY-MM-DD"}, {"$decimal": "12.34"}, {"$float32": x}.
const fs = require('fs');
const path = require('path');
const parquet = require('@dsnp/parquetjs');

const dir = process.argv[2];

function schemaFor(codec, rle) {
  const c = { compression: codec };
  return new parquet.ParquetSchema({
    id: { type: 'INT64', ...c },
    i32: { type: 'INT32', ...c },
    small: rle ? { type: 'INT32', encoding: 'RLE', typeLength: 7, optional: true, ...c }
               : { type: 'INT32', optional: true, ...c },
    flag: rle ? { type: 'BOOLEAN', encoding: 'RLE', typeLength: 1, ...c } : { type: 'BOOLEAN', ...c },
    d: { type: 'DOUBLE', ...c },
    f: { type: 'FLOAT', optional: true, ...c },
    s: { type: 'UTF8', optional: true, ...c },
    zip: { type: 'UTF8', ...c },
    dec: { type: 'DECIMAL', precision: 9, scale: 2, optional: true, ...c },
    day: { type: 'DATE', ...c },
    ms: { type: 'TIMESTAMP_MILLIS', ...c },
    us: { type: 'TIMESTAMP_MICROS', optional: true, ...c },
    u8: { type: 'UINT_8', ...c },
    i16: { type: 'INT_16', ...c },
    js: { type: 'JSON', optional: true, ...c },
    tags: { type: 'UTF8', repeated: true, ...c },
    addr: { optional: true, fields: { city: { type: 'UTF8', ...c }, zip: { type: 'UTF8', optional: true, ...c } } },
  });
}

const words = ['', 'plain', 'Zoë', '😀 emoji', 'quote " and \\ backslash', 'line\nbreak', 'tab\there'];

function rowOf(i) {
  const ms = (i - 500) * 86400123;           // before and after 1970
  const usBig = BigInt(i) * 1000003n + 1n;
  const row = {
    id: i * 1000003 - 400000000,
    i32: (i % 2 ? -1 : 1) * (2147483647 - i),
    small: i % 9 === 0 ? null : i % 100,
    flag: i % 3 === 0,
    d: i === 1 ? 0.1 : i === 2 ? -1e300 : i === 3 ? 5e-324 : i / 7,
    f: i % 11 === 0 ? null : i / 8 + 0.1,
    s: i % 13 === 0 ? null : words[i % words.length] + ' ' + i,
    zip: String(i % 100000).padStart(5, '0'),
    // Quarters: parquetjs scales a double by 10^scale without rounding, so
    // only values exact in binary give the decimal that was meant.
    dec: i % 17 === 0 ? null : (i * 37 - 9000) / 4,
    day: new Date((i - 300) * 86400000),
    ms: new Date(ms),
    us: i % 19 === 0 ? null : usBig,
    u8: i % 256,
    i16: (i * 97) % 65536 - 32768,
    js: i % 23 === 0 ? null : { n: i, a: [1, 'x', null], o: { k: i % 2 === 0 } },
    tags: Array.from({ length: i % 4 }, (_, k) => 't' + k),
    addr: i % 29 === 0 ? null : { city: 'City ' + (i % 5), zip: i % 2 ? null : '00501' },
  };
  const expected = {
    id: row.id, i32: row.i32, small: row.small, flag: row.flag, d: row.d,
    f: row.f === null ? null : { $float32: row.f },
    s: row.s, zip: row.zip,
    dec: row.dec === null ? null : { $decimal: row.dec.toFixed(2) },
    day: { $date: row.day.toISOString().slice(0, 10) },
    ms: { $micros: String(BigInt(ms) * 1000n) },
    us: row.us === null ? null : { $micros: String(usBig) },
    u8: row.u8, i16: row.i16, js: row.js, tags: row.tags,
    addr: row.addr,
  };
  return [row, expected];
}

async function writeFile(name, codec, opts, rle) {
  const file = path.join(dir, name + '.parquet');
  const w = await parquet.ParquetWriter.openFile(schemaFor(codec, rle), file, opts);
  w.setRowGroupSize(400);
  const lines = [];
  for (let i = 1; i <= 1000; i++) {
    const [row, expected] = rowOf(i);
    await w.appendRow(row);
    lines.push(JSON.stringify(expected));
  }
  await w.close();
  fs.writeFileSync(path.join(dir, name + '.expected.jsonl'), lines.join('\n') + '\n');
}

(async () => {
  await writeFile('plain_v1', 'UNCOMPRESSED', {}, false);
  await writeFile('gzip_v1', 'GZIP', {}, false);
  await writeFile('snappy_v2', 'SNAPPY', { useDataPageV2: true }, false);
  await writeFile('rle_v1', 'UNCOMPRESSED', {}, true);
  await writeFile('rle_snappy_v2', 'SNAPPY', { useDataPageV2: true }, true);
  // A codec Nebula does not read: a clear error is expected, not values.
  const b = await parquet.ParquetWriter.openFile(
    new parquet.ParquetSchema({ id: { type: 'INT32', compression: 'BROTLI' } }), path.join(dir, 'brotli.parquet'));
  await b.appendRow({ id: 1 });
  await b.close();
})().catch((e) => { console.error(e); process.exit(1); });
