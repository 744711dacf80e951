// One test (or more) per production of the grammar in spec/language.md §2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type * as A from '../../../language/ast.ts';
import { firstRule, parseOk, stripPositions } from './helpers.ts';

function item<K extends A.Item['kind']>(text: string, kind: K): Extract<A.Item, { kind: K }> {
  const f = parseOk(text);
  assert.is(f.items.length, 1, 'one item');
  assert.is(f.items[0].kind, kind);
  return f.items[0] as Extract<A.Item, { kind: K }>;
}

function rule(text: string): A.Rule {
  return firstRule(parseOk(`on shop {\n  ${text}\n}`));
}

function access(text: string): A.AccessRule {
  const r = rule(text);
  assert.is(r.kind, 'Access');
  return r as A.AccessRule;
}

const ids = (xs: A.Ident[]) => xs.map((x) => x.value);
const paths = (rs: A.Resource[]) =>
  rs.map((r) => (r.objectKind ? r.objectKind.value + ' ' : '') + r.path.parts.map((p) => (p.kind === 'Star' ? '*' : p.quoted ? `"${p.value}"` : p.value)).join('.'));

function identitySetting(text: string): A.IdentitySetting {
  const b = item(`identity {\n  ${text}\n}`, 'Identity');
  assert.is(b.settings.length, 1);
  return b.settings[0];
}

function targetSetting(text: string): A.TargetSetting {
  const b = item(`target shop: postgres {\n  ${text}\n}`, 'Target');
  assert.is(b.settings.length, 1, `one setting in ${text}`);
  return b.settings[0];
}

// --- file and items

test('file: empty, and several items in order', () => {
  assert.equal(parseOk('').items, []);
  assert.equal(parseOk('   \n\n').items, []);
  const text = 'policy "p"\nidentity {}\ntarget t: postgres {}\nset s = []\ngroup "g" {}\non t {}';
  const f = parseOk(text);
  assert.equal(
    f.items.map((i) => i.kind),
    ['Policy', 'Identity', 'Target', 'Set', 'Group', 'On'],
  );
  assert.equal(f.span, { start: 0, end: text.length });
  assert.equal(f.items[2].span, { start: text.indexOf('target'), end: text.indexOf('set') - 1 });
});

test('policy_decl', () => {
  const p = item('policy "crewai-production"', 'Policy');
  assert.is(p.name.value, 'crewai-production');
  assert.equal(p.span, { start: 0, end: 26 });
  assert.equal(p.name.span, { start: 7, end: 26 });
});

// --- identity

test('identity_block with every setting', () => {
  const b = item(
    `identity {
  issuer   "https://idp.example.com/"
  audience "pamc", "pamc-2"
  jwks     file "keys/jwks.json"
  jwks     url "https://idp.example.com/jwks"
  groups   claim "groups"
  agent    claim "agent"
  algorithms RS256, ES256
  clock_skew 30s
}`,
    'Identity',
  );
  assert.equal(stripPositions(b.settings), [
    { kind: 'Issuer', value: { kind: 'String', value: 'https://idp.example.com/' } },
    { kind: 'Audience', values: [{ kind: 'String', value: 'pamc' }, { kind: 'String', value: 'pamc-2' }] },
    { kind: 'Jwks', source: 'file', value: { kind: 'String', value: 'keys/jwks.json' } },
    { kind: 'Jwks', source: 'url', value: { kind: 'String', value: 'https://idp.example.com/jwks' } },
    { kind: 'ClaimMapping', field: 'groups', claim: { kind: 'String', value: 'groups' } },
    { kind: 'ClaimMapping', field: 'agent', claim: { kind: 'String', value: 'agent' } },
    {
      kind: 'Algorithms',
      values: [
        { kind: 'Ident', value: 'RS256', quoted: false },
        { kind: 'Ident', value: 'ES256', quoted: false },
      ],
    },
    { kind: 'ClockSkew', value: { kind: 'Duration', text: '30s', ms: 30000 } },
  ]);
});

test('several settings may share a line', () => {
  const b = item('identity { issuer "a" audience "b" }', 'Identity');
  assert.is(b.settings.length, 2);
  assert.equal(b.settings[1].span, { start: 22, end: 34 });
});

test('identity setting spans', () => {
  const s = identitySetting('audience "a", "b"');
  assert.equal(s.span, { start: 13, end: 30 });
});

// --- targets

test('target_decl', () => {
  const t = item('target shop: postgres {\n  host "orders.internal"  port 5432  database "shop"\n}', 'Target');
  assert.is(t.name.value, 'shop');
  assert.is(t.targetKind.value, 'postgres');
  assert.equal(
    t.settings.map((s) => s.kind),
    ['Host', 'Port', 'Database'],
  );
  const port = t.settings[1] as Extract<A.TargetSetting, { kind: 'Port' }>;
  assert.is(port.value.value, 5432);
  assert.is(port.value.text, '5432');
});

test('target names may be soft keywords', () => {
  const t = item('target target: postgres {}', 'Target');
  assert.is(t.name.value, 'target');
});

test('target settings: host, port, database, server, listen', () => {
  assert.equal(stripPositions(targetSetting('host "h"')), { kind: 'Host', value: { kind: 'String', value: 'h' } });
  assert.equal(stripPositions(targetSetting('server "s"')), { kind: 'Server', value: { kind: 'String', value: 's' } });
  assert.equal(stripPositions(targetSetting('listen "127.0.0.1:6432"')), { kind: 'Listen', value: { kind: 'String', value: '127.0.0.1:6432' } });
  assert.equal(stripPositions(targetSetting('database "d"')), { kind: 'Database', value: { kind: 'String', value: 'd' } });
});

test('login user "u" password env "X"', () => {
  const s = targetSetting('login user "u" password env "X"');
  assert.equal(stripPositions(s), {
    kind: 'Login',
    user: { kind: 'String', value: 'u' },
    credentials: [
      {
        kind: 'Credential',
        name: { kind: 'Ident', value: 'password', quoted: false },
        secret: { kind: 'Secret', source: 'env', value: { kind: 'String', value: 'X' } },
      },
    ],
  });
});

test('login with several credentials, file and literal secrets, followed by a setting on the same line', () => {
  const t = item('target s: ssh { login user "u" key file "id_ed25519" certificate "lit" host "h" }', 'Target');
  assert.equal(
    t.settings.map((s) => s.kind),
    ['Login', 'Host'],
  );
  const login = t.settings[0] as Extract<A.TargetSetting, { kind: 'Login' }>;
  assert.equal(
    login.credentials.map((c) => [c.name.value, c.secret.source, c.secret.value.value]),
    [
      ['key', 'file', 'id_ed25519'],
      ['certificate', 'literal', 'lit'],
    ],
  );
  const bare = targetSetting('login user "u"');
  assert.equal((bare as Extract<A.TargetSetting, { kind: 'Login' }>).credentials, []);
});

test('tls require cert "s.crt" key file "s.key"', () => {
  const s = targetSetting('tls require cert "s.crt" key file "s.key"');
  assert.equal(stripPositions(s), {
    kind: 'Tls',
    upstream: false,
    mode: { kind: 'Ident', value: 'require', quoted: false },
    options: [
      { kind: 'TlsCert', value: { kind: 'String', value: 's.crt' } },
      { kind: 'TlsKey', secret: { kind: 'Secret', source: 'file', value: { kind: 'String', value: 's.key' } } },
    ],
  });
});

test('tls require (no options), tls with ca', () => {
  const t = item('target shop: postgres {\n  tls require\n  tls disable ca "x"\n}', 'Target');
  assert.equal(
    t.settings.map((s) => (s.kind === 'Tls' ? [s.mode.value, s.options.length] : [])),
    [
      ['require', 0],
      ['disable', 1],
    ],
  );
});

test('upstream tls verify-full ca "ca.pem"', () => {
  const s = targetSetting('upstream tls verify-full ca "ca.pem"');
  assert.equal(stripPositions(s), {
    kind: 'Tls',
    upstream: true,
    mode: { kind: 'Ident', value: 'verify-full', quoted: false },
    options: [{ kind: 'TlsCa', value: { kind: 'String', value: 'ca.pem' } }],
  });
  const at = 'target shop: postgres {\n  upstream tls '.length;
  assert.equal((s as Extract<A.TargetSetting, { kind: 'Tls' }>).mode.span, { start: at, end: at + 'verify-full'.length });
});

test('tls mode may be a reserved word (sslmode allow)', () => {
  const s = targetSetting('upstream tls allow');
  assert.is((s as Extract<A.TargetSetting, { kind: 'Tls' }>).mode.value, 'allow');
});

test('embedded, embedded seed "seed.sql"', () => {
  assert.equal(stripPositions(targetSetting('embedded')), { kind: 'Embedded' });
  assert.equal(stripPositions(targetSetting('embedded seed "seed.sql"')), { kind: 'Embedded', seed: { kind: 'String', value: 'seed.sql' } });
  const t = item('target demo: postgres { embedded seed "seed.sql" }', 'Target');
  assert.is(t.settings.length, 1);
});

test('search_path app, public (and a quoted "$user")', () => {
  const s = targetSetting('search_path app, public');
  assert.equal(ids((s as Extract<A.TargetSetting, { kind: 'SearchPath' }>).schemas), ['app', 'public']);
  const q = targetSetting('search_path "$user", public') as Extract<A.TargetSetting, { kind: 'SearchPath' }>;
  assert.equal(
    q.schemas.map((x) => [x.value, x.quoted]),
    [
      ['$user', true],
      ['public', false],
    ],
  );
});

test('masking { copy deny derived mask hash_key env "K" }', () => {
  const s = targetSetting('masking { copy deny derived mask hash_key env "K" predicates deny }');
  assert.equal(stripPositions(s), {
    kind: 'Masking',
    options: [
      { kind: 'MaskingChoice', name: { kind: 'Ident', value: 'copy', quoted: false }, value: { kind: 'Ident', value: 'deny', quoted: false } },
      { kind: 'MaskingChoice', name: { kind: 'Ident', value: 'derived', quoted: false }, value: { kind: 'Ident', value: 'mask', quoted: false } },
      { kind: 'HashKey', secret: { kind: 'Secret', source: 'env', value: { kind: 'String', value: 'K' } } },
      { kind: 'MaskingChoice', name: { kind: 'Ident', value: 'predicates', quoted: false }, value: { kind: 'Ident', value: 'deny', quoted: false } },
    ],
  });
  assert.equal(stripPositions(targetSetting('masking {}')), { kind: 'Masking', options: [] });
});

test('every target setting in one block', () => {
  const t = item(
    `target shop: postgres {
  host "orders.internal"  port 5432  database "shop"
  server "s"
  listen "0.0.0.0:5433"
  login user "pamc_gateway" password env "SHOP_DB_PASSWORD"
  tls require cert "s.crt" key file "s.key"
  upstream tls verify-full ca "ca.pem"
  embedded seed "seed.sql"
  search_path app, public
  masking { copy deny derived mask hash_key env "K" }
}`,
    'Target',
  );
  assert.equal(
    t.settings.map((s) => s.kind),
    ['Host', 'Port', 'Database', 'Server', 'Listen', 'Login', 'Tls', 'Tls', 'Embedded', 'SearchPath', 'Masking'],
  );
});

// --- sets

test('set_decl, with a trailing comma, and empty', () => {
  const s = item('set pii = [customers.email, customers.phone, customers.ssn, payments.card_number]', 'Set');
  assert.is(s.name.value, 'pii');
  assert.equal(paths(s.members), ['customers.email', 'customers.phone', 'customers.ssn', 'payments.card_number']);
  const t = item('set pii = [\n  customers.email,\n  customers.phone,\n]', 'Set');
  assert.equal(paths(t.members), ['customers.email', 'customers.phone']);
  assert.equal(item('set none = []', 'Set').members, []);
  assert.equal(paths(item('set k = [schema analytics, role *, "Odd Name".x]', 'Set').members), ['schema analytics', 'role *', '"Odd Name".x']);
});

// --- groups and on blocks

test('group_block with on blocks', () => {
  const g = item('group "crewai-analysts" {\n  on shop {\n    allow read\n  }\n  on billing {}\n}', 'Group');
  assert.is(g.name.value, 'crewai-analysts');
  assert.equal(
    g.blocks.map((b) => ids(b.targets)),
    [['shop'], ['billing']],
  );
});

test('on_block: one target, several targets, empty', () => {
  const o = item('on a, b {\n}', 'On');
  assert.equal(ids(o.targets), ['a', 'b']);
  assert.equal(o.rules, []);
  assert.equal(ids(item('on shop { allow read }', 'On').targets), ['shop']);
});

// --- access rules

test('allow read on public.*, catalog', () => {
  const r = access('allow read on public.*, catalog');
  assert.is(r.effect, 'allow');
  assert.equal(ids(r.actions), ['read']);
  assert.equal(paths(r.resources), ['public.*', 'catalog']);
  assert.equal(r.conditions, []);
  assert.is(r.approval, undefined);
  const at = 'on shop {\n  '.length;
  assert.equal(r.effectSpan, { start: at, end: at + 5 });
  assert.equal(r.span, { start: at, end: at + 'allow read on public.*, catalog'.length });
  assert.equal(r.resources[0].span, { start: at + 14, end: at + 22 });
  assert.equal(r.resources[0].path.parts[1].span, { start: at + 21, end: at + 22 });
  assert.equal(r.resources[1].span, { start: at + 24, end: at + 31 });
});

test('deny drop, truncate, dcl, admin (no resources: every resource)', () => {
  const r = access('deny drop, truncate, dcl, admin');
  assert.is(r.effect, 'deny');
  assert.equal(ids(r.actions), ['drop', 'truncate', 'dcl', 'admin']);
  assert.equal(r.resources, []);
});

test('resources without `on`', () => {
  assert.equal(paths(access('deny call dangerous_functions').resources), ['dangerous_functions']);
  assert.equal(ids(access('deny call dangerous_functions').actions), ['call']);
  assert.equal(paths(access('allow read public.orders, public.items').resources), ['public.orders', 'public.items']);
});

test('object kind words: allow create on schema analytics', () => {
  const r = access('allow create on schema analytics');
  assert.is(r.resources[0].objectKind?.value, 'schema');
  assert.equal(paths(r.resources), ['schema analytics']);
  assert.equal(paths(access('allow grant on role *, schema "Odd"').resources), ['role *', 'schema "Odd"']);
  assert.equal(paths(access('allow read on schema').resources), ['schema']);
});

test('soft keywords are identifiers: allow set on search_path, a table named target', () => {
  const r = access('allow set on search_path');
  assert.equal(ids(r.actions), ['set']);
  assert.equal(paths(r.resources), ['search_path']);
  assert.equal(paths(access('allow read on public.target, policy.group').resources), ['public.target', 'policy.group']);
});

test('quoted identifiers in paths', () => {
  const r = access('allow read on public."Order Items", public."limit", "/srv/x.csv"');
  assert.equal(paths(r.resources), ['public."Order Items"', 'public."limit"', '"/srv/x.csv"']);
  assert.is((r.resources[0].path.parts[1] as A.Ident).quoted, true);
});

test('approve update, delete on public.* when unbounded by "dba-oncall" within 15m', () => {
  const r = access('approve update, delete on public.* when unbounded by "dba-oncall" within 15m');
  assert.is(r.effect, 'approve');
  assert.equal(ids(r.actions), ['update', 'delete']);
  assert.equal(stripPositions(r.conditions), [{ kind: 'Property', negated: false, name: { kind: 'Ident', value: 'unbounded', quoted: false } }]);
  assert.equal(stripPositions(r.approval), {
    kind: 'Approval',
    by: { kind: 'String', value: 'dba-oncall' },
    within: { kind: 'Duration', text: '15m', ms: 900000 },
  });
});

test('approval: quorum, within, mode retry uses 3 in any order', () => {
  const r = access('approve ddl by "dba" mode retry uses 3 quorum 2 within 1h30m');
  assert.equal(stripPositions(r.approval), {
    kind: 'Approval',
    by: { kind: 'String', value: 'dba' },
    quorum: { kind: 'Integer', value: 2, text: '2' },
    within: { kind: 'Duration', text: '1h30m', ms: 5400000 },
    mode: { kind: 'Ident', value: 'retry', quoted: false },
    uses: { kind: 'Integer', value: 3, text: '3' },
  });
  assert.equal(stripPositions(access('approve ddl by "dba"').approval), { kind: 'Approval', by: { kind: 'String', value: 'dba' } });
});

test('conditions: not unbounded, and several with `and`', () => {
  const r = access('allow update on t when not unbounded and limited');
  assert.equal(
    r.conditions.map((c) => (c.kind === 'Property' ? [c.negated, c.name.value] : [])),
    [
      [true, 'unbounded'],
      [false, 'limited'],
    ],
  );
});

test('during mon-fri 09:00-17:00 tz "Europe/Berlin"', () => {
  const r = access('allow read when during mon-fri 09:00-17:00 tz "Europe/Berlin"');
  assert.equal(stripPositions(r.conditions[0]), {
    kind: 'During',
    days: { kind: 'DayRange', from: { kind: 'Ident', value: 'mon', quoted: false }, to: { kind: 'Ident', value: 'fri', quoted: false } },
    from: { kind: 'Time', text: '09:00', minutes: 540 },
    to: { kind: 'Time', text: '17:00', minutes: 1020 },
    tz: { kind: 'String', value: 'Europe/Berlin' },
  });
});

test('during sat, sun; during with only times; during with only tz', () => {
  const r = access('allow read when during sat, sun');
  assert.equal(stripPositions(r.conditions[0]), {
    kind: 'During',
    days: {
      kind: 'DayList',
      days: [
        { kind: 'Ident', value: 'sat', quoted: false },
        { kind: 'Ident', value: 'sun', quoted: false },
      ],
    },
  });
  const t = access('allow read when during 22:00-24:00 and during sat');
  assert.equal(
    t.conditions.map((c) => (c.kind === 'During' ? [c.from?.minutes, c.to?.minutes, c.days?.kind] : [])),
    [
      [1320, 1440, undefined],
      [undefined, undefined, 'DayList'],
    ],
  );
  const z = access('allow read when during tz "UTC"');
  assert.equal(stripPositions(z.conditions[0]), { kind: 'During', tz: { kind: 'String', value: 'UTC' } });
});

test('claim "env" = "prod", != , in, not in', () => {
  const ops = (text: string) =>
    access(`allow read when ${text}`).conditions.map((c) => (c.kind === 'Claim' ? [c.claim.value, c.op, c.values.map((v) => v.value)] : []));
  assert.equal(ops('claim "env" = "prod"'), [['env', '=', ['prod']]]);
  assert.equal(ops('claim "env" != "prod"'), [['env', '!=', ['prod']]]);
  assert.equal(ops('claim "team" in ["a"]'), [['team', 'in', ['a']]]);
  assert.equal(ops('claim "team" not in ["a", "b"]'), [['team', 'not in', ['a', 'b']]]);
});

test('an access rule with everything', () => {
  const r = access(
    'approve update, delete on public.orders, schema s when unbounded and during mon-fri 09:00-17:00 and claim "env" = "prod" by "dba" quorum 2 within 15m mode hold',
  );
  assert.equal(
    r.conditions.map((c) => c.kind),
    ['Property', 'During', 'Claim'],
  );
  assert.is(r.approval?.mode?.value, 'hold');
});

test('a rule may span lines', () => {
  const r = access('allow read\n    on a,\n       b\n    when unbounded');
  assert.equal(paths(r.resources), ['a', 'b']);
});

// --- mask and limit

test('mask customers.phone with keep_last(4)', () => {
  const r = rule('mask customers.phone with keep_last(4)');
  assert.equal(stripPositions(r), {
    kind: 'Mask',
    columns: [
      {
        kind: 'Path',
        parts: [
          { kind: 'Ident', value: 'customers', quoted: false },
          { kind: 'Ident', value: 'phone', quoted: false },
        ],
      },
    ],
    strategy: { kind: 'Strategy', name: { kind: 'Ident', value: 'keep_last', quoted: false }, argument: { kind: 'Integer', value: 4, text: '4' } },
  });
});

test('mask several columns, a set name, a star', () => {
  const r = rule('mask customers.ssn, payments.card_number, pii, public.customers.* with redact') as A.MaskRule;
  assert.equal(
    r.columns.map((c) => c.parts.length),
    [2, 2, 1, 3],
  );
  assert.is(r.strategy.name.value, 'redact');
  assert.is(r.strategy.argument, undefined);
});

test('limit rows 10000', () => {
  const r = rule('limit rows 10000');
  assert.equal(stripPositions(r), { kind: 'Limit', rows: { kind: 'Integer', value: 10000, text: '10000' } });
});

test('the realistic policy of DESIGN.md', () => {
  const f = parseOk(`policy "crewai-production"

identity {
  issuer   "https://idp.example.com/"
  audience "pamc"
  jwks     file "keys/jwks.json"
  groups   claim "groups"
  agent    claim "agent"
}

target shop: postgres {
  host "orders.internal"  port 5432  database "shop"
  login user "pamc_gateway" password env "SHOP_DB_PASSWORD"
  tls require
}

set pii = [customers.email, customers.phone, customers.ssn, payments.card_number]

group "crewai-analysts" {
  on shop {
    allow read on public.*, catalog
    mask customers.email with email          # j***@example.com
    mask customers.ssn, payments.card_number with redact
    limit rows 10000
  }
}

on shop {
  deny drop, truncate, dcl, admin
  deny call dangerous_functions
}
`);
  assert.equal(
    f.items.map((i) => i.kind),
    ['Policy', 'Identity', 'Target', 'Set', 'Group', 'On'],
  );
  assert.equal(
    f.comments.map((c) => c.text),
    ['# j***@example.com'],
  );
  const g = f.items[4] as A.GroupBlock;
  assert.equal(
    g.blocks[0].rules.map((r) => r.kind),
    ['Access', 'Mask', 'Mask', 'Limit'],
  );
  assert.ok(f.lineStarts && f.lineStarts.length > 30);
});

test.run();
