// The runner: cases decided through the real classifier and decide(), compared with their
// expectations; the identity built from defaults and the case; names resolved against the
// policy (PAM5040–PAM5046); the policy compiled once; decision coverage as spec/testing.md §6.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coverageOf, meetsMinimum, percentText } from '../../../bin/policy-tests/coverage.ts';
import { runFailed, type RunResult } from '../../../bin/policy-tests/run.ts';
import { DEFAULT_INSTANT } from '../../../bin/policy-tests/setup.ts';
import { SHOP, workspace } from './workspace.ts';

const ws = workspace({ 'policy.pam': SHOP });

function cases(r: RunResult) {
  return r.files.flatMap((f) => f.cases);
}

function one(r: RunResult) {
  const cs = cases(r);
  assert.is(cs.length, 1, 'one case');
  return cs[0];
}

async function runText(text: string, name = 't.pamtest'): Promise<RunResult> {
  ws.write(name, text);
  return ws.run(name);
}

const codes = (r: RunResult) => r.files.flatMap((f) => f.diagnostics.map((d) => d.code));

test('a passing file: every expectation checked, nothing failed', async () => {
  const r = await runText(`policy "policy.pam"
defaults { target shop }
case "analyst reads customers" {
  groups "analysts"
  sql "SELECT * FROM customers"
  expect allow
  masks public.customers.email with email, public.customers.ssn with redact
  limit 1000
  rule "policy.pam:12"
}
case "operator's unbounded update" {
  groups "operators"
  sql "UPDATE orders SET x = 1"
  expect approve by "approvers"
  no masks
  no limit
  rule "policy.pam:22"
}
case "drop" {
  groups "operators"
  sql "DROP TABLE orders"
  expect deny
  rule "policy.pam:28:3"
}
case "nothing allows it" {
  groups "operators"
  sql "SELECT * FROM customers"
  expect deny no rule
}
case "does not parse" {
  groups "analysts"
  sql "SELEC 1"
  expect deny forbidden
}
case "baseline" {
  groups "analysts"
  sql "BEGIN; SELECT 1; COMMIT"
  expect allow
  rule baseline
}
`);
  assert.equal(cases(r).map((c) => [c.name, c.status, c.mismatches]), [
    ['analyst reads customers', 'pass', []],
    ["operator's unbounded update", 'pass', []],
    ['drop', 'pass', []],
    ['nothing allows it', 'pass', []],
    ['does not parse', 'pass', []],
    ['baseline', 'pass', []],
  ]);
  assert.equal(codes(r), []);
  assert.not.ok(runFailed(r));
  assert.equal(r.totals, { files: 1, cases: 6, passed: 6, failed: 0, errors: 0 });
  assert.is(cases(r)[0].line, 3);
});

test('failures: each difference on its own line, with what happened', async () => {
  const r = await runText(`policy "policy.pam"
defaults { target shop }
case "effect" {
  groups "operators"
  sql "SELECT * FROM customers"
  expect allow
  masks public.customers.email with email
}
case "reason" {
  groups "operators"
  sql "DROP TABLE orders"
  expect deny no rule
}
case "details" {
  groups "analysts"
  sql "SELECT * FROM customers"
  expect allow
  masks public.customers.email with redact, public.customers.phone with null
  limit 10
  rule "policy.pam:20"
}
case "approvers" {
  groups "operators"
  sql "DELETE FROM orders"
  expect approve by "analysts"
}
case "no limit" {
  groups "analysts"
  sql "SELECT 1"
  expect allow
  no limit
}
`);
  const got = Object.fromEntries(cases(r).map((c) => [c.name, c.mismatches]));
  assert.equal(got.effect, ['expected allow, got deny: no rule allows select on public.customers']);
  assert.equal(got.reason, ['expected deny because no rule allows it, got deny: drop on public.orders denied by policy.pam:28:3']);
  assert.equal(got.details, [
    'masks differ: expected but not applied: public.customers.email with redact, public.customers.phone with null; applied but not expected: public.customers.email with email, public.customers.ssn with redact',
    'expected limit 10, got limit 1000 (policy.pam:15:5)',
    'expected allowed by policy.pam:20, got policy.pam:12:5',
  ]);
  assert.equal(got.approvers, ['expected approval by "analysts", got approval by "approvers"']);
  assert.equal(got['no limit'], ['expected no limit, got limit 1000 (policy.pam:15:5)']);
  assert.ok(cases(r).every((c) => c.status === 'fail'));
  assert.ok(runFailed(r));
  const effect = cases(r)[0];
  assert.equal(effect.actual?.deciding, { statement: 1, fact: 'select on public.customers' });
  assert.is(effect.actual?.reason, 'no_rule');
});

test('defaults: groups replaced, claims set, removed and dropped, target and instant', async () => {
  ws.write(
    'claims.pam',
    `${SHOP.replace('policy "test"', 'policy "claims"')}
group "tagged" {
  on shop {
    allow read on public.tagged when claim "env" = "prod"
    allow read on public.night when during 22:00-23:00
  }
}
`,
  );
  const r = await runText(
    `policy "claims.pam"
defaults {
  target shop
  groups "tagged"
  claim "env" = "prod"
  at "2026-01-07T22:30:00Z"
}
case "defaults apply" { sql "SELECT * FROM tagged" expect allow }
case "a claim overridden" { claim "env" = "dev" sql "SELECT * FROM tagged" expect deny no rule }
case "a claim removed" { no claim "env" sql "SELECT * FROM tagged" expect deny no rule }
case "all claims dropped" { no claims sql "SELECT * FROM tagged" expect deny no rule }
case "claims dropped, one set again" { no claims claim "env" = ["x", "prod"] sql "SELECT * FROM tagged" expect allow }
case "groups replaced" { groups "operators" sql "SELECT * FROM tagged" expect deny no rule }
case "no groups" { no groups sql "SELECT 1" expect deny no rule }
case "the default instant is in the window" { sql "SELECT * FROM night" expect allow }
case "another instant" { at "2026-01-07T21:59:59Z" sql "SELECT * FROM night" expect deny no rule }
`,
    'claims.pamtest',
  );
  assert.equal(cases(r).filter((c) => c.status !== 'pass').map((c) => [c.name, c.mismatches, c.errors]), []);
});

test('without `at`, a case runs at the documented instant', () => {
  assert.is(DEFAULT_INSTANT, Date.parse('2026-01-07T12:00:00Z'));
  assert.is(new Date(DEFAULT_INSTANT).getUTCDay(), 3, 'a Wednesday');
});

test('without `policy`, the .pam files beside the test file; a policy compiled once for many files', async () => {
  ws.write('beside/policy.pam', SHOP);
  ws.write('beside/a.pamtest', 'case "a" { groups "analysts" sql "SELECT 1" expect allow }');
  ws.write('beside/b.pamtest', 'case "b" { groups "operators" sql "SELECT * FROM orders" expect allow }');
  ws.write('beside/sub/c.pamtest', 'policy "../policy.pam"\ncase "c" { groups "analysts" sql "SELECT 2" expect allow }');
  ws.write('beside/sub/d.pamtest', 'policy ".."\ncase "d" { groups "analysts" sql "SELECT 3" expect allow }');
  const r = await ws.run('beside/a.pamtest', 'beside/b.pamtest', 'beside/sub/c.pamtest', 'beside/sub/d.pamtest');
  assert.equal(cases(r).map((c) => c.status), ['pass', 'pass', 'pass', 'pass']);
  assert.is(r.files[0].policy, r.files[1].policy, 'the same compiled policy');
  assert.is(r.policies.length, 3, 'the folder of .pam files, the file, and the folder named by ".."');
  assert.equal(r.policies.map((p) => p.display), ['beside/policy.pam', 'beside/policy.pam', 'beside']);
});

test('the target is optional when the policy has one', async () => {
  const r = await runText('policy "policy.pam"\ncase "a" { groups "analysts" sql "SELECT 1" expect allow }');
  assert.is(one(r).status, 'pass');
});

test('PAM5040 a policy that does not exist, a folder without .pam files', async () => {
  const r = await runText('policy "nope.pam"\ncase "a" { sql "SELECT 1" expect allow }');
  assert.equal(codes(r), ['PAM5040']);
  assert.is(r.files[0].diagnostics[0].message, 'policy `nope.pam` does not exist');
  assert.is(one(r).status, 'error');
  assert.ok(runFailed(r));
  ws.write('empty/x.txt', '');
  const e = await runText('policy "empty"\ncase "a" { sql "SELECT 1" expect allow }');
  assert.is(e.files[0].diagnostics[0].message, 'policy folder `empty` holds no .pam files');
  ws.write('lonely/t.pamtest', 'case "a" { sql "SELECT 1" expect allow }');
  const l = await ws.run('lonely/t.pamtest');
  assert.equal(codes(l), ['PAM5040']);
  assert.match(l.files[0].diagnostics[0].message, /^no policy to test: `lonely` holds no \.pam files$/);
});

test('a policy that does not compile: its diagnostics, every case not run', async () => {
  ws.write('broken.pam', `${HEADER_ONLY}target shop: postgres { embedded }\non shop { allow reed on public.* }\n`);
  const r = await runText('policy "broken.pam"\ncase "a" { sql "SELECT 1" expect allow }\ncase "b" { sql "SELECT 2" expect allow }');
  assert.equal(cases(r).map((c) => [c.status, c.errors]), [
    ['error', ['the policy `broken.pam` does not compile']],
    ['error', ['the policy `broken.pam` does not compile']],
  ]);
  assert.ok(r.policies[0].compiled === null);
  assert.ok(r.policies[0].diagnostics.some((d) => d.code === 'PAM2002'));
  assert.ok(runFailed(r));
});

const HEADER_ONLY = SHOP.slice(0, SHOP.indexOf('target'));

test('a test file with syntax errors runs none of its cases', async () => {
  const r = await runText('policy "policy.pam"\ncase "a" { sql "SELECT 1" expct allow }\ncase "b" { sql "SELECT 1" expect allow }');
  assert.equal(codes(r), ['PAM5011']);
  assert.equal(cases(r).map((c) => c.status), ['error', 'error']);
});

test('PAM5042 unknown target, PAM5043 no target among several', async () => {
  const r = await runText('policy "policy.pam"\ndefaults { target shp }\ncase "a" { sql "SELECT 1" expect allow }\ncase "b" { sql "SELECT 1" expect allow }');
  assert.equal(codes(r), ['PAM5042'], 'reported once for the defaults');
  assert.is(r.files[0].diagnostics[0].message, 'the policy has no target `shp`');
  assert.is(r.files[0].diagnostics[0].help, 'did you mean `shop`?');
  ws.write('two.pam', SHOP.replace('target shop: postgres { embedded }', 'target shop: postgres { embedded }\ntarget other: postgres { embedded }'));
  const t = await runText('policy "two.pam"\ncase "a" { sql "SELECT 1" expect allow }');
  assert.equal(codes(t), ['PAM5043']);
  assert.match(t.files[0].diagnostics[0].help ?? '', /add `target (other|shop)`/);
  const q = await runText('policy "policy.pam"\ncase "a" { target "SHOP" sql "SELECT 1" expect allow }');
  assert.equal(codes(q), ['PAM5042'], 'a quoted target is taken as written');
  const u = await runText('policy "policy.pam"\ncase "a" { target SHOP groups "analysts" sql "SELECT 1" expect allow }');
  assert.is(one(u).status, 'pass', 'an unquoted target folds');
});

test('PAM5044 a group near a known one is a warning; an unknown group is fine', async () => {
  const r = await runText('policy "policy.pam"\ncase "a" { groups "analyst" sql "SELECT 1" expect deny }\ncase "b" { groups "stranger" sql "SELECT 1" expect deny }');
  assert.equal(r.files[0].diagnostics.map((d) => [d.code, d.severity, d.help]), [['PAM5044', 'warning', 'did you mean `analysts`?']]);
  assert.equal(cases(r).map((c) => c.status), ['pass', 'pass']);
  assert.not.ok(runFailed(r));
});

test('PAM5045 a rule location that names no rule, with the nearest rule; a file the policy does not have', async () => {
  const r = await runText('policy "policy.pam"\ncase "a" { groups "analysts" sql "SELECT 1" expect allow rule "policy.pam:16" }');
  const d = r.files[0].diagnostics[0];
  assert.is(d.code, 'PAM5045');
  assert.is(d.message, 'no rule of the policy starts at `policy.pam:16`');
  assert.is(d.help, 'the nearest rule is `policy.pam:15`: `limit rows 1000`');
  assert.is(one(r).status, 'error');
  const f = await runText('policy "policy.pam"\ncase "a" { sql "SELECT 1" expect allow rule "polcy.pam:12" }');
  assert.is(f.files[0].diagnostics[0].message, 'the policy has no file `polcy.pam`');
  assert.is(f.files[0].diagnostics[0].help, 'did you mean `policy.pam`?');
  const c = await runText('policy "policy.pam"\ncase "a" { sql "SELECT 1" expect allow rule "policy.pam:12:1" }');
  assert.equal(codes(c), ['PAM5045'], 'a column must match too');
});

test('PAM5046 an approver group the policy does not have', async () => {
  const r = await runText('policy "policy.pam"\ncase "a" { groups "operators" sql "DELETE FROM orders" expect approve by "aprovers" }');
  assert.equal(r.files[0].diagnostics.map((d) => [d.code, d.help]), [['PAM5046', 'did you mean `approvers`?']]);
});

// --- coverage

/** The policy lines of the rules a case exercised. */
function lines(r: RunResult, index: number): (number | string)[] {
  const c = cases(r)[index];
  const compiled = r.files[0].policy!.compiled!;
  return c.exercised.map((id) => compiled.rules[id].source?.line ?? 'baseline');
}

test('coverage: what a decision exercises (spec/testing.md §6)', async () => {
  const r = await runText(`policy "policy.pam"
case "approve: the approve rule, and the allow rule of the other fact" {
  groups "operators"
  sql "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM orders"
  expect approve
}
case "deny: the facts before the deciding one count, those after do not" {
  groups "operators"
  sql "SELECT * FROM orders; DROP TABLE orders; UPDATE orders SET x = 1 WHERE id = 1"
  expect deny
}
case "allow: the allow rule, the mask rules and the limit rule" {
  groups "analysts"
  sql "SELECT * FROM customers"
  expect allow
}
case "a relation without masks: no mask rule" {
  groups "analysts"
  sql "SELECT * FROM orders"
  expect allow
}
case "rules looked at that did not apply count for nothing" {
  groups "operators"
  sql "SELECT * FROM customers"
  expect deny
}
case "the baseline does not count; the limit does" {
  groups "analysts"
  sql "SELECT 1"
  expect allow
}
case "a failing case exercises its rules all the same" {
  groups "operators"
  sql "UPDATE orders SET x = 1 WHERE id = 2"
  expect deny
}
`);
  assert.equal(lines(r, 0), [20, 22]);
  assert.equal(lines(r, 1), [20, 28]);
  assert.equal(lines(r, 2), [12, 13, 14, 15]);
  assert.equal(lines(r, 3), [12, 15]);
  assert.equal(lines(r, 4), []);
  assert.equal(lines(r, 5), [15, 'baseline'], 'the baseline took part, but does not count for coverage');
  assert.equal(lines(r, 6), [21]);
  const cov = r.coverage[0];
  assert.is(cov.total, 9, 'every rule with a source; not the baseline');
  assert.is(cov.covered, 8);
  assert.equal(cov.uncovered.map((u) => u.source!.line), [29]);
  assert.is(percentText(cov), '88.8%', 'rounded down');
  assert.ok(meetsMinimum(cov, 88.8));
  assert.not.ok(meetsMinimum(cov, 88.9));
  assert.ok(meetsMinimum(cov, 0));
});

test('coverage: full, empty, and a rule per target of an `on a, b` block', async () => {
  ws.write(
    'multi.pam',
    `${HEADER_ONLY}target a: postgres { embedded }
target b: postgres { embedded }
on a, b {
  allow read on public.*
}
`,
  );
  const r = await runText('policy "multi.pam"\ndefaults { target a }\ncase "on a" { sql "SELECT * FROM t" expect allow }', 'multi.pamtest');
  const cov = r.coverage[0];
  assert.is(cov.total, 2);
  assert.is(cov.covered, 1);
  assert.equal(cov.uncovered.map((u) => u.target), ['b']);
  const { uncoveredWhere } = await import('../../../bin/policy-tests/report-common.ts');
  assert.is(uncoveredWhere(cov.policy, cov.uncovered[0]), 'multi.pam:11:3 (on b)');
  const full = coverageOf(cov.policy, [0, 1]);
  assert.is(percentText(full), '100%');
  const none = coverageOf({ ...cov.policy, compiled: { ...cov.policy.compiled!, rules: [] } }, []);
  assert.equal([none.total, none.percent, percentText(none)], [0, 100, '100%']);
});

test('coverage is the union over every test file of a policy', async () => {
  ws.write('u/policy.pam', SHOP);
  ws.write('u/a.pamtest', 'case "a" { groups "analysts" sql "SELECT * FROM customers" expect allow }');
  ws.write('u/b.pamtest', 'case "b" { groups "operators" sql "DROP TABLE x" expect deny }');
  const r = await ws.run('u/a.pamtest', 'u/b.pamtest');
  assert.is(r.coverage.length, 1);
  assert.equal(r.coverage[0].uncovered.map((u) => u.source!.line), [20, 21, 22, 29]);
});

test.after(() => ws.remove());

test.run();
