// Bad input to the .pamtest parser: it returns for anything, quickly, with diagnostics that are
// well formed (codes in range, spans inside the text) and never a throw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Diagnostic } from '../../../language/diagnostic.ts';
import { parseTestFile, parseTestFileBytes } from '../../../language/test-file.ts';

/** mulberry32: a small seeded PRNG, so every run sees the same inputs */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <X>(rand: () => number, xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)];

const REALISTIC = `# tests of the shop policy
policy "policy.pam"

defaults {
  target shop
  claim "env" = "prod"
}

case "an analyst reads customers" {
  groups "analysts"
  at "2026-11-25T10:00:00Z"
  sql "SELECT name, email FROM customers"
  expect allow
  masks public.customers.email with email, public.customers.phone with keep_last(4)
  limit 1000
  rule "policy.pam:21", baseline
}

case "a CTE that deletes" {
  groups "operators"
  no claims
  sql \`\`\`sql
    WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d
  \`\`\`
  expect approve by "approvers"
  no masks
  no limit
}

case "files" {
  sql "SELECT pg_read_file('/etc/passwd')"
  expect deny forbidden
}
`;

function wellFormed(text: string, ds: Diagnostic[]): void {
  for (const d of ds) {
    assert.ok(/^PAM50[0-9][0-9]$/.test(d.code), `code ${d.code}`);
    assert.ok(d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length, `span of ${d.code} ${JSON.stringify(d.span)} in ${text.length}`);
    assert.ok(d.message.length > 0 && !d.message.includes('\n'), d.message);
    assert.ok(d.severity === 'error' || d.severity === 'warning');
  }
  assert.ok(ds.filter((d) => d.severity === 'error').length <= 101, 'at most 100 errors and PAM5008');
}

test('the realistic file parses cleanly', () => {
  const r = parseTestFile(REALISTIC, 't.pamtest');
  assert.equal(r.diagnostics, []);
  assert.is(r.file.cases.length, 3);
});

test('random bytes: never a throw, well-formed diagnostics', () => {
  const rand = prng(1);
  for (let n = 0; n < 300; n++) {
    const bytes = new Uint8Array(Math.floor(rand() * 200));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
    const r = parseTestFileBytes(bytes, 't');
    wellFormed(r.text, r.diagnostics);
  }
});

test('token soups: keywords, strings, fences and punctuation in random order', () => {
  const rand = prng(2);
  const pieces = [
    'case', 'defaults', 'policy', 'groups', 'claim', 'agent', 'target', 'at', 'no', 'sql', 'expect', 'masks', 'limit', 'rule',
    'allow', 'deny', 'approve', 'by', 'with', 'rule', 'forbidden', 'claims', 'baseline', 'email', 'keep_last', '(', ')', '4',
    '{', '}', '[', ']', ',', '.', '=', '*', '"x"', '"a.pam:3"', '```SELECT 1```', '```', '"', "'", '#c\n', '\n', '-1.5', '@', 'é',
  ];
  for (let n = 0; n < 500; n++) {
    const len = Math.floor(rand() * 40);
    const text = Array.from({ length: len }, () => pick(rand, pieces)).join(' ');
    const r = parseTestFile(text, 't');
    wellFormed(text, r.diagnostics);
  }
});

test('mutations of the realistic file: one character deleted, duplicated or replaced', () => {
  const rand = prng(3);
  for (let n = 0; n < 400; n++) {
    const at = Math.floor(rand() * REALISTIC.length);
    const kind = n % 3;
    const text =
      kind === 0
        ? REALISTIC.slice(0, at) + REALISTIC.slice(at + 1)
        : kind === 1
          ? REALISTIC.slice(0, at) + REALISTIC[at] + REALISTIC.slice(at)
          : REALISTIC.slice(0, at) + pick(rand, ['"', '`', '{', '}', '#', 'x', ' ', '\n', "'"]) + REALISTIC.slice(at + 1);
    const r = parseTestFile(text, 't');
    wellFormed(text, r.diagnostics);
  }
});

test('truncations of the realistic file at every offset', () => {
  for (let at = 0; at <= REALISTIC.length; at++) {
    const text = REALISTIC.slice(0, at);
    wellFormed(text, parseTestFile(text, 't').diagnostics);
  }
});

test('non-UTF-8 bytes: one diagnostic with the offset of the bad byte', () => {
  const bytes = Buffer.concat([Buffer.from('case "é" {\n  sql "SELECT 1"\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\n}')]);
  const r = parseTestFileBytes(bytes, 't.pamtest');
  assert.equal(r.diagnostics.map((d) => d.code), ['PAM5005']);
  assert.match(r.diagnostics[0].message, /bad byte 0xc3 at byte offset 29/);
  assert.equal(r.file.cases, []);
});

test('an unterminated fence swallows the rest of the file: one diagnostic', () => {
  const text = 'case "a" {\n  sql ```\n  SELECT 1\n  expect allow\n}\ncase "b" { sql "x" expect deny }\n';
  const r = parseTestFile(text, 't');
  assert.equal(r.diagnostics.map((d) => d.code), ['PAM5004']);
  assert.equal(r.diagnostics[0].span, { start: text.indexOf('```'), end: text.indexOf('```') + 3 });
});

test('unknown keywords everywhere: one diagnostic each, the rest still read', () => {
  const text = 'polcy "p.pam"\ndefaluts { target shop }\ncase "a" {\n  sqll "SELECT 1"\n  expectt allow\n  frob 1\n}\n';
  const r = parseTestFile(text, 't');
  assert.equal(r.diagnostics.map((d) => d.code), ['PAM5010', 'PAM5010', 'PAM5011', 'PAM5011', 'PAM5011']);
  assert.is(r.file.policy?.value, 'p.pam');
  assert.is(r.file.defaults?.setup.target?.value, 'shop');
  assert.is(r.file.cases[0].sql?.text, 'SELECT 1');
  assert.is(r.file.cases[0].expect?.effect, 'allow');
});

test('deep nesting and long inputs stay linear', () => {
  const deep = '{'.repeat(50_000) + '}'.repeat(50_000);
  let t0 = performance.now();
  wellFormed(deep, parseTestFile(deep, 't').diagnostics);
  const many = 'case "x" { sql "SELECT 1" expect allow }\n'.repeat(20_000).replace(/case "x"/g, () => `case "${Math.random()}"`);
  wellFormed(many, parseTestFile(many, 't').diagnostics);
  const longSql = `case "a" { sql \`\`\`${'SELECT 1;'.repeat(100_000)}\`\`\` expect allow }`;
  wellFormed(longSql, parseTestFile(longSql, 't').diagnostics);
  const brackets = `case "a" { claim "c" = [${'"x", '.repeat(50_000)}"y"] sql "1" expect allow }`;
  wellFormed(brackets, parseTestFile(brackets, 't').diagnostics);
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
  t0 = performance.now();
  const garbage = '@#\n'.repeat(200_000);
  wellFormed(garbage, parseTestFile(garbage, 't').diagnostics);
  assert.ok(performance.now() - t0 < 3000);
});

test('NUL, lone surrogates and control characters are reported, not crashed on', () => {
  for (const text of ['case "a" { sql "\u0000" expect allow }', 'case "\ud800" { sql "x" expect allow }', '\u0001\u0002', 'case "a" {\u2028}']) {
    wellFormed(text, parseTestFile(text, 't').diagnostics);
  }
});

test.run();
