// Startup parameters: what a client may set before its first statement, and what the gateway
// sends upstream. Startup parameters set server settings with no statement to classify, so
// they are allowlisted; the settings that decide how the server reads statement text are
// pinned; `options` (arbitrary `-c` settings) and `replication` are refused.

import { encodingKey } from '../../sql/settings.ts';

export interface StartupDecision {
  ok: true;
  /** parameters to send upstream, pinned ones included */
  upstream: Record<string, string>;
  /** what the client called itself */
  user: string;
  applicationName: string;
}

export interface StartupRefusal {
  ok: false;
  sqlstate: string;
  message: string;
  hint?: string;
}

/** Settings a client may pass at startup; their values go upstream unchanged. */
const PASSED_THROUGH = new Set(['application_name', 'datestyle', 'timezone', 'extra_float_digits', 'intervalstyle', 'bytea_output', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'client_min_messages']);

/** Client encodings whose bytes the gateway's UTF-8 parser reads exactly as the server will. */
function isSafeClientEncoding(value: string): boolean {
  // spelled as the server accepts it: asyncpg sends `'utf-8'`, quotes included
  const v = encodingKey(value);
  // `auto` is libpq's request to follow the locale; it resolves client-side, never reaches here.
  return v === 'utf8' || v === 'unicode' || v === 'sqlascii';
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export interface StartupContext {
  /** the database names a client may ask for (the target's database and the target's name) */
  databases: readonly string[];
  /** the schemas the gateway pins */
  searchPath: readonly string[];
}

export function decideStartup(params: Map<string, string>, ctx: StartupContext): StartupDecision | StartupRefusal {
  const user = params.get('user');
  if (user === undefined || user === '') {
    return { ok: false, sqlstate: '28000', message: 'no user name in the startup packet' };
  }
  const upstream: Record<string, string> = {};
  for (const [rawName, value] of params) {
    const name = rawName.toLowerCase();
    if (name === 'user') continue;
    if (name === 'database') {
      if (value !== '' && !ctx.databases.includes(value)) {
        return {
          ok: false,
          sqlstate: '3D000',
          message: `database "${value}" is not served here`,
          hint: `connect to ${ctx.databases.map((d) => `"${d}"`).join(' or ')}`,
        };
      }
      continue;
    }
    if (name === 'replication') return { ok: false, sqlstate: '42501', message: 'replication connections are refused by the gateway' };
    if (name === 'options') {
      return { ok: false, sqlstate: '42501', message: 'the startup parameter "options" is refused by the gateway', hint: 'set session settings with SET after connecting' };
    }
    if (name === 'client_encoding') {
      if (!isSafeClientEncoding(value)) {
        return { ok: false, sqlstate: '22023', message: `client encoding "${value}" is not supported by the gateway`, hint: 'use UTF8' };
      }
      continue;
    }
    if (name === 'standard_conforming_strings') {
      if (!['on', 'true', 'yes', '1'].includes(value.toLowerCase())) {
        return { ok: false, sqlstate: '42501', message: 'standard_conforming_strings must stay on through the gateway' };
      }
      continue;
    }
    if (name === 'search_path') {
      return { ok: false, sqlstate: '42501', message: 'the gateway pins search_path; it cannot be set at startup' };
    }
    if (!PASSED_THROUGH.has(name)) {
      return { ok: false, sqlstate: '42501', message: `the startup parameter "${rawName.slice(0, 64)}" is refused by the gateway` };
    }
    upstream[rawName] = value;
  }
  upstream.client_encoding = 'UTF8';
  upstream.standard_conforming_strings = 'on';
  upstream.search_path = ctx.searchPath.map(quoteIdent).join(', ');
  return { ok: true, upstream, user, applicationName: params.get('application_name') ?? '' };
}

/** Values the pinned settings must keep; a ParameterStatus that says otherwise ends the session. */
export function pinnedSettingBroken(name: string, value: string): boolean {
  const n = name.toLowerCase();
  if (n === 'client_encoding') return value.toUpperCase() !== 'UTF8';
  if (n === 'standard_conforming_strings') return value.toLowerCase() !== 'on';
  return false;
}
