// avro_avsc_peer.js - the peer of bench/avro.sh: CSV -> Avro with the npm
// package avsc, as nebula-host does it (every column a string, codec
// null or deflate, blocks of about 1 MiB).  A streaming RFC 4180 reader
// (quoted fields, doubled quotes, CR LF) feeds avsc's file encoder.
//   node avro_avsc_peer.js IN.csv OUT.avro [CODEC]
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const avsc = require('avsc');

const [input, output, codec = 'null'] = process.argv.slice(2);
let header = null;
let encoder = null;
let field = '';
let record = [];
let inQuotes = false;
let quotePending = false;

function endRecord() {
  record.push(field);
  field = '';
  if (header === null) {
    header = record;
    const type = avsc.Type.forSchema({
      type: 'record', name: 'row',
      fields: header.map((name) => ({ name: name.replace(/[^A-Za-z0-9_]/g, '_'), type: 'string' })),
    });
    encoder = avsc.createFileEncoder(output, type, {
      codec, blockSize: 1 << 20,
      codecs: { null: (b, cb) => cb(null, b), deflate: (b, cb) => zlib.deflateRaw(b, cb) },
    });
  } else if (!(record.length === 1 && record[0] === '')) {
    const row = {};
    for (let i = 0; i < header.length; i++) row[header[i]] = record[i] === undefined ? '' : record[i];
    if (!encoder.write(row)) { record = []; return false; }
  }
  record = [];
  return true;
}

const stream = fs.createReadStream(input, { encoding: 'utf8', highWaterMark: 1 << 20 });
stream.on('data', (chunk) => {
  let start = 0;
  let paused = false;
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk.charCodeAt(i);
    if (inQuotes) {
      if (c === 34) { field += chunk.slice(start, i); start = i + 1; inQuotes = false; quotePending = true; }
      continue;
    }
    if (c === 34) {
      if (quotePending) field += '"';
      field += chunk.slice(start, i); start = i + 1; inQuotes = true; quotePending = false;
    } else if (c === 44) {
      field += chunk.slice(start, i); start = i + 1; record.push(field); field = ''; quotePending = false;
    } else if (c === 10) {
      let end = i;
      if (end > start && chunk.charCodeAt(end - 1) === 13) end--;
      field += chunk.slice(start, end); start = i + 1; quotePending = false;
      if (!endRecord()) paused = true;
    } else {
      quotePending = false;
    }
  }
  field += chunk.slice(start);
  if (paused) { stream.pause(); encoder.once('drain', () => stream.resume()); }
});
stream.on('end', () => {
  if (field !== '' || record.length > 0) endRecord();
  encoder.end();
});
