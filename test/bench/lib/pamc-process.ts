// `pamc serve` in a process of its own in front of a benchmark's PostgreSQL: a policy that lets
// the bench identity read (pgbench -S), a JWKS of a fresh key, and a token for that identity.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { freePort } from '../../support/ports.ts';
import type { PostgresServer } from '../../support/postgres-server.ts';

const ISSUER = 'https://bench.pamc.test/';

export interface PamcProcess {
  child: ChildProcess;
  port: number;
  token: string;
  /** the policy folder */
  dir: string;
}

/**
 * Starts the gateway for database `db` of `server`. `blocks` are added to the policy (an `audit`
 * block, say); `files` are written into its folder first. Resolves once it listens.
 */
export async function startPamc(root: string, server: PostgresServer, db: string, options: { blocks?: string; files?: Record<string, string> } = {}): Promise<PamcProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'pamc-bench-gw-'));
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'b', alg: 'ES256' }] }));
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content);
  const port = await freePort();
  writeFileSync(
    join(dir, 'policy.pam'),
    `policy "bench"
identity {
  issuer "${ISSUER}"
  audience "pamc"
  jwks file "jwks.json"
}
target db: postgres {
  host "127.0.0.1"
  port ${server.port}
  database "${db}"
  login user "${server.superuser.user}" password env "BENCH_PG_PASSWORD"
  upstream tls disable
  listen "127.0.0.1:${port}"
}
${options.blocks ?? ''}
group "bench" {
  on db {
    allow read on public.*, catalog
  }
}
`,
  );
  const token = await new SignJWT({ groups: ['bench'] })
    .setProtectedHeader({ alg: 'ES256', kid: 'b' })
    .setIssuer(ISSUER)
    .setAudience('pamc')
    .setSubject('bench')
    .setExpirationTime('2h')
    .sign(privateKey);
  const child = spawn(process.execPath, [...(process.env.PAMC_BENCH_NODE_ARGS ? process.env.PAMC_BENCH_NODE_ARGS.split(' ') : []), join(root, 'bin/pamc.js'), 'serve', join(dir, 'policy.pam'), '--admin', 'none', '--log-level', 'warn', '--no-watch'], {
    env: { ...process.env, BENCH_PG_PASSWORD: server.superuser.password },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, port, token, dir };
}
