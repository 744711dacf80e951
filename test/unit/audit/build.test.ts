// The statement record as the writer writes it, straight from the statement's encoding, is
// exactly the bytes JSON.stringify writes for the record object (the canonical form verify
// checks), over random and awkward inputs, and copies nothing of an earlier record that differs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statementObject } from './statement-reference.ts';
import { isoTime } from '../../../runtime/audit/chain.ts';
import type { StatementInput } from '../../../runtime/audit/records.ts';
import { schemaErrors, statementBody } from './helpers.ts';

const T0 = Date.UTC(2026, 0, 1);

let seed = 42;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
const pieces = ['SELECT', ' ', '"', '\\\\', '\\n', '\u2028', '\u0000', 'é', '😀', '\ud800', "'", '$1', '{"seq":1}', 'x'.repeat(70_000)];
function str(max = 6): string {
  let s = '';
  for (let i = rnd(max); i > 0; i--) s += pieces[rnd(pieces.length - 1)];
  return s;
}
function maybe<T>(v: T): T | undefined {
  return rnd(3) === 0 ? undefined : v;
}

/** Now and then a number JSON writes in an unusual way: NaN and infinities as null, -0 as 0, exponents. */
function odd(n: number): number {
  return [NaN, Infinity, -Infinity, -0, 1e21, 1.5e-7, n][rnd(14)] ?? n;
}

function randomInput(): StatementInput {
  const big = rnd(10) === 0;
  return {
    query: maybe(rnd(1000)),
    index: maybe(rnd(5)),
    protocol: maybe(rnd(2) ? 'simple' : 'extended'),
    text: big ? pieces[pieces.length - 1] + str() : str(10),
    params: rnd(3) === 0 ? undefined : Array.from({ length: rnd(big ? 300 : 4) }, () => (rnd(5) === 0 ? null : rnd(5) === 0 ? new Uint8Array(rnd(4000)) : rnd(20) === 0 ? 'p'.repeat(5000) : str())),
    fingerprint: rnd(2) ? str(3) : rnd(2) ? null : undefined,
    facts: Array.from({ length: rnd(4) }, () => ({ action: str(2), resource: str(3), unbounded: rnd(2) === 0 ? true : rnd(2) === 0 ? false : undefined })),
    decision: (['allow', 'deny', 'approve'] as const)[rnd(3)],
    rules: Array.from({ length: rnd(4) }, () => rnd(100)),
    approval: rnd(2) ? str(2) : null,
    outcome: (['ok', 'error', 'denied', 'refused'] as const)[rnd(4)],
    rows: rnd(2) ? { returned: maybe(rnd(100)), affected: maybe(rnd(100)), command: maybe(str(2)) } : null,
    masked: rnd(2) ? Array.from({ length: rnd(3) }, () => str(2)) : null,
    limit: rnd(2) ? { rows: rnd(100) + 1, rule: rnd(10), reached: rnd(2) === 0 } : null,
    error: rnd(2) ? { sqlstate: '42501', message: str() } : null,
    timing: rnd(2) ? { startedAt: maybe(1_700_000_000_000 + rnd(1000)), decideUs: maybe(rnd(1000) / 7), waitMs: maybe(odd(rnd(10))), executeMs: maybe(0.1 * rnd(10)), totalMs: maybe(odd(rnd(100) / 3)) } : null,
  };
}

test('the body written is JSON.stringify of statementObject, for 2000 random inputs', () => {
  for (let i = 0; i < 2000; i++) {
    const input = randomInput();
    const at = T0 + rnd(3);
    const fast = statementBody(input, 's.1', at);
    const reference = JSON.stringify(statementObject('s.1', isoTime(at), input));
    if (fast !== reference) assert.fixture(fast, reference, `input ${i}`);
    // canonical: parsing and writing again gives the same text
    assert.is(JSON.stringify(JSON.parse(fast)), fast);
  }
});

test('the body written copies nothing of an earlier record that differs: repeats, near repeats, arrays changed in place', () => {
  const check = (input: StatementInput, at = T0, session = 's.1', what = '') => {
    const fast = statementBody(input, session, at);
    const reference = JSON.stringify(statementObject(session, isoTime(at), input));
    if (fast !== reference) assert.fixture(fast, reference, what);
  };
  const facts = [{ action: 'select', resource: 'public.a' }];
  const rules = [3];
  const base: StatementInput = { protocol: 'extended', text: 'SELECT 1', facts, decision: 'allow', rules, outcome: 'ok' };
  check(base);
  check(base, T0 + 1, 's.2', 'another time and session');
  check({ ...base, protocol: 'simple' }, undefined, undefined, 'same text, another protocol');
  check({ ...base, protocol: undefined }, undefined, undefined, 'same text, no protocol');
  check({ ...base, text: 'SELECT 2' }, undefined, undefined, 'another text');
  check({ ...base, decision: 'approve' }, undefined, undefined, 'another decision');
  facts[0] = { action: 'select', resource: 'public.b' };
  check(base, undefined, undefined, 'a fact replaced in the same array');
  facts[0].action = 'update';
  check(base, undefined, undefined, 'a fact changed in place');
  facts.push({ action: 'delete', resource: 'public.b' });
  check(base, undefined, undefined, 'a fact added');
  (facts[1] as { unbounded?: boolean }).unbounded = true;
  check(base, undefined, undefined, 'a fact made unbounded');
  rules[0] = 4;
  check(base, undefined, undefined, 'a rule changed in place');
  rules.push(5);
  check(base, undefined, undefined, 'a rule added');
  check({ ...base, facts: [], rules: [] }, undefined, undefined, 'no facts, no rules');
  check({ ...base, text: '' }, 0, '', 'empty text and session, time 0');
  check({ ...base, text: 'x'.repeat(70_000) }, undefined, undefined, 'a text that is cut');
  check({ ...base, text: 'x'.repeat(70_000) + 'y' }, undefined, undefined, 'another text cut to the same prefix');
  // random inputs, each followed by copies that differ in one part
  for (let i = 0; i < 500; i++) {
    const input = randomInput();
    check(input, undefined, undefined, `input ${i}`);
    check({ ...input }, undefined, undefined, `input ${i} again`);
    check({ ...input, facts: input.facts.map((f) => ({ ...f, resource: f.resource + 'x' })) }, undefined, undefined, `input ${i}, other resources`);
    check({ ...input, rules: [...input.rules, 1] }, undefined, undefined, `input ${i}, another rule`);
    check({ ...input, text: input.text + ' ' }, undefined, undefined, `input ${i}, another text`);
  }
});

test('the records of well-formed inputs are valid against the schema', () => {
  for (let i = 0; i < 300; i++) {
    const input = randomInput();
    if (input.rules.length === 0) continue;
    const record = { seq: 1, prev: '0'.repeat(64), ...JSON.parse(statementBody(input)) };
    if (record.limit && record.limit.rows < 1) continue;
    assert.equal(schemaErrors(record), [], `input ${i}`);
  }
});

test('isoTime writes what Date#toISOString writes, within a second, across seconds, and far from now', () => {
  const times: number[] = [];
  for (let t = 1_764_126_000_990; t < 1_764_126_001_020; t++) times.push(t, t); // repeats and a second boundary
  times.push(0, 999, 1000, -1, -1001, 86_400_000 - 1, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001, 1.5, 1_764_126_000_000.25);
  for (let i = 0; i < 2000; i++) times.push(1_764_126_000_000 + rnd(5_000_000));
  for (const t of times) assert.is(isoTime(t), new Date(t).toISOString(), String(t));
});

test.run();
