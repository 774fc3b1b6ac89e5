// snappy_interop.js - an independent snappy framing implementation for the
// interop test: the npm package @chainsafe/snappy-stream (found through
// NODE_PATH).
//   node snappy_interop.js compress   < plain > framed
//   node snappy_interop.js uncompress < framed > plain
// uncompress also checks every data chunk's masked CRC-32C, because
// snappy-stream's decoder does not.
//
// CRC-32C comes from this file, not from @chainsafe/fast-crc32c: that
// package's loader picks a native or a JavaScript implementation at run
// time and, on some machines, finds neither ("no CRC-32C implementation is
// available"), which failed CI for reasons that had nothing to do with
// Nebula.  The table below is computed here from the Castagnoli polynomial
// and checked against the standard check value before use.
'use strict';
const Module = require('module');

function makeCrc32c() {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return function crc32c(buf) {
    if (!Buffer.isBuffer(buf)) buf = Buffer.from(buf);
    let crc = 0xffffffff;
    for (let i = 0; i < buf.length; i++) crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  };
}

const crc32c = makeCrc32c();
if (crc32c('123456789') !== 0xe3069283) throw new Error('CRC-32C self-check failed');
// Serve snappy-stream's require('@chainsafe/fast-crc32c') from the cache.
const crcPath = require.resolve('@chainsafe/fast-crc32c');
const crcModule = new Module(crcPath);
crcModule.filename = crcPath;
crcModule.loaded = true;
crcModule.exports = { calculate: crc32c };
require.cache[crcPath] = crcModule;

const snappyStream = require('@chainsafe/snappy-stream');
const checksum = require('@chainsafe/snappy-stream/lib/checksum');
const snappy = require('snappy');

function readAll(stream) {
  return new Promise((resolve, reject) => {
    const parts = [];
    stream.on('data', (b) => parts.push(b));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

function verifyChecksums(buf) {
  let at = 0;
  let chunks = 0;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new Error(`truncated chunk header at byte ${at}`);
    const type = buf[at];
    const len = buf[at + 1] | (buf[at + 2] << 8) | (buf[at + 3] << 16);
    const payload = buf.subarray(at + 4, at + 4 + len);
    if (payload.length !== len) throw new Error(`truncated chunk at byte ${at}`);
    if (type === 0x00 || type === 0x01) {
      const data = type === 0x00 ? snappy.uncompressSync(payload.subarray(4)) : payload.subarray(4);
      if (!checksum(data).equals(payload.subarray(0, 4)))
        throw new Error(`checksum mismatch in the chunk at byte ${at}`);
      chunks++;
    }
    at += 4 + len;
  }
  return chunks;
}

async function main() {
  const mode = process.argv[2];
  const input = await readAll(process.stdin);
  let stream;
  if (mode === 'compress') {
    stream = snappyStream.createCompressStream();
  } else if (mode === 'uncompress') {
    verifyChecksums(input);
    stream = snappyStream.createUncompressStream();
  } else {
    throw new Error('usage: snappy_interop.js compress|uncompress');
  }
  const done = readAll(stream);
  // Feed in pieces so chunk boundaries do not line up with writes.
  for (let i = 0; i < input.length; i += 100003) stream.write(input.subarray(i, i + 100003));
  stream.end();
  process.stdout.write(await done);
}

main().catch((e) => {
  process.stderr.write(`snappy_interop.js: ${e.message}\n`);
  process.exit(1);
});
