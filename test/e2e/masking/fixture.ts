// The masked shop every masking e2e test runs against: tables whose columns hold distinctive
// secret values, views and materialized views over them, a policy that masks them for the
// group "masked" (and lets that group do enough — read, write a scratch table, create
// objects, call SQL-running functions, COPY — that refusals come from masking, not from the
// access rules), and the byte patterns of every secret for the byte tap to look for.

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { findSecrets, integerNeedles, textNeedles, type ByteTap, type Hit, type Needle } from '../../support/byte-tap.ts';
import type { GatewayFixture } from '../../support/gateway.ts';

export const run = promisify(execFile);

/** The secrets, by column. Every one must stay off the wire for the group "masked". */
export const SECRETS = {
  ssn: ['078-05-1120', '219-09-9999'],
  email: ['quinlan.marsh@corp-example.net', 'zephyr.okonkwo@mailbox-example.org'],
  phone: ['+1-415-555-0142', '+44-20-7946-0958'],
  salary: [918273645, 827364519],
  balance: [7362819405512n, 6251703948273n],
  credit: [5550123456789n, 4449012345678n],
  vault: ['vault-secret-XQ7Z-alpha', 'vault-secret-KP3W-bravo'],
  part: ['PART-SSN-5521-ZED', 'PART-SSN-7730-YAK'],
};

/** The corpus clients, as identifiers (objects a case creates are named after them). */
export const CLIENT_NAMES = ['psql', 'pg', 'pg_binary', 'postgres_js', 'psycopg', 'pgjdbc'];

export const SETUP = `
CREATE SCHEMA hr;
CREATE TABLE customers (
  id int PRIMARY KEY, name text NOT NULL, email text, ssn text, phone text,
  salary int, balance bigint, credit numeric(20,0), note text
);
INSERT INTO customers VALUES
  (1, 'Ann', '${SECRETS.email[0]}', '${SECRETS.ssn[0]}', '${SECRETS.phone[0]}', ${SECRETS.salary[0]}, ${SECRETS.balance[0]}, ${SECRETS.credit[0]}, 'first'),
  (2, 'Bob', '${SECRETS.email[1]}', '${SECRETS.ssn[1]}', '${SECRETS.phone[1]}', ${SECRETS.salary[1]}, ${SECRETS.balance[1]}, ${SECRETS.credit[1]}, 'second'),
  (3, 'Cy', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE vault (k text, v text);
INSERT INTO vault VALUES ('alpha', '${SECRETS.vault[0]}'), ('bravo', '${SECRETS.vault[1]}');
CREATE TABLE scratch (t text, n bigint);
INSERT INTO scratch VALUES ('clean', 1);
CREATE TABLE parts (id int, ssn text) PARTITION BY RANGE (id);
CREATE TABLE parts_low PARTITION OF parts FOR VALUES FROM (0) TO (100);
INSERT INTO parts VALUES (1, '${SECRETS.part[0]}'), (2, '${SECRETS.part[1]}');
CREATE VIEW v_customers AS SELECT id, name, ssn, email FROM customers;
CREATE VIEW v_nested AS SELECT id, ssn AS s FROM v_customers;
CREATE VIEW v_expr AS SELECT id, upper(ssn) AS u, ssn || '!' AS c, salary + 1 AS sal FROM customers;
CREATE MATERIALIZED VIEW mv_customers AS SELECT id, ssn, salary FROM customers;
CREATE MATERIALIZED VIEW mv_nested AS SELECT * FROM v_nested;
CREATE VIEW hr.people AS SELECT c.id, c.ssn AS national_id, c.email AS contact FROM public.customers c;
CREATE FUNCTION leak_fn() RETURNS SETOF text LANGUAGE sql STABLE AS 'SELECT ssn FROM public.customers';
CREATE FUNCTION leak_fn_const() RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT ssn FROM public.customers WHERE id = 1';
CREATE FUNCTION leak_notice() RETURNS int LANGUAGE plpgsql AS $$ DECLARE v text; BEGIN SELECT ssn INTO v FROM public.customers WHERE id = 1; RAISE NOTICE 'found %', v; RETURN 1; END $$;
CREATE VIEW hr.scratch AS SELECT ssn AS t, 1::bigint AS n FROM public.customers;
CREATE SEQUENCE seq1;
CREATE TABLE plain_notes (id int, memo text);
INSERT INTO plain_notes VALUES (1, 'memo-visible-in-the-table');
CREATE VIEW v_memo AS SELECT id, memo FROM plain_notes;
${CLIENT_NAMES.map((c) => `CREATE TABLE rn_${c} (id int, secret text); INSERT INTO rn_${c} VALUES (1, '${SECRETS.vault[0]}');`).join('\n')}
ANALYZE customers;
`;

export const HASH_KEY_ENV = 'PAMC_E2E_MASK_KEY';
export const HASH_KEY = 'e2e-hash-key-0123456789';
process.env[HASH_KEY_ENV] = HASH_KEY;

/** The group "masked" reads and writes broadly; "plain" reads everything unmasked (for comparisons). */
export const RULES = `
group "masked" {
  on db {
    allow read on public.*, hr.*, catalog
    allow read on pg_catalog.pg_stats, pg_catalog.pg_stat_activity, pg_catalog.pg_locks
    allow insert, update, delete, merge on public.scratch, public.customers
    allow create on public.*, pg_temp.*
    allow copy_out on public.*, hr.*
    allow alter on public.*
    allow call on sql_functions, public.leak_fn, public.leak_fn_const, public.leak_notice, pg_catalog.set_config, pg_catalog.pg_notify, pg_catalog.setval, pg_catalog.nextval, pg_catalog.pg_advisory_lock, pg_catalog.pg_advisory_unlock, pg_catalog.pg_sleep
    allow notify, listen on *
    allow set on search_path
    allow refresh on public.*
    mask public.customers.ssn with redact
    mask public.customers.email with email
    mask public.customers.phone with keep_last(4)
    mask public.customers.salary with redact
    mask public.customers.balance with hash
    mask public.customers.credit with null
    mask public.vault.* with redact
    mask public.parts.ssn with redact
    mask public.v_memo.memo with redact
${CLIENT_NAMES.map((c) => `    mask public.rn_${c}.secret with redact`).join('\n')}
  }
}
group "plain" {
  on db {
    allow read on public.*, hr.*, catalog
  }
}`;

export const TARGET_SETTINGS = {
  default: `masking { hash_key env "${HASH_KEY_ENV}" }`,
  copy: `masking { copy mask  hash_key env "${HASH_KEY_ENV}" }`,
  strict: `masking { predicates deny  derived deny  copy mask  hash_key env "${HASH_KEY_ENV}" }`,
};

/** Every byte pattern that must never reach the group "masked". */
export function secretNeedles(): Needle[] {
  const out: Needle[] = [];
  for (const s of SECRETS.ssn) out.push(...textNeedles(s));
  for (const e of SECRETS.email) {
    out.push(...textNeedles(e));
    // the email strategy shows the first character of the local part and the domain
    const local = e.slice(0, e.indexOf('@'));
    out.push({ label: `${e} (local part after its first character)`, bytes: Buffer.from(local.slice(1)) });
    out.push({ label: `${e} (local part reversed)`, bytes: Buffer.from([...local].reverse().join('').slice(0, -1)) });
  }
  for (const p of SECRETS.phone) {
    out.push(...textNeedles(p));
    // keep_last(4) shows the last four characters
    out.push({ label: `${p} (hidden part)`, bytes: Buffer.from(p.slice(0, -4)) });
    out.push({ label: `${p} (hidden part reversed)`, bytes: Buffer.from([...p.slice(0, -4)].reverse().join('').slice(-4)) });
  }
  for (const v of [...SECRETS.salary, ...SECRETS.balance, ...SECRETS.credit]) out.push(...integerNeedles(v));
  for (const v of [...SECRETS.vault, ...SECRETS.part]) out.push(...textNeedles(v));
  return out;
}

export const NEEDLES = secretNeedles();

export function leaks(bytes: Buffer): Hit[] {
  return findSecrets(bytes, NEEDLES);
}

// ---------------------------------------------------------------------------------------------
// Running statements with real clients, through the tap

/** What the client saw of one case. */
export type Outcome =
  | { kind: 'ok'; text: string }
  | { kind: 'refused'; message: string }
  | { kind: 'error'; code: string; message: string };

export function describeOutcome(o: Outcome): string {
  if (o.kind === 'ok') return `ok: ${o.text.slice(0, 300)}`;
  if (o.kind === 'refused') return `refused: ${o.message}`;
  return `error ${o.code}: ${o.message}`;
}

function classifyError(code: string | undefined, message: string): Outcome {
  if (code === '42501' && /pamc: permission denied/.test(message)) return { kind: 'refused', message };
  return { kind: 'error', code: code ?? '?', message };
}

export interface ClientEnv {
  gw: GatewayFixture;
  tap: ByteTap;
  token: string;
}

/** psql: each step is one -c (one simple Query message, several statements allowed). */
export async function viaPsql(env: ClientEnv, steps: readonly string[], extraArgs: string[] = []): Promise<Outcome> {
  const conninfo = `host=${env.tap.host} port=${env.tap.port} dbname=${env.gw.database} user=agent sslmode=disable`;
  const args = [conninfo, '-X', '-q', '-A', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', ...extraArgs, ...steps.flatMap((s) => ['-c', s])];
  try {
    const r = await run('psql', args, { env: { ...process.env, PGPASSWORD: env.token, PGCONNECT_TIMEOUT: '10' }, timeout: 30_000, maxBuffer: 64 << 20 });
    return { kind: 'ok', text: r.stdout };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    const m = /(?:ERROR|FATAL):\s+([0-9A-Z]{5}):\s+(.*)/.exec(x.stderr ?? '');
    if (!m) return { kind: 'error', code: '?', message: (x.stderr || x.message).trim() };
    return classifyError(m[1], m[2].trim());
  }
}

function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));
}

/**
 * node-postgres: a step with one statement runs as a named prepared statement twice (Parse,
 * Bind, Describe portal, Execute; then without Parse), then as the unnamed statement, in binary
 * when asked; a step with several statements runs with the simple protocol.
 */
export async function viaNodePostgres(env: ClientEnv, steps: readonly string[], options: { binary?: boolean } = {}): Promise<Outcome> {
  const client = new pg.Client({ host: env.tap.host, port: env.tap.port, database: env.gw.database, user: 'agent', password: env.token });
  client.on('error', () => {});
  client.on('notice', () => {});
  await client.connect();
  const out: string[] = [];
  try {
    let i = 0;
    for (const step of steps) {
      const single = !/;\s*\S/.test(step.trim().replace(/;\s*$/, ''));
      if (single && /^\s*(select|with|values|table|explain)\b/i.test(step)) {
        const q = { name: `q${i++}`, text: step, ...(options.binary ? { binary: true } : {}) };
        const r1 = await client.query(q);
        const r2 = await client.query(q);
        // and the unnamed statement, parsed again over the previous one
        const r3 = await client.query({ text: step, queryMode: 'extended', ...(options.binary ? { binary: true } : {}) } as pg.QueryConfig);
        out.push(stringify(r1.rows), stringify(r2.rows), stringify(r3.rows));
      } else {
        const r = await client.query(step);
        out.push(stringify(Array.isArray(r) ? r.map((x) => x.rows) : r.rows));
      }
    }
    return { kind: 'ok', text: out.join('\n') };
  } catch (e) {
    const x = e as { code?: string; message: string };
    return classifyError(x.code, x.message);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * postgres.js: a step with one statement runs prepared twice (Parse + Describe statement, then
 * Bind + Execute with no Describe at all); several statements run with the simple protocol;
 * COPY … TO STDOUT is read as a stream.
 */
export async function viaPostgresJs(env: ClientEnv, steps: readonly string[]): Promise<Outcome> {
  const sql = postgres({ host: env.tap.host, port: env.tap.port, database: env.gw.database, username: 'agent', password: env.token, max: 1, onnotice: () => {}, connect_timeout: 10 });
  const out: string[] = [];
  try {
    for (const step of steps) {
      const single = !/;\s*\S/.test(step.trim().replace(/;\s*$/, ''));
      if (/^\s*copy\b/i.test(step) && /\bto\s+stdout\b/i.test(step)) {
        const stream = await sql.unsafe(step).readable();
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
        out.push(Buffer.concat(chunks).toString('latin1'));
      } else if (single && /^\s*(select|with|values|table|explain)\b/i.test(step)) {
        out.push(stringify([...(await sql.unsafe(step, [], { prepare: true }))]));
        out.push(stringify([...(await sql.unsafe(step, [], { prepare: true }))]));
      } else {
        const r = await sql.unsafe(step).simple();
        out.push(stringify(Array.isArray(r) ? [...r] : r));
      }
    }
    return { kind: 'ok', text: out.join('\n') };
  } catch (e) {
    const x = e as { code?: string; message: string };
    return classifyError(x.code, x.message);
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
}

/** Runs a program with `input` on its stdin; resolves to its stdout (rejects with its stderr). */
export function runWithInput(cmd: string, args: string[], input: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${err}\n${out}`));
    });
    child.stdin.end(input);
  });
}

export const PYTHON = '/usr/bin/python3';
export const JDBC_JAR = '/usr/share/java/postgresql.jar';
export const CLIENT_PROGRAMS = new URL('./clients/', import.meta.url).pathname;

/** One JSON object per line of a client program's output. */
export function jsonLines<T>(out: string): T[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}
