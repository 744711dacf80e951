// Talking to the gateway byte by byte: the startup and the token login by hand, then whole
// transcripts of server messages (for the protocol attack tests).

import { connect, type Socket } from 'node:net';
import * as w from '../../support/pgwire-builder.ts';
import { WireSession, type Decoded } from '../../support/pg-session.ts';
import type { GatewayFixture } from '../../support/gateway.ts';

export { w };
export type { Decoded };

export function open(gw: GatewayFixture): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: gw.host, port: gw.port });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** The startup packet and the password message of a client of the fixture's database. */
export function loginBytes(gw: GatewayFixture, token: string, params: [string, string][] = []): Buffer {
  return Buffer.concat([w.startupMessage([['user', 'agent'], ['database', gw.database], ...params]), w.passwordMessage(token)]);
}

/** A logged-in raw session (after its first ReadyForQuery). */
export async function login(gw: GatewayFixture, groups: string[], params: [string, string][] = []): Promise<WireSession> {
  const socket = await open(gw);
  const s = new WireSession(socket);
  s.send(loginBytes(gw, await gw.token(groups), params));
  await s.until('ReadyForQuery');
  return s;
}

/** A simple Query, and its reply through ReadyForQuery as `render` writes it. */
export async function query(s: WireSession, sql: string): Promise<string[]> {
  s.send(w.query(sql));
  return render(await s.until('ReadyForQuery'));
}

/** Every message until the connection closes (or `timeoutMs` of silence). */
export async function drain(s: WireSession, timeoutMs = 10_000): Promise<Decoded[]> {
  const out: Decoded[] = [];
  for (;;) {
    try {
      out.push(await s.next(timeoutMs));
    } catch (e) {
      if ((e as Error).message === 'connection closed' || (e as NodeJS.ErrnoException).code === 'ECONNRESET') return out;
      throw e;
    }
  }
}

/** A compact, comparable rendering of a transcript: kinds, tags, codes, values as text. */
export function render(messages: readonly Decoded[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    switch (m.kind) {
      case 'BackendKeyData':
        out.push('BackendKeyData');
        break;
      case 'ParameterStatus':
        out.push(`ParameterStatus ${m.name}`);
        break;
      case 'ErrorResponse':
      case 'NoticeResponse':
        out.push(`${m.kind} ${m.fields.severity} ${m.fields.code} ${m.fields.message}`);
        break;
      case 'CommandComplete':
        out.push(`CommandComplete ${m.tag}`);
        break;
      case 'ReadyForQuery':
        out.push(`ReadyForQuery ${m.status}`);
        break;
      case 'DataRow':
        out.push(`DataRow ${m.values.map((v) => (v === null ? 'NULL' : Buffer.from(v).toString('utf8'))).join('|')}`);
        break;
      case 'RowDescription':
        out.push(`RowDescription ${m.fields.map((f) => f.name).join(',')}`);
        break;
      default:
        out.push(m.kind);
    }
  }
  return out;
}

/** The first ErrorResponse of a transcript. */
export function firstError(messages: readonly Decoded[]): { severity: string; code: string; message: string } | null {
  for (const m of messages) if (m.kind === 'ErrorResponse') return m.fields;
  return null;
}

export const text = (s: string) => [...Buffer.from(s, 'utf8')];
