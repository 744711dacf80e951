// Framing: a realistic session's bytes split at every byte boundary, fed one byte at a time,
// and coalesced into one chunk must give the same messages; hostile input gives typed errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as b from '../../support/pgwire-builder.ts';
import {
  FrontendReader,
  BackendReader,
  looksLikeTlsClientHello,
  type Frame,
  type ProtocolError,
} from '../../../runtime/postgres/protocol/index.ts';

const bytes = (s: string) => [...Buffer.from(s)];

// --- realistic sessions ---

const frontendMessages: Buffer[] = [
  b.gssEncRequest(),
  b.sslRequest(),
  b.startupMessage([['user', 'agent'], ['database', 'shop'], ['application_name', 'crewai'], ['client_encoding', 'UTF8']]),
  b.passwordMessage('eyJhbGciOiJSUzI1NiJ9.' + 'x'.repeat(900) + '.sig'),
  b.query('SELECT id, email FROM customers WHERE id = 1'),
  b.parse('', 'SELECT * FROM orders WHERE id = $1', [23]),
  b.bind('', '', [1], [[0, 0, 0, 42]], [1]),
  b.describe('P', ''),
  b.execute('', 0),
  b.sync(),
  b.parse('P_0', 'UPDATE orders SET status = $1 WHERE id = $2', [25, 23]),
  b.describe('S', 'P_0'),
  b.flush(),
  b.bind('', 'P_0', [], [bytes('shipped'), bytes('7')], []),
  b.execute('', 0),
  b.sync(),
  b.query('COPY t FROM STDIN'),
  b.copyData(bytes('1\tone\n')),
  b.copyData([...Buffer.alloc(700, 0x41)]),
  b.copyDone(),
  b.query(''),
  b.functionCall(952, [1], [[0, 0, 0, 1]], 1),
  b.close('S', 'P_0'),
  b.sync(),
  b.terminate(),
];

const backendMessages: Buffer[] = [
  b.authenticationSASL(['SCRAM-SHA-256']),
  b.authenticationSASLContinue(bytes('r=abc,s=c2FsdA==,i=4096')),
  b.authenticationSASLFinal(bytes('v=c2ln')),
  b.authenticationOk(),
  b.parameterStatus('server_version', '15.18'),
  b.parameterStatus('client_encoding', 'UTF8'),
  b.parameterStatus('TimeZone', 'UTC'),
  b.backendKeyData(4242, 12345678),
  b.readyForQuery('I'),
  b.rowDescription([
    { name: 'id', tableOid: 16384, column: 1, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 },
    { name: 'email', tableOid: 16384, column: 2, typeOid: 25, typeSize: -1, typeMod: -1, format: 0 },
  ]),
  b.dataRow([bytes('1'), bytes('a@example.com')]),
  b.dataRow([bytes('2'), null]),
  b.dataRow([bytes('3'), [...Buffer.alloc(600, 0x62)]]),
  b.commandComplete('SELECT 3'),
  b.readyForQuery('I'),
  b.parseComplete(),
  b.bindComplete(),
  b.noData(),
  b.noticeResponse([['S', 'NOTICE'], ['V', 'NOTICE'], ['C', '00000'], ['M', 'hello']]),
  b.commandComplete('UPDATE 1'),
  b.readyForQuery('T'),
  b.parameterDescription([25, 23]),
  b.errorResponse([['S', 'ERROR'], ['V', 'ERROR'], ['C', '42501'], ['M', 'permission denied']]),
  b.readyForQuery('E'),
  b.copyOutResponse(0, [0, 0]),
  b.copyData(bytes('1\tone\n')),
  b.copyDone(),
  b.commandComplete('COPY 1'),
  b.notificationResponse(4243, 'jobs', 'done'),
  b.emptyQueryResponse(),
  b.functionCallResponse(bytes('x')),
  b.portalSuspended(),
  b.closeComplete(),
  b.readyForQuery('I'),
];

interface Got {
  type: number;
  raw: Buffer;
  body: Buffer;
}

type AnyReader = FrontendReader | BackendReader;

function drain(r: AnyReader, out: Got[] | null): ProtocolError | null {
  for (let guard = 0; guard < 1_000_000; guard++) {
    const m = r.next();
    if (m === null) return null;
    if (m.kind === 'ProtocolError') return m;
    out?.push({ type: m.type, raw: m.raw, body: m.body });
  }
  throw new Error('reader did not stop');
}

function feed(make: () => AnyReader, chunks: Buffer[]): Got[] {
  const r = make();
  const out: Got[] = [];
  for (const c of chunks) {
    r.push(c);
    const e = drain(r, out);
    if (e !== null) assert.unreachable(`unexpected error: ${e.message}`);
  }
  assert.is(r.end(), null, 'the stream ends between messages');
  assert.is(r.bufferedBytes, 0);
  return out;
}

function expected(messages: Buffer[], startupCount: number): Got[] {
  return messages.map((m, i) =>
    i < startupCount ? { type: 0, raw: m, body: m.subarray(4) } : { type: m[0]!, raw: m, body: m.subarray(5) },
  );
}

function sameMessages(got: Got[], want: Got[], what: string): void {
  if (got.length !== want.length) assert.unreachable(`${what}: ${got.length} messages, expected ${want.length}`);
  for (let k = 0; k < want.length; k++) {
    const g = got[k]!;
    const w = want[k]!;
    if (g.type !== w.type || !g.raw.equals(w.raw) || !g.body.equals(w.body)) assert.unreachable(`${what}: message ${k} differs`);
  }
}

/** Split points: every byte when `every`, otherwise near each message boundary and every 997 bytes. */
function splitPoints(messages: Buffer[], every: boolean): number[] {
  const total = messages.reduce((n, m) => n + m.length, 0);
  if (every) return Array.from({ length: total - 1 }, (_, i) => i + 1);
  const pts = new Set<number>();
  let at = 0;
  for (const m of messages) {
    for (let d = -6; d <= 6; d++) pts.add(at + d);
    at += m.length;
  }
  for (let i = 0; i < total; i += 997) pts.add(i);
  return [...pts].filter((p) => p > 0 && p < total).sort((x, y) => x - y);
}

function splitEverywhere(name: string, make: () => AnyReader, messages: Buffer[], startupCount: number, every = true) {
  test(`${name}: coalesced, byte by byte, and split at ${every ? 'every' : 'many'} boundar${every ? 'y' : 'ies'} give the same messages`, () => {
    const stream = Buffer.concat(messages);
    const want = expected(messages, startupCount);
    sameMessages(feed(make, [stream]), want, 'coalesced');
    const single: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) single.push(stream.subarray(i, i + 1));
    sameMessages(feed(make, single), want, 'one byte at a time');
    for (const i of splitPoints(messages, every)) {
      sameMessages(feed(make, [stream.subarray(0, i), stream.subarray(i)]), want, `split at ${i}`);
    }
    // three pieces: every pair of boundaries in the first 64 bytes
    for (let i = 1; i < 64; i++) {
      for (let j = i + 1; j < 64; j++) {
        sameMessages(feed(make, [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]), want, `split at ${i} and ${j}`);
      }
    }
    // irregular chunk sizes, as a socket would give them
    const chunks: Buffer[] = [];
    for (let i = 0, n = 1; i < stream.length; i += n, n = (n * 7 + 3) % 9000 || 1) chunks.push(stream.subarray(i, i + n));
    sameMessages(feed(make, chunks), want, 'irregular chunks');
  });
}

splitEverywhere('frontend session', () => new FrontendReader(), frontendMessages, 3);
splitEverywhere('backend session', () => new BackendReader(), backendMessages, 0);

// Large messages (bigger than a socket chunk): split near every message edge and every 997 bytes.
const largeBackend = [
  b.rowDescription([{ name: 'doc', tableOid: 0, column: 0, typeOid: 25, typeSize: -1, typeMod: -1, format: 0 }]),
  b.dataRow([[...Buffer.alloc(100_000, 0x62)]]),
  b.dataRow([null]),
  b.dataRow([[...Buffer.alloc(70_000, 0x63)]]),
  b.commandComplete('SELECT 3'),
  b.readyForQuery('I'),
];
const largeFrontend = [
  b.startupMessage([['user', 'u']]),
  b.query('COPY t FROM STDIN'),
  b.copyData([...Buffer.alloc(70_000, 0x41)]),
  b.copyData(bytes('x')),
  b.copyData([...Buffer.alloc(65_536, 0x42)]),
  b.copyDone(),
];
splitEverywhere('backend session with large rows', () => new BackendReader(), largeBackend, 0, false);
splitEverywhere('frontend session with large COPY data', () => new FrontendReader(), largeFrontend, 1, false);

test('frames are views of the chunk when a message arrives whole', () => {
  const r = new BackendReader();
  const chunk = Buffer.concat([b.readyForQuery('I'), b.commandComplete('SELECT 1')]);
  r.push(chunk);
  const m = r.next() as Frame;
  assert.is(m.raw.buffer, chunk.buffer);
  assert.is(m.raw.byteOffset, chunk.byteOffset);
  assert.is(m.body.byteOffset, chunk.byteOffset + 5);
});

test('pushing before draining keeps every byte', () => {
  const r = new BackendReader();
  const s = Buffer.concat([b.readyForQuery('I'), b.commandComplete('SELECT 1'), b.readyForQuery('T')]);
  r.push(s.subarray(0, 8));
  r.push(s.subarray(8));
  const out: Got[] = [];
  assert.is(drain(r, out), null);
  sameMessages(out, expected([b.readyForQuery('I'), b.commandComplete('SELECT 1'), b.readyForQuery('T')], 0), 'pushed twice');
});

// --- the startup phase ---

test('SSLRequest alone: no bytes buffered; the first message can come again', () => {
  const r = new FrontendReader();
  r.push(b.sslRequest());
  const m = r.next() as Frame;
  assert.is(m.type, 0);
  assert.is(m.body.readInt32BE(0), 80877103);
  assert.is(r.bufferedBytes, 0);
  assert.is(r.currentPhase, 'startup');
  // answered 'N': the client sends its StartupMessage in the clear
  r.push(b.startupMessage([['user', 'u']]));
  const s = r.next() as Frame;
  assert.is(s.type, 0);
  assert.is(s.body.readInt32BE(0), 196608);
  assert.is(r.currentPhase, 'typed');
  r.push(b.query('SELECT 1'));
  assert.is((r.next() as Frame).type, 0x51);
});

test('SSLRequest followed by bytes in the same chunk is visible (CVE-2021-23214)', () => {
  const r = new FrontendReader();
  r.push(Buffer.concat([b.sslRequest(), b.startupMessage([['user', 'attacker']])]));
  const m = r.next() as Frame;
  assert.is(m.body.readInt32BE(0), 80877103);
  assert.ok(r.bufferedBytes > 0, 'the gateway sees injected bytes before the TLS handshake');
  const r2 = new FrontendReader();
  r2.push(Buffer.concat([b.gssEncRequest(), Buffer.from([1])]));
  r2.next();
  assert.is(r2.bufferedBytes, 1);
});

test('GSSENCRequest, then SSLRequest, then StartupMessage', () => {
  const r = new FrontendReader();
  r.push(Buffer.concat([b.gssEncRequest(), b.sslRequest(), b.startupMessage([['user', 'u']]), b.sync()]));
  const out: Got[] = [];
  assert.is(drain(r, out), null);
  assert.equal(out.map((g) => g.type), [0, 0, 0, 0x53]);
});

test('nothing may follow a CancelRequest', () => {
  const r = new FrontendReader();
  r.push(Buffer.concat([b.cancelRequest(1, 2), Buffer.from([0x51])]));
  assert.is((r.next() as Frame).type, 0);
  assert.is(r.currentPhase, 'ended');
  const e = r.next() as ProtocolError;
  assert.is(e.kind, 'ProtocolError');
  assert.is(e.code, 'unexpected-message');
});

test('a direct-TLS ClientHello is recognisable before framing', () => {
  assert.ok(looksLikeTlsClientHello(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])));
  assert.not.ok(looksLikeTlsClientHello(b.sslRequest()));
  assert.not.ok(looksLikeTlsClientHello(b.startupMessage([['user', 'u']])));
});

// --- hostile input ---

function firstError(r: AnyReader, chunks: Buffer[]): ProtocolError | null {
  for (const c of chunks) {
    r.push(c);
    const e = drain(r, null);
    if (e !== null) return e;
  }
  return r.end();
}

function typed(): FrontendReader {
  const r = new FrontendReader();
  r.push(b.startupMessage([['user', 'u']]));
  r.next();
  return r;
}

test('length below 4 is an error, never a loop', () => {
  for (const len of [0, 1, 3, -1, -2147483648]) {
    const e = firstError(typed(), [Buffer.from([0x51, ...b.i32(len)])]);
    assert.is(e?.code, 'invalid-length', `length ${len}`);
    const e2 = firstError(new BackendReader(), [Buffer.from([0x5a, ...b.i32(len)])]);
    assert.is(e2?.code, 'invalid-length', `backend length ${len}`);
  }
  // split header
  const e3 = firstError(typed(), [Buffer.from([0x51, 0, 0]), Buffer.from([0, 2])]);
  assert.is(e3?.code, 'invalid-length');
});

test('length beyond the cap is refused from the header alone', () => {
  const r = new FrontendReader({ maxMessageLength: 1000 });
  r.push(b.startupMessage([['user', 'u']]));
  r.next();
  const e = firstError(r, [Buffer.from([0x51, ...b.i32(1001)])]);
  assert.is(e?.code, 'message-too-large');
  assert.is(e?.sqlstate, '54000');
  // a small message (Sync) with a large length: the small cap applies
  const e2 = firstError(typed(), [Buffer.from([0x53, ...b.i32(20_000)])]);
  assert.is(e2?.code, 'message-too-large');
  // a 2 GB length from the server
  const e3 = firstError(new BackendReader({ maxMessageLength: 1 << 20 }), [Buffer.from([0x44, 0x7f, 0xff, 0xff, 0xff])]);
  assert.is(e3?.code, 'message-too-large');
  // exactly at the cap is fine
  const ok = new FrontendReader({ maxMessageLength: 13 });
  ok.push(b.startupMessage([['user', 'u']]));
  ok.next();
  ok.push(b.query('SELECT 1'));
  assert.is((ok.next() as Frame).type, 0x51);
});

test('startup packet: length < 8 or > 10,000 is refused', () => {
  for (const len of [0, 4, 7, -5]) {
    const e = firstError(new FrontendReader(), [Buffer.from([...b.i32(len), 0, 3, 0, 0])]);
    assert.is(e?.code, 'invalid-length', `length ${len}`);
  }
  const e = firstError(new FrontendReader(), [Buffer.from(b.i32(10_001))]);
  assert.is(e?.code, 'message-too-large');
  const big = b.startupMessage([['user', 'u'], ['options', 'x'.repeat(9_970)]]);
  assert.ok(big.length <= 10_000);
  const r = new FrontendReader();
  r.push(big);
  assert.is((r.next() as Frame).type, 0);
});

test('a truncated message at EOF is reported', () => {
  const q = b.query('SELECT 1');
  for (let i = 1; i < q.length; i++) {
    const r = typed();
    r.push(q.subarray(0, i));
    assert.is(r.next(), null);
    assert.is(r.end()?.code, 'truncated', `cut at ${i}`);
  }
  const r = new FrontendReader();
  r.push(Buffer.from([0, 0]));
  assert.is(r.next(), null);
  assert.is(r.end()?.code, 'truncated');
});

test('unknown type bytes are errors unless allowed', () => {
  const e = firstError(typed(), [b.readyForQuery('I')]); // 'Z' is a backend message
  assert.is(e?.code, 'unknown-message-type');
  assert.is(e?.messageType, 0x5a);
  const e2 = firstError(new BackendReader(), [b.query('x')]); // 'Q' is a frontend message
  assert.is(e2?.code, 'unknown-message-type');
  for (const t of [0, 0x01, 0xff, 0x7a]) {
    assert.is(firstError(typed(), [Buffer.from([t, 0, 0, 0, 4])])?.code, 'unknown-message-type');
  }
  const r = new BackendReader({ allowUnknownTypes: true });
  r.push(Buffer.from([0x7a, 0, 0, 0, 5, 1]));
  assert.is((r.next() as Frame).type, 0x7a);
});

test('errors are sticky and stop all parsing', () => {
  const r = typed();
  r.push(Buffer.concat([Buffer.from([0x51, 0, 0, 0, 1]), b.sync()]));
  const e = r.next();
  assert.is(e?.kind, 'ProtocolError');
  assert.is(r.next(), e);
  r.push(b.sync());
  assert.is(r.next(), e);
  assert.is(r.error, e);
  assert.is(r.end(), e);
});

test('takeBuffered hands back unparsed bytes, partial messages included', () => {
  const r = new BackendReader();
  const rest = Buffer.concat([b.commandComplete('SELECT 1'), b.readyForQuery('I').subarray(0, 3)]);
  r.push(Buffer.concat([b.readyForQuery('I'), rest]));
  assert.is((r.next() as Frame).type, 0x5a);
  assert.is(r.takeBuffered().toString('hex'), rest.toString('hex'));
  assert.is(r.bufferedBytes, 0);
  const r2 = new BackendReader();
  const part = b.commandComplete('SELECT 100').subarray(0, 9);
  r2.push(part.subarray(0, 3));
  r2.next();
  r2.push(part.subarray(3));
  r2.next();
  assert.is(r2.takeBuffered().toString('hex'), part.toString('hex'));
});

test('random bytes never throw and always terminate', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let round = 0; round < 3000; round++) {
    const len = Math.floor(rnd() * 64);
    const junk = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
    for (const r of [new FrontendReader(), typed(), new BackendReader()]) {
      let off = 0;
      while (off < junk.length) {
        const n = 1 + Math.floor(rnd() * 8);
        r.push(junk.subarray(off, off + n));
        off += n;
        drain(r, null);
      }
      r.end();
    }
  }
});

test.run();
