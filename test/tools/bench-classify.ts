// A quick measurement (not a timed test) of the classifier's costs:
//
//   node --import tsx test/tools/bench-classify.ts
//
// cold: parse + classify of text never seen (a distinct literal each time, so no cache helps);
// warm: classifyCached of the same text; libpg-query's own parseSync, our parseSql and the
// fingerprint alone for comparison. The cases run interleaved in rounds so that load from other
// processes hits them alike; each line gives the best round (the cost on an idle machine) and
// the median round.

import { loadModule, parseSync } from 'libpg-query';
import { classify, classifyCached } from '../../runtime/sql/classify.ts';
import { fingerprintSql, parseSql, parserReady } from '../../runtime/sql/parser.ts';

await parserReady();
await loadModule();

const ctx = { searchPath: ['public'] };
const pgbench = (i: number): string => `SELECT abalance FROM pgbench_accounts WHERE aid = ${i};`;
const cte = (i: number): string =>
  `WITH d AS (DELETE FROM orders WHERE id = ${i} RETURNING *) INSERT INTO archive SELECT * FROM d`;
const orm = (i: number): string =>
  `SELECT users.id AS users_id, users.name AS users_name, users.email AS users_email, addresses.id AS addresses_id, ` +
  `addresses.street AS addresses_street FROM users LEFT OUTER JOIN addresses ON users.id = addresses.user_id ` +
  `WHERE users.id = ${i} AND lower(users.name) LIKE 'a%' ORDER BY users.id LIMIT 10`;
const fixed = pgbench(42);

const cases: [string, number, (i: number) => unknown][] = [
  ['libpg-query parseSync, pgbench -S', 2000, (i) => parseSync(pgbench(i))],
  ['parseSql, pgbench -S', 2000, (i) => parseSql(pgbench(i))],
  ['fingerprintSql, pgbench -S', 2000, (i) => fingerprintSql(pgbench(i))],
  ['classify cold, pgbench -S (parse included)', 2000, (i) => classify(pgbench(i), ctx)],
  ['classify cold, writable CTE (98 chars)', 1000, (i) => classify(cte(i), ctx)],
  ['classify cold, ORM SELECT (330 chars)', 500, (i) => classify(orm(i), ctx)],
  ['classifyCached warm, pgbench -S', 20000, () => classifyCached(fixed, ctx)],
];

const rounds = 40;
const results = cases.map(() => [] as number[]);
let seq = 1_000_000;
for (let r = 0; r < rounds; r++) {
  cases.forEach(([, n, fn], c) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(seq++);
    results[c]!.push(Number(process.hrtime.bigint() - t0) / n / 1000);
  });
}
cases.forEach(([label], c) => {
  const xs = results[c]!.slice(5).sort((a, b) => a - b); // the first rounds warm the JIT up
  console.log(`${label.padEnd(46)} best ${xs[0]!.toFixed(2).padStart(6)} µs   median ${xs[xs.length >> 1]!.toFixed(2).padStart(6)} µs`);
});

const mem0 = process.memoryUsage().rss;
for (let i = 0; i < 200_000; i++) classify(orm(i), ctx);
console.log(`rss after 200k more cold ORM classifications: ${((process.memoryUsage().rss - mem0) / 1e6).toFixed(1)} MB more`);
