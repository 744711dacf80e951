// The decision function: precedence, wildcards and protected resources, conditions, masks,
// limits, the baseline, and agreement with explain().

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decide } from '../../../runtime/policy/decide.ts';
import { explain } from '../../../runtime/policy/explain.ts';
import { fact, loadText, principal, statement } from '../../support/decide.ts';
import { compileTexts, HEADER } from '../../support/compile.ts';
import { loadPolicy } from '../../../runtime/policy/load.ts';

const policy = loadText(`
target db: postgres {
  embedded
  masking { hash_key env "K" }
}

group "readers" {
  on db {
    allow read on public.*, catalog
    mask public.customers.email with email
    mask public.customers.ssn with hash
    limit rows 1000
  }
}

group "writers" {
  on db {
    allow insert, update, delete on public.orders
    approve update, delete on public.* when unbounded by "dba"
    deny delete on public.orders when claim "env" = "prod"
    mask public.customers.email with keep_last(3)
    mask public.customers.ssn with redact
    limit rows 50
  }
}

group "superuser" {
  on db {
    allow read on *
    allow call on *
    allow set on *
    allow read on pg_catalog.*
  }
}

group "dba" { }

on db {
  deny read on public.secrets
  deny call dangerous_functions
}
`);

const readers = principal(policy, 'db', ['readers']);
const writers = principal(policy, 'db', ['writers'], { env: 'dev' });
const both = principal(policy, 'db', ['readers', 'writers'], { env: 'dev' });
const nobody = principal(policy, 'db', ['unknown-group']);
const root = principal(policy, 'db', ['superuser']);

const select = (t: string) => statement([fact('select', t)]);

test('an allowed read is allowed, with the rule that allowed it', () => {
  const d = decide(readers, [select('public.orders')]);
  assert.is(d.effect, 'allow');
  assert.equal(d.rules.map((r) => policy.rules[r].text), ['allow read on public.*, catalog']);
  assert.is(d.deciding, null);
});

test('what no rule allows is denied, naming the fact', () => {
  const d = decide(readers, [statement([fact('insert', 'public.orders')])]);
  assert.is(d.effect, 'deny');
  assert.is(d.deciding?.reason, 'no_rule');
  assert.equal(d.deciding?.fact, fact('insert', 'public.orders'));
});

test('an identity with no known group gets nothing, not even SELECT 1', () => {
  assert.is(decide(nobody, [select('public.orders')]).effect, 'deny');
  assert.is(decide(nobody, [statement([])]).effect, 'deny');
  assert.is(decide(nobody, [statement([fact('transaction', '')])]).effect, 'deny');
});

test('the baseline: transaction control and SELECT 1 for identities holding any grant', () => {
  assert.is(decide(readers, [statement([fact('transaction', '')])]).effect, 'allow');
  assert.is(decide(readers, [statement([])]).effect, 'allow');
  assert.is(decide(readers, [statement([fact('set', 'application_name')])]).effect, 'allow');
  assert.is(decide(readers, [statement([fact('set', 'search_path')])]).effect, 'deny');
});

test('deny beats allow whatever the group, and the deny rule is named', () => {
  const d = decide(root, [select('public.secrets')]);
  assert.is(d.effect, 'deny');
  assert.is(d.deciding?.reason, 'rule');
  assert.equal(d.rules.map((r) => policy.rules[r].text), ['deny read on public.secrets']);
});

test('approve beats allow; deny beats approve', () => {
  const unbounded = statement([fact('update', 'public.orders', { unbounded: true })]);
  const d = decide(writers, [unbounded]);
  assert.is(d.effect, 'approve');
  assert.equal(d.approvals.map((a) => a.approval.group), ['dba']);
  const bounded = statement([fact('update', 'public.orders')]);
  assert.is(decide(writers, [bounded]).effect, 'allow');
  const prod = principal(policy, 'db', ['writers'], { env: 'prod' });
  assert.is(decide(prod, [statement([fact('delete', 'public.orders', { unbounded: true })])]).effect, 'deny');
});

test('approve alone grants (after approval) what no allow covers', () => {
  const d = decide(writers, [statement([fact('delete', 'public.items', { unbounded: true })])]);
  assert.is(d.effect, 'approve');
  assert.is(decide(writers, [statement([fact('delete', 'public.items')])]).effect, 'deny');
});

test('a missing claim: deny and approve rules still apply, allow rules do not', () => {
  const noClaim = principal(policy, 'db', ['writers']);
  assert.is(decide(noClaim, [statement([fact('delete', 'public.orders')])]).effect, 'deny');
});

test('the query is decided by its strictest fact across statements', () => {
  const q = [select('public.orders'), statement([fact('insert', 'public.orders')])];
  assert.is(decide(readers, q).effect, 'deny');
  assert.is(decide(readers, q).deciding?.statement, 1);
  assert.is(decide(both, q).effect, 'allow');
});

test('a forbidden fact is denied whatever the policy', () => {
  const d = decide(root, [statement([fact('forbidden', '', { detail: 'syntax error' })])]);
  assert.is(d.effect, 'deny');
  assert.is(d.deciding?.reason, 'forbidden');
});

test('`*` grants nothing in pg_catalog; `catalog` and `pg_catalog.*` do, but never secrets', () => {
  const r2 = principal(policy, 'db', ['superuser']);
  assert.is(decide(r2, [select('pg_catalog.pg_class')]).effect, 'allow', 'pg_catalog.* grants pg_class');
  assert.is(decide(r2, [select('pg_catalog.pg_authid')]).effect, 'deny', 'no wildcard grants pg_authid');
  assert.is(decide(readers, [select('pg_catalog.pg_class')]).effect, 'allow', 'catalog grants pg_class');
  assert.is(decide(readers, [select('pg_catalog.pg_authid')]).effect, 'deny');
  assert.is(decide(readers, [select('pg_catalog.pg_stat_activity')]).effect, 'deny');
  assert.is(decide(readers, [select('information_schema.user_mapping_options')]).effect, 'deny');
});

test('`allow call on *` reaches no built-in, and dangerous functions stay denied', () => {
  assert.is(decide(root, [statement([fact('call', 'public.my_fn')])]).effect, 'allow');
  assert.is(decide(root, [statement([fact('call', 'pg_catalog.pg_read_file')])]).effect, 'deny');
  assert.is(decide(root, [statement([fact('call', 'pg_catalog.lower')])]).effect, 'deny');
});

test('`allow set on *` grants no privileged or text setting', () => {
  assert.is(decide(root, [statement([fact('set', 'work_mem')])]).effect, 'allow');
  assert.is(decide(root, [statement([fact('set', 'role')])]).effect, 'deny');
  assert.is(decide(root, [statement([fact('set', 'session_authorization')])]).effect, 'deny');
  assert.is(decide(root, [statement([fact('set', 'client_encoding')])]).effect, 'deny');
});

test('masks accumulate over groups; the strictest strategy wins; the smallest limit applies', () => {
  const d = decide(both, [select('public.customers')]);
  assert.is(d.effect, 'allow');
  const byColumn = Object.fromEntries(d.masks.map((m) => [m.column, m.strategy]));
  assert.equal(byColumn.email, { name: 'redact' }, 'email and keep_last(3) reveal different parts: redact');
  assert.equal(byColumn.ssn, { name: 'redact' }, 'redact beats hash');
  assert.equal(d.limit?.rows, 50);
  const r = decide(readers, [select('public.customers')]);
  assert.equal(Object.fromEntries(r.masks.map((m) => [m.column, m.strategy.name])), { email: 'email', ssn: 'hash' });
  assert.equal(r.limit?.rows, 1000);
  assert.equal(decide(readers, [select('public.orders')]).masks, []);
});

test('explain agrees with decide on every fact it is given', () => {
  const facts = [
    fact('select', 'public.orders'),
    fact('select', 'pg_catalog.pg_authid'),
    fact('update', 'public.orders', { unbounded: true }),
    fact('delete', 'public.orders'),
    fact('call', 'pg_catalog.pg_sleep'),
    fact('set', 'role'),
    fact('transaction', ''),
  ];
  for (const p of [readers, writers, both, nobody, root]) {
    for (const f of facts) {
      const e = explain(p, [statement([f])]);
      assert.is(e.facts[0].effect, e.decision.effect, `${f.action} ${f.resource}`);
    }
  }
});

test('explain says why a rule did not apply', () => {
  const e = explain(readers, [statement([fact('delete', 'public.orders')])]);
  const why = e.facts[0].considered.map((c) => c.why);
  assert.ok(why.some((w) => w.includes('group "writers"')), why.join('; '));
});

test('time windows decide by the clock in their zone', () => {
  const p = loadText(`
target db: postgres { embedded }
group "g" {
  on db {
    allow select on public.t when during mon-fri 09:00-17:00 tz "Europe/Berlin"
    allow select on public.n when during 22:00-06:00
  }
}`);
  const g = principal(p, 'db', ['g']);
  const wednesdayNoonBerlin = Date.parse('2026-11-25T11:00:00Z');
  const saturdayNoonBerlin = Date.parse('2026-11-28T11:00:00Z');
  const wednesdayEveningBerlin = Date.parse('2026-11-25T17:30:00Z');
  assert.is(decide(g, [select('public.t')], wednesdayNoonBerlin).effect, 'allow');
  assert.is(decide(g, [select('public.t')], saturdayNoonBerlin).effect, 'deny');
  assert.is(decide(g, [select('public.t')], wednesdayEveningBerlin).effect, 'deny');
  assert.is(decide(g, [select('public.n')], Date.parse('2026-11-25T23:30:00Z')).effect, 'allow');
  assert.is(decide(g, [select('public.n')], Date.parse('2026-11-26T05:59:00Z')).effect, 'allow');
  assert.is(decide(g, [select('public.n')], Date.parse('2026-11-26T06:00:00Z')).effect, 'deny');
});

test('a group claim cannot reach the every-identity bit', () => {
  const p = principal(policy, 'db', ['*']);
  assert.is(decide(p, [select('public.orders')]).effect, 'deny');
});

test('a rule naming a relation or column longer than PostgreSQL keeps applies to the name the server holds', async () => {
  const { classify } = await import('../../../runtime/sql/classify.ts');
  const { loadParser } = await import('../../../runtime/sql/parser.ts');
  await loadParser();
  const long = 'customer_personal_information_including_social_security_numbers_v2'; // 66 bytes
  const out = compileTexts({ 'policy.pam': `${HEADER}
target db: postgres { embedded }
group "g" { on db {
  allow read on public.*
  deny select on public.${long}
  mask public.orders.${long}_column with redact
} }` });
  assert.equal(out.diagnostics.map((d) => d.code), ['PAM3008', 'PAM3008']);
  const p = loadPolicy(JSON.parse(JSON.stringify(out.policy)));
  const who = principal(p, 'db', ['g']);
  // the SQL names it as written, or as the server holds it: both are the cut name
  for (const sql of [`SELECT * FROM ${long}`, `SELECT * FROM ${long.slice(0, 63)}`, `SELECT * FROM "${long}"`]) {
    assert.is(decide(who, classify(sql).statements).effect, 'deny', sql);
  }
  assert.is(decide(who, classify('SELECT * FROM orders').statements).masks[0]?.column, `${long}_column`.slice(0, 63));
});

test('rows moved to a name the identity may do more with are refused: rename, SET SCHEMA, INHERIT, ATTACH PARTITION, a schema rename', async () => {
  const { classify } = await import('../../../runtime/sql/classify.ts');
  const { loadParser } = await import('../../../runtime/sql/parser.ts');
  await loadParser();
  const p = loadText(`
target db: postgres { embedded }
group "g" { on db {
  allow read, insert, update, delete on *
  allow alter, create on *
  deny select, delete on public.secrets
  approve delete on public.ledger by "dba"
} }
group "ops" { on db { allow read, alter on public.* } }
group "auditors" { on db { allow read on audit.* } }
group "dba" {}`);
  const who = principal(p, 'db', ['g']);
  const run = (sql: string) => {
    const d = decide(who, classify(sql).statements);
    return d.effect === 'deny' ? `deny ${d.deciding!.fact.action} on ${d.deciding!.fact.resource}${d.deciding!.note ? ` — ${d.deciding!.note}` : ''}` : d.effect;
  };
  assert.is(run('ALTER TABLE secrets RENAME TO notes'), 'deny select on public.secrets — the statement makes the rows of public.secrets reachable as public.notes, where this identity may select them');
  assert.is(run('ALTER TABLE secrets SET SCHEMA archive'), 'deny select on public.secrets — the statement makes the rows of public.secrets reachable as archive.secrets, where this identity may select them');
  assert.is(run('ALTER TABLE secrets INHERIT everything'), 'deny select on public.secrets — the statement makes the rows of public.secrets reachable as public.everything, where this identity may select them');
  assert.is(run('ALTER TABLE everything ATTACH PARTITION secrets FOR VALUES IN (1)'), 'deny select on public.secrets — the statement makes the rows of public.secrets reachable as public.everything, where this identity may select them');
  assert.is(run('ALTER SCHEMA public RENAME TO pub2'), 'deny select on public.secrets — the statement makes the rows of public.secrets reachable as pub2.secrets, where this identity may select them');
  // an approval on the old name is not undone by the new one either
  assert.is(run('ALTER TABLE ledger RENAME TO ledger2'), 'deny delete on public.ledger — the statement makes the rows of public.ledger reachable as public.ledger2, where this identity may delete them');
  // moves that give no more: a plain table; rows reached where they are denied already
  assert.is(run('ALTER TABLE notes RENAME TO notes2'), 'allow');
  assert.is(run('ALTER TABLE notes INHERIT secrets'), 'allow');
  assert.is(run('ALTER TABLE secrets RENAME COLUMN a TO b'), 'allow');
  // the agent reads the reason in the gateway's denial
  const { describeDenial } = await import('../../../runtime/postgres/gateway/denial-text.ts');
  const stmts = classify('ALTER TABLE secrets RENAME TO notes').statements;
  assert.match(describeDenial(p, decide(who, stmts), stmts).message, /^pamc: permission denied: select on public.secrets: the statement makes the rows of public.secrets reachable as public.notes, where this identity may select them \(rule policy.pam:\d+:\d+ `deny select, delete on public.secrets`\)$/);
  // and for the policy's other identities: one that may rename what another is denied
  const ops = principal(p, 'db', ['ops']);
  const d = decide(ops, classify('ALTER TABLE secrets RENAME TO notes').statements);
  assert.equal([d.effect, d.deciding?.note], ['deny', "the statement makes the rows of public.secrets reachable as public.notes, where this rule's deny would no longer hold for the identities it denies"]);
  const auditors = decide(who, classify('ALTER TABLE ledger SET SCHEMA audit').statements);
  assert.equal([auditors.effect, auditors.deciding?.note], ['deny', 'the statement makes the rows of public.ledger reachable as audit.ledger, where this rule lets identities select them that may not under the old name']);
  const approval = decide(ops, classify('ALTER TABLE ledger RENAME TO ledger2').statements);
  assert.equal([approval.effect, approval.deciding?.fact.action, approval.deciding?.note], ['deny', 'delete', "the statement makes the rows of public.ledger reachable as public.ledger2, where this rule's approval would no longer be asked for"]);
  assert.is(decide(ops, classify('ALTER TABLE notes RENAME TO notes2').statements).effect, 'allow');
  // masks are by name: another identity's masks must hold under the new name
  const masked = loadText(`
target db: postgres { embedded }
group "ops" { on db { allow read, alter on public.* } }
group "owners" { on db { allow read on public.* allow alter on * } }
group "analysts" { on db {
  allow read on public.*
  mask public.customers.ssn with redact
  mask public.customers_v2.ssn with redact
} }`);
  const op = principal(masked, 'db', ['ops']);
  const m1 = decide(op, classify('ALTER TABLE customers RENAME TO people').statements);
  assert.equal([m1.effect, m1.deciding?.note], ['deny', "the statement makes the rows of public.customers reachable as public.people, where this rule's mask of column ssn would stop masking them"]);
  assert.is(decide(op, classify('ALTER TABLE customers RENAME TO customers_v2').statements).effect, 'allow');
  const schema = decide(principal(masked, 'db', ['owners']), classify('ALTER SCHEMA public RENAME TO p2').statements);
  assert.equal([schema.effect, schema.deciding?.note], ['deny', "the statement makes the rows of public.customers reachable as p2.customers, where this rule's mask of column ssn would stop masking them"]);
  // and a column's rename: masks name columns
  const col = decide(op, classify('ALTER TABLE customers RENAME COLUMN ssn TO tax_id').statements);
  assert.equal([col.effect, col.deciding?.fact, col.deciding?.note], ['deny', { action: 'alter', resource: 'public.customers' }, "the statement makes column ssn of public.customers reachable as column tax_id, where this rule's mask of column ssn would stop masking it"]);
  assert.is(decide(op, classify('ALTER TABLE customers RENAME COLUMN name TO ssn').statements).effect, 'allow');
  assert.is(decide(op, classify('ALTER TABLE customers_v2 RENAME COLUMN name TO full_name').statements).effect, 'allow');
  const alike = loadText(`
target db: postgres { embedded }
group "ops" { on db { allow read, alter on public.* } }
group "analysts" { on db { allow read on public.* mask public.customers.ssn, public.customers.tax_id with redact mask public.vault.* with null } }
group "auditors" { on db { allow read on public.* mask public.customers.tax_id with null } }`);
  const op2 = principal(alike, 'db', ['ops']);
  assert.is(decide(op2, classify('ALTER TABLE vault RENAME COLUMN code TO other').statements).effect, 'allow');
  // tax_id is masked for the analysts alike (same rule), but the auditors' null mask of tax_id does not matter: it only adds
  assert.is(decide(op2, classify('ALTER TABLE customers RENAME COLUMN ssn TO tax_id').statements).effect, 'allow');
  assert.is(decide(op2, classify('ALTER TABLE customers RENAME COLUMN tax_id TO ssn').statements).effect, 'deny');
});


test('one fact, several names: a wildcard fact meets the denials and approvals of its members, a relation those of its partitions and inheritance relatives', async () => {
  const p = loadText(`
target db: postgres { embedded }
group "r" { on db {
  allow read, delete on public.*, archive.*
  deny read on public.secrets
  approve delete on archive.ledger by "dba" within 10m
} }
group "dba" { on db { allow read on * } }`);
  const r = principal(p, 'db', ['r']);
  // schema_to_xml('public'): select public.* reads public.secrets too
  const wide = decide(r, [statement([fact('select', 'public.*')])]);
  assert.equal([wide.effect, wide.deciding?.fact, wide.deciding?.note], ['deny', { action: 'select', resource: 'public.secrets' }, 'the statement reads them as public.*: public.secrets is one of public.*']);
  assert.is(decide(r, [statement([fact('select', 'archive.*')])]).effect, 'allow');
  const held = decide(r, [statement([fact('delete', 'archive.*')])]);
  assert.equal([held.effect, held.approvals.length], ['approve', 1]);
  // a member's deny binds only the identities it applies to
  assert.is(decide(principal(p, 'db', ['dba']), [statement([fact('select', '*')])]).effect, 'allow');
  // the statements that read a whole schema or database, as classified: each meets public.secrets' deny
  const { classify } = await import('../../../runtime/sql/classify.ts');
  const wider = loadText(`
target db: postgres { embedded }
group "r" { on db {
  allow read on *
  allow create on *
  allow call on pg_catalog.schema_to_xml, pg_catalog.database_to_xml
  deny read on public.secrets
} }`);
  const rw = principal(wider, 'db', ['r']);
  for (const sql of ["SELECT schema_to_xml('public', true, false, '')", "SELECT database_to_xml(true, false, '')", 'CREATE PUBLICATION p FOR TABLES IN SCHEMA public']) {
    const d = decide(rw, classify(sql).statements);
    assert.equal([d.effect, d.deciding?.fact.resource], ['deny', 'public.secrets'], sql);
  }
  assert.is(decide(rw, classify('SELECT * FROM public.orders').statements).effect, 'allow');
  // relatives, as the gateway's catalog gives them
  const relatives = (k: string) => (k === 'public.events' ? ['public.secrets', 'public.events_2'] : k === 'archive.events_old' ? ['archive.ledger'] : []);
  const viaParent = decide(r, [statement([fact('select', 'public.events')])], Date.now(), relatives);
  assert.equal([viaParent.effect, viaParent.deciding?.fact.resource, viaParent.deciding?.note], ['deny', 'public.secrets', 'the statement reads them as public.events: the rows of public.secrets are rows of public.events too (partitions and inheritance)']);
  assert.is(decide(r, [statement([fact('select', 'public.events')])]).effect, 'allow'); // without a catalog (pamc eval): by name
  assert.is(decide(r, [statement([fact('select', 'public.other')])], Date.now(), relatives).effect, 'allow');
  const heldViaChild = decide(r, [statement([fact('delete', 'archive.events_old')])], Date.now(), relatives);
  assert.equal([heldViaChild.effect, heldViaChild.deciding?.fact.resource], ['approve', 'archive.ledger']);
  // no catalog yet: a relation could have any relative, and the policy denies some by name
  const unknown = decide(r, [statement([fact('select', 'public.events')])], Date.now(), () => null);
  assert.equal([unknown.effect, unknown.deciding?.reason], ['deny', 'no_rule']);
  assert.match(unknown.deciding?.note ?? '', /catalog snapshot is not loaded/);
  const plain = principal(loadText(`
target db: postgres { embedded }
group "r" { on db { allow read on public.* } }`), 'db', ['r']);
  assert.is(decide(plain, [statement([fact('select', 'public.events')])], Date.now(), () => null).effect, 'allow');
});

test.run();
