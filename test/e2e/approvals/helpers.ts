// What the approvals suites share: the requesting agent (node-postgres or raw wire), the
// approvals API, and waiting for a notice.

import pg from 'pg';
import { mintToken, type GatewayFixture } from '../../support/gateway.ts';
import { WireSession } from '../../support/pg-session.ts';
import { loginBytes, open } from '../gateway/wire.ts';

export const REQUESTER = 'agent-7';

/** A node-postgres session of the requester; `requests` collects the request ids its notices name. */
export async function agent(gw: GatewayFixture, sub = REQUESTER, groups = ['ops']): Promise<{ c: pg.Client; requests: string[] }> {
  const c = new pg.Client(await gw.clientConfig(groups, {}, sub));
  const requests: string[] = [];
  c.on('notice', (n) => {
    const m = /request (apr_[A-Za-z0-9_-]+)/.exec(n.message ?? '');
    if (m) requests.push(m[1]);
  });
  c.on('error', () => {});
  await c.connect();
  return { c, requests };
}

/** A wire-level session of the requester (group ops), logged in and idle. */
export async function wireAgent(gw: GatewayFixture, sub = REQUESTER): Promise<WireSession> {
  const s = new WireSession(await open(gw));
  s.send(loginBytes(gw, await mintToken(['ops'], {}, { sub })));
  await s.until('ReadyForQuery');
  return s;
}

/** A call of the approvals API; `json` is the parsed body, or its text when it is not JSON. */
export async function api(gw: GatewayFixture, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** An approver's token (group dba). */
export const approver = (sub: string) => mintToken(['dba'], {}, { sub });

export async function waitFor<T>(fn: () => T | undefined | null | false, what: string, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
