// Diagnostics of the .pamtest parser, with the expected spans marked inline: ⟦…⟧. Every code the
// parser emits (PAM5001–PAM5030) has a test here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Diagnostic } from '../../../language/diagnostic.ts';
import { parseTestFile, parseTestFileBytes } from '../../../language/test-file.ts';
import { mark, unmark } from '../language/markers.ts';

/** Parses marked text; asserts one diagnostic per marked span, with these codes, in order. */
function expectDiagnostics(marked: string, codes: string[]): Diagnostic[] {
  const { text, spans } = unmark(marked);
  const r = parseTestFile(text, 't.pamtest');
  const got = r.diagnostics.map((d) => `${d.code} ${mark(text, d.span)}`);
  const want = codes.map((c, i) => `${c} ${spans[i] ? mark(text, spans[i]) : '(no span marked)'}`);
  assert.equal(got, want);
  return r.diagnostics;
}

function only(marked: string, code: string): Diagnostic {
  return expectDiagnostics(marked, [code])[0];
}

/** A case body that is complete but for what the test adds. */
const ok = (body: string) => `case "c" {\n  sql "SELECT 1"\n  expect allow\n  ${body}\n}`;

test('every message is one line, lower case, without a final period; every code is in range', () => {
  const inputs = [
    '@',
    '"abc',
    'case "a" { sql "\\q" }',
    'case "a" { sql ```SELECT',
    'grups',
    'case "a" { expct allow }',
    'case "a" {',
    'case "a" { limit 1.5 }',
    'defaults { sql "x" }',
    'case "a" { sql "1" expect allow }\ncase "a" { sql "1" expect allow }',
    'case "a" { at "soon" masks a.b with x rule "nowhere" sql "" }',
    'case "a" { expect deny no rule masks a.b.c with redact limit 5 rule "p.pam:1" }',
  ];
  for (const text of inputs) {
    for (const d of parseTestFile(text, 't').diagnostics) {
      assert.not.match(d.message, /\n/);
      assert.not.match(d.message, /\.$/);
      assert.ok(/^[a-z`]/.test(d.message), d.message);
      assert.ok(/^PAM50[0-9][0-9]$/.test(d.code), d.code);
      assert.is(d.file, 't');
    }
  }
});

// --- lexical

test('PAM5001 unexpected character, with help for single quotes and colons', () => {
  const d = only(`case "a" { sql ⟦'⟧SELECT 1' expect allow }`, 'PAM5001');
  assert.is(d.message, "unexpected character `'`");
  assert.match(d.help ?? '', /double quotes/);
  // the rest of the line lexes on: `SELECT`, `1`, and the second quote
  const e = parseTestFile(`case "a" { rule policy.pam:4 }`, 't').diagnostics.find((x) => x.code === 'PAM5001');
  assert.match(e?.help ?? '', /rule location is a string/);
});

test('PAM5001 a run of unexpected characters is one diagnostic', () => {
  const d = only(ok('⟦éé⟧'), 'PAM5001');
  assert.is(d.message, 'unexpected characters `éé`');
});

test('PAM5001 one or two backticks are not a fence', () => {
  const d = only(`case "a" { sql ⟦\`\`⟧"SELECT 1" expect allow }`, 'PAM5001');
  assert.match(d.help ?? '', /three backticks/);
});

test('PAM5002 unterminated string, to the end of its line', () => {
  const d = only('case "a" { sql ⟦"SELECT 1 expect allow }⟧\n}', 'PAM5002');
  assert.is(d.message, 'unterminated string');
});

test('PAM5003 invalid escape', () => {
  assert.is(only('case "a" { sql "SELECT ⟦\\q⟧" expect allow }', 'PAM5003').message, 'invalid escape `\\q` in a string');
  only('case "a" { sql "⟦\\u{D800}⟧" expect allow }', 'PAM5003');
});

test('PAM5004 unterminated fence: one diagnostic, no missing-brace cascade', () => {
  const d = only('case "a" {\n  expect allow\n  sql ⟦```⟧\n  SELECT 1\n}\n', 'PAM5004');
  assert.match(d.message, /^unterminated sql fence/);
  only('case "a" {\n  expect allow\n  sql ⟦````⟧SELECT ```\n}\n', 'PAM5004');
});

test('PAM5005 not utf-8; PAM5006 too large', () => {
  const r = parseTestFileBytes(Buffer.from([0x63, 0x61, 0x73, 0x65, 0x20, 0xff, 0xfe]), 't.pamtest');
  assert.equal(r.diagnostics.map((d) => d.code), ['PAM5005']);
  assert.is(r.diagnostics[0].message, 'file is not valid utf-8: bad byte 0xff at byte offset 5');
  const big = parseTestFile('#'.repeat(8 * 1024 * 1024 + 1), 't');
  assert.equal(big.diagnostics.map((d) => d.code), ['PAM5006']);
});

test('PAM5008 too many errors', () => {
  const r = parseTestFile('@\n'.repeat(150), 't');
  assert.is(r.diagnostics.length, 101);
  assert.is(r.diagnostics[100].code, 'PAM5008');
  assert.is(r.diagnostics[100].message, 'too many errors, stopped after 100');
});

// --- syntax

test('PAM5010 expected X after a keyword, found Y', () => {
  const d = only(ok('groups ⟦analysts⟧'), 'PAM5010');
  assert.is(d.message, 'expected a group name (a string) after `groups`, found `analysts`');
  assert.is(d.help, 'group names are strings: `groups "analysts"`');
});

test('PAM5010 at the top level, with did-you-mean, and the typo read as the keyword', () => {
  const d = only('⟦cas⟧ "a" { sql "SELECT 1" expect allow }', 'PAM5010');
  assert.is(d.message, 'expected `policy`, `defaults` or `case`, found `cas`');
  assert.is(d.help, 'did you mean `case`?');
  const r = parseTestFile('cas "a" { sql "SELECT 1" expect allow }', 't');
  assert.is(r.file.cases.length, 1, 'the misspelt case is still read');
  const e = only('⟦groups⟧ "a"\ncase "b" { sql "1" expect allow }', 'PAM5010');
  assert.match(e.help ?? '', /belongs in a case/);
});

test('PAM5010 expect with an unknown effect', () => {
  const d = only('case "a" { sql "1" expect ⟦alow⟧ }', 'PAM5010');
  assert.is(d.help, 'did you mean `allow`?');
  only('case "a" { sql "1" expect ⟦maybe⟧ }', 'PAM5010');
});

test('PAM5010 claims: missing `=`, a bare word as value, an unclosed array', () => {
  only(ok('claim "env" ⟦"prod"⟧'), 'PAM5010');
  const d = only(ok('claim "env" = ⟦prod⟧'), 'PAM5010');
  assert.is(d.help, 'strings are quoted: `"prod"`');
  only(ok('claim "env" = ["a" ⟦"b"⟧]'), 'PAM5010');
});

test('PAM5010 masks and strategies', () => {
  only(ok('masks public.t.c ⟦redact⟧'), 'PAM5010');
  only(ok('masks public.t.c with ⟦"redact"⟧'), 'PAM5010');
  only(ok('masks public.t.c with keep_last(⟦x⟧)'), 'PAM5010');
  only(ok('masks ⟦,⟧ public.t.c with redact'), 'PAM5010');
});

test('PAM5010 limit with the word rows', () => {
  const d = only(ok('limit ⟦rows⟧ 10'), 'PAM5010');
  assert.match(d.help ?? '', /left out/);
});

test('PAM5010 a statement cut short by the next line reports once and goes on', () => {
  expectDiagnostics('case "a" {\n  groups\n  ⟦sql⟧ "SELECT 1"\n  expect allow\n}', ['PAM5010']);
});

test('PAM5010 a string where a statement belongs: did you forget `sql`', () => {
  const d = only('case "a" {\n  ⟦"SELECT 1"⟧\n  sql "x"\n  expect allow\n}', 'PAM5010');
  assert.match(d.help ?? '', /`sql "SELECT …"`/);
});

test('PAM5010 an empty policy path', () => {
  only('policy ⟦""⟧\ncase "a" { sql "1" expect allow }', 'PAM5010');
});

test('PAM5011 unknown statement, with did-you-mean; the typo is read as the keyword', () => {
  const d = only('case "a" {\n  sql "SELECT 1"\n  ⟦expct⟧ allow\n}', 'PAM5011');
  assert.is(d.message, 'unknown statement `expct` in the case');
  assert.is(d.help, 'did you mean `expect`?');
  const e = only('case "a" {\n  sql "SELECT 1"\n  expect allow\n  ⟦frobnicate⟧ 12 "x"\n}', 'PAM5011');
  assert.match(e.help ?? '', /expected a statement/);
});

test('PAM5011 garbage over several lines after an error is one diagnostic per line that starts a statement', () => {
  expectDiagnostics('case "a" {\n  sql "SELECT 1"\n  ⟦bogus⟧ 1 2 3\n  4 5 6\n  expect allow\n}', ['PAM5011']);
});

test('PAM5012 missing `}`: at the end, or before the next case', () => {
  const d = only('case "a" {\n  sql "1"\n  expect allow\n⟦⟧', 'PAM5012');
  assert.is(d.message, 'expected `}` to close the case, found the end of the file');
  assert.is(d.related?.[0].message, 'the case opened here');
  const r = expectDiagnostics('case "a" {\n  sql "1"\n  expect allow\n⟦case⟧ "b" { sql "2" expect deny }', ['PAM5012']);
  assert.is(r[0].message, 'expected `}` to close the case, found `case`');
  assert.is(parseTestFile('case "a" {\n  sql "1"\n  expect allow\ncase "b" { sql "2" expect deny }', 't').file.cases.length, 2);
  only('defaults {\n  groups "a"\n⟦⟧', 'PAM5012');
});

test('PAM5013 malformed numbers', () => {
  assert.is(only(ok('limit ⟦1.5⟧'), 'PAM5013').message, '`1.5` is not a number of rows');
  only(ok('limit ⟦-3⟧'), 'PAM5013');
  assert.is(only(ok('limit ⟦0⟧'), 'PAM5013').message, 'a row limit is at least 1');
  only(ok('limit ⟦99999999999999999999⟧'), 'PAM5013');
  only(ok('masks s.t.c with keep_last(⟦2.5⟧)'), 'PAM5013');
});

test('PAM5014 case statements in defaults', () => {
  assert.is(only('defaults { ⟦sql⟧ "x" }\ncase "a" { sql "1" expect allow }', 'PAM5014').message, '`sql` belongs in a case, not in `defaults`');
  only('defaults { ⟦expect⟧ allow }\ncase "a" { sql "1" expect allow }', 'PAM5014');
  only('defaults { ⟦no masks⟧ }\ncase "a" { sql "1" expect allow }', 'PAM5014');
});

// --- structure

test('PAM5020 duplicate case names', () => {
  const d = only('case "a" { sql "1" expect allow }\ncase ⟦"a"⟧ { sql "2" expect allow }', 'PAM5020');
  assert.is(d.message, 'a case named `a` already exists');
  assert.is(d.related?.[0].message, 'first defined here');
});

test('PAM5021 no sql, PAM5022 no expect', () => {
  assert.is(only('⟦case "a"⟧ { expect allow }', 'PAM5021').message, 'case `a` has no `sql`');
  assert.is(only('⟦case "a"⟧ { sql "1" }', 'PAM5022').message, 'case `a` has no `expect`');
});

test('PAM5023 given more than once', () => {
  const d = only(ok('⟦expect deny⟧'), 'PAM5023');
  assert.is(d.message, '`expect` is given more than once');
  only(ok('groups "a"\n  ⟦groups "b"⟧'), 'PAM5023');
  only(ok('groups "a"\n  ⟦no groups⟧'), 'PAM5023');
  assert.is(only(ok('claim "env" = "a"\n  ⟦claim "env" = "b"⟧'), 'PAM5023').message, 'claim `env` is given more than once');
  only(ok('masks s.t.c with redact, ⟦s.t.c with null⟧'), 'PAM5023');
  only(ok('limit 5\n  ⟦no limit⟧'), 'PAM5023');
  only(ok('target a\n  ⟦target b⟧'), 'PAM5023');
  only('policy "a"\n⟦policy "b"⟧\ncase "c" { sql "1" expect allow }', 'PAM5023');
  only('defaults {}\n⟦defaults {⟧}\ncase "c" { sql "1" expect allow }', 'PAM5023');
});

test('PAM5024 what a deny can never have', () => {
  const text = 'case "a" {\n  sql "1"\n  expect deny no rule\n  ⟦masks s.t.c with redact⟧\n  ⟦limit 5⟧\n  ⟦rule "p.pam:1"⟧\n}';
  const ds = expectDiagnostics(text, ['PAM5024', 'PAM5024', 'PAM5024']);
  assert.is(ds[0].message, 'a denied query returns no rows: it has no masks');
  // `no masks` and `no limit` are fine on a deny
  parseTestFile('case "a" { sql "1" expect deny no masks no limit }', 't').diagnostics.forEach((d) => assert.unreachable(d.message));
});

test('PAM5025 instants', () => {
  assert.is(only(ok('at ⟦"2026-11-25 10:00"⟧'), 'PAM5025').message, '`2026-11-25 10:00` is not a date and time with a time zone');
  only(ok('at ⟦"2026-11-25T10:00:00"⟧'), 'PAM5025');
  assert.is(only(ok('at ⟦"2026-02-30T00:00:00Z"⟧'), 'PAM5025').message, '`2026-02-30T00:00:00Z` is not a valid date and time');
});

test('PAM5026 mask columns', () => {
  const d = only(ok('masks ⟦customers.email⟧ with email'), 'PAM5026');
  assert.is(d.message, 'a mask is written `schema.table.column`, found `customers.email`');
  assert.is(d.help, 'qualify the table with its schema: `public.customers.email`');
  only(ok('masks ⟦a.b.c.d⟧ with email'), 'PAM5026');
  only(ok('masks public.⟦*⟧.email with email'), 'PAM5026');
});

test('PAM5027 strategies', () => {
  const d = only(ok('masks s.t.c with ⟦emali⟧'), 'PAM5027');
  assert.is(d.message, 'unknown mask strategy `emali`');
  assert.is(d.help, 'did you mean `email`?');
  assert.is(only(ok('masks s.t.c with ⟦keep_last⟧'), 'PAM5027').message, '`keep_last` needs a count of characters: `keep_last(4)`');
  assert.is(only(ok('masks s.t.c with redact⟦(3)⟧'), 'PAM5027').message, '`redact` takes no count');
  only(ok('masks s.t.c with keep_first⟦(0)⟧'), 'PAM5027');
});

test('PAM5028 rule locations', () => {
  const d = only(ok('rule ⟦"policy.pam"⟧'), 'PAM5028');
  assert.is(d.message, '`policy.pam` is not a rule location');
  only(ok('rule "a.pam:1", ⟦"a.pam:x"⟧'), 'PAM5028');
});

test('PAM5029 empty sql', () => {
  only('case "a" { sql ⟦""⟧ expect allow }', 'PAM5029');
  only('case "a" { sql ⟦```   ```⟧ expect allow }', 'PAM5029');
});

test('PAM5030 no cases is a warning', () => {
  const r = parseTestFile('policy "p.pam"\n', 't');
  assert.equal(r.diagnostics.map((d) => [d.code, d.severity, d.message]), [['PAM5030', 'warning', 'the file holds no cases']]);
});

// --- several at once

test('several independent mistakes are reported in one run, nothing else', () => {
  const text = `policy "p.pam"
case "a" {
  grups "x"
  sql "SELECT 1"
  expect allow
  masks customers.email with emali
}
case "b" {
  sql "SELECT 2"
  expect deny forbidden
  at "yesterday"
}
`;
  const r = parseTestFile(text, 't');
  assert.equal(r.diagnostics.map((d) => d.code), ['PAM5011', 'PAM5026', 'PAM5027', 'PAM5025']);
  assert.is(r.file.cases.length, 2);
});

test.run();
