// Error recovery: several independent mistakes are all reported, in order, and what is valid
// around them is still in the AST. A half-parsed rule is dropped, never widened.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type * as A from '../../../language/ast.ts';
import { parsePolicy } from '../../../language/index.ts';
import { unmark } from './markers.ts';

function parseMarked(marked: string) {
  const { text, spans } = unmark(marked);
  const r = parsePolicy(text, 'r.pam');
  return { ...r, text, spans };
}

test('three independent mistakes: three diagnostics in order, valid items kept', () => {
  const r = parseMarked(`policy "p"

identity {
  issuer ⟦42⟧
  audience "pamc"
}

target shop: postgres {
  host "orders.internal"
  port ⟦"5432"⟧
  database "shop"
}

set pii = [customers.email]

on shop {
  allow read on public.orders
  deny drop on
  ⟦allow⟧ insert on public.items
}

group "g" {
  on shop {
    mask customers.email with email
  }
}
`);
  assert.equal(
    r.diagnostics.map((d) => [d.code, d.span]),
    [
      ['PAM0004', r.spans[0]],
      ['PAM0004', r.spans[1]],
      ['PAM0004', r.spans[2]],
    ],
  );
  assert.equal(
    r.file.items.map((i) => i.kind),
    ['Policy', 'Identity', 'Target', 'Set', 'On', 'Group'],
  );
  const identity = r.file.items[1] as A.IdentityBlock;
  assert.equal(
    identity.settings.map((s) => s.kind),
    ['Audience'],
  );
  const target = r.file.items[2] as A.TargetDecl;
  assert.equal(
    target.settings.map((s) => s.kind),
    ['Host', 'Database'],
  );
  const on = r.file.items[4] as A.OnBlock;
  // `deny drop on` lost its resources: it is dropped, not turned into "drop everything"... or
  // worse, for an allow, "everything"
  assert.equal(
    on.rules.map((x) => (x.kind === 'Access' ? `${x.effect} ${x.actions[0].value} ${x.resources.length}` : x.kind)),
    ['allow read 1', 'allow insert 1'],
  );
  const group = r.file.items[5] as A.GroupBlock;
  assert.equal(
    group.blocks[0].rules.map((x) => x.kind),
    ['Mask'],
  );
});

test('a fourth mistake inside a group is reported too, and the rule after it kept', () => {
  const r = parseMarked('group "g" {\n  on shop {\n    ⟦alow⟧ read\n    mask customers.email with email\n  }\n}\n');
  assert.equal(
    r.diagnostics.map((d) => [d.code, d.span]),
    [['PAM0004', r.spans[0]]],
  );
  assert.equal(
    (r.file.items[0] as A.GroupBlock).blocks[0].rules.map((x) => x.kind),
    ['Mask'],
  );
});

test('a rule whose resource list failed is dropped, never "every resource"', () => {
  for (const text of [
    'on shop { allow read on }',
    'on shop { allow read on , }',
    'on shop { allow read on a, }',
    'on shop { allow read on a, 5 }',
    'on shop { allow read on public. }',
    'on shop { allow read on public.5 }',
    'on shop { allow read on ) }',
    'on shop {\n  allow read on\n  deny x\n}',
  ]) {
    const r = parsePolicy(text, 't');
    assert.ok(r.diagnostics.length > 0, text);
    for (const item of r.file.items) {
      if (item.kind !== 'On') continue;
      for (const rule of item.rules) {
        if (rule.kind === 'Access' && rule.effect === 'allow') {
          assert.ok(rule.resources.length > 0, `${text}: an allow rule with no resources survived`);
        }
      }
    }
  }
});

test('a rule whose conditions failed is dropped, never unconditional', () => {
  for (const text of [
    'on shop { allow update on t when }',
    'on shop { allow update on t when claim "env" }',
    'on shop { allow update on t when claim "env" = }',
    'on shop { allow update on t when during mon- }',
    'on shop { allow update on t when unbounded and }',
    'on shop { allow update on t when claim "team" in ["a", }',
  ]) {
    const r = parsePolicy(text, 't');
    assert.ok(r.diagnostics.length > 0, text);
    const on = r.file.items.find((i) => i.kind === 'On') as A.OnBlock | undefined;
    assert.equal(on?.rules ?? [], [], text);
  }
});

test('an approval that failed drops the rule', () => {
  const r = parsePolicy('on shop { approve delete on t by }', 't');
  assert.equal((r.file.items[0] as A.OnBlock).rules, []);
  const s = parsePolicy('on shop { approve delete on t by "x" within }', 't');
  assert.equal((s.file.items[0] as A.OnBlock).rules, []);
});

test('an on block whose target list failed is dropped with its rules', () => {
  for (const text of ['on { allow read }', 'on a, { allow read }', 'on a b { allow read }', 'on a, 5 { allow read }']) {
    const r = parsePolicy(text, 't');
    assert.ok(r.diagnostics.length > 0, text);
    const blocks = r.file.items.filter((i) => i.kind === 'On') as A.OnBlock[];
    for (const b of blocks) assert.ok(b.rules.length === 0, `${text}: rules survived`);
  }
});

test('a token deleted or inserted by recovery does not make a node out of what was not written', () => {
  // single-token deletion would read `set s = = [a]` as `set s = [a]`
  const deleted = parsePolicy('set s = = [a]', 't');
  assert.equal(deleted.file.items, []);
  assert.equal(
    deleted.diagnostics.map((d) => d.code),
    ['PAM0004'],
  );
  // single-token insertion would read `target t postgres {}` as `target t: postgres {}`
  const inserted = parsePolicy('target t postgres {}', 't');
  assert.equal(inserted.file.items, []);
  assert.equal(
    inserted.diagnostics.map((d) => d.code),
    ['PAM0004'],
  );
  const rule = parsePolicy('on s { allow read on a b. }', 't');
  assert.equal((rule.file.items[0] as A.OnBlock).rules, []);
});

test('a reserved word used as a name on the same line is one error, and the rest goes on', () => {
  const r = parsePolicy('target on: postgres { host "h" }\nset limit = [a]\non shop {\n  allow limit on public.x\n  deny drop\n}\n', 't');
  assert.equal(
    r.diagnostics.map((d) => [d.code, d.message]),
    [
      ['PAM0010', '`on` is a reserved word'],
      ['PAM0010', '`limit` is a reserved word'],
      ['PAM0010', '`limit` is a reserved word'],
    ],
  );
  assert.equal(
    r.file.items.map((i) => i.kind),
    ['Target', 'Set', 'On'],
  );
  assert.is((r.file.items[2] as A.OnBlock).rules.length, 2);
});

test('a missing `}` keeps the rules before it and the items after it', () => {
  const r = parsePolicy('on shop {\n  allow read on a\n  deny drop\n\ntarget t: postgres { host "h" }\n', 't');
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0005'],
  );
  assert.equal(
    r.file.items.map((i) => i.kind),
    ['On', 'Target'],
  );
  assert.is((r.file.items[0] as A.OnBlock).rules.length, 2);
});

test('a missing `}` before a group does not swallow it', () => {
  const r = parsePolicy('group "g" {\n  on shop {\n    allow read\ngroup "h" {\n  on x { deny drop }\n}\n', 't');
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0005'],
  );
  assert.equal(
    r.file.items.map((i) => (i.kind === 'Group' ? i.name.value : i.kind)),
    ['g', 'h'],
  );
});

test('errors inside a block do not lose the settings after them', () => {
  const r = parsePolicy('identity {\n  issuer "a"\n  bogus "b"\n  audience "c"\n  agent claim "d"\n}\n', 't');
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0004'],
  );
  assert.equal(
    (r.file.items[0] as A.IdentityBlock).settings.map((s) => s.kind),
    ['Issuer', 'Audience', 'ClaimMapping'],
  );
});

test('unknown keywords at top level are skipped to the next item', () => {
  const r = parsePolicy('frobnicate "x" { y }\npolicy "p"\nwhatever\non shop { allow read }\n', 't');
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0004', 'PAM0004'],
  );
  assert.equal(
    r.file.items.map((i) => i.kind),
    ['Policy', 'On'],
  );
});

test('lexical errors inside a rule drop the rule (it is not what was written)', () => {
  const r = parsePolicy('on shop {\n  allow read on caf\u00e9\n  allow read on ok\n}', 't');
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0001'],
  );
  const on = r.file.items[0] as A.OnBlock;
  assert.equal(
    on.rules.map((x) => (x.kind === 'Access' ? x.resources[0].path.parts.map((p) => (p.kind === 'Ident' ? p.value : '*')).join('.') : '')),
    ['ok'],
  );
});

test('the parser instance is reused: a bad parse does not affect the next one', () => {
  parsePolicy('on shop { allow', 't');
  // and after a parse stopped at the error limit
  assert.is(parsePolicy('on a { allow }\n'.repeat(500), 't').diagnostics.at(-1)?.code, 'PAM0008');
  const r = parsePolicy('on shop { allow read }', 't');
  assert.equal(r.diagnostics, []);
  assert.is((r.file.items[0] as A.OnBlock).rules.length, 1);
});

test.run();
