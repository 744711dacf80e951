// A quick measurement (not a timed test) of the classifier's costs:
//
//   node --import tsx test/tools/bench-classify.ts
//
// cold: parse + classify of text never seen (a distinct literal each time, so no cache helps);
// warm: classifyCached of the same text; parse alone and fingerprint alone for comparison.

import { classify, classifyCached } from '../../runtime/sql/classify.ts';
import { fingerprintSql, parseSql, parserReady } from '../../runtime/sql/parser.ts';

await parserReady();

const ctx = { searchPath: ['public'] };

function measure(label: string, n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn(i); // warm up the JIT
  const samples: number[] = [];
  const batch = 100;
  for (let b = 0; b < n / batch; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn(b * batch + i + 1_000_000);
    samples.push(Number(process.hrtime.bigint() - t0) / batch / 1000);
  }
  samples.sort((a, b) => a - b);
  const median = samples[samples.length >> 1]!;
  console.log(`${label.padEnd(58)} median ${median.toFixed(2)} µs  p90 ${samples[Math.floor(samples.length * 0.9)]!.toFixed(2)} µs`);
  return median;
}

const pgbench = (i: number): string => `SELECT abalance FROM pgbench_accounts WHERE aid = ${i};`;
const cte = (i: number): string =>
  `WITH d AS (DELETE FROM orders WHERE id = ${i} RETURNING *) INSERT INTO archive SELECT * FROM d`;
const orm = (i: number): string =>
  `SELECT users.id AS users_id, users.name AS users_name, users.email AS users_email, addresses.id AS addresses_id, ` +
  `addresses.street AS addresses_street FROM users LEFT OUTER JOIN addresses ON users.id = addresses.user_id ` +
  `WHERE users.id = ${i} AND lower(users.name) LIKE 'a%' ORDER BY users.id LIMIT 10`;

const N = 200_000;
measure('parseSql, pgbench -S', N, (i) => parseSql(pgbench(i)));
measure('fingerprintSql, pgbench -S', N, (i) => fingerprintSql(pgbench(i)));
measure('classify cold, pgbench -S (parse included)', N, (i) => classify(pgbench(i), ctx));
measure('classify cold, writable CTE', N / 2, (i) => classify(cte(i), ctx));
measure('classify cold, ORM SELECT', N / 4, (i) => classify(orm(i), ctx));
const fixed = pgbench(42);
measure('classifyCached warm, pgbench -S', N * 5, () => classifyCached(fixed, ctx));

const mem0 = process.memoryUsage().rss;
for (let i = 0; i < 300_000; i++) classify(orm(i), ctx);
console.log(`rss after 300k cold ORM classifications: ${((process.memoryUsage().rss - mem0) / 1e6).toFixed(1)} MB more`);
