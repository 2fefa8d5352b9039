// Runs SQL files in DuckDB (npm @duckdb/node-api, in-memory database) with
// the working directory DIR (an export), printing every result row of every
// statement tab-separated: the fleet test's DuckDB engine.
// Usage: NODE_PATH=<npm prefix>/node_modules node duckdb_run.mjs DIR FILE.sql...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const { DuckDBInstance } = require('@duckdb/node-api');
const [dir, ...files] = process.argv.slice(2);
const sql = files.map((f) => readFileSync(resolve(f), 'utf8')).join('\n');
process.chdir(dir);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const t0 = performance.now();
const extracted = await con.extractStatements(sql);
for (let i = 0; i < extracted.count; i++) {
	const stmt = await extracted.prepare(i);
	const reader = await stmt.runAndReadAll();
	for (const row of reader.getRows())
		console.log(row.map((v) => (v === null ? '\\N' : String(v))).join('\t'));
}
console.error(`duckdb: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
