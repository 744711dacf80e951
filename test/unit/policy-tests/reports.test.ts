// The report formats of `pamc test`: human, json, junit (checked structurally with a strict XML
// reader), github workflow commands — on a run with passing, failing and not-run cases, a test
// file with a syntax error, and a policy that does not compile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderGithub } from '../../../bin/policy-tests/report-github.ts';
import { renderHuman } from '../../../bin/policy-tests/report-human.ts';
import { renderJson } from '../../../bin/policy-tests/report-json.ts';
import { renderJunit, xmlEscape } from '../../../bin/policy-tests/report-junit.ts';
import type { RunResult } from '../../../bin/policy-tests/run.ts';
import { parseXml, type XmlElement } from './xml.ts';
import { OPTIONS, SHOP, workspace } from './workspace.ts';

const ws = workspace({
  'policy.pam': SHOP,
  'broken/policy.pam': SHOP.replace('allow read on public.orders', 'allow reed on public.orders'),
  'a.pamtest': `policy "policy.pam"
defaults { target shop }
case "passes" {
  groups "analysts"
  sql "SELECT 1"
  expect allow
}
case "fails <&> \\"quoted\\"" {
  groups "operators"
  sql "SELECT * FROM customers"
  expect allow
}
case "not run" {
  target shp
  sql "SELECT 1"
  expect allow
}
`,
  'b.pamtest': 'policy "policy.pam"\ncase "x" { sql "SELECT 1" expct allow }\n',
  'broken/c.pamtest': 'case "y" { sql "SELECT 1" expect allow }\n',
});

let run: RunResult;

test.before(async () => {
  run = await ws.run('a.pamtest', 'b.pamtest', 'broken/c.pamtest');
});

test.after(() => ws.remove());

test('human: a line per file, failures with file:line, expectation, decision and rules', () => {
  const out = renderHuman(run, OPTIONS);
  assert.match(out, /^FAIL a\.pamtest: 1 of 3 passed {2}\(policy policy\.pam\)$/m);
  assert.match(out, /✗ fails <&> "quoted"\n {6}at a\.pamtest:8:1\n {6}expected allow, got deny: no rule allows select on public\.customers\n/);
  assert.match(out, / {8}statement 1: SELECT \* FROM customers\n {10}facts: select on public\.customers/);
  assert.match(out, /! not run {2}\(not run\)\n {6}at a\.pamtest:13:1\n {6}the policy has no target `shp`/);
  assert.match(out, /error\[PAM5042\]: the policy has no target `shp`\n {2}--> a\.pamtest:14:10/);
  assert.match(out, /error\[PAM5011\]: unknown statement `expct` in the case/);
  assert.match(out, /the policy broken\/policy\.pam does not compile:/);
  assert.match(out, /error\[PAM2002\]/);
  assert.not.match(out, /✓ passes/, 'passing cases only with --verbose');
  assert.match(renderHuman(run, { ...OPTIONS, verbose: true }), /✓ passes/);
  assert.match(out, /3 test files, 5 cases: 1 passed, 1 failed, 3 not run\n$/);
  assert.not.match(out, /\x1b\[/, 'no colour unless asked');
  assert.not.match(out, /decision coverage/);
});

test('human: a failing deny by rule names the rule with its location and text', async () => {
  ws.write('d.pamtest', 'policy "policy.pam"\ncase "d" { groups "operators" sql "DROP TABLE orders" expect allow }');
  const r = await ws.run('d.pamtest');
  const out = renderHuman(r, OPTIONS);
  assert.match(out, /expected allow, got deny: drop on public\.orders denied by policy\.pam:28:3/);
  assert.match(out, /denied by policy\.pam:28:3 {2}deny drop, truncate, dcl, admin/);
});

test('human: coverage with the rules not exercised and the minimum', () => {
  const out = renderHuman(run, { ...OPTIONS, coverage: true, minCoverage: 50 });
  assert.match(out, /decision coverage:\n {2}policy\.pam: 1 of 9 rules exercised, 11\.1%\n {4}not exercised by any case:\n {6}policy\.pam:12:5 {2}allow read on public\.\*/);
  assert.match(out, /coverage of policy\.pam is 11\.1%, below the minimum of 50%/);
});

test('json: the whole run, parseable, with decisions and coverage', () => {
  const j = JSON.parse(renderJson(run, { ...OPTIONS, minCoverage: 10 }));
  assert.is(j.format, 'pamc.test-report');
  assert.is(j.version, 1);
  assert.is(j.ok, false);
  assert.equal(j.summary.passed, 1);
  assert.equal(j.files.map((f: { file: string }) => f.file), ['a.pamtest', 'b.pamtest', 'broken/c.pamtest']);
  const failed = j.files[0].cases[1];
  assert.is(failed.status, 'fail');
  assert.equal(failed.mismatches, ['expected allow, got deny: no rule allows select on public.customers']);
  assert.is(failed.decision.effect, 'deny');
  assert.is(failed.decision.reason, 'no_rule');
  assert.equal(failed.decision.deciding, { statement: 1, fact: 'select on public.customers' });
  assert.equal(j.files[0].diagnostics[0], {
    code: 'PAM5042',
    severity: 'error',
    message: 'the policy has no target `shp`',
    file: 'a.pamtest',
    line: 14,
    column: 10,
    endLine: 14,
    endColumn: 13,
    help: 'did you mean `shop`?',
  });
  assert.equal(j.files[0].cases[0].exercised, ['policy.pam:15:5', '(baseline)']);
  assert.equal(j.coverage[0].policy, 'policy.pam');
  assert.equal([j.coverage[0].covered, j.coverage[0].total, j.coverage[0].meetsMinimum], [1, 9, true]);
  assert.equal(j.policies.map((p: { compiles: boolean }) => p.compiles), [true, false]);
  assert.ok(j.policies[1].diagnostics.length > 0);
});

function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

test('junit: well-formed, the expected structure, counts that add up', () => {
  const xml = renderJunit(run, { ...OPTIONS, coverage: true, minCoverage: 50 });
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
  const root = parseXml(xml);
  assert.is(root.name, 'testsuites');
  const suites = children(root, 'testsuite');
  assert.equal(suites.map((s) => s.attributes.name), ['a.pamtest', 'b.pamtest', 'broken/c.pamtest', 'decision coverage']);
  let tests = 0;
  let failures = 0;
  let errors = 0;
  for (const s of suites) {
    const cs = children(s, 'testcase');
    assert.ok(s.children.every((c) => c.name === 'testcase' || c.name === 'properties'), 'only properties and testcases');
    const f = cs.filter((c) => children(c, 'failure').length > 0).length;
    const e = cs.filter((c) => children(c, 'error').length > 0).length;
    assert.is(Number(s.attributes.tests), cs.length);
    assert.is(Number(s.attributes.failures), f);
    assert.is(Number(s.attributes.errors), e);
    assert.ok(/^\d+\.\d{3}$/.test(s.attributes.time), s.attributes.time);
    for (const c of cs) {
      assert.ok(c.attributes.name && c.attributes.classname, 'name and classname');
      assert.ok(c.children.length <= 1 && c.children.every((x) => x.name === 'failure' || x.name === 'error'));
    }
    tests += cs.length;
    failures += f;
    errors += e;
  }
  assert.is(Number(root.attributes.tests), tests);
  assert.is(Number(root.attributes.failures), failures);
  assert.is(Number(root.attributes.errors), errors);
  const a = children(suites[0], 'testcase');
  assert.equal(a.map((c) => c.attributes.name), ['passes', 'fails <&> "quoted"', 'not run']);
  const failure = children(a[1], 'failure')[0];
  assert.is(failure.attributes.message, 'expected allow, got deny: no rule allows select on public.customers');
  assert.match(failure.text, /^at a\.pamtest:8:1\n/);
  assert.is(a[1].attributes.line, '8');
  assert.is(a[1].attributes.file, 'a.pamtest');
  assert.is(children(a[2], 'error')[0].attributes.type, 'not-run');
  const props = children(children(suites[0], 'properties')[0], 'property');
  assert.equal(props.map((p) => [p.attributes.name, p.attributes.value]), [['policy', 'policy.pam'], ['decision-coverage', '11.1%']]);
  const b = children(suites[1], 'testcase');
  assert.is(b[0].attributes.name, 'b.pamtest (test file)');
  assert.is(children(b[0], 'error')[0].attributes.type, 'PAM5011');
  const broken = children(suites[2], 'testcase');
  assert.is(broken[0].attributes.name, 'broken/policy.pam (policy)');
  assert.match(children(broken[0], 'error')[0].text, /PAM2002/);
  const cov = children(suites[3], 'testcase');
  assert.equal(cov.map((c) => c.attributes.name), ['decision coverage of policy.pam']);
  assert.match(children(cov[0], 'failure')[0].attributes.message, /below the minimum of 50%/);
});

test('junit: characters XML forbids are written out, markup escaped', () => {
  assert.is(xmlEscape('a<b>&"\'\u0001\r\n\t'), 'a&lt;b&gt;&amp;&quot;&apos;\\u{1}&#13;\n\t');
  parseXml(`<a b="${xmlEscape('\u0000\ud800x')}">${xmlEscape('<&\u001f>')}</a>`);
});

test('the strict XML reader refuses what is not well formed', () => {
  for (const bad of ['<a>', '<a></b>', '<a b=c/>', '<a>&</a>', '<a>&nope;</a>', '<a b="1" b="2"/>', '<a/><b/>', '<a>\u0001</a>', '<a>x<</a>']) {
    assert.throws(() => parseXml(bad), undefined, bad);
  }
});

test('github: an annotation on each failing case and diagnostic, a summary line', () => {
  const out = renderGithub(run, OPTIONS);
  const lines = out.trimEnd().split('\n');
  assert.ok(lines.some((l) => l.startsWith('::error file=a.pamtest,line=8,col=1,title=pamc test%3A fails <&> "quoted"::expected allow, got deny: no rule allows select on public.customers%0A')));
  assert.ok(lines.some((l) => l.startsWith('::error file=a.pamtest,line=14,col=10,endLine=14,endColumn=13,title=pamc test PAM5042::the policy has no target `shp` (did you mean `shop`?)')));
  assert.ok(lines.some((l) => l.startsWith('::error file=b.pamtest,line=2,') && l.includes('PAM5011')));
  assert.ok(lines.some((l) => l.startsWith('::error file=broken/policy.pam,') && l.includes('PAM2002')));
  assert.not.ok(lines.some((l) => l.startsWith('::error file=a.pamtest') && l.includes('not run)')), 'a case not run for a diagnostic is not annotated twice');
  assert.ok(lines.some((l) => l.startsWith('::error file=broken/c.pamtest,line=1,col=1,title=pamc test%3A y (not run)::the policy `broken/policy.pam` does not compile')));
  assert.is(lines[lines.length - 1], '3 test files, 5 cases: 1 passed, 1 failed, 3 not run');
  for (const l of lines.slice(0, -1)) assert.ok(l.startsWith('::'), l);
  assert.not.match(out, /::warning.*not exercised/);
});

test('github: with coverage, a warning at every rule not exercised', () => {
  const out = renderGithub(run, { ...OPTIONS, coverage: true, minCoverage: 90 });
  assert.match(out, /^::warning file=policy\.pam,line=12,col=5,title=rule not exercised by any pamc test::allow read on public\.\* \(on shop\); policy\.pam:12:5$/m);
  assert.match(out, /^decision coverage of policy\.pam: 1 of 9 rules, 11\.1%$/m);
  assert.match(out, /^::error title=pamc test coverage::decision coverage of policy\.pam is 11\.1%25, below the minimum of 90%25$/m);
});

test.run();
