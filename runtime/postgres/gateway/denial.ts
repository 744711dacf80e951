// How a denial reaches the client. The gateway does not fake the server's answer: it sends the
// server, in place of the denied message, a DO block that raises SQLSTATE 42501 with the
// policy's message. The server then produces the error itself, so the reply sequence and the
// transaction state the client sees are the real ones (a denial inside a transaction block
// leaves it failed, as any error would). The error the client receives is rebuilt from our
// own fields, so nothing of the DO block's context leaks into it.

import { randomBytes } from 'node:crypto';
import { encodeErrorResponse, errorFields, type NoticeFields } from '../protocol/index.ts';

/** Statement and portal names the gateway uses for its own messages; clients may not use them. */
export const RESERVED_NAME_PREFIX = '__pamc';
export const DENIAL_NAME = `${RESERVED_NAME_PREFIX}_denial`;

export const DENIED_SQLSTATE = '42501';
const MAX_MESSAGE = 600;

export interface DenialText {
  /** default 42501; approvals that expire or are withdrawn fail with 57014 */
  sqlstate?: string;
  message: string;
  detail?: string;
  hint?: string;
}

/**
 * The text as a SQL expression that reads the same whatever the session's
 * standard_conforming_strings and client encoding (a denial may run right after a statement
 * that changed them, before the gateway ends the session for it): plain ASCII without
 * backslashes as a literal, anything else as base64 decoded on the server.
 */
function literal(text: string): string {
  const clean = text.replace(/\u0000/g, '');
  if (/^[\x20-\x5b\x5d-\x7e]*$/.test(clean)) return `'${clean.replaceAll("'", "''")}'`;
  return `convert_from(decode('${Buffer.from(clean, 'utf8').toString('base64')}', 'base64'), 'UTF8')`;
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

/** A DO block that raises the denial. The dollar-quote tag never occurs in the text it quotes. */
export function denialSql(d: DenialText): string {
  const code = /^[0-9A-Z]{5}$/.test(d.sqlstate ?? '') ? d.sqlstate! : DENIED_SQLSTATE;
  const parts = [`ERRCODE = '${code}'`, `MESSAGE = ${literal(clip(d.message))}`];
  if (d.detail) parts.push(`DETAIL = ${literal(clip(d.detail))}`);
  if (d.hint) parts.push(`HINT = ${literal(clip(d.hint))}`);
  const body = `BEGIN RAISE EXCEPTION USING ${parts.join(', ')}; END`;
  let tag = 'pamc';
  while (body.includes(`$${tag}$`)) tag = `pamc_${randomBytes(6).toString('hex')}`;
  return `DO $${tag}$${body}$${tag}$`;
}

/** The error the client sees for a denial: severity, SQLSTATE, message, detail and hint only. */
export function denialError(d: DenialText): Buffer {
  return encodeErrorResponse(denialFields(d));
}

export function denialFields(d: DenialText): NoticeFields {
  return errorFields(d.sqlstate ?? DENIED_SQLSTATE, clip(d.message), {
    ...(d.detail ? { detail: clip(d.detail) } : {}),
    ...(d.hint ? { hint: clip(d.hint) } : {}),
  });
}

/** Whether an error from the server is the one our DO block raised (and not, say, 25P02). */
export function isOurDenial(f: NoticeFields, d: DenialText): boolean {
  return f.code === (d.sqlstate ?? DENIED_SQLSTATE) && f.message === clip(d.message);
}
