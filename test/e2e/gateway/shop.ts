// The shop every client test runs against: tables, a policy with four kinds of agent, and the
// helpers the client tests share (running a client program, reading its JSON-lines steps).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GatewayFixture } from '../../support/gateway.ts';

export const run = promisify(execFile);

export const SHOP_SETUP = `
  CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new', amount numeric(10,2), note text);
  INSERT INTO orders SELECT g, 'new', g * 1.5, NULL FROM generate_series(1, 100) g;
  CREATE TABLE order_items (order_id int REFERENCES orders (id), sku text, qty int);
  INSERT INTO order_items VALUES (1, 'A-1', 2), (2, 'B-2', 1);
  CREATE TABLE secrets (v text);
  INSERT INTO secrets VALUES ('top');`;

/**
 * analysts read everything in public; clerks work on orders; bench runs pgbench's scripts.
 */
export const SHOP_RULES = `
group "analysts" {
  on db {
    allow read on public.*, catalog
  }
}
group "clerks" {
  on db {
    allow read, insert, update, delete on public.orders, public.order_items
    allow copy_in on public.orders
    allow read on catalog
    allow listen, notify on jobs
  }
}
group "bench" {
  on db {
    allow read, insert, update on public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers, public.pgbench_history
  }
}
on db {
  deny drop, truncate, dcl, admin
  deny call on dangerous_functions
}`;

export async function expectError(p: Promise<unknown>): Promise<{ code?: string; message: string; severity?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

export type Steps = Record<string, Record<string, unknown>>;

/** Runs a client program that prints one JSON object per line with a `step` name. */
export async function runSteps(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Steps> {
  let stdout: string;
  try {
    ({ stdout } = await run(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }));
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${x.message}\n${x.stdout ?? ''}\n${x.stderr ?? ''}`);
  }
  const steps: Steps = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as { step: string };
    steps[o.step] = o;
  }
  return steps;
}

export const PYTHON = '/usr/bin/python3';
export const CLIENTS = new URL('../clients/', import.meta.url).pathname;

/** libpq environment for an identity: the DSN (no password) and the token as PGPASSWORD. */
export async function libpqEnv(gw: GatewayFixture, groups: string[]): Promise<Record<string, string>> {
  return {
    PAMC_DSN: gw.conninfo(),
    PAMC_HOST: gw.host,
    PAMC_PORT: String(gw.port),
    PAMC_DB: gw.database,
    PGPASSWORD: await gw.token(groups),
  };
}
