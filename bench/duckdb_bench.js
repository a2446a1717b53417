#!/usr/bin/env node
// The DuckDB peer of bench/macro.sh, in one process (an in-memory database, DuckDB's default
// threads):
//
//   node bench/duckdb_bench.js MODULES LOAD_SQL RULES_SQL OUT_DIR --at DAY[:SUFFIX]... [--marks FILE] [--timing FILE]
//
// MODULES: the folder that macro.sh installed bench/duckdb/package.json into (@duckdb/node-api
// from the npm registry; bench only). LOAD_SQL: the feeds, the calendar and the lookup tables
// (`bench/sqlite_bench.py prepare-duckdb`); RULES_SQL: bench/rules.sql (the text SQLite runs too), run once for each
// --at DAY (a day number, substituted for @d). With a SUFFIX (possibly empty: "DAY:") the results
// are written as OUT_DIR/{matches,values,feeds}SUFFIX.tsv in the format of the SQLite side, for
// `sqlite_bench.py compare`; without one they are computed and not written. --marks FILE (default
// OUT_DIR/marks.tsv) gets the time at the end of each step (start, import, convert, calendar, rules,
// output), as SQLite's marks; --timing FILE the seconds of each --at's rules and output, as JSON.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

function usage() {
  process.stderr.write('usage: node bench/duckdb_bench.js MODULES LOAD_SQL RULES_SQL OUT_DIR --at DAY[:SUFFIX]...'
    + ' [--marks FILE] [--timing FILE]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length < 6) usage();
const [modules, loadSql, rulesSql, outDir] = args.slice(0, 4);
const runs = [];
let timingFile = null;
let marksFile = path.join(outDir, 'marks.tsv');
for (let i = 4; i < args.length; i += 2) {
  if (args[i] === '--at' && args[i + 1] !== undefined) {
    const [day, ...suffix] = args[i + 1].split(':');
    if (!/^-?\d+$/.test(day)) usage();
    runs.push({ day, suffix: suffix.length ? suffix.join(':') : null });
  } else if (args[i] === '--timing' && args[i + 1] !== undefined) {
    timingFile = args[i + 1];
  } else if (args[i] === '--marks' && args[i + 1] !== undefined) {
    marksFile = args[i + 1];
  } else {
    usage();
  }
}
if (runs.length === 0) usage();

const { DuckDBInstance } = createRequire(path.join(path.resolve(modules), 'package.json'))('@duckdb/node-api');

const marks = [];
const mark = (step) => marks.push([step, Date.now() / 1000]);
const sqlPath = (p) => "'" + p.replace(/'/g, "''") + "'";

async function main() {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  // load.sql: the statements between two '-- @mark STEP' lines, then the mark.
  let chunk = [];
  for (const line of fs.readFileSync(loadSql, 'utf8').split('\n')) {
    const m = /^-- @mark (\w+)$/.exec(line);
    if (!m) {
      chunk.push(line);
      continue;
    }
    const sql = chunk.join('\n').trim();
    chunk = [];
    if (sql) await connection.run(sql);
    mark(m[1]);
  }
  if (chunk.join('\n').trim()) await connection.run(chunk.join('\n'));

  const rules = fs.readFileSync(rulesSql, 'utf8');
  const timing = [];
  for (const { day, suffix } of runs) {
    const t0 = performance.now();
    await connection.run(rules.replace(/@d\b/g, `(${day})`));
    mark('rules');
    const t1 = performance.now();
    if (suffix !== null) {
      const out = (name) => sqlPath(path.join(outDir, `${name}${suffix}.tsv`));
      const tsv = "(FORMAT csv, DELIMITER '\t', HEADER false)";
      await connection.run(`
        COPY (SELECT rule, key, severity, due, value FROM matches ORDER BY rule, key) TO ${out('matches')} ${tsv};
        COPY (SELECT rule, key, value FROM agg_values ORDER BY rule, key) TO ${out('values')} ${tsv};
        -- a feed down has no records
        COPY (SELECT name, CASE WHEN up THEN records ELSE 0 END, rejected, CAST(up AS INTEGER) FROM feeds ORDER BY name)
          TO ${out('feeds')} ${tsv};`);
      mark('output');
    }
    timing.push({ day: Number(day), rules_seconds: (t1 - t0) / 1000, output_seconds: (performance.now() - t1) / 1000 });
  }
  fs.writeFileSync(marksFile, marks.map(([s, t]) => `${s}\t${t.toFixed(3)}\n`).join(''));
  if (timingFile) {
    const version = (await connection.runAndReadAll('SELECT version()')).getRows()[0][0];
    fs.writeFileSync(timingFile, JSON.stringify({ duckdb: version, runs: timing }) + '\n');
  }
  connection.closeSync();
  instance.closeSync();
}

main().catch((error) => {
  process.stderr.write(`duckdb_bench.js: ${error.message}\n`);
  process.exit(1);
});
