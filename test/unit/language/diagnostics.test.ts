// Diagnostics of the language layer, with the expected spans marked inline: ⟦…⟧.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePolicy, parsePolicyBytes } from '../../../language/index.ts';
import { expectDiagnostics } from './helpers.ts';
import { unmark } from './markers.ts';

function only(marked: string, code: string) {
  const ds = expectDiagnostics(marked, [code]);
  return ds[0];
}

test('every message is one line, lower case, without a final period', () => {
  const inputs = [
    'policy 42',
    'on shop { allow }',
    'on shop { allow read\n',
    'target limit: postgres {}',
    'é',
    '"abc',
    '"\\q"',
    '25:61',
    'on shop { approve x by "a" within 1m within 2m }',
  ];
  for (const text of inputs) {
    for (const d of parsePolicy(text, 't').diagnostics) {
      assert.not.match(d.message, /\n/);
      assert.not.match(d.message, /\.$/);
      assert.ok(/^[a-z`]/.test(d.message), d.message);
      assert.is(d.severity, 'error');
      assert.is(d.file, 't');
    }
  }
});

// --- PAM0004 expected X, found y

test('PAM0004 expected a string, found an integer', () => {
  const d = only('policy ⟦42⟧', 'PAM0004');
  assert.is(d.message, 'expected a string, found `42`');
});

test('PAM0004 expected a string, found a keyword', () => {
  const d = only('target t: postgres { host ⟦port⟧ 5 }', 'PAM0004');
  assert.is(d.message, 'expected a string, found `port`');
});

test('PAM0004 expected an integer', () => {
  const d = only('target t: postgres { port ⟦"5432"⟧ }', 'PAM0004');
  assert.is(d.message, 'expected an integer, found `"5432"`');
});

test('PAM0004 expected an action', () => {
  const d = only('on shop { allow ⟦}⟧', 'PAM0004');
  assert.is(d.message, 'expected an action, found `}`');
  const e = only('on shop {\n  allow\n  ⟦deny⟧ drop\n}', 'PAM0004');
  assert.is(e.message, 'expected an action, found `deny`');
});

test('PAM0004 expected a resource after `on`', () => {
  const d = only('on shop { allow read on ⟦}⟧', 'PAM0004');
  assert.is(d.message, 'expected an identifier, a string or `*`, found `}`');
  only('on shop { deny read on a, ⟦}⟧', 'PAM0004');
});

test('PAM0004 in a target header', () => {
  assert.is(only('target t ⟦postgres⟧ {}', 'PAM0004').message, 'expected `:`, found `postgres`');
  assert.is(only('target t: ⟦{⟧}', 'PAM0004').message, 'expected a target kind such as `postgres`, found `{`');
  assert.is(only('target ⟦:⟧ postgres {}', 'PAM0004').message, 'expected a target name, found `:`');
});

test('PAM0004 unknown word at the top level, with did-you-mean', () => {
  const d = only('⟦taget⟧ t: postgres {}', 'PAM0004');
  assert.is(d.message, 'expected `policy`, `identity`, `target`, `set`, `group` or `on`, found `taget`');
  assert.is(d.help, 'did you mean `target`?');
  assert.is(only('⟦frobnicate⟧', 'PAM0004').help, undefined);
});

test('PAM0004 unknown setting, with did-you-mean', () => {
  const d = only('identity { ⟦isuer⟧ "x" }', 'PAM0004');
  assert.is(d.message, 'expected an identity setting or `}`, found `isuer`');
  assert.is(d.help, 'did you mean `issuer`?');
  const t = only('target t: postgres { ⟦hots⟧ "x" }', 'PAM0004');
  assert.is(t.message, 'expected a target setting or `}`, found `hots`');
  assert.is(t.help, 'did you mean `host`?');
});

test('PAM0004 unknown rule', () => {
  const d = only('on shop { ⟦alow⟧ read }', 'PAM0004');
  assert.is(d.message, 'expected a rule (`allow`, `deny`, `approve`, `mask` or `limit`) or `}`, found `alow`');
  assert.is(d.help, 'did you mean `allow`?');
});

test('PAM0004 in conditions and approvals', () => {
  only('on shop { allow read when ⟦}⟧', 'PAM0004');
  only('on shop { allow read when claim "x" ⟦}⟧', 'PAM0004');
  only('on shop { allow read when claim "x" in [⟦]⟧ }', 'PAM0004');
  only('on shop { approve read by ⟦}⟧', 'PAM0004');
  only('on shop { allow read when during mon- ⟦}⟧', 'PAM0004');
  only('on shop { allow read when during 09:00- ⟦}⟧', 'PAM0004');
});

test('PAM0004 a lone `not` in a condition', () => {
  const d = only('on shop { allow read when ⟦not⟧ by "x" }', 'PAM0004');
  assert.is(d.message, 'expected a property after `not`');
  assert.equal(parsePolicy('on shop { allow read when not by "x" }', 't').file.items[0], {
    kind: 'On',
    targets: [{ kind: 'Ident', value: 'shop', quoted: false, span: { start: 3, end: 7 } }],
    rules: [],
    span: { start: 0, end: 38 },
  });
});

test('PAM0004 in mask and limit rules', () => {
  assert.is(only('on shop { mask a.b with ⟦}⟧', 'PAM0004').message, 'expected a masking strategy, found `}`');
  assert.is(only('on shop { mask a.b ⟦}⟧', 'PAM0004').message, 'expected `with`, found `}`');
  assert.is(only('on shop { limit ⟦5⟧ }', 'PAM0004').message, 'expected `rows`, found `5`');
  only('on shop { limit rows ⟦}⟧', 'PAM0004');
  assert.is(only('on shop { mask a.b with keep_last(4 ⟦}⟧', 'PAM0004').message, 'expected `)`, found `}`');
});

test('PAM0004 in target settings', () => {
  assert.is(only('target t: postgres { login user "u" password ⟦}⟧', 'PAM0004').message, 'expected `env`, `file` or a string, found `}`');
  assert.is(only('target t: postgres { tls ⟦}⟧', 'PAM0004').message, 'expected a tls mode such as `require`, found `}`');
  assert.is(only('identity { jwks ⟦"x"⟧ }', 'PAM0004').message, 'expected `file` or `url`, found `"x"`');
});

test('PAM0004 set syntax', () => {
  only('set s = [a,⟦,⟧ b]', 'PAM0004');
  only('set s ⟦[⟧a]', 'PAM0004');
});

test('PAM0004 found end of file points just past the last token', () => {
  const d = only('policy "x" policy⟦⟧\n\n', 'PAM0004');
  assert.is(d.message, 'expected a string, found end of file');
});

test('PAM0004 a stray closing brace', () => {
  only('on shop { allow read } ⟦}⟧', 'PAM0004');
});

// --- PAM0005 missing }

test('PAM0005 missing `}` at the end of the file, related span on `{`', () => {
  const { text, spans } = unmark('on shop ⟦{⟧\n  allow read⟦⟧\n');
  const r = parsePolicy(text, 't');
  assert.is(r.diagnostics.length, 1);
  const d = r.diagnostics[0];
  assert.is(d.code, 'PAM0005');
  assert.is(d.message, 'expected `}` to close the block, found end of file');
  assert.equal(d.span, spans[1]);
  assert.equal(d.related, [{ file: 't', span: spans[0], message: 'block opened here' }]);
  // the rule before is kept
  assert.is(r.file.items.length, 1);
});

test('PAM0005 missing `}` before the next item', () => {
  const { text, spans } = unmark('identity ⟦{⟧\n  issuer "x"\n⟦target⟧ t: postgres {}\n');
  const r = parsePolicy(text, 't');
  assert.equal(
    r.diagnostics.map((d) => [d.code, d.span, d.related?.[0]?.span]),
    [['PAM0005', spans[1], spans[0]]],
  );
  assert.equal(
    r.file.items.map((i) => i.kind),
    ['Identity', 'Target'],
  );
});

test('PAM0005 nested: the group is not closed', () => {
  const { text, spans } = unmark('group "g" ⟦{⟧\n  on shop {\n    allow read\n  }⟦⟧\n');
  const d = parsePolicy(text, 't').diagnostics;
  assert.equal(
    d.map((x) => [x.code, x.span, x.related?.[0]?.span]),
    [['PAM0005', spans[1], spans[0]]],
  );
});

test('PAM0005 the inner block is not closed', () => {
  const { text, spans } = unmark('group "g" {\n  on shop ⟦{⟧\n    allow read\n⟦group⟧ "h" {}\n');
  const d = parsePolicy(text, 't').diagnostics;
  assert.equal(
    d.map((x) => [x.code, x.span, x.related?.[0]?.span]),
    [['PAM0005', spans[1], spans[0]]],
  );
});

// --- PAM0010 reserved words

test('PAM0010 a reserved word as a name', () => {
  const d = only('set ⟦limit⟧ = [a]', 'PAM0010');
  assert.is(d.message, '`limit` is a reserved word');
  const t = only('target ⟦on⟧: postgres {}', 'PAM0010');
  assert.is(t.message, '`on` is a reserved word');
  only('on shop { allow ⟦deny⟧ }', 'PAM0010');
});

test('PAM0010 in a path: quote it', () => {
  const d = only('on shop { allow read on public.⟦limit⟧ }', 'PAM0010');
  assert.is(d.message, '`limit` is a reserved word');
  assert.is(d.help, 'quote it: `"limit"`');
  const e = only('on shop { allow read on ⟦with⟧ }', 'PAM0010');
  assert.is(e.help, 'quote it: `"with"`');
  only('on shop { mask public.⟦mask⟧ with redact }', 'PAM0010');
});

test('a quoted reserved word is fine', () => {
  assert.equal(parsePolicy('on shop { allow read on public."limit", "with" }', 't').diagnostics, []);
});

// --- PAM0012 repeated approval options

test('PAM0012 an approval option given twice', () => {
  const { text, spans } = unmark('on shop { approve x by "a" ⟦within⟧ 1m ⟦within⟧ 2m }');
  const d = parsePolicy(text, 't').diagnostics;
  assert.equal(
    d.map((x) => [x.code, x.message, x.span, x.related?.[0]?.span]),
    [['PAM0012', '`within` is given more than once', spans[1], spans[0]]],
  );
  only('on shop { approve x by "a" quorum 1 ⟦quorum⟧ 2 }', 'PAM0012');
  only('on shop { approve x by "a" mode hold ⟦mode⟧ retry }', 'PAM0012');
  only('on shop { approve x by "a" uses 1 ⟦uses⟧ 2 }', 'PAM0012');
});

// --- lexical codes through parsePolicy

test('PAM0001, PAM0002, PAM0003, PAM0009 through the parser: one diagnostic each, no parse error after them', () => {
  only('on shop { allow read on orders ⟦@⟧ }', 'PAM0001');
  only('target t: postgres { host ⟦"orders.internal⟧\n  port 5432\n}', 'PAM0002');
  only('policy "a⟦\\q⟧"', 'PAM0003');
  only('on shop { allow read when during ⟦25:61⟧-17:00 }', 'PAM0009');
  only('on shop { approve read by "x" within ⟦15min⟧ }', 'PAM0009');
  only('target t: postgres { port ⟦99999999999999999999⟧ }', 'PAM0009');
});

// --- PAM0006, PAM0007

test('PAM0006 non-UTF-8 bytes: span at the first bad byte', () => {
  const bytes = new Uint8Array([...Buffer.from('policy "é'), 0xff, ...Buffer.from('"\n')]);
  const r = parsePolicyBytes(bytes, 'bad.pam');
  assert.is(r.diagnostics.length, 1);
  const d = r.diagnostics[0];
  assert.is(d.code, 'PAM0006');
  assert.is(d.message, 'file is not valid utf-8: bad byte 0xff at byte offset 10');
  // `policy "é` is 9 UTF-16 code units
  assert.equal(d.span, { start: 9, end: 10 });
  assert.is(r.text.slice(0, 9), 'policy "é');
});

test('PAM0007 files over 8 MiB', () => {
  const r = parsePolicyBytes(new Uint8Array(8 * 1024 * 1024 + 1), 'big.pam');
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0007'],
  );
  assert.equal(
    parsePolicy('#'.repeat(8 * 1024 * 1024 + 1), 'big.pam').diagnostics.map((d) => d.code),
    ['PAM0007'],
  );
  // exactly 8 MiB is fine
  const ok = parsePolicyBytes(new Uint8Array(8 * 1024 * 1024).fill(0x20), 'ok.pam');
  assert.equal(ok.diagnostics, []);
});

// --- PAM0008

test('PAM0008 after 100 errors', () => {
  const text = 'on shop {\n' + '  allow\n  limit rows "x"\n'.repeat(150) + '}\n';
  const d = parsePolicy(text, 't').diagnostics;
  assert.is(d.length, 101);
  assert.ok(d.slice(0, 100).every((x) => x.code === 'PAM0004'));
  assert.is(d[100].code, 'PAM0008');
  assert.is(d[100].message, 'too many errors, stopped after 100');
});

test('PAM0008 counts lexical errors too', () => {
  const d = parsePolicy('@ '.repeat(150), 't').diagnostics;
  assert.is(d.length, 101);
  assert.is(d[100].code, 'PAM0008');
});

test.run();
