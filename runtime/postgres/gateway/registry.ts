// What the server may hold under a name: prepared statements (protocol Parse and SQL PREPARE
// share one namespace) and portals (protocol Bind and SQL cursors share another).
//
// The gateway pipelines: it forwards a Parse before the server has answered the previous one.
// So a name maps to what the server has confirmed plus what is still pending; a decision about
// a name covers every possibility (a pending Parse may fail and leave the old statement in
// place). Confirmation and failure come from the server's replies.
//
// Names are filed as the server files them (nameKey): its tables of prepared statements and
// portals compare only the first 63 bytes of a name, so two names that share those are one.

import type { ClassifiedStatement } from '../../sql/facts.ts';
import { MAX_IDENTIFIER_BYTES } from '../../sql/names.ts';
import type { FieldDescription } from '../protocol/index.ts';

export interface Entry {
  /** the SQL text, for logs */
  text: string;
  /** what it does: the classified statements the decision reads */
  statements: readonly ClassifiedStatement[];
  /** a SQL cursor (DECLARE): it may outlive its transaction (WITH HOLD) */
  cursor?: boolean;
  /**
   * A SQL cursor declared by an Execute: its query reads the Bind's parameters (`params`, when
   * kept) with the types its Parse declared (`paramTypes`), not values in its text.
   */
  declaredByBind?: boolean;
  /** the result's shape, from a Describe of the statement or portal */
  fields?: readonly FieldDescription[];
  /** `fields` came from a Describe of the portal, so they carry the real result formats */
  fieldsFromPortal?: boolean;
  /** a portal's result format codes, from its Bind */
  formats?: readonly number[];
  /** a portal: the statement entry it was bound from */
  statement?: Entry;
  /** a portal's bind parameters, and a cursor's declared by an Execute (kept only when records are written or an approval may need them) */
  params?: (string | Uint8Array | null)[];
  /**
   * A portal bound while its statement's name could hold several statements (a Parse of the name
   * not yet answered): all of them, in order. `statement` is set once the server confirms the
   * Bind, to the one the name held then.
   */
  candidates?: readonly Entry[];
  /**
   * A prepared statement: the session's search path (its version) when it was classified. The
   * server resolves a prepared statement's names again when the path has changed since, so
   * the gateway classifies it again too before deciding it (PgSession.freshen).
   */
  pathVersion?: number;
  /**
   * A prepared statement: the parameter types its Parse declared (type OIDs, the unspecified
   * trailing ones left out; absent when none is). The server resolves the text with them — an
   * overloaded function, an operator — so an approval covers them (spec/approvals.md §3).
   */
  paramTypes?: readonly number[];
}

/**
 * The types a Parse declares, as they bear on the statement: trailing zeros (unspecified, the
 * server infers them, as it does for parameters past the list) left out; undefined when none remains.
 */
export function declaredTypes(types: readonly number[]): readonly number[] | undefined {
  let n = types.length;
  while (n > 0 && types[n - 1] === 0) n--;
  return n === 0 ? undefined : types.slice(0, n);
}

/** The statements a portal entry may run: the one it was bound to, or each candidate not yet confirmed. */
export function boundStatements(portal: Entry): readonly Entry[] {
  return portal.statement ? [portal.statement] : (portal.candidates ?? []);
}

/**
 * What reading a portal (FETCH, MOVE) runs: the entries whose text and declared parameter types
 * it runs with — a cursor its DECLARE (itself), a protocol portal each statement it may be bound
 * to (itself while none is known) — and whether the portal's bind parameters go with them (a
 * cursor declared in a query has its values in its text).
 */
export function portalReads(x: Entry): { runs: readonly Entry[]; bound: boolean } {
  if (x.cursor) return { runs: [x], bound: x.declaredByBind === true };
  const s = boundStatements(x);
  return { runs: s.length > 0 ? s : [x], bound: true };
}

/** The statement a portal runs when the server has its Bind: the one it was bound to, or the last candidate. */
export function lastBound(portal: Entry): Entry | undefined {
  const c = portal.candidates;
  return portal.statement ?? (c && c.length > 0 ? c[c.length - 1] : undefined);
}

/**
 * The name under which the server holds a prepared statement or portal called `name`. Its hash
 * tables are keyed by NAMEDATALEN bytes and compare the first 63 (`strncmp`), so a longer
 * protocol-level name is the same as any other with the same first 63 bytes — even when the
 * cut falls inside a character. SQL names (PREPARE, DECLARE, EXECUTE, FETCH …) arrive already
 * cut by the parser at a character boundary, and map to themselves. A cut through a character
 * keeps its leading bytes after a NUL, which no name can contain, so distinct byte prefixes
 * stay distinct keys.
 */
export function nameKey(name: string): string {
  // a UTF-16 unit is at most 3 UTF-8 bytes
  if (name.length * 3 <= MAX_IDENTIFIER_BYTES) return name;
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= MAX_IDENTIFIER_BYTES) return name;
  let end = MAX_IDENTIFIER_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to the start of the character cut
  const whole = bytes.toString('utf8', 0, end);
  return end === MAX_IDENTIFIER_BYTES ? whole : `${whole}\0${bytes.toString('hex', end, MAX_IDENTIFIER_BYTES)}`;
}

interface Slot {
  confirmed: Entry | null;
  pending: Entry[];
}

/**
 * What an entry costs to hold, in bytes, roughly: its text, bind parameters and declared
 * parameter types (UTF-16 text counted at 2 bytes a unit, a type at 8), and 1 KiB for the entry
 * and its classification.
 */
export function entryCost(e: Pick<Entry, 'text' | 'params' | 'paramTypes'>): number {
  let n = 1024 + 2 * e.text.length + 8 * (e.paramTypes?.length ?? 0);
  if (e.params) for (const p of e.params) if (p !== null) n += typeof p === 'string' ? 2 * p.length : p.length;
  return n;
}

/** What every session's registries hold together, in entryCost bytes. */
let heldByAll = 0;

/** The bytes all sessions' registries hold together. */
export function heldByAllSessions(): number {
  return heldByAll;
}

export class NameRegistry {
  private readonly slots = new Map<string, Slot>();
  /** what the entries under every name cost to hold (entryCost), for the session's bound */
  private heldBytes = 0;
  private released = false;

  private slot(name: string): Slot {
    const key = nameKey(name);
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = { confirmed: null, pending: [] }));
    return s;
  }

  private hold(e: Entry, sign: 1 | -1): void {
    const n = sign * entryCost(e);
    this.heldBytes += n;
    if (!this.released) heldByAll += n;
  }

  /** What the registry holds, in entryCost bytes. */
  get held(): number {
    return this.heldBytes;
  }

  /** The session ended: what it held no longer counts against all sessions'. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldByAll -= this.heldBytes;
  }

  /** A message that will create `name` was forwarded. */
  addPending(name: string, e: Entry): void {
    this.slot(name).pending.push(e);
    this.hold(e, 1);
  }

  /** The server created it. */
  confirm(name: string, e: Entry): void {
    const s = this.slot(name);
    if (s.confirmed !== null && s.confirmed !== e) this.hold(s.confirmed, -1);
    const i = s.pending.indexOf(e);
    if (i >= 0) s.pending.splice(i, 1);
    else if (s.confirmed !== e) this.hold(e, 1);
    s.confirmed = e;
  }

  /** The server refused or skipped it. */
  fail(name: string, e: Entry): void {
    const key = nameKey(name);
    const s = this.slots.get(key);
    if (!s) return;
    const i = s.pending.indexOf(e);
    if (i >= 0) {
      s.pending.splice(i, 1);
      this.hold(e, -1);
    }
    if (s.confirmed === null && s.pending.length === 0) this.slots.delete(key);
  }

  private drop(key: string, s: Slot): void {
    if (s.confirmed !== null) this.hold(s.confirmed, -1);
    s.confirmed = null;
    if (s.pending.length === 0) this.slots.delete(key);
  }

  remove(name: string): void {
    const key = nameKey(name);
    const s = this.slots.get(key);
    if (s) this.drop(key, s);
  }

  /** The end of a transaction: protocol portals are gone; cursors are kept until CLOSE. */
  clearProtocolPortals(): void {
    for (const [key, s] of this.slots) if (s.confirmed === null || !s.confirmed.cursor) this.drop(key, s);
  }

  /** CLOSE ALL. */
  clearCursors(): void {
    for (const [key, s] of this.slots) if (s.confirmed === null || s.confirmed.cursor) this.drop(key, s);
  }

  clear(): void {
    for (const [key, s] of this.slots) this.drop(key, s);
  }

  /** Everything the server may hold under the name: empty when the gateway knows of nothing. */
  possible(name: string): Entry[] {
    const s = this.slots.get(nameKey(name));
    if (!s) return [];
    return s.confirmed ? (s.pending.length > 0 ? [s.confirmed, ...s.pending] : [s.confirmed]) : s.pending;
  }

  /** What the server holds under the name as far as its replies so far tell: null when nothing. */
  current(name: string): Entry | null {
    return this.slots.get(nameKey(name))?.confirmed ?? null;
  }

  get size(): number {
    return this.slots.size;
  }
}

/**
 * The statements of several entries a name may hold, for a decision that covers every one: the
 * shared list when they share one (a statement parsed again with the same text), else each
 * entry's in turn. `waysOf` reads this layout.
 */
export function statementsOf(entries: readonly Entry[]): readonly ClassifiedStatement[] {
  const first = entries[0].statements;
  for (let i = 1; i < entries.length; i++) if (entries[i].statements !== first) return entries.flatMap((e) => e.statements);
  return first;
}

/** One way an Execute may run: the portal, the statement bound into it, and where their statements sit in the Execute's list. */
export interface Way {
  portal: Entry;
  statement: Entry | undefined;
  from: number;
  to: number;
}

/**
 * Every way an Execute of a portal name may run, given the portals the name may hold: each
 * portal with each statement its Bind may have bound. Positions index `statementsOf(portals)`.
 */
export function waysOf(portals: readonly Entry[]): Way[] {
  const ways: Way[] = [];
  const shared = portals.every((p) => p.statements === portals[0].statements);
  let at = 0;
  for (const p of portals) {
    const base = shared ? 0 : at;
    at += p.statements.length;
    const cands = p.candidates;
    if (!cands) {
      ways.push({ portal: p, statement: p.statement, from: base, to: base + p.statements.length });
      continue;
    }
    const sharedCands = cands.every((c) => c.statements === cands[0].statements);
    let inner = 0;
    for (const c of cands) {
      const from = base + (sharedCands ? 0 : inner);
      inner += c.statements.length;
      ways.push({ portal: p, statement: c, from, to: from + c.statements.length });
    }
  }
  return ways;
}
