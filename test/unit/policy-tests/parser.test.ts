// The .pamtest parser: one test (or more) per production of spec/testing.md §3.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseInstant, parseRuleLocation, parseTestFile, parseTestFileBytes } from '../../../language/test-file.ts';
import type { TestCase, TestFile } from '../../../language/test-file-ast.ts';
import { lexTestFile } from '../../../language/test-file-lexer.ts';
import { mark } from '../language/markers.ts';

function parseOk(text: string): TestFile {
  const r = parseTestFile(text, 't.pamtest');
  assert.equal(
    r.diagnostics.map((d) => `${d.code} ${d.message} ${mark(text, d.span)}`),
    [],
    'expected no diagnostics',
  );
  return r.file;
}

/** A case around the given statements (with sql and expect added when missing). */
function oneCase(body: string): TestCase {
  const sql = /\bsql\b/.test(body) ? '' : '\n  sql "SELECT 1"';
  const expect = /\bexpect\b/.test(body) ? '' : '\n  expect allow';
  const f = parseOk(`case "c" {\n  ${body}${sql}${expect}\n}`);
  assert.is(f.cases.length, 1);
  return f.cases[0];
}

test('file: empty text is a file without cases (a warning)', () => {
  const r = parseTestFile('', 't.pamtest');
  assert.equal(r.file.cases, []);
  assert.is(r.file.policy, null);
  assert.is(r.file.defaults, null);
  assert.equal(r.diagnostics.map((d) => [d.code, d.severity]), [['PAM5030', 'warning']]);
});

test('policy_decl', () => {
  const f = parseOk('policy "policies/"\ncase "a" { sql "SELECT 1" expect allow }');
  assert.is(f.policy?.value, 'policies/');
  assert.equal(f.policy?.span, { start: 7, end: 18 });
});

test('defaults_block with every setup statement', () => {
  const f = parseOk(`defaults {
  target shop
  groups "a", "b"
  claim "env" = "prod"
  claim "tags" = ["x", 2, true, -1.5]
  agent "crew-1"
  at "2026-11-25T10:00:00Z"
}
case "a" { sql "SELECT 1" expect allow }`);
  const s = f.defaults!.setup;
  assert.equal(s.target, { value: 'shop', quoted: false, span: s.target!.span });
  assert.equal(s.groups?.values.map((g) => g.value), ['a', 'b']);
  assert.equal(s.claims.map((c) => [c.name.value, c.value]), [
    ['env', 'prod'],
    ['tags', ['x', 2, true, -1.5]],
  ]);
  assert.is(s.agent?.value, 'crew-1');
  assert.is(s.at?.ms, Date.UTC(2026, 10, 25, 10, 0, 0));
});

test('case_block: name, span, statements in any order and on one line', () => {
  const text = 'case "reads" { expect deny sql "SELECT 1" groups "g" }';
  const c = parseOk(text).cases[0];
  assert.is(c.name.value, 'reads');
  assert.equal(c.span, { start: 0, end: text.length });
  assert.is(c.sql?.text, 'SELECT 1');
  assert.is(c.expect?.effect, 'deny');
  assert.equal(c.setup.groups?.values.map((g) => g.value), ['g']);
});

test('setup: no groups, no claim, no claims', () => {
  const c = oneCase('no groups\n  no claim "env"\n  no claims');
  assert.equal(c.setup.groups?.values, []);
  assert.equal(c.setup.removedClaims.map((r) => r.value), ['env']);
  assert.ok(c.setup.noClaims);
});

test('setup: a quoted target keeps its case', () => {
  assert.equal(oneCase('target "Shop"').setup.target?.quoted, true);
  assert.equal(oneCase('target "Shop"').setup.target?.value, 'Shop');
});

test('claim values: strings, numbers, booleans, arrays (empty too)', () => {
  const c = oneCase('claim "a" = "x"\n  claim "b" = 42\n  claim "c" = false\n  claim "d" = []\n  claim "e" = [1, "2"]');
  assert.equal(
    c.setup.claims.map((x) => x.value),
    ['x', 42, false, [], [1, '2']],
  );
});

test('sql: a string with escapes', () => {
  assert.is(oneCase('sql "SELECT \\"a\\" FROM t\\nWHERE x = \'y\'"').sql?.text, 'SELECT "a" FROM t\nWHERE x = \'y\'');
  assert.is(oneCase('sql "SELECT \\"a\\""').sql?.form, 'string');
});

test('sql: an inline fence takes the text verbatim', () => {
  const c = oneCase("sql ```SELECT 'it''s', \"q\", '\\n' # not a comment```");
  assert.is(c.sql?.text, "SELECT 'it''s', \"q\", '\\n' # not a comment");
  assert.is(c.sql?.form, 'fence');
});

test('sql: a block fence starts on the next line; the `sql` info string is dropped', () => {
  const a = oneCase('sql ```\nSELECT 1;\nSELECT 2\n```');
  assert.is(a.sql?.text, 'SELECT 1;\nSELECT 2\n');
  const b = oneCase('sql ```sql\n  DELETE FROM t\n  ```');
  assert.is(b.sql?.text, '  DELETE FROM t\n  ');
  const crlf = oneCase('sql ```\r\nSELECT 1\r\n```');
  assert.is(crlf.sql?.text, 'SELECT 1\r\n');
});

test('sql: a longer fence holds three backticks', () => {
  assert.is(oneCase('sql ````SELECT \'```\'````').sql?.text, "SELECT '```'");
});

test('expect: allow, deny with reasons, approve with approvers', () => {
  assert.equal(oneCase('expect allow').expect?.effect, 'allow');
  const deny = (s: string) => {
    const e = oneCase(s).expect;
    return e?.effect === 'deny' ? e.reason : 'not a deny';
  };
  assert.is(deny('expect deny'), null);
  assert.is(deny('expect deny no rule'), 'no_rule');
  assert.is(deny('expect deny forbidden'), 'forbidden');
  const approve = oneCase('expect approve by "a", "b"').expect;
  assert.equal(approve?.effect === 'approve' ? approve.approvers?.map((a) => a.value) : null, ['a', 'b']);
  const bare = oneCase('expect approve').expect;
  assert.equal(bare?.effect === 'approve' ? bare.approvers : 'x', null);
});

test('expect deny then `no masks` on the next line are two statements', () => {
  const c = oneCase('expect deny\n  no masks\n  no limit');
  assert.equal(c.expect?.effect === 'deny' ? c.expect.reason : 'x', null);
  assert.equal(c.masks?.masks, []);
  assert.equal(c.limit?.rows, null);
});

test('masks: relation keys folded and quoted as decisions write them', () => {
  const c = oneCase('masks public.Customers.EMAIL with email, "Sales"."Order Items".note with keep_first(2),\n    public.cards.* with redact, s.t.c with null, s.t.h with hash, s.t.k with keep_last(4)');
  assert.equal(
    c.masks?.masks.map((m) => [m.relation, m.column, m.strategy]),
    [
      ['public.customers', 'email', { name: 'email' }],
      ['"Sales"."Order Items"', 'note', { name: 'keep_first', n: 2 }],
      ['public.cards', '*', { name: 'redact' }],
      ['s.t', 'c', { name: 'null' }],
      ['s.t', 'h', { name: 'hash' }],
      ['s.t', 'k', { name: 'keep_last', n: 4 }],
    ],
  );
});

test('limit and no limit', () => {
  assert.is(oneCase('limit 1000').limit?.rows, 1000);
  assert.is(oneCase('no limit').limit?.rows, null);
  assert.is(oneCase('limit 1000').masks, undefined);
});

test('rule: locations with and without a column, and the baseline', () => {
  const c = oneCase('rule "policy.pam:42", "sub/a.pam:3:5", baseline');
  assert.equal(
    c.rules?.refs.map((r) => (r.kind === 'baseline' ? 'baseline' : [r.file, r.line, r.column])),
    [['policy.pam', 42, null], ['sub/a.pam', 3, 5], 'baseline'],
  );
});

test('comments anywhere, keywords usable as names', () => {
  const f = parseOk(`# a test file
policy "p.pam" # the policy
case "case" { # the case named case
  groups "groups" # a group named groups
  target target
  sql "SELECT '#'" expect allow # done
}`);
  assert.is(f.cases[0].name.value, 'case');
  assert.is(f.cases[0].setup.target?.value, 'target');
  assert.is(f.cases[0].sql?.text, "SELECT '#'");
});

test('several cases keep their order', () => {
  const f = parseOk('case "a" { sql "1" expect allow }\ncase "b" { sql "2" expect deny }\ncase "c" { sql "3" expect approve }');
  assert.equal(f.cases.map((c) => c.name.value), ['a', 'b', 'c']);
});

test('a byte-order mark is ignored', () => {
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('case "a" { sql "SELECT 1" expect allow }')]);
  const r = parseTestFileBytes(bytes, 't.pamtest');
  assert.equal(r.diagnostics, []);
  assert.is(r.file.cases.length, 1);
});

test('parseInstant: zones, fractions, impossible dates', () => {
  assert.is(parseInstant('2026-01-07T12:00:00Z'), Date.UTC(2026, 0, 7, 12));
  assert.is(parseInstant('2026-01-07T12:00Z'), Date.UTC(2026, 0, 7, 12));
  assert.is(parseInstant('2026-01-07T13:30:00+01:30'), Date.UTC(2026, 0, 7, 12));
  assert.is(parseInstant('2026-01-07T07:00:00.250-05:00'), Date.UTC(2026, 0, 7, 12, 0, 0, 250));
  assert.is(parseInstant('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
  for (const bad of ['2026-01-07T12:00:00', '2026-01-07 12:00:00Z', '2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-07T24:00:00Z', 'tomorrow', '']) {
    assert.is(parseInstant(bad), null, bad);
  }
});

test('parseRuleLocation', () => {
  assert.equal(parseRuleLocation('policy.pam:42'), { file: 'policy.pam', line: 42, column: null });
  assert.equal(parseRuleLocation('a/b c.pam:1:9'), { file: 'a/b c.pam', line: 1, column: 9 });
  for (const bad of ['policy.pam', 'policy.pam:', ':4', 'policy.pam:0', 'policy.pam:4:0', 'policy.pam:x', ' p.pam:1']) {
    assert.is(parseRuleLocation(bad), null, bad);
  }
});

test('lexer: tokens know whether they start their line', () => {
  const { tokens } = lexTestFile('case "a" {\n  sql "x" expect allow\n}', 't');
  assert.equal(
    tokens.map((t) => `${t.image}${t.first ? '^' : ''}`),
    ['case^', '"a"', '{', 'sql^', '"x"', 'expect', 'allow', '}^', '^'],
  );
});

test.run();
