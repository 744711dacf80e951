// SQL classification (DESIGN.md §7): cold parse + classify of pgbench-size statements ≤ 15 µs;
// text → decision with a warm cache (classifyCached + decide) ≤ 3 µs. Baseline: libpg-query's
// own parseSync on the same texts, so the ratio is the classifier's cost over the bare parse.

import { loadModule, parseSync } from 'libpg-query';
import { decide } from '../../runtime/policy/decide.ts';
import { cacheStats, classify, classifyCached, configureCache } from '../../runtime/sql/classify.ts';
import { parserReady } from '../../runtime/sql/parser.ts';
import { benchPolicy, NOW } from './lib/bench-policy.ts';
import type { OpCase, Suite } from './lib/suite.ts';

/** pgbench's statements (select-only and tpcb-like), with the variables filled in. */
const STATEMENTS: { name: string; text: (i: number) => string; facts: string }[] = [
  {
    name: 'select',
    text: (i) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${1 + ((i * 7919) % 100_000)};`,
    facts: 'select public.pgbench_accounts',
  },
  {
    name: 'update',
    text: (i) => `UPDATE pgbench_accounts SET abalance = abalance + ${(i % 10_000) - 5000} WHERE aid = ${1 + ((i * 7919) % 100_000)};`,
    facts: 'update public.pgbench_accounts',
  },
  {
    name: 'insert',
    text: (i) =>
      `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${1 + (i % 10)}, 1, ${1 + ((i * 7919) % 100_000)}, ${(i % 10_000) - 5000}, CURRENT_TIMESTAMP);`,
    facts: 'insert public.pgbench_history',
  },
];

/** Distinct texts per statement, more than the classification cache holds, cycled through. */
const DISTINCT = 8192;
const CACHE_ENTRIES = 4096;

const suite: Suite = {
  name: 'classify',
  title: 'SQL text → facts (libpg_query WASM + the classifier), cold and through the cache, against a bare parseSync',
  async run(b) {
    await loadModule();
    await parserReady();
    configureCache(CACHE_ENTRIES, 16 * 1024 * 1024);
    const { principal } = benchPolicy();
    const ctx = { searchPath: ['public'] };

    const texts = STATEMENTS.map((s) => Array.from({ length: DISTINCT }, (_, i) => s.text(i)));
    // the select with an E'…' string (as psycopg2 writes a string holding a backslash), which the
    // lexical key does not read: the normalized key's path
    const escaped = Array.from({ length: DISTINCT }, (_, i) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${1 + ((i * 7919) % 100_000)} AND filler <> E'\\\\';`);
    for (const [k, s] of STATEMENTS.entries()) {
      const c = classify(texts[k][0], ctx);
      const facts = c.statements.flatMap((st) => st.facts.map((f) => `${f.action} ${f.resource}`)).join(', ');
      b.check(`${s.name}: classified as ${s.facts}`, facts === s.facts && c.error === undefined, facts);
      const d = decide(principal, classifyCached(s.text(0), ctx).statements, NOW);
      b.check(`${s.name}: the benchmark principal is allowed`, d.effect === 'allow', d.effect);
      b.check(`${s.name}: parseSync parses it`, (parseSync(texts[k][0]).stmts ?? []).length === 1);
    }

    // Cold: every text is new (8192 distinct ones per statement, more than the cache holds).
    const cold: OpCase[] = [];
    for (const [k, s] of STATEMENTS.entries()) {
      const distinct = texts[k];
      const base = `parseSync · ${s.name}`;
      cold.push(
        { name: `classify cold · ${s.name}`, fn: (i) => classify(distinct[i % DISTINCT], ctx), against: base, target: { medianAtMostNs: 15_000 } },
        { name: `classifyCached new text, known template · ${s.name}`, fn: (i) => classifyCached(distinct[i % DISTINCT], ctx), against: base },
        { name: base, fn: (i) => parseSync(distinct[i % DISTINCT]), baseline: true },
      );
    }
    cold.push({ name: "… an E'…' string: through the normalized key · select", fn: (i) => classifyCached(escaped[i % DISTINCT], ctx), against: 'parseSync · select' });
    b.note(
      'cold texts',
      `${DISTINCT} distinct texts per statement, cycled`,
      `the cache holds ${CACHE_ENTRIES}, so "new text" rows never hit it: they take the classification of their template (the same statement with other constants, spec/gateway.md §5), the gateway's path for a text with a new literal — by its lexical key, or "through the normalized key" for a text the lexical key does not read; "classify cold" parses and walks every text`,
    );
    b.log(`measuring ${cold.length} cold cases`);
    const before = cacheStats();
    await b.ops(cold);
    const after = cacheStats();
    const lexical = after.lexicalHits - before.lexicalHits;
    const normalized = after.templateHits - before.templateHits - lexical;
    b.check('the "new text" rows were served by lexical templates, the "normalized key" rows by normalized ones', lexical > DISTINCT && normalized > DISTINCT, `${lexical} and ${normalized} texts`);

    // Warm: the same text again, first with the cache as a busy gateway has it (full), then
    // with the cache holding only the texts being measured.
    const warm = (state: string): OpCase[] =>
      STATEMENTS.flatMap((s) => {
        const text = s.text(0);
        const base = `parseSync · ${s.name}`;
        return [
          {
            name: `warm text → decision · ${s.name} · ${state}`,
            fn: () => decide(principal, classifyCached(text, ctx).statements, NOW),
            against: base,
            target: { medianAtMostNs: 3_000 },
          },
          { name: `classifyCached hit · ${s.name} · ${state}`, fn: () => classifyCached(text, ctx), against: base },
        ];
      });
    configureCache(CACHE_ENTRIES, 16 * 1024 * 1024);
    for (const s of STATEMENTS) classifyCached(s.text(0), ctx);
    for (let i = 1; cacheStats().entries < CACHE_ENTRIES; i++) classifyCached(`SELECT ${i} AS filler_${i} FROM pgbench_branches`, ctx);
    b.note('warm, cache full', `${cacheStats().entries} entries (${cacheStats().chars} chars)`, 'the steady state of a gateway that has seen more distinct texts than the cache holds');
    b.log('measuring warm cases, cache full');
    await b.ops(warm('cache full'));
    configureCache(CACHE_ENTRIES, 16 * 1024 * 1024);
    for (const s of STATEMENTS) classifyCached(s.text(0), ctx);
    b.note('warm, cache nearly empty', `${cacheStats().entries} entries`, 'only the texts being measured');
    b.log('measuring warm cases, cache nearly empty');
    await b.ops(warm(`${STATEMENTS.length} entries`));
    b.note('decisions', 'against the generated 1,000-rule policy of the decide suite, principal team-000..team-002 on db0');
  },
};

export default suite;
