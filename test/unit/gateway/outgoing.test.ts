// Outgoing: what one write carries. Relayed messages (views of the chunk they came in) go out as
// one view of that chunk; anything else is joined — and the bytes are always exactly the pushed
// ones, in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Outgoing } from '../../../runtime/postgres/gateway/outgoing.ts';

// unpooled (Buffer.alloc): no buffer the code under test allocates can share its memory
const chunk = Buffer.alloc(20, '0123456789abcdefghij');

/** Pushes each part as a view of `chunk` (what the session says of a relayed message). */
function sent(parts: Buffer[], source: Buffer | null = chunk): Buffer | null {
  const o = new Outgoing();
  for (const p of parts) o.push(p, source);
  return o.take();
}

test('consecutive views of one chunk go out as one view of it, not a copy', () => {
  const out = sent([chunk.subarray(2, 5), chunk.subarray(5, 9), chunk.subarray(9, 10)])!;
  assert.is(out.toString(), '23456789');
  assert.ok(out.buffer === chunk.buffer, 'a view of the received chunk');
  assert.is(out.byteOffset, chunk.byteOffset + 2);
  const whole = sent([chunk]);
  assert.ok(whole === chunk, 'a single buffer is passed on as it is');
});

test('views out of order, with a gap, or of another chunk are joined in the order pushed', () => {
  assert.is(sent([chunk.subarray(5, 8), chunk.subarray(2, 5)])!.toString(), '567234');
  assert.is(sent([chunk.subarray(0, 2), chunk.subarray(3, 5)])!.toString(), '0134');
  // views of two chunks whose offsets line up: never merged by numbers alone
  const a = Buffer.alloc(10, '0123456789');
  const b = Buffer.alloc(10, 'ABCDEFGHIJ'); // both unpooled: byteOffset 0
  const o = new Outgoing();
  o.push(a.subarray(0, 4), a);
  o.push(b.subarray(4, 7), b);
  assert.is(o.take()!.toString(), '0123EFG');
  // adjacent views pushed without their source (bytes of the gateway's own) are joined, not merged
  const own = sent([chunk.subarray(0, 3), chunk.subarray(3, 5)], null)!;
  assert.is(own.toString(), '01234');
  assert.ok(own.buffer !== chunk.buffer);
  const denial = Buffer.from('<denied>');
  const x = new Outgoing();
  x.push(chunk.subarray(0, 3), chunk);
  x.push(denial);
  x.push(chunk.subarray(3, 6), chunk);
  x.push(chunk.subarray(6, 7), chunk);
  const out = x.take()!;
  assert.is(out.toString(), '012<denied>3456');
  assert.ok(out.buffer !== chunk.buffer);
});

test('nothing pushed, or only empty buffers: nothing to write; take() empties the queue', () => {
  const o = new Outgoing();
  assert.is(o.take(), null);
  o.push(Buffer.alloc(0));
  assert.ok(o.empty);
  assert.is(o.take(), null);
  o.push(chunk.subarray(0, 2), chunk);
  o.push(Buffer.from('x'));
  assert.is(o.take()!.toString(), '01x');
  assert.ok(o.empty);
  assert.is(o.take(), null);
  o.push(chunk.subarray(2, 4), chunk);
  o.push(chunk.subarray(4, 5), chunk);
  assert.is(o.take()!.toString(), '234', 'a new run after take');
});

test("take(own): a view of a received chunk comes as a copy; the gateway's own bytes and joined bytes as they are", () => {
  const o = new Outgoing();
  o.push(chunk.subarray(2, 4), chunk);
  o.push(chunk.subarray(4, 6), chunk);
  const copy = o.take(true)!;
  assert.is(copy.toString(), '2345');
  assert.ok(copy.buffer !== chunk.buffer, 'not a view of the chunk');
  const own = Buffer.from('<notice>');
  o.push(own);
  assert.ok(o.take(true) === own, 'bytes of the gateway\'s own are not copied');
  o.push(chunk.subarray(0, 1), chunk);
  o.push(own);
  const joined = o.take(true)!;
  assert.is(joined.toString(), '0<notice>');
});

test.run();
