// A real PostgreSQL server for end-to-end tests.
//
//   import { startPostgres, postgresAvailable, postgresUnavailableReason } from '../../support/postgres-server.ts';
//   if (!postgresAvailable()) { console.log(`skipped: ${postgresUnavailableReason()}`); ... }
//   const pg = await startPostgres();               // shared by every suite of this process
//   pg.users.scram / .md5 / .cleartext / .trust     // { user, password } per login method
//   await pg.psql('SELECT 1');                      // runs the real psql as the superuser
//   pg.connectionString('scram')                    // postgresql://pamc_scram:...@127.0.0.1:port/pamc_test
//
// What it does: finds the newest server under /usr/lib/postgresql/*/bin, `initdb`s a fresh
// temporary directory with SCRAM authentication and a generated superuser password, starts
// it with `pg_ctl start -w` on a free port of 127.0.0.1 (and a Unix socket in the same
// directory), creates one role per login method with a pg_hba.conf line for each, and a
// database `pamc_test` where everyone may create objects in `public`. As root, every server
// command runs as the `postgres` OS user (PostgreSQL refuses to run as root).
//
// `startPostgres()` returns one shared server per process (uvu runs every suite of a run in
// one process): `stop()` on it does nothing, the server is stopped (`pg_ctl stop -m
// immediate`) and its directory removed when the process exits, even on SIGINT/SIGTERM.
// `startPostgres({ ssl: true })` is a second shared cluster with `ssl = on` and a server
// certificate (for 127.0.0.1 and localhost) signed by a throwaway CA, generated with openssl.
// `startPostgres({ isolated: true })` starts a private cluster that `stop()` really stops.
// Directories left behind by a killed test process are cleaned up by the next run.
//
// Without server binaries: `postgresAvailable()` is false and `startPostgres()` rejects,
// unless PAMC_CI=1, where both fail loudly: CI must never silently skip the real server.

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export interface PgUser {
  user: string;
  password: string;
}

export type LoginMethod = 'scram' | 'md5' | 'cleartext' | 'trust';

export interface PostgresServer {
  host: string;
  port: number;
  /** directory of the Unix socket (`.s.PGSQL.<port>`) */
  socketDir: string;
  /** major version, e.g. 15 */
  version: number;
  binDir: string;
  dataDir: string;
  superuser: PgUser;
  /** one role per login method (pg_hba: scram-sha-256, md5 with an md5-hashed password, password, trust) */
  users: Record<LoginMethod, PgUser>;
  database: string;
  /** with `ssl: true`: the CA that signed the server certificate */
  ssl: { ca: string; caFile: string } | null;
  /** shared servers: nothing (they stop at process exit); isolated servers: stop and remove */
  stop(): Promise<void>;
  /** runs SQL through the real psql binary (statements sent one by one), returns unaligned tuples */
  psql(sql: string, options?: { user?: PgUser; database?: string }): Promise<string>;
  connectionString(user?: LoginMethod | PgUser, database?: string): string;
}

export interface StartOptions {
  /** a cluster with ssl = on (a separate shared cluster) */
  ssl?: boolean;
  /** a private cluster, stopped by `stop()` */
  isolated?: boolean;
}

const PG_ROOT = '/usr/lib/postgresql';
const DIR_PREFIX = 'pamc-pg-';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export interface PostgresBinaries {
  binDir: string;
  version: number;
}

/** The newest server installation under /usr/lib/postgresql/<major>/bin, or null. */
export function findPostgresBinaries(): PostgresBinaries | null {
  let entries: string[];
  try {
    entries = readdirSync(PG_ROOT);
  } catch {
    return null;
  }
  const found = entries
    .filter((e) => /^\d+(\.\d+)?$/.test(e))
    .map((e) => ({ binDir: join(PG_ROOT, e, 'bin'), version: Number.parseFloat(e) }))
    .filter((c) => existsSync(join(c.binDir, 'initdb')) && existsSync(join(c.binDir, 'pg_ctl')) && existsSync(join(c.binDir, 'postgres')))
    .sort((a, b) => b.version - a.version);
  return found[0] ?? null;
}

/** Why no server can be started here, or null when one can. */
export function postgresUnavailableReason(): string | null {
  if (findPostgresBinaries() === null) return `no PostgreSQL server binaries under ${PG_ROOT}/*/bin (Debian package postgresql)`;
  if (isRoot && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'running as root but there is no postgres OS user to run the server as';
  return null;
}

/**
 * Whether e2e tests can start a real server. Under PAMC_CI=1 a missing server throws instead
 * of returning false, so that CI never skips what it must run.
 */
export function postgresAvailable(): boolean {
  const reason = postgresUnavailableReason();
  if (reason === null) return true;
  if (process.env.PAMC_CI === '1') throw new Error(`PAMC_CI=1 and PostgreSQL is unavailable: ${reason}`);
  return false;
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version']).status === 0;
}

// --- running commands ---

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { asPostgres?: boolean; cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const [file, argv] = opts.asPostgres && isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${cmd} ${args[0] ?? ''} failed: ${String(stderr).trim() || err.message}`));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

function chownToPostgres(path: string): void {
  if (!isRoot) return;
  const r = spawnSync('chown', ['-R', 'postgres:postgres', path]);
  if (r.status !== 0) throw new Error(`chown of ${path} failed: ${r.stderr.toString().trim()}`);
}

// --- cleanup ---

interface Running {
  dir: string;
  dataDir: string;
  binDir: string;
  stopped: boolean;
}

const running = new Set<Running>();
let exitHooked = false;

function stopSync(r: Running): void {
  if (r.stopped) return;
  r.stopped = true;
  running.delete(r);
  if (existsSync(join(r.dataDir, 'postmaster.pid'))) {
    const args = ['stop', '-D', r.dataDir, '-m', 'immediate', '-w', '-t', '30'];
    const pgctl = join(r.binDir, 'pg_ctl');
    if (isRoot) spawnSync('runuser', ['-u', 'postgres', '--', pgctl, ...args], { cwd: r.dir, stdio: 'ignore' });
    else spawnSync(pgctl, args, { stdio: 'ignore' });
  }
  rmSync(r.dir, { recursive: true, force: true });
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const r of [...running]) stopSync(r);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const r of [...running]) stopSync(r);
      process.kill(process.pid, sig);
    });
  }
}

let staleCleaned = false;

/** Removes clusters left by test processes that no longer exist (killed with SIGKILL, ...). */
function cleanStale(binDir: string): void {
  if (staleCleaned) return;
  staleCleaned = true;
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = join(tmpdir(), e);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not ours, or still being created
    }
    if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid) continue;
    try {
      process.kill(owner, 0);
      continue; // the owner is alive
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    stopSync({ dir, dataDir: join(dir, 'data'), binDir, stopped: false });
  }
}

// --- starting ---

const shared = new Map<string, Promise<PostgresServer>>();

/** The shared server of this process (started on first use), or a private one with `isolated`. */
export function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  if (options.isolated) return launch(options.ssl ?? false, true);
  const key = options.ssl ? 'ssl' : 'plain';
  let p = shared.get(key);
  if (p === undefined) {
    p = launch(options.ssl ?? false, false);
    shared.set(key, p);
    p.catch(() => shared.delete(key));
  }
  return p;
}

const secret = () => randomBytes(18).toString('base64url');

async function launch(ssl: boolean, isolated: boolean): Promise<PostgresServer> {
  const bins = findPostgresBinaries();
  const reason = postgresUnavailableReason();
  if (bins === null || reason !== null) {
    const ci = process.env.PAMC_CI === '1' ? 'PAMC_CI=1: a missing server is a failure: ' : '';
    throw new Error(`${ci}cannot start PostgreSQL: ${reason ?? 'no binaries'}`);
  }
  if (ssl && !opensslAvailable()) throw new Error('cannot start PostgreSQL with ssl: openssl is not installed');
  cleanStale(bins.binDir);
  hookExit();

  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  const rec: Running = { dir, dataDir, binDir: bins.binDir, stopped: false };
  running.add(rec);
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  try {
    mkdirSync(socketDir);
    const superuser: PgUser = { user: 'postgres', password: secret() };
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${superuser.password}\n`, { mode: 0o600 });
    chownToPostgres(dir);

    const bin = (name: string) => join(bins.binDir, name);
    await run(bin('initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
      asPostgres: true,
      cwd: dir,
    });
    rmSync(pwfile, { force: true });

    let sslInfo: PostgresServer['ssl'] = null;
    if (ssl) sslInfo = await makeCertificates(dir, dataDir);

    const users: Record<LoginMethod, PgUser> = {
      scram: { user: 'pamc_scram', password: secret() },
      md5: { user: 'pamc_md5', password: secret() },
      cleartext: { user: 'pamc_cleartext', password: secret() },
      trust: { user: 'pamc_trust', password: '' },
    };
    const database = 'pamc_test';
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        '# pamc test harness',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${socketDir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 300',
        "log_min_messages = 'warning'",
        ...(ssl ? ['ssl = on', "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"] : ['ssl = off']),
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      [
        '# TYPE  DATABASE  USER            ADDRESS        METHOD',
        'local   all       all                            scram-sha-256',
        `host    all       ${users.trust.user}      127.0.0.1/32   trust`,
        `host    all       ${users.md5.user}        127.0.0.1/32   md5`,
        `host    all       ${users.cleartext.user}  127.0.0.1/32   password`,
        'host    all       all             127.0.0.1/32   scram-sha-256',
        '',
      ].join('\n'),
    );
    chownToPostgres(dataDir);

    // Start on a free port; another process may grab it first, so retry a few times.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await run(bin('pg_ctl'), ['start', '-D', dataDir, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', `-p ${port}`], { asPostgres: true, cwd: dir });
        break;
      } catch (err) {
        if (attempt >= 3) {
          let log = '';
          try {
            log = readFileSync(join(dir, 'server.log'), 'utf8').split('\n').slice(-10).join('\n');
          } catch {}
          throw new Error(`${(err as Error).message}\n${log}`);
        }
      }
    }

    const host = '127.0.0.1';
    const psql = async (sql: string, o: { user?: PgUser; database?: string } = {}): Promise<string> => {
      const u = o.user ?? superuser;
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LC_ALL: 'C', PGPASSWORD: u.password, PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'prefer' };
      const r = await run(bin('psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', u.user, '-d', o.database ?? database, '-f', '-'], {
        env,
        input: sql,
      });
      return r.stdout.replace(/\n$/, '');
    };

    await psql(
      [
        `CREATE ROLE ${users.scram.user} LOGIN PASSWORD '${users.scram.password}';`,
        "SET password_encryption = 'md5';",
        `CREATE ROLE ${users.md5.user} LOGIN PASSWORD '${users.md5.password}';`,
        'RESET password_encryption;',
        `CREATE ROLE ${users.cleartext.user} LOGIN PASSWORD '${users.cleartext.password}';`,
        `CREATE ROLE ${users.trust.user} LOGIN;`,
        `CREATE DATABASE ${database};`,
      ].join('\n'),
      { database: 'postgres' },
    );
    await psql('GRANT ALL ON SCHEMA public TO PUBLIC;');

    const stop = async (): Promise<void> => {
      if (isolated) stopSync(rec);
    };
    const connectionString = (who: LoginMethod | PgUser = 'scram', db = database): string => {
      const u = typeof who === 'string' ? users[who] : who;
      const auth = u.password === '' ? encodeURIComponent(u.user) : `${encodeURIComponent(u.user)}:${encodeURIComponent(u.password)}`;
      return `postgresql://${auth}@${host}:${port}/${encodeURIComponent(db)}`;
    };
    return { host, port, socketDir, version: bins.version, binDir: bins.binDir, dataDir, superuser, users, database, ssl: sslInfo, stop, psql, connectionString };
  } catch (err) {
    stopSync(rec);
    throw err;
  }
}

/** A throwaway CA and a server certificate for localhost / 127.0.0.1 signed by it. */
async function makeCertificates(dir: string, dataDir: string): Promise<{ ca: string; caFile: string }> {
  const certDir = join(dir, 'certs');
  mkdirSync(certDir);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=pamc test CA', '-keyout', join(certDir, 'ca.key'), '-out', join(certDir, 'ca.crt')]);
  await run('openssl', ['req', ...ec, '-subj', '/CN=localhost', '-keyout', join(certDir, 'server.key'), '-out', join(certDir, 'server.csr')]);
  writeFileSync(join(certDir, 'ext.cnf'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\n');
  await run('openssl', [
    'x509', '-req', '-in', join(certDir, 'server.csr'), '-CA', join(certDir, 'ca.crt'), '-CAkey', join(certDir, 'ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', join(certDir, 'ext.cnf'), '-out', join(certDir, 'server.crt'),
  ]);
  writeFileSync(join(dataDir, 'server.crt'), readFileSync(join(certDir, 'server.crt')));
  writeFileSync(join(dataDir, 'server.key'), readFileSync(join(certDir, 'server.key')), { mode: 0o600 });
  if (isRoot) {
    // uid/gid of postgres, for the key file PostgreSQL insists be private to it
    const uid = Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres']).stdout.toString().trim());
    chownSync(join(dataDir, 'server.crt'), uid, gid);
    chownSync(join(dataDir, 'server.key'), uid, gid);
  }
  const caFile = join(certDir, 'ca.crt');
  return { ca: readFileSync(caFile, 'utf8'), caFile };
}
