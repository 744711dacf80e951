// Names as PostgreSQL reads them, and the canonical resource keys of spec/language.md §4.
// The runtime's classifier writes keys by the same rule (runtime/sql/names.ts); a test holds
// the two to the same output.

import type { Ident } from '../language/ast.ts';

/** Unquoted identifiers fold to lower case, quoted ones are taken as written. */
export function foldIdent(ident: Ident): string {
  return ident.quoted ? ident.value : ident.value.toLowerCase();
}

const BARE = /^[a-z_][a-z0-9_$]*$/;

/** One part of a key: bare when it is a plain lower-case identifier, else double-quoted. */
export function keyPart(name: string): string {
  return BARE.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export function qualifiedKey(schema: string, name: string): string {
  return `${keyPart(schema)}.${keyPart(name)}`;
}

/** PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * A name as the server keeps it: cut to its first 63 bytes of UTF-8, at a character. The SQL a
 * rule is compared with arrives cut the same way (the parser cuts identifiers), so a rule must
 * name what the server holds. runtime/sql/names.ts cuts names from string literals alike; a test
 * holds the two to the same output.
 */
export function serverIdentifier(name: string): string {
  if (name.length * 3 <= MAX_IDENTIFIER_BYTES || Buffer.byteLength(name, 'utf8') <= MAX_IDENTIFIER_BYTES) return name;
  let bytes = 0;
  let end = 0;
  for (const ch of name) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > MAX_IDENTIFIER_BYTES) break;
    bytes += n;
    end += ch.length;
  }
  return name.slice(0, end);
}
