// Schema-aware checking against a real PostgreSQL: `pamc schema pull` writes the schema of a
// target through its policy credentials (pg_dump with the password in its environment), and
// `pamc check --schema` finds the typos planted in a policy: masks on a table or column that does
// not exist are errors, other misses warnings, each with "did you mean".

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileFiles } from '../../../compiler/index.ts';
import { schemaCheck } from '../../../compiler/schema/index.ts';
import { loadPolicyFiles } from '../../../compiler/sources.ts';
import { lineIndex } from '../../../language/source.ts';
import { postgresAvailable, startPostgres, type PostgresServer } from '../../support/postgres-server.ts';

const root = resolve(import.meta.dirname, '../../..');
const available = postgresAvailable();
const PASSWORD_VAR = 'PAMC_E2E_SCHEMA_PASSWORD';
const DATABASE = 'pamc_schema';

let pg: PostgresServer;
let dir: string;

function pamc(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(root, 'bin/pamc.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function policy(password: string = `env "${PASSWORD_VAR}"`, extra = ''): string {
  return `policy "schema-e2e"
identity {
  issuer "https://idp.example.com/"
  audience "pamc"
  jwks file "jwks.json"
}
target shop: postgres {
  host "${pg.host}"
  port ${pg.port}
  database "${DATABASE}"
  login user "${pg.users.scram.user}" password ${password}
  search_path public, analytics
}
set pii = [customers.email, customers.phnoe]
group "analysts" {
  on shop {
    allow read on public.orders, public.ordres, analytics.*, analytcs.*, revenue, catalog
    allow call on public.add_one, public.add_onne
    mask pii with redact
    mask public.customers."Phone" with keep_last(4)
    mask public.custmers.ssn with redact
    mask analytics.revenue.total with redact
    mask public.events_2026.at with redact
  }
}
${extra}`;
}

test.before(async () => {
  if (!available) return;
  pg = await startPostgres();
  await pg.psql(`DROP DATABASE IF EXISTS ${DATABASE}; CREATE DATABASE ${DATABASE} OWNER ${pg.users.scram.user};`);
  await pg.psql(
    `CREATE SCHEMA analytics;
     CREATE TABLE public.customers (id serial PRIMARY KEY, email text, "Phone" text, ssn text);
     CREATE TABLE public.orders (id int, customer_id int REFERENCES public.customers(id), total numeric);
     CREATE TABLE public.events (id int, at date) PARTITION BY RANGE (at);
     CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
     CREATE VIEW analytics.revenue AS SELECT c.email, sum(o.total) AS total FROM public.orders o JOIN public.customers c ON c.id = o.customer_id GROUP BY c.email;
     CREATE FUNCTION public.add_one(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 1 $$;`,
    { user: pg.users.scram, database: DATABASE },
  );
  dir = mkdtempSync(join(tmpdir(), 'pamc-schema-'));
  writeFileSync(join(dir, 'policy.pam'), policy());
});

test.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('pamc schema pull writes the schema through the policy credentials', () => {
  if (!available) return console.log('skipped: no PostgreSQL server');
  const r = pamc(['schema', 'pull', 'shop', '--policy', 'policy.pam', '-o', 'schema.sql'], { [PASSWORD_VAR]: pg.users.scram.password });
  assert.is(r.code, 0, r.stderr);
  const dump = readFileSync(join(dir, 'schema.sql'), 'utf8');
  assert.match(dump, /CREATE TABLE public\.customers/);
  assert.match(dump, /CREATE VIEW analytics\.revenue/);
  assert.not.match(dump, /ALTER TABLE .* OWNER TO/, 'pulled with --no-owner');
  assert.not.ok(dump.includes(pg.users.scram.password) || r.stderr.includes(pg.users.scram.password), 'the password is nowhere in the output');
});

test('pamc check --schema finds the planted typos, masks as errors', async () => {
  if (!available) return console.log('skipped: no PostgreSQL server');
  const input = await loadPolicyFiles([join(dir, 'policy.pam')]);
  const out = compileFiles(input.files, undefined, [await schemaCheck([join(dir, 'schema.sql')])]);
  const text = readFileSync(join(dir, 'policy.pam'), 'utf8');
  const lines = lineIndex(text);
  const found = out.diagnostics.map((d) => {
    const at = lines.position(d.span.start);
    return `${at.line}:${at.column} ${d.severity} ${d.code} ${text.slice(d.span.start, d.span.end)} | ${d.help ?? ''}`;
  });
  assert.equal(found, [
    '14:29 error PAM4012 customers.phnoe | did you mean `"Phone"`? a mask on a column that does not exist masks nothing',
    '17:34 warning PAM4010 public.ordres | did you mean `public.orders`? the rule decides nothing for it today',
    '17:62 warning PAM4014 analytcs.* | did you mean `analytics`? the wildcard grants nothing today',
    '18:35 warning PAM4013 public.add_onne | did you mean `public.add_one`? the rule decides nothing for it today',
    '21:10 error PAM4011 public.custmers.ssn | did you mean `public.customers`? a mask on a name that does not exist masks nothing',
  ]);
});

test('the command exits 1 on a mask typo and prints did-you-mean', () => {
  if (!available) return console.log('skipped: no PostgreSQL server');
  const r = pamc(['check', '--no-analysis', '--schema', 'schema.sql', 'policy.pam']);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /error\[PAM4011\]: the masked table `public\.custmers` is not in `schema\.sql`/);
  assert.match(r.stdout, /2 errors, 3 warnings/);
  const targeted = pamc(['check', '--schema', 'shop=schema.sql', '--format', 'github', 'policy.pam']);
  assert.is(targeted.code, 1);
  assert.match(targeted.stdout, /::error file=policy\.pam,line=21,/);
  const wrong = pamc(['check', '--schema', 'nope=schema.sql', 'policy.pam']);
  assert.is(wrong.code, 2);
  assert.match(wrong.stderr, /no postgres target `nope` \(targets: shop\)/);
});

test('pull failures are clean: wrong password, missing pg_dump, embedded target', () => {
  if (!available) return console.log('skipped: no PostgreSQL server');
  const bad = pamc(['schema', 'pull', 'shop', '--policy', 'policy.pam'], { [PASSWORD_VAR]: 'not-the-password' });
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /password authentication failed/);
  assert.match(bad.stderr, /pg_dump could not read the schema of `shop`/);
  assert.not.match(bad.stderr, /not-the-password/);
  const unset = pamc(['schema', 'pull', 'shop', '--policy', 'policy.pam'], { [PASSWORD_VAR]: '' });
  assert.is(unset.code, 2);
  assert.match(unset.stderr, /PAMC_E2E_SCHEMA_PASSWORD is not set/);
  const noDump = pamc(['schema', 'pull', 'shop', '--policy', 'policy.pam', '--pg-dump', '/nonexistent/pg_dump'], { [PASSWORD_VAR]: 'x' });
  assert.is(noDump.code, 2);
  assert.match(noDump.stderr, /`\/nonexistent\/pg_dump` does not exist/);
  writeFileSync(join(dir, 'embedded.pam'), policy().replace(/target shop: postgres \{[^}]*\}/, 'target shop: postgres {\n  embedded seed "seed.sql"\n}'));
  const embedded = pamc(['schema', 'pull', 'shop', '--policy', 'embedded.pam']);
  assert.is(embedded.code, 2, embedded.stderr);
  assert.match(embedded.stderr, /target `shop` is embedded: there is no server to pull from/);
});

test.run();
