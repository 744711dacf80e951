// The `audit` and `approvals` blocks (spec/language.md §2, §7): parsing, sizes, repeated options,
// errors, and the formatter's round trip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type * as A from '../../../language/ast.ts';
import { formatPolicy, parsePolicy } from '../../../language/index.ts';
import { lex } from '../../../language/lexer.ts';
import { expectDiagnostics, parseOk, stripPositions } from './helpers.ts';

function audit(text: string): A.AuditSetting[] {
  const f = parseOk(`audit {\n  ${text}\n}`);
  const b = f.items[0];
  assert.is(b?.kind, 'Audit');
  return (b as A.AuditBlock).settings;
}

function approvals(text: string): A.ApprovalsSetting[] {
  const f = parseOk(`approvals {\n  ${text}\n}`);
  const b = f.items[0];
  assert.is(b?.kind, 'Approvals');
  return (b as A.ApprovalsBlock).settings;
}

const bare = (x: unknown) => stripPositions(x);

test('size literals: binary units; other spellings lex as a size and are reported', () => {
  const kinds = (text: string) => lex(text, 't.pam').tokens.map((t) => `${t.tokenType.name}:${t.image}`);
  assert.equal(kinds('64MiB 512KiB 1GiB 4096B 2TiB'), ['SizeLiteral:64MiB', 'SizeLiteral:512KiB', 'SizeLiteral:1GiB', 'SizeLiteral:4096B', 'SizeLiteral:2TiB']);
  // a duration is never a size; a longer word is a (malformed) duration as before
  assert.equal(kinds('15m 1h30m 500ms 64MiBx'), ['DurationLiteral:15m', 'DurationLiteral:1h30m', 'DurationLiteral:500ms', 'DurationLiteral:64MiBx']);
  const d = lex('64MB 10kb', 't.pam').diagnostics;
  assert.equal(
    d.map((x) => `${x.code} ${x.message} | ${x.help}`),
    [
      'PAM0009 malformed size `64MB` | sizes are in B, KiB, MiB, GiB or TiB: write `64MiB`',
      'PAM0009 malformed size `10kb` | sizes are in B, KiB, MiB, GiB or TiB: write `10KiB`',
    ],
  );
});

test('audit settings', () => {
  assert.equal(bare(audit('dir "/var/lib/pamc/audit"')), [{ kind: 'AuditDir', value: { kind: 'String', value: '/var/lib/pamc/audit' } }]);
  assert.equal(bare(audit('key env "K"')), [
    { kind: 'AuditKey', secret: { kind: 'Secret', source: 'env', value: { kind: 'String', value: 'K' } } },
  ]);
  assert.equal(bare(audit('rotate size 64MiB every 1d')), [
    { kind: 'Rotate', size: { kind: 'Size', text: '64MiB', bytes: 64 * 1024 * 1024 }, every: { kind: 'Duration', text: '1d', ms: 86_400_000 } },
  ]);
  assert.equal(bare(audit('rotate every 6h')), [{ kind: 'Rotate', every: { kind: 'Duration', text: '6h', ms: 21_600_000 } }]);
  assert.equal(bare(audit('checkpoint every 10000 records, 30s')), [
    {
      kind: 'Checkpoint',
      every: { kind: 'Duration', text: '30s', ms: 30_000 },
      records: { kind: 'Integer', value: 10000, text: '10000' },
    },
  ]);
  assert.equal(bare(audit('on_failure continue')), [{ kind: 'OnFailure', value: { kind: 'Ident', value: 'continue', quoted: false } }]);
  assert.equal(bare(audit('forward url "https://c:8088/services/collector/event" token env "T" ca "ca.pem"')), [
    {
      kind: 'Forward',
      url: { kind: 'String', value: 'https://c:8088/services/collector/event' },
      token: { kind: 'Secret', source: 'env', value: { kind: 'String', value: 'T' } },
      ca: { kind: 'String', value: 'ca.pem' },
    },
  ]);
  // several settings on one line
  assert.equal(
    audit('dir "d" key file "k" rotate size 1MiB checkpoint every 1m on_failure refuse').map((s) => s.kind),
    ['AuditDir', 'AuditKey', 'Rotate', 'Checkpoint', 'OnFailure'],
  );
});

test('approvals settings', () => {
  assert.equal(bare(approvals('webhook url env "SLACK" format slack')), [
    {
      kind: 'Webhook',
      url: { kind: 'Secret', source: 'env', value: { kind: 'String', value: 'SLACK' } },
      format: { kind: 'Ident', value: 'slack', quoted: false },
    },
  ]);
  assert.equal(bare(approvals('webhook url "https://h/x" secret file "hmac.key"')), [
    {
      kind: 'Webhook',
      url: { kind: 'Secret', source: 'literal', value: { kind: 'String', value: 'https://h/x' } },
      secret: { kind: 'Secret', source: 'file', value: { kind: 'String', value: 'hmac.key' } },
    },
  ]);
  assert.equal(bare(approvals('api listen "127.0.0.1:6481" url "https://p" cert "c" key env "K"')), [
    {
      kind: 'Api',
      listen: { kind: 'String', value: '127.0.0.1:6481' },
      url: { kind: 'String', value: 'https://p' },
      cert: { kind: 'String', value: 'c' },
      key: { kind: 'Secret', source: 'env', value: { kind: 'String', value: 'K' } },
    },
  ]);
  assert.equal(bare(approvals('dir "state"')), [{ kind: 'ApprovalsDir', value: { kind: 'String', value: 'state' } }]);
  assert.equal(
    approvals('webhook url "a" secret env "S" webhook url "b" secret env "T" api listen ":1" dir "d"').map((s) => s.kind),
    ['Webhook', 'Webhook', 'Api', 'ApprovalsDir'],
  );
});

test('the new words stay identifiers elsewhere: a table named audit, a credential named token', () => {
  const f = parseOk('target k: kubernetes { login user "u" token env "T" }\non shop { allow read on audit.records, approvals, size }\n');
  assert.is(f.items.length, 2);
  // without `on`, `audit` starts a resource unless `{` follows
  const g = parseOk('on shop { allow read audit.log }\naudit { dir "d" }\n');
  assert.equal(
    g.items.map((i) => i.kind),
    ['On', 'Audit'],
  );
});

test('errors: repeated options, missing values, unknown settings, a missing `}`', () => {
  expectDiagnostics('audit { rotate size 1MiB ⟦size⟧ 2MiB }', ['PAM0012']);
  expectDiagnostics('audit { rotate every 1h ⟦every⟧ 2h }', ['PAM0012']);
  expectDiagnostics('audit { checkpoint every 1m, ⟦2m⟧ }', ['PAM0012']);
  expectDiagnostics('audit { checkpoint every 5 records, ⟦6⟧ records }', ['PAM0012']);
  expectDiagnostics('audit { forward url "u" token env "a" ⟦token⟧ env "b" }', ['PAM0012']);
  expectDiagnostics('approvals { webhook url "u" format json ⟦format⟧ slack }', ['PAM0012']);
  expectDiagnostics('approvals { api listen ":1" ⟦listen⟧ ":2" }', ['PAM0012']);
  expectDiagnostics('audit { rotate ⟦}⟧', ['PAM0004']);
  expectDiagnostics('audit { on_failure ⟦}⟧', ['PAM0004']);
  expectDiagnostics('audit { rotate size ⟦64MB⟧ }', ['PAM0009']);
  const [unknown] = expectDiagnostics('audit { ⟦chekpoint⟧ every 1m }', ['PAM0004']);
  assert.is(unknown.message, 'expected an audit setting or `}`, found `chekpoint`');
  assert.is(unknown.help, 'did you mean `checkpoint`?');
  const [top] = expectDiagnostics('⟦audti⟧ { }', ['PAM0004']);
  assert.is(top.help, 'did you mean `audit`?');
  expectDiagnostics('audit { dir "d"\n⟦on⟧ shop { allow read }', ['PAM0005']);
  expectDiagnostics('approvals { webhook url "u"\n⟦audit⟧ { }', ['PAM0005']);
});

test('a block with a broken setting keeps its other settings; nothing half-parsed is kept', () => {
  const r = parsePolicy('audit {\n  dir "d"\n  rotate size\n  key env "K"\n}\n', 't.pam');
  assert.ok(r.diagnostics.length > 0);
  const b = r.file.items.find((i) => i.kind === 'Audit') as A.AuditBlock | undefined;
  assert.ok(b);
  assert.ok(b.settings.every((s) => s.kind !== 'Rotate'), 'the broken rotate is dropped');
  assert.ok(b.settings.some((s) => s.kind === 'AuditDir'));
});

test('formatter: canonical layout, and the round trip keeps the tree', () => {
  const text = 'audit { rotate every 1d size 64MiB checkpoint every 5 records, 1m  dir "d" }\napprovals { api key env "K" listen ":1" cert "c"  webhook url env "U" format slack }\n';
  const out = formatPolicy(parseOk(text));
  assert.fixture(
    out,
    'audit {\n  rotate size 64MiB every 1d\n  checkpoint every 1m, 5 records\n  dir "d"\n}\n\napprovals {\n  api listen ":1" cert "c" key env "K"\n  webhook url env "U" format slack\n}\n',
  );
  assert.equal(stripPositions(parseOk(out).items), stripPositions(parseOk(text).items));
  assert.fixture(formatPolicy(parseOk(out)), out, 'idempotent');
});

test.run();
