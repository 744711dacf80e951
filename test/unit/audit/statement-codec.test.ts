// The statement codec between the recorder's calls and the writer: what the writer writes
// from the encoding is byte for byte JSON.stringify of the record object built from the input
// itself, for every field and every kind of string; inputs of a shape the gateway never passes
// are refused at the call, never half-encoded; bytes that are not an encoding are refused by the
// writer, never written as a record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statementObject } from './statement-reference.ts';
import { isoTime } from '../../../runtime/audit/chain.ts';
import { JsonBytes } from '../../../runtime/audit/json-bytes.ts';
import type { StatementInput } from '../../../runtime/audit/records.ts';
import { encodeStatement, StatementTranscoder, UnencodableStatement } from '../../../runtime/audit/statement-codec.ts';

const AT = 1_764_126_000_123;

/** Encodes every input into one buffer, writes each record from it in order, and compares each with the record object's JSON. */
function roundTrip(inputs: StatementInput[]): string[] {
  const w = new JsonBytes(16);
  const ends: number[] = [];
  for (const [i, s] of inputs.entries()) {
    encodeStatement(w, `s.${i}`, AT + i, s);
    ends.push(w.pos);
  }
  const t = new StatementTranscoder();
  const out: string[] = [];
  for (const [i, s] of inputs.entries()) {
    const o = new JsonBytes(16);
    t.write(o, w.buf, i === 0 ? 0 : ends[i - 1], ends[i]);
    const written = o.buf.toString('utf8', 0, o.pos);
    const reference = JSON.stringify(statementObject(`s.${i}`, isoTime(AT + i), s));
    if (written !== reference) assert.fixture(written, reference, `input ${i}`);
    out.push(written);
  }
  return out;
}

const base: StatementInput = { text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'ok' };

test('every field, present and absent, comes back as it went in', () => {
  roundTrip([
    base,
    {
      query: 7,
      index: 2,
      protocol: 'extended',
      text: 'SELECT id, email FROM customers WHERE id = $1',
      params: ['42', new Uint8Array([0, 1, 255]), null, 'x'.repeat(5000), new Uint8Array(4000), { base64: 'AQID' }],
      paramTypes: [23, 0, 25, 2 ** 32 - 1],
      runs: [
        { text: 'SELECT amount FROM ledger WHERE id = $1', params: ['1', null, new Uint8Array([9])], paramTypes: [23] },
        { text: 'PREPARE p AS SELECT 1' },
        { text: 'é'.repeat(70_000), params: [], paramTypes: [] },
        { text: 'x'.repeat(4096) },
        { text: 'a' + '🙂'.repeat(2048) },
      ],
      fingerprint: 'f1e2d3c4b5a69788',
      facts: [
        { action: 'select', resource: 'public.customers' },
        { action: 'delete', resource: 'public.orders', unbounded: true },
      ],
      decision: 'approve',
      rules: [4, 9, 2 ** 40],
      approval: 'req-1',
      outcome: 'error',
      rows: { command: 'SELECT', returned: 3 },
      masked: ['public.customers.email'],
      limit: { rows: 100, rule: 4, reached: true },
      error: { sqlstate: '57014', message: 'canceling statement due to user request' },
      timing: { startedAt: 1_764_126_000_000, decideUs: 12, waitMs: 1500, executeMs: 0.125, totalMs: 1501.5 },
    },
    { ...base, protocol: 'simple', rows: { affected: 0 }, params: [], masked: [], timing: {}, paramTypes: [], runs: [] },
    { ...base, paramTypes: null, runs: null },
    { ...base, outcome: 'unknown', decision: 'deny', rows: { command: 'BEGIN' }, error: null, timing: null, params: null },
    ...(['ok', 'error', 'denied', 'rejected', 'expired', 'cancelled', 'refused', 'unknown'] as const).map((outcome) => ({ ...base, outcome })),
  ]);
});

test('strings of every kind: Latin-1, other scripts, emoji, lone surrogates, control characters, long texts', () => {
  const texts = [
    '',
    "SELECT 'café', 'naïve', '\u00ff'",
    "SELECT 'Ωμέγα', '日本語', '🙂'",
    "SELECT '\ud800', 'a\udc00b', '\udbff\udfff'",
    'SELECT \'\u0000\u0001\t\n\r"\\\'',
    'SELECT ' + "'é'".repeat(30_000),
    'SELECT ' + '🙂'.repeat(40_000),
  ];
  roundTrip(texts.map((text) => ({ ...base, text, params: [text.slice(0, 100)], facts: [{ action: 'select', resource: text.slice(0, 50) }], masked: [text.slice(0, 20)] })));
});

test('a text repeated, then changed by one byte or one code unit, is written as it is each time', () => {
  const a = 'SELECT abalance FROM pgbench_accounts WHERE aid = $1';
  const b = 'SELECT abalance FROM pgbench_accounts WHERE aid = $2';
  const wide = 'SELECT \u0100';
  const narrow = 'SELECT \u0001\u0000';
  roundTrip([a, a, b, a, wide, narrow, wide, wide].map((text) => ({ ...base, text })));
});

test('random inputs: the writer writes the record of the input itself', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', 'Z', '0', ' ', "'", '"', '\\', '\n', '\u0007', 'é', '\u00ff', 'Ω', '中', '🙂', '\ud800', '\udfff'];
  const str = (max: number) => Array.from({ length: rnd(max) }, () => alphabet[rnd(alphabet.length)]).join('');
  const inputs: StatementInput[] = [];
  for (let i = 0; i < 300; i++) {
    inputs.push({
      query: rnd(3) === 0 ? undefined : rnd(1000),
      text: str(80),
      params: rnd(3) === 0 ? null : Array.from({ length: rnd(5) }, () => (rnd(4) === 0 ? null : rnd(4) === 1 ? new Uint8Array([rnd(256), rnd(256)]) : str(10))),
      paramTypes: rnd(3) === 0 ? Array.from({ length: rnd(4) }, () => rnd(70_000)) : undefined,
      runs:
        rnd(3) === 0
          ? Array.from({ length: rnd(7) }, () => ({
              text: str(40),
              params: rnd(2) === 0 ? null : Array.from({ length: rnd(3) }, () => (rnd(3) === 0 ? null : str(6))),
              paramTypes: rnd(2) === 0 ? null : Array.from({ length: rnd(3) }, () => rnd(3000)),
            }))
          : undefined,
      facts: Array.from({ length: rnd(4) }, () => ({ action: str(8), resource: str(20), unbounded: rnd(2) === 0 ? undefined : rnd(2) === 1 })),
      decision: (['allow', 'deny', 'approve'] as const)[rnd(3)],
      rules: Array.from({ length: rnd(4) }, () => rnd(100)),
      outcome: 'ok',
      rows: rnd(2) === 0 ? null : { returned: rnd(2) === 0 ? undefined : rnd(10), command: rnd(2) === 0 ? undefined : str(6) },
      error: rnd(3) === 0 ? { sqlstate: str(5), message: str(40) } : null,
      timing: rnd(2) === 0 ? null : { startedAt: 1_700_000_000_000 + rnd(1e9), executeMs: rnd(100_000) / 1000, decideUs: rnd(300) },
    });
  }
  roundTrip(inputs);
});

test('lists longer than the record keeps are cut at the call and counted: what a statement queues stays bounded', () => {
  // a Bind can carry 65,535 parameters; a statement text of a gigabyte can read thousands of relations
  const long = {
    ...base,
    params: Array.from({ length: 20_000 }, (_, i) => `${i}:${'v'.repeat(1000)}`),
    facts: Array.from({ length: 5000 }, (_, i) => ({ action: 'select', resource: `public.t${i}_${'x'.repeat(100)}` })),
    rules: Array.from({ length: 3000 }, (_, i) => i),
    masked: Array.from({ length: 2000 }, (_, i) => `public.t.c${i}`),
    paramTypes: Array.from({ length: 30_000 }, (_, i) => i),
    // a name parsed again and again in one pipeline: every Parse a candidate, each with a long text
    runs: Array(1000).fill({ text: `SELECT /* ${'r'.repeat(100_000)} */`, params: Array(1000).fill('p'.repeat(500)), paramTypes: Array(1000).fill(25) }),
  };
  const w = new JsonBytes(16);
  encodeStatement(w, 's.1', 0, long);
  assert.ok(w.pos < 3 * 1024 * 1024, `${w.pos} bytes queued for one statement`);
  const [first] = roundTrip([long, { ...long, params: long.params.slice(0, 300), facts: long.facts.slice(0, 1001) }, base]);
  const record = JSON.parse(first);
  assert.equal([record.params.length, record.paramsOmitted, record.facts.length, record.factsOmitted, record.rules.length, record.masked.length], [256, 19_744, 1000, 4000, 1000, 1000]);
  assert.equal([record.paramTypes.length, record.paramTypesOmitted, record.runs.length, record.runsOmitted], [256, 29_744, 4, 996]);
  assert.equal([record.runs[0].text.length, record.runs[0].textTruncated.length, record.runs[0].params.length, record.runs[0].paramsOmitted, record.runs[0].paramTypes.length], [4096, 100_013, 256, 744, 256]);
});

test('an input of a shape the gateway never passes is refused at the call', () => {
  const bad: unknown[] = [
    { ...base, text: 42 },
    { ...base, text: null },
    { ...base, facts: null },
    { ...base, facts: [{ action: 'select', resource: 7 }] },
    { ...base, rules: ['1'] },
    { ...base, decision: 'maybe' },
    { ...base, outcome: 'fine' },
    { ...base, protocol: 'binary' },
    { ...base, query: '1' },
    { ...base, params: 'a' },
    { ...base, params: [1] },
    { ...base, masked: [null] },
    { ...base, timing: { executeMs: '1' } },
    { ...base, paramTypes: 'int4' },
    { ...base, paramTypes: ['23'] },
    { ...base, paramTypes: [-1] },
    { ...base, paramTypes: [2 ** 32] },
    { ...base, paramTypes: [1.5] },
    { ...base, runs: 'EXECUTE p' },
    { ...base, runs: [null] },
    { ...base, runs: [{ text: 7 }] },
    { ...base, runs: [{ text: 'SELECT 1', params: [1] }] },
    { ...base, runs: [{ text: 'SELECT 1', paramTypes: [-5] }] },
  ];
  for (const s of bad) {
    const w = new JsonBytes(16);
    assert.throws(() => encodeStatement(w, 's', 0, s as StatementInput), (e: unknown) => e instanceof UnencodableStatement, JSON.stringify(s));
  }
});

test('bytes that are not a whole encoding are refused, never written as a record', () => {
  const input: StatementInput = {
    ...base,
    protocol: 'extended',
    params: ['42', null],
    facts: [{ action: 'select', resource: 'public.t' }],
    rules: [1],
    rows: { command: 'SELECT', returned: 1 },
    masked: ['c'],
    error: { sqlstate: '42501', message: 'no' },
    timing: { decideUs: 1 },
    paramTypes: [25],
    runs: [{ text: 'SELECT $1', params: ['1'], paramTypes: [23] }],
  };
  const w = new JsonBytes(16);
  encodeStatement(w, 's.1', AT, input);
  const t = new StatementTranscoder();
  // every prefix: cut anywhere, the entry is refused
  for (let end = 0; end < w.pos; end++) {
    assert.throws(() => t.write(new JsonBytes(16), w.buf, 0, end), (e: unknown) => e instanceof UnencodableStatement, `cut at ${end}`);
  }
  // a trailing byte, a string head claiming more than there is, an unknown decision
  const longer = Buffer.concat([w.buf.subarray(0, w.pos), Buffer.from([0])]);
  assert.throws(() => t.write(new JsonBytes(16), longer, 0, longer.length), (e: unknown) => e instanceof UnencodableStatement);
  const head = Buffer.from(w.buf.subarray(0, w.pos));
  head.writeUInt32LE(0xfffffff0, 0);
  assert.throws(() => t.write(new JsonBytes(16), head, 0, head.length), (e: unknown) => e instanceof UnencodableStatement);
  // the whole encoding still writes (nothing of the refused tries is kept)
  const o = new JsonBytes(16);
  t.write(o, w.buf, 0, w.pos);
  assert.is(o.buf.toString('utf8', 0, o.pos), JSON.stringify(statementObject('s.1', isoTime(AT), input)));
});

test.run();
