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
