// pgbench against an endpoint (a server or a proxy in front of it), for the suites that measure
// the gateway's throughput.

import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function which(cmd: string): Promise<string | null> {
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin', ...((process.env.PATH ?? '').split(':'))]) {
    try {
      await run('test', ['-x', join(dir, cmd)]);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return null;
}

export function waitPort(port: number, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export interface Endpoint {
  name: string;
  port: number;
  password: string;
  user: string;
}

export async function pgbench(bin: string, e: Endpoint, db: string, mode: string, clients: number, seconds: number): Promise<number> {
  return (await pgbenchRun(bin, e, db, mode, clients, seconds)).tps;
}

/** pgbench -S for `seconds`: its throughput, and how many transactions it ran. */
export async function pgbenchRun(bin: string, e: Endpoint, db: string, mode: string, clients: number, seconds: number): Promise<{ tps: number; transactions: number }> {
  const { stdout } = await run(
    bin,
    ['-h', '127.0.0.1', '-p', String(e.port), '-U', e.user, '-n', '-S', '-M', mode, '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds), db],
    { env: { ...process.env, PGPASSWORD: e.password, PGSSLMODE: 'disable' }, maxBuffer: 1 << 20 },
  );
  const m = /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(stdout) ?? /tps = ([\d.]+)/.exec(stdout);
  const n = /number of transactions actually processed: (\d+)/.exec(stdout);
  if (!m || !n) throw new Error(`no tps in pgbench output: ${stdout.slice(-300)}`);
  return { tps: Number(m[1]), transactions: Number(n[1]) };
}
