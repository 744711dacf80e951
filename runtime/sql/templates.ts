// Statement templates: one classification shared by the texts that differ only in constants.
//
// Drivers that put values into the text on the client (psycopg2, SQLAlchemy over it, most agent
// tools) send every statement as a new text: `… WHERE id = 41`, then `… WHERE id = 42`. Each would
// be parsed and walked in full. A template lets such texts share the classification of the first
// one, when that classification provably does not depend on the constants.
//
// The key of a text is libpg_query's normalized text: PostgreSQL's own lexer and grammar find the
// constants, each is replaced by `$n`, everything else is kept byte for byte (comments, spacing,
// case). Two texts with the same key differ only at constants. A key gets a template from the
// first text classified under it only when:
//
//   - the text is one SELECT, INSERT, UPDATE or DELETE with no session effects;
//   - its tree holds nothing else that normalize replaces (option strings of DefElem, NOTIFY
//     payloads, subscription connection strings);
//   - while it was classified, the classifier read no constant's value, kind or NULL-ness: each
//     is put behind an accessor that counts reads (probeConstants), so any code that looks at a
//     constant — a LIMIT, a set_config name, a query string inside a string — makes the key
//     unshareable, whichever code it is and whenever it is added.
//
// Otherwise the key is remembered as unshareable and its texts are classified in full.

import type { Obj } from './walk.ts';

export interface ConstantProbe {
  /** reads of a constant's value, kind or NULL-ness made by the classifier */
  reads: number;
  /** the parser's location (a UTF-8 byte offset) of every constant node */
  locations: number[];
}

/** Node types whose strings normalize replaces although they are not constants (A_Const). */
const NORMALIZED_NON_CONSTANTS = new Set(['DefElem', 'NotifyStmt', 'CreateSubscriptionStmt', 'AlterSubscriptionStmt']);

/** The fields of A_Const that say what the constant is (each holds a value node, or isnull). */
const KIND_FIELDS = ['ival', 'fval', 'boolval', 'sval', 'bsval'] as const;

let quiet = 0;

/** Runs `fn` without counting the constant reads it makes (the A_Const handler's field checks). */
export function uncounted<T>(fn: () => T): T {
  quiet++;
  try {
    return fn();
  } finally {
    quiet--;
  }
}

/** Replaces `o[key]` (present or not) by an accessor that counts reads; absent keys stay unlisted. */
function counted(o: Obj, key: string, probe: ConstantProbe): void {
  const present = Object.prototype.hasOwnProperty.call(o, key);
  const value = o[key];
  Object.defineProperty(o, key, {
    get() {
      if (quiet === 0) probe.reads++;
      return value;
    },
    enumerable: present,
    configurable: true,
  });
}

/** A constant: which kind it is, its value and its NULL-ness become counted reads. */
function guard(c: Obj, probe: ConstantProbe): void {
  for (const k of KIND_FIELDS) {
    const holder = c[k];
    if (holder !== null && typeof holder === 'object') counted(holder as Obj, k, probe);
    counted(c, k, probe);
  }
  counted(c, 'isnull', probe);
}

/**
 * Puts every constant of a parse tree behind counting accessors. Null when the tree holds
 * something normalize replaces that is not a constant: such a tree makes no template.
 */
export function probeConstants(tree: unknown): ConstantProbe | null {
  const probe: ConstantProbe = { reads: 0, locations: [] };
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      continue;
    }
    for (const k in v as Obj) {
      if (NORMALIZED_NON_CONSTANTS.has(k)) return null;
      const child = (v as Obj)[k];
      if (child === null || typeof child !== 'object') continue;
      if (k === 'A_Const' && !Array.isArray(child)) {
        probe.locations.push(typeof (child as Obj).location === 'number' ? ((child as Obj).location as number) : 0);
        guard(child as Obj, probe);
      }
      else stack.push(child);
    }
  }
  return probe;
}

/** Statement kinds a template may stand for. */
export const TEMPLATE_KINDS: ReadonlySet<string> = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt']);
