// The identity of a statement for an approval grant: the same statement, written differently or
// not. Two texts have the same key when they parse to the same tree apart from positions —
// whitespace, comments, keyword case, quoting of identifiers that need none, the way a string
// constant is written — and, in the extended protocol, carry the same bind parameters.
// Constants count: approving `DELETE FROM orders WHERE id = 42` approves nothing else.

import { createHash } from 'node:crypto';
import type { ClassifiedStatement } from './facts.ts';
import { fingerprintSql, parseSql } from './parser.ts';

/** Position fields of libpg_query's tree: they change with layout, not with meaning. */
const POSITIONS = new Set(['location', 'stmt_location', 'stmt_len']);

/** A bind parameter as an approval shows it: text, NULL, or the bytes of a binary one. */
export type KeyParam = string | null | { base64: string };

/**
 * libpg_query's fingerprint of each statement (readable, literal-blind), then a digest of the
 * exact trees, the parameters, and the resources the statements' facts name (`action resource`,
 * as resolved through the session's search_path: the same text on other tables is another
 * statement). A text that does not parse is keyed by its bytes.
 *
 * `bound`: the bind parameters of the portals the statements run besides their own (`FETCH p`
 * of a protocol portal bound with parameters), one list per portal. `requirements`: what the
 * approval asks for (approval-gate.ts), so that a grant is for the rule that gave it.
 * `declared`: the parameter types declared at Parse that the statements run with (one line per
 * statement that declares any): the server resolves the text with them — `f($1)` with $1 an
 * integer may call another function than with $1 text.
 */
export function statementKey(
  statements: readonly (Pick<ClassifiedStatement, 'text' | 'facts'> & { fingerprint?: string })[],
  params: readonly KeyParam[],
  bound: readonly (readonly KeyParam[] | null)[] = [],
  requirements = '',
  declared: readonly string[] = [],
): string {
  const hash = createHash('sha256');
  const fingerprints: string[] = [];
  // a classified statement computes its fingerprint once, and the approval's record reads it too
  // (a plain object without one: computed here)
  for (const { text, fingerprint } of statements) {
    const parsed = parseSql(text);
    fingerprints.push((fingerprint ?? fingerprintSql(text)) || 'unparsed');
    hash.update(parsed.tree ? JSON.stringify(parsed.tree, (k, v) => (POSITIONS.has(k) ? undefined : v)) : `text:${text}`);
    hash.update('\u0000');
  }
  hash.update(JSON.stringify(params));
  hash.update('\u0000');
  if (bound.length > 0) {
    hash.update(JSON.stringify(bound));
    hash.update('\u0000');
  }
  if (requirements !== '') {
    hash.update(requirements);
    hash.update('\u0000');
  }
  if (declared.length > 0) {
    hash.update(`types:${JSON.stringify(declared)}`);
    hash.update('\u0000');
  }
  hash.update(JSON.stringify(statements.flatMap((st) => st.facts.map((f) => `${f.action} ${f.resource}`))));
  return `${fingerprints.join(';')}/${hash.digest('hex').slice(0, 32)}`;
}
