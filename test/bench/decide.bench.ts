// decide() on a generated 1,000-rule policy (DESIGN.md §7: ≤ 1 µs median for a classified
// statement), against a naive evaluator that scans the rule list for every fact (lib/naive.ts),
// measured side by side. The statements come from the real classifier; both evaluators must
// reach the same decision (effect, rules, masks, limit) or the suite says so. Also reports the
// heap the hot path allocates per call next to what its result alone takes.

import type { LoadedPolicy } from '../../runtime/policy/load.ts';
import { decide, type Decision } from '../../runtime/policy/decide.ts';
import { classify } from '../../runtime/sql/classify.ts';
import type { ClassifiedStatement } from '../../runtime/sql/facts.ts';
import { allocationOf } from './lib/alloc.ts';
import { benchPolicy, NOW, RULES } from './lib/bench-policy.ts';
import { naiveDecide, type NaiveDecision } from './lib/naive.ts';
import { BENCH_CLAIMS, BENCH_GROUPS, BENCH_TARGET } from './lib/policy-gen.ts';
import type { OpCase, Suite } from './lib/suite.ts';


const CASES: { name: string; sql: string; effect: Decision['effect'] }[] = [
  { name: 'single fact', sql: 'SELECT id, total FROM app.orders WHERE id = 42', effect: 'allow' },
  {
    name: 'several facts',
    sql: 'INSERT INTO app.order_items (order_id, sku) SELECT o.id, c.email FROM app.orders o JOIN app.customers c ON c.id = o.customer_id WHERE o.id = 7',
    effect: 'allow',
  },
  {
    name: 'multi-statement query',
    sql: 'SELECT * FROM app.orders WHERE id = 1; UPDATE app.orders SET total = 0 WHERE id = 1; INSERT INTO app.order_items SELECT * FROM app.customers',
    effect: 'allow',
  },
  { name: 'wildcard hit (reports.*)', sql: 'SELECT * FROM reports.daily_2024_06', effect: 'allow' },
  { name: 'deny by a rule', sql: 'SELECT * FROM app.secrets', effect: 'deny' },
  { name: 'deny, no rule allows', sql: 'DELETE FROM app.audit_log WHERE id = 1', effect: 'deny' },
  { name: 'approve (unbounded delete)', sql: 'DELETE FROM app.orders', effect: 'approve' },
];

/** What both evaluators decided, in comparable terms (rules as source lines). */
function comparable(policy: LoadedPolicy, d: Decision | NaiveDecision) {
  const line = (id: number) => policy.rules[id]?.source?.line ?? -1;
  const isNaive = !('approvals' in d);
  const lines = (ids: number[]) => [...(isNaive ? ids : ids.map(line))].sort((a, b) => a - b);
  return {
    effect: d.effect,
    rules: lines(d.rules),
    deciding: d.deciding === null ? null : { statement: d.deciding.statement, action: d.deciding.fact.action, resource: d.deciding.fact.resource },
    masks: d.masks
      .map((m) => `${m.relation}.${m.column}:${m.strategy.name}${'n' in m.strategy && m.strategy.n !== undefined ? `(${m.strategy.n})` : ''}:${lines(m.rules).join(',')}`)
      .sort(),
    limit: isNaive ? (d as NaiveDecision).limit : ((d as Decision).limit?.rows ?? null),
  };
}

/** Copies an array the way decide() builds its lists (pushing from empty), so the spare capacity matches. */
function pushed<T>(xs: readonly T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < xs.length; i++) out.push(xs[i]);
  return out;
}

/** A new object of the decision's shape: what any decide() must allocate at least. */
function shapeOf(d: Decision): Decision {
  return {
    effect: d.effect,
    rules: pushed(d.rules),
    deciding: d.deciding === null ? null : { ...d.deciding },
    masks: pushed(d.masks),
    limit: d.limit,
    approvals: pushed(d.approvals),
  };
}

const suite: Suite = {
  name: 'decide',
  title: `decide() on a generated ${RULES.toLocaleString('en')}-rule policy, against a naive scan of the rule list`,
  async run(b) {
    const { gen, compiled, loaded, principal, who, compileMs, warnings } = benchPolicy();
    const target = loaded.targets.get(BENCH_TARGET)!;
    let cells = 0;
    for (const t of loaded.targets.values()) for (const byKey of t.actions.values()) cells += byKey.size;
    b.note('policy', `${gen.rules.length} rules written, ${compiled.rules.length} compiled`, `${compiled.groups.length} group bits, ${loaded.targets.size} targets, ${cells} decision cells (${[...target.actions.values()].reduce((n, m) => n + m.size, 0)} on ${BENCH_TARGET}); ${warnings} warnings`);
    b.note('compile of the 1,000-rule policy (first, cold)', `${compileMs.toFixed(0)} ms`);
    b.note('principal', `groups ${BENCH_GROUPS.join(', ')}, claims ${JSON.stringify(BENCH_CLAIMS)}, target ${BENCH_TARGET}`, `decisions at ${new Date(NOW).toISOString()}`);

    const prepared = CASES.map((c) => {
      const statements: ClassifiedStatement[] = classify(c.sql).statements;
      const facts = statements.reduce((n, s) => n + Math.max(1, s.facts.length), 0);
      return { ...c, statements, facts };
    });
    for (const c of prepared) {
      const fast = comparable(loaded, decide(principal, c.statements, NOW));
      const slow = comparable(loaded, naiveDecide(gen.rules, BENCH_TARGET, who, c.statements, NOW));
      const agree = JSON.stringify(fast) === JSON.stringify(slow);
      b.check(
        `${c.name}: decide() and the naive scan agree, effect ${fast.effect} (expected ${c.effect})`,
        agree && fast.effect === c.effect,
        agree ? `${c.statements.length} statement(s), ${c.facts} fact(s), ${fast.rules.length} rule(s), ${fast.masks.length} mask(s)` : `decide ${JSON.stringify(fast)} ≠ naive ${JSON.stringify(slow)}`,
      );
    }

    const fastCases: OpCase[] = prepared.map((c) => ({
      name: `decide · ${c.name}`,
      fn: () => decide(principal, c.statements, NOW),
      against: `naive · ${c.name}`,
      target: { medianAtMostNs: 1_000 },
    }));
    const slowCases: OpCase[] = prepared.map((c) => ({
      name: `naive · ${c.name}`,
      fn: () => naiveDecide(gen.rules, BENCH_TARGET, who, c.statements, NOW),
      baseline: true,
    }));
    const empty: OpCase = { name: '(harness) empty operation', fn: (i) => i, note: "the measuring loop's own cost per call, included in every row" };
    b.log(`measuring ${fastCases.length * 2 + 1} cases`);
    await b.ops([...fastCases, ...slowCases, empty]);

    const calls = b.quick ? 200_000 : 1_000_000;
    b.log(`allocation over ${calls} calls per case`);
    for (const c of prepared) {
      const d = decide(principal, c.statements, NOW);
      const used = allocationOf(() => decide(principal, c.statements, NOW), calls);
      const shape = allocationOf(() => shapeOf(d), calls);
      const beyond = used.bytesPerCall - shape.bytesPerCall;
      b.note(
        `heap allocated · ${c.name}`,
        `${used.bytesPerCall.toFixed(1)} B/call`,
        `a copy of its result alone ${shape.bytesPerCall.toFixed(1)} B/call, so ≈ ${beyond.toFixed(1)} B/call beyond the result; ${used.collections} collections over ${calls.toLocaleString('en')} calls`,
      );
    }
  },
};

export default suite;
