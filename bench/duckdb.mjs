// duckdb.mjs - runs SQL statements in an in-memory DuckDB (the npm package
// @duckdb/node-api, installed under bench/node_modules by bench/run) and
// prints the rows of the last statement, tab-separated, one per line.
//
//   node bench/duckdb.mjs THREADS SQL [SQL ...]
//
// With NB_BENCH_TIME_FILE set, the seconds spent running the statements
// (without starting node and loading DuckDB) are written to that file.
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [threads, ...statements] = process.argv.slice(2);
if (!threads || statements.length === 0) {
  console.error('usage: node duckdb.mjs THREADS SQL [SQL ...]');
  process.exit(2);
}
try {
  const instance = await DuckDBInstance.create(':memory:', { threads });
  const connection = await instance.connect();
  let reader = null;
  const start = process.hrtime.bigint();
  for (const sql of statements) reader = await connection.runAndReadAll(sql);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (process.env.NB_BENCH_TIME_FILE)
    writeFileSync(process.env.NB_BENCH_TIME_FILE, `${seconds.toFixed(4)}\n`);
  for (const row of reader.getRowsJS())
    console.log(row.map((v) => (v === null ? '\\N' : String(v))).join('\t'));
  connection.closeSync();
  instance.closeSync();
} catch (e) {
  console.error(`duckdb: ${e.message}`);
  process.exit(1);
}
