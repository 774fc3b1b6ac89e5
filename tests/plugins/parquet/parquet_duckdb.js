// parquet_duckdb.js - runs SQL statements in an in-memory DuckDB (npm
// @duckdb/node-api, installed under ~/.cache/nebula by .ci/install-deps.sh)
// and prints the rows of the last statement, one JSON array per line
// (BigInt as decimal text), for the parquet interoperability tests.
//
//   NODE_PATH=~/.cache/nebula/node_modules node parquet_duckdb.js SQL [SQL ...]
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

function text(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'object' && typeof v.toString === 'function') return v.toString();
  return String(v);
}

(async () => {
  const statements = process.argv.slice(2);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  let reader = null;
  for (const sql of statements) reader = await connection.runAndReadAll(sql);
  for (const row of reader.getRows()) console.log(JSON.stringify(row.map(text)));
  connection.closeSync();
  instance.closeSync();
})().catch((e) => {
  console.error(`duckdb: ${e.message}`);
  process.exit(1);
});
