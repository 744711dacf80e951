// The registry files names as the server does: its tables of prepared statements and portals
// compare the first 63 bytes of a name (NAMEDATALEN - 1), whatever comes after.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { declaredTypes, entryCost, heldByAllSessions, lastBound, nameKey, NameRegistry, portalReads, type Entry } from '../../../runtime/postgres/gateway/registry.ts';

const test = suite('gateway: the name registry');
const entry = (text: string): Entry => ({ text, statements: [] });

test('names of up to 63 bytes are themselves; longer ones are one with any name sharing their first 63 bytes', () => {
  for (const n of ['', 's1', 'a'.repeat(63), 'é'.repeat(31), '__asyncpg_stmt_1__']) assert.is(nameKey(n), n);
  assert.is(nameKey('a'.repeat(64)), 'a'.repeat(63));
  assert.is(nameKey(`${'a'.repeat(63)}X`), nameKey(`${'a'.repeat(63)}Y`));
  assert.is.not(nameKey(`${'a'.repeat(62)}X`), nameKey(`${'a'.repeat(62)}Y`));
});

test('a cut through a character keeps its first bytes: the same as the server, and never a shorter name', () => {
  // 62 ASCII bytes then "é" (2 bytes): the server keeps 0xC3 as the 63rd byte
  const cut = `${'a'.repeat(62)}é`;
  assert.is.not(nameKey(cut), 'a'.repeat(62));
  assert.is(nameKey(cut), nameKey(`${'a'.repeat(62)}ê`)); // é is C3 A9, ê is C3 AA: the same first byte
  assert.is.not(nameKey(cut), nameKey(`${'a'.repeat(62)}ő`)); // ő is C5 91
  // a 4-byte character cut after one, two or three of its bytes
  for (const pad of [60, 61, 62]) {
    const a = `${'b'.repeat(pad)}😀x`;
    const b = `${'b'.repeat(pad)}😁y`; // F0 9F 98 80 against F0 9F 98 81
    assert.is(nameKey(a), nameKey(b), `cut after ${63 - pad} bytes`);
    assert.is.not(nameKey(a), 'b'.repeat(pad));
  }
  assert.is.not(nameKey(`${'b'.repeat(59)}😀x`), nameKey(`${'b'.repeat(59)}😁y`)); // the whole character fits
});

test('declared parameter types: trailing unspecified ones (0) are as if not declared', () => {
  assert.is(declaredTypes([]), undefined);
  assert.is(declaredTypes([0, 0]), undefined);
  assert.equal(declaredTypes([23, 0]), [23]);
  assert.equal(declaredTypes([0, 25]), [0, 25]);
  assert.equal(declaredTypes([17]), [17]);
});

test('what reading a portal runs, and whether its bind parameters go with it', () => {
  const s1: Entry = { ...entry('SELECT $1'), paramTypes: [23] };
  const s2: Entry = { ...entry('SELECT $1::text'), paramTypes: [25] };
  // a cursor declared in a query: its DECLARE, its values in its text
  const inQuery: Entry = { ...entry('DECLARE c CURSOR FOR SELECT 1'), cursor: true };
  assert.equal(portalReads(inQuery), { runs: [inQuery], bound: false });
  // a cursor declared by an Execute: its DECLARE with the Bind's parameters
  const byBind: Entry = { ...entry('DECLARE c CURSOR FOR SELECT $1'), cursor: true, declaredByBind: true, params: ['1'], paramTypes: [23] };
  assert.equal(portalReads(byBind), { runs: [byBind], bound: true });
  // a protocol portal: the statement it was bound to, each candidate while unconfirmed, itself while none is known
  assert.equal(portalReads({ ...entry('SELECT $1'), statement: s1 }), { runs: [s1], bound: true });
  assert.equal(portalReads({ ...entry('SELECT $1::text'), candidates: [s1, s2] }).runs, [s1, s2]);
  const bare = entry('SELECT 1');
  assert.equal(portalReads(bare), { runs: [bare], bound: true });
  // the statement it runs once the server has its Bind: the confirmed one, or the last candidate
  assert.is(lastBound({ ...entry('x'), statement: s1, candidates: [s2] }), s1);
  assert.is(lastBound({ ...entry('x'), candidates: [s1, s2] }), s2);
  assert.is(lastBound(bare), undefined);
});

test('every operation of the registry reads names through the key', () => {
  const r = new NameRegistry();
  const long = (t: string) => `${'n'.repeat(63)}${t}`;
  const a = entry('a');
  const b = entry('b');
  r.addPending(long('A'), a);
  r.confirm(long('B'), a);
  assert.equal(r.possible(long('C')), [a]);
  assert.is(r.current('n'.repeat(63)), a);
  r.addPending(long('D'), b);
  assert.equal(r.possible(long('E')), [a, b]);
  r.fail(long('F'), b);
  assert.equal(r.possible(long('G')), [a]);
  r.remove(long('H'));
  assert.equal(r.possible(long('A')), []);
  assert.is(r.size, 0);
});

test('what the registry holds follows every entry in and out, and leaves the total of all sessions when released', () => {
  const r = new NameRegistry();
  const all0 = heldByAllSessions();
  const a = entry('SELECT 1');
  const b = { ...entry('SELECT 22'), params: ['abc', new Uint8Array(10), null] } as Entry;
  const c = { ...entry('DECLARE c CURSOR WITH HOLD FOR SELECT 1'), cursor: true } as Entry;
  const cost = (e: Entry) => entryCost(e);
  assert.is(cost(b), 1024 + 2 * 9 + 6 + 10);
  r.addPending('s', a);
  r.addPending('s', b);
  assert.is(r.held, cost(a) + cost(b));
  r.confirm('s', a); // b still pending
  r.fail('s', b);
  assert.is(r.held, cost(a));
  r.addPending('s', b);
  r.confirm('s', b); // replaces a
  assert.is(r.held, cost(b));
  r.confirm('t', c); // confirmed without a pending entry: counted once
  r.confirm('t', c);
  assert.is(r.held, cost(b) + cost(c));
  assert.is(heldByAllSessions() - all0, cost(b) + cost(c));
  r.clearProtocolPortals(); // the cursor stays
  assert.is(r.held, cost(c));
  r.clearCursors();
  assert.is(r.held, 0);
  r.addPending('u', a);
  r.confirm('u', a);
  r.remove('u');
  r.remove('u');
  assert.is(r.held, 0);
  r.addPending('v', a);
  r.release();
  r.release();
  assert.is(heldByAllSessions(), all0);
  r.clear(); // after release: the session's own count goes on, the total no more
  assert.is(heldByAllSessions(), all0);
});

test.run();
