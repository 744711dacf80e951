// Settings: the values the gateway pins for the settings that change how the server reads
// statement text, and the rendering of SET values.
//
// The parser (libpg_query) reads text as UTF-8 with standard_conforming_strings on. If the
// server read it otherwise, one text could be a harmless SELECT to the gateway and something
// else to the server. So every way of giving one of the text settings (builtin-sets.json
// `text_settings`) a value other than the pinned one is forbidden; RESET and DEFAULT return to
// the value the gateway pinned at start-up and are fine.

import { TEXT_SETTINGS } from './catalog.ts';
import { quoteIdent } from './names.ts';
import { constText, nodeOf, type Obj } from './walk.ts';

/**
 * PostgreSQL's encoding name comparison (clean_encoding_name): ASCII letters and digits only,
 * lowercased — `'utf-8'`, quotes included, is UTF8. Non-ASCII characters are dropped before
 * lowercasing, as the server does byte by byte (JavaScript would lowercase the Kelvin sign to k).
 */
export function encodingKey(value: string): string {
  return value.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
}

/** Spellings of true that PostgreSQL's parse_bool accepts (prefixes of true/yes, on, 1). */
function isTrue(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === '') return false;
  return 'true'.startsWith(v) || 'yes'.startsWith(v) || v === 'on' || v === '1';
}

/** For each text setting, whether a value is the pinned one. */
const PINNED: Record<string, (value: string) => boolean> = {
  client_encoding: (v) => ['utf8', 'unicode'].includes(encodingKey(v)),
  standard_conforming_strings: isTrue,
  backslash_quote: (v) => v.trim().toLowerCase() === 'safe_encoding',
};

/**
 * Why setting `name` to `value` is forbidden, or null when it is not. `value` null: RESET,
 * DEFAULT or FROM CURRENT (the pinned value stays).
 */
export function settingViolation(name: string, value: string | null): string | null {
  if (!TEXT_SETTINGS.has(name) || value === null) return null;
  const pinned = PINNED[name];
  if (pinned !== undefined && pinned(value)) return null;
  return `setting ${name} to ${JSON.stringify(value)} changes how the server reads statement text`;
}

/** Settings whose value is a list of identifiers PostgreSQL quotes (GUC_LIST_QUOTE). */
const LIST_QUOTE = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'shared_preload_libraries', 'local_preload_libraries']);

/**
 * The value of `SET name = args` as PostgreSQL flattens it (the text SHOW would print), or null
 * when an argument is not a constant.
 */
export function renderSetValue(name: string, args: unknown): string | null {
  if (!Array.isArray(args) || args.length === 0) return null;
  const parts: string[] = [];
  for (const a of args) {
    const cast = nodeOf(a, 'TypeCast');
    const t = constText(a);
    if (t === null) return null;
    if (cast !== null) {
      // SET TIME ZONE INTERVAL '...' : keep the literal; the gateway only needs to know it changed
      parts.push(t);
      continue;
    }
    const c = nodeOf(a, 'A_Const') as Obj;
    parts.push(LIST_QUOTE.has(name) && c.sval !== undefined ? quoteIdent(t) : t);
  }
  return parts.join(', ');
}

/** The schemas of a search_path value (`"$user", public`), unquoted. */
export function parseSearchPath(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = value;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i]!)) i++;
    if (i >= s.length) break;
    let part = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length) {
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += s[i++];
      }
    } else {
      while (i < s.length && s[i] !== ',' && !/\s/.test(s[i]!)) part += s[i++];
      part = part.replace(/[A-Z]+/g, (c) => c.toLowerCase());
    }
    out.push(part);
    while (i < s.length && s[i] !== ',') i++;
  }
  return out;
}
