// A real gateway in front of a real PostgreSQL, for end-to-end tests.
//
//   const gw = await startGateway({ rules: `group "readers" { on db { allow read on public.* } }`, setup: 'CREATE TABLE t (x int)' });
//   const client = new pg.Client(await gw.clientConfig(['readers']));
//   ...
//   await gw.close();
//
// Each fixture gets its own database on the shared test server (setup SQL runs there as the
// gateway's login role, which owns what it creates), its own policy folder with a JWKS of a
// per-process test key, and an in-process Gateway listening on a free port of 127.0.0.1.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { Gateway } from '../../runtime/gateway/gateway.ts';
import { memoryLogger } from '../../runtime/gateway/log.ts';
import { compileTexts } from './compile.ts';
import { startPostgres, type PostgresServer } from './postgres-server.ts';

export const ISSUER = 'https://idp.e2e.test/';
export const AUDIENCE = 'pamc';
const KID = 'e2e-1';

let keyPromise: Promise<{ privateKey: Parameters<SignJWT['sign']>[0]; jwk: JWK }> | null = null;

function testKey() {
  keyPromise ??= generateKeyPair('ES256', { extractable: true }).then(async ({ privateKey, publicKey }) => ({
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' },
  }));
  return keyPromise;
}

export async function mintToken(groups: string[], claims: Record<string, unknown> = {}, options: { sub?: string; expiresIn?: number; audience?: string } = {}): Promise<string> {
  const { privateKey } = await testKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ groups, agent: 'e2e-agent', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: KID })
    .setIssuer(ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject(options.sub ?? 'e2e-subject')
    .setIssuedAt()
    .setExpirationTime(now + (options.expiresIn ?? 600))
    .sign(privateKey);
}

/**
 * Signs any payload and protected header with the test key (ES256 unless the header says
 * otherwise): for tokens a verifier must refuse (wrong issuer, unknown key id, ...).
 */
export async function signToken(payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const { privateKey } = await testKey();
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: KID, ...header } as { alg: string }).sign(privateKey);
}

/** The test key's public JWK (what the fixture's JWKS file holds). */
export async function publicJwk(): Promise<JWK> {
  return (await testKey()).jwk;
}

/**
 * What a gateway that writes session records needs: its signing key as a file and the audit
 * block naming it (`extra`: more lines of the block), with the public key to verify the log.
 */
export function auditedOptions(extra = ''): { files: Record<string, string>; blocks: string; publicKey: string } {
  const pair = generateKeyPairSync('ed25519');
  return {
    files: { 'audit.jwk': JSON.stringify(pair.privateKey.export({ format: 'jwk' })) },
    blocks: `
audit {
  dir "audit"
  key file "audit.jwk"${extra ? `\n  ${extra}` : ''}
}`,
    publicKey: JSON.stringify(pair.publicKey.export({ format: 'jwk' })),
  };
}

export interface GatewayFixture {
  pg: PostgresServer;
  gateway: Gateway;
  host: string;
  port: number;
  database: string;
  /** the policy folder (policy.pam, jwks.json) */
  dir: string;
  log: ReturnType<typeof memoryLogger>;
  token(groups: string[], claims?: Record<string, unknown>, sub?: string): Promise<string>;
  /** node-postgres / postgres.js connection options for an identity */
  clientConfig(groups: string[], claims?: Record<string, unknown>, sub?: string): Promise<{ host: string; port: number; user: string; password: string; database: string }>;
  /** the admin listener's base URL (with `admin: true`) */
  adminUrl: string;
  /** a libpq connection string without the password (pass it as PGPASSWORD) */
  conninfo(extra?: string): string;
  /** runs SQL directly on the server as the gateway's login role (setup, checks) */
  direct(sql: string): Promise<string>;
  /** recompiles the policy with new rules and reloads the gateway */
  reload(rules: string): Promise<void>;
  /** stops the gateway (its grace period as given) and starts a new one on the same policy folder */
  restart(graceMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface GatewayFixtureOptions {
  /** group blocks and `on db { }` blocks; the target is called `db` */
  rules: string;
  /** SQL run on the fixture's database before the gateway starts */
  setup?: string;
  /** extra settings inside the target block */
  targetSettings?: string;
  /** the server to use instead of the shared one (e.g. an isolated one the test may restart) */
  server?: PostgresServer;
  /** where the policy says the target is, instead of the server's address (e.g. a closed port) */
  upstream?: { host: string; port: number };
  /** the address the gateway listens on (default 127.0.0.1, a free port) */
  listenHost?: string;
  /** top-level blocks of the policy (`approvals { }`, `audit { }`); relative paths are in the policy folder */
  blocks?: string;
  /** files written into the policy folder before it compiles (name → content) */
  files?: Record<string, string>;
  /** start the admin listener (health, metrics, the approvals API) on a free port */
  admin?: boolean;
  /** options of the fixture's CREATE DATABASE (e.g. another encoding) */
  databaseOptions?: string;
}

function policyText(pg: PostgresServer, database: string, rules: string, targetSettings = '', upstream?: { host: string; port: number }, blocks = ''): string {
  return `policy "e2e"

identity {
  issuer "${ISSUER}"
  audience "${AUDIENCE}"
  jwks file "jwks.json"
  groups claim "groups"
  agent claim "agent"
}

target db: postgres {
  host "${upstream?.host ?? '127.0.0.1'}"
  port ${upstream?.port ?? pg.port}
  database "${database}"
  login user "${pg.users.scram.user}" password env "PAMC_E2E_PASSWORD"
  upstream tls disable
  ${targetSettings}
}

${blocks}

${rules}
`;
}

function compileOrThrow(text: string) {
  const out = compileTexts({ 'policy.pam': text });
  if (!out.policy) throw new Error(`the test policy does not compile:\n${out.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n')}`);
  return out.policy;
}

/** the policy folders of this run's gateways: tests may read them after a gateway closes, so they go when the process exits */
const policyDirs: string[] = [];
process.once('exit', () => {
  for (const d of policyDirs) rmSync(d, { recursive: true, force: true });
});

export async function startGateway(options: GatewayFixtureOptions): Promise<GatewayFixture> {
  const pg = options.server ?? (await startPostgres());
  const database = `e2e_${randomBytes(4).toString('hex')}`;
  await pg.psql(`CREATE DATABASE ${database} OWNER ${pg.users.scram.user} ${options.databaseOptions ?? ''}`);
  const direct = (sql: string) => pg.psql(sql, { user: pg.users.scram, database });
  if (options.setup) await direct(options.setup);
  process.env.PAMC_E2E_PASSWORD = pg.users.scram.password;
  const dir = mkdtempSync(join(tmpdir(), 'pamc-e2e-policy-'));
  policyDirs.push(dir);
  const { jwk } = await testKey();
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content);
  let text = policyText(pg, database, options.rules, options.targetSettings, options.upstream, options.blocks);
  writeFileSync(join(dir, 'policy.pam'), text);
  const log = memoryLogger('info');
  const start = () =>
    Gateway.start(compileOrThrow(text), { root: dir, log, listen: { db: `${options.listenHost ?? '127.0.0.1'}:0` }, admin: options.admin ? '127.0.0.1:0' : null });
  const gateway = await start();
  const { host, port } = gateway.listening()[0];
  const fixture: GatewayFixture = {
    pg,
    gateway,
    host,
    port,
    database,
    dir,
    log,
    adminUrl: `http://127.0.0.1:${gateway.adminPorts().admin}`,
    token: (groups, claims, sub) => mintToken(groups, claims, sub ? { sub } : {}),
    async clientConfig(groups, claims, sub) {
      return { host: fixture.host, port: fixture.port, user: 'agent', password: await mintToken(groups, claims, sub ? { sub } : {}), database };
    },
    conninfo(extra = '') {
      return `host=${fixture.host} port=${fixture.port} dbname=${database} user=agent sslmode=disable ${extra}`.trim();
    },
    direct,
    async reload(rules) {
      text = policyText(pg, database, rules, options.targetSettings, options.upstream, options.blocks);
      writeFileSync(join(dir, 'policy.pam'), text);
      await fixture.gateway.reload(compileOrThrow(text));
    },
    async restart(graceMs = 2000) {
      await fixture.gateway.close(graceMs);
      fixture.gateway = await start();
      fixture.port = fixture.gateway.listening()[0].port;
      fixture.adminUrl = `http://127.0.0.1:${fixture.gateway.adminPorts().admin}`;
    },
    async close() {
      await fixture.gateway.close(2000);
    },
  };
  return fixture;
}
