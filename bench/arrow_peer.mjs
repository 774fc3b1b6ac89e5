// bench/arrow_peer.mjs - apache-arrow (npm) doing what bench/arrow.sh times
// Nebula doing: csv -> Arrow IPC stream, and Arrow IPC -> JSON Lines.
//   node arrow_peer.mjs csv2arrow IN.csv OUT.arrows
//   node arrow_peer.mjs arrow2json IN.arrows OUT.jsonl
// Strings only (as Nebula's csv source gives without declared types; an
// unquoted empty field is null, as with null_string = ""), in
// batches of 65536 rows; an RFC 4180 parser (apache-arrow has no CSV
// reader); Utf8 vectors made from their buffers (makeData), the fastest
// way apache-arrow offers.  ARROW_NODE_MODULES names the node_modules holding apache-arrow.
import { createRequire } from 'module';
import fs from 'fs';
const require = createRequire((process.env.ARROW_NODE_MODULES ||
  `${process.env.HOME}/.cache/nebula/node_modules`) + '/');
const arrow = require('apache-arrow');
const BATCH = 65536;

// Records of an RFC 4180 file: lines without a quote are split directly;
// a line with quotes goes through the state machine (and may continue on
// the next lines).
function* csvRecords(path) {
  const fd = fs.openSync(path, 'r');
  const buf = Buffer.alloc(1 << 22);
  let rest = '', pending = null;
  const parseQuoted = (text) => { // null when the record is not complete
    const rec = [];
    let field = '', inQuotes = false, quoted = false, i = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (inQuotes) {
        if (c === '"') {
          if (text[i + 1] === '"') { field += '"'; i++; } else inQuotes = false;
        } else field += c;
      } else if (c === '"') { inQuotes = true; quoted = true; }
      else if (c === ',') { rec.push(field === '' && !quoted ? null : field); field = ''; quoted = false; }
      else if (c !== '\r') field += c;
    }
    if (inQuotes) return null;
    rec.push(field === '' && !quoted ? null : field);
    return rec;
  };
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    const text = rest + (n ? buf.toString('utf8', 0, n) : '');
    const lines = text.split('\n');
    rest = n ? lines.pop() : '';
    for (const line of lines) {
      if (pending !== null) {
        pending += '\n' + line;
        const rec = parseQuoted(pending);
        if (rec) { pending = null; yield rec; }
        continue;
      }
      if (line.indexOf('"') < 0) {
        if (line !== '') yield line.split(',').map(v => (v === '' ? null : v));
        continue;
      }
      const rec = parseQuoted(line);
      if (rec) yield rec; else pending = line;
    }
    if (n === 0) break;
  }
  fs.closeSync(fd);
}

// A Utf8 vector built from its buffers directly (apache-arrow's
// vectorFromArray builder is several times slower).
function utf8Data(values) {
  const length = values.length;
  let total = 0, nullCount = 0;
  for (const v of values) if (v !== null) total += Buffer.byteLength(v); else nullCount++;
  const data = Buffer.allocUnsafe(total);
  const valueOffsets = new Int32Array(length + 1);
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  let pos = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v !== null) { pos += data.write(v, pos); nullBitmap[i >> 3] |= 1 << (i & 7); }
    valueOffsets[i + 1] = pos;
  }
  return arrow.makeData({ type: new arrow.Utf8(), length, nullCount, nullBitmap, valueOffsets,
                          data: new Uint8Array(data.buffer, data.byteOffset, total) });
}

function csv2arrow(inPath, outPath) {
  const it = csvRecords(inPath);
  const header = it.next().value;
  const schema = new arrow.Schema(header.map(h => new arrow.Field(h, new arrow.Utf8(), true)));
  const out = fs.openSync(outPath, 'w');
  const writer = new arrow.RecordBatchStreamWriter();
  let cols = header.map(() => []);
  const flush = () => {
    if (cols[0].length === 0) return;
    const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: cols[0].length,
                                  nullCount: 0, children: cols.map(utf8Data) });
    writer.write(new arrow.RecordBatch(schema, data));
    cols = header.map(() => []);
  };
  for (const rec of it) {
    for (let c = 0; c < header.length; c++) cols[c].push(rec[c] === undefined ? null : rec[c]);
    if (cols[0].length === BATCH) flush();
  }
  flush();
  writer.finish();
  // The sync writer hands out its bytes once, at the end (taking them
  // earlier restarts the stream with a second schema message).
  fs.writeSync(out, writer.toUint8Array(true));
  fs.closeSync(out);
}

function arrow2json(inPath, outPath) {
  const reader = arrow.RecordBatchReader.from(fs.readFileSync(inPath));
  const out = fs.openSync(outPath, 'w');
  for (const batch of reader) {
    const names = batch.schema.fields.map(f => f.name);
    const cols = names.map((_, c) => batch.getChildAt(c));
    const lines = [];
    for (let r = 0; r < batch.numRows; r++) {
      const o = {};
      for (let c = 0; c < names.length; c++) o[names[c]] = cols[c].get(r);
      lines.push(JSON.stringify(o));
    }
    fs.writeSync(out, lines.join('\n') + '\n');
  }
  fs.closeSync(out);
}

const [cmd, a, b] = process.argv.slice(2);
if (cmd === 'csv2arrow') csv2arrow(a, b);
else if (cmd === 'arrow2json') arrow2json(a, b);
else { console.error('usage: arrow_peer.mjs csv2arrow IN OUT | arrow2json IN OUT'); process.exit(2); }
