// Hostile bytes: every decoder returns a typed ProtocolError, never throws, never loops, and
// never quotes the payload in its message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as b from '../../support/pgwire-builder.ts';
import * as p from '../../../runtime/postgres/protocol/index.ts';

const body = (m: Buffer) => m.subarray(5);
const sbody = (m: Buffer) => m.subarray(4);
const bytes = (s: string) => [...Buffer.from(s)];

function err(r: { kind: string }, code?: p.ProtocolErrorCode): p.ProtocolError {
  if (r.kind !== 'ProtocolError') assert.unreachable(`expected an error, got ${r.kind}`);
  const e = r as p.ProtocolError;
  if (code !== undefined) assert.is(e.code, code, e.message);
  assert.is(e.sqlstate.length, 5);
  assert.ok(!e.message.includes('\n'));
  return e;
}

test('startup packet: unterminated parameter list', () => {
  const s = sbody(b.startupMessage([['user', 'u'], ['database', 'd']]));
  err(p.decodeStartupPacket(s.subarray(0, s.length - 1)), 'missing-terminator'); // final zero missing
  err(p.decodeStartupPacket(Buffer.from([0, 3, 0, 0, ...b.cstr('user'), ...bytes('alice')])), 'missing-terminator');
  err(p.decodeStartupPacket(Buffer.from([0, 3, 0, 0])), 'missing-terminator');
});

test('startup packet: odd key/value count', () => {
  // "user" "alice" "database" then the end: a key without a value
  err(p.decodeStartupPacket(Buffer.from([0, 3, 0, 0, ...b.cstr('user'), ...b.cstr('alice'), ...b.cstr('database')])), 'invalid-count');
  // "user" "alice" "database" "" and no terminator
  err(p.decodeStartupPacket(Buffer.from([0, 3, 0, 0, ...b.cstr('user'), ...b.cstr('alice'), ...b.cstr('database'), 0])), 'missing-terminator');
});

test('startup packet: duplicates, bytes after the terminator, invalid UTF-8, bad request sizes', () => {
  err(p.decodeStartupPacket(sbody(b.startupMessage([['user', 'a'], ['user', 'postgres']]))), 'duplicate-parameter');
  err(p.decodeStartupPacket(Buffer.concat([sbody(b.startupMessage([['user', 'a']])), Buffer.from([1])])), 'trailing-bytes');
  err(p.decodeStartupPacket(Buffer.from([0, 3, 0, 0, ...b.cstr('user'), 0xc3, 0x28, 0, 0])), 'invalid-utf8');
  err(p.decodeStartupPacket(Buffer.from([0x04, 0xd2, 0x16, 0x2f, 0])), 'invalid-length'); // SSLRequest with a body
  err(p.decodeStartupPacket(Buffer.from([0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1, 0, 0])), 'invalid-length'); // cancel key too short
  err(p.decodeStartupPacket(sbody(b.cancelRequest(1, Array.from({ length: 257 }, () => 1)))), 'invalid-length');
  err(p.decodeStartupPacket(Buffer.from([0, 3])), 'short-message');
});

test('Bind: more values than declared, mismatched formats, bad format codes, bad lengths', () => {
  // declares 1 parameter, carries 2 values
  const two = Buffer.from([...b.cstr(''), ...b.cstr(''), ...b.i16(0), ...b.i16(1), ...b.i32(1), 0x31, ...b.i32(1), 0x32, ...b.i16(0)]);
  err(p.decodeBind(two));
  // declares 3 parameters, carries 1
  err(p.decodeBind(Buffer.from([...b.cstr(''), ...b.cstr(''), ...b.i16(0), ...b.i16(3), ...b.i32(1), 0x31, ...b.i16(0)])));
  err(p.decodeBind(body(b.bind('', '', [0, 0], [bytes('1'), bytes('2'), bytes('3')], []))), 'invalid-count');
  err(p.decodeBind(body(b.bind('', '', [2], [bytes('1')], []))), 'invalid-value');
  err(p.decodeBind(body(b.bind('', '', [], [bytes('1')], [7]))), 'invalid-value');
  for (const len of [-2, -100, -2147483648]) {
    err(p.decodeBind(Buffer.from([...b.cstr(''), ...b.cstr(''), ...b.i16(0), ...b.i16(1), ...b.i32(len), ...b.i16(0)])), 'invalid-value');
  }
  err(p.decodeBind(Buffer.from([...b.cstr(''), ...b.cstr(''), ...b.i16(0), ...b.i16(1), ...b.i32(1000), 1, 2, ...b.i16(0)])), 'short-message');
  err(p.decodeBind(Buffer.from([...b.cstr(''), ...b.cstr(''), ...b.i16(-1)])), 'invalid-count');
  err(p.decodeBind(Buffer.from([...b.cstr(''), ...b.cstr(''), ...b.i16(0), ...b.i16(32767)])), 'short-message');
});

test('DataRow: negative lengths other than -1, overruns, trailing bytes', () => {
  for (const len of [-2, -3, -2147483648]) {
    err(p.decodeDataRow(Buffer.from([...b.i16(1), ...b.i32(len)])), 'invalid-value');
  }
  err(p.decodeDataRow(Buffer.from([...b.i16(2), ...b.i32(1), 0x31])), 'short-message');
  err(p.decodeDataRow(Buffer.from([...b.i16(1), ...b.i32(5), 0x31])), 'short-message');
  err(p.decodeDataRow(Buffer.from([...b.i16(1), ...b.i32(-1), 0])), 'trailing-bytes');
  err(p.decodeDataRow(Buffer.from([...b.i16(-1)])), 'invalid-count');
  err(p.decodeDataRow(Buffer.from([1])), 'short-message');
  const scan = new Int32Array(p.DATA_ROW_SCAN_SIZE);
  err(p.scanDataRow(Buffer.from([...b.i16(1), ...b.i32(-2)]), scan) as p.ProtocolError, 'invalid-value');
  err(p.scanDataRow(Buffer.from([...b.i16(2), ...b.i32(1), 0x31]), scan) as p.ProtocolError, 'short-message');
  err(p.scanDataRow(Buffer.from([...b.i16(1), ...b.i32(-1), 0]), scan) as p.ProtocolError, 'trailing-bytes');
  err(p.scanDataRow(Buffer.from([...b.i16(3), ...b.i32(-1), ...b.i32(-1), ...b.i32(-1)]), new Int32Array(4)) as p.ProtocolError, 'invalid-count');
  err(p.decodeFunctionCall(Buffer.from([...b.i32(1), ...b.i16(0), ...b.i16(1), ...b.i32(-7), ...b.i16(0)])), 'invalid-value');
  err(p.decodeFunctionCallResponse(Buffer.from(b.i32(-2))), 'invalid-value');
  err(p.decodeSASLInitialResponse(Buffer.from([...b.cstr('SCRAM-SHA-256'), ...b.i32(-2)])), 'invalid-value');
});

test('strings without NUL', () => {
  err(p.decodeQuery(Buffer.from('SELECT 1')), 'missing-terminator');
  err(p.decodeParse(Buffer.from('stmt')), 'missing-terminator');
  err(p.decodeParse(Buffer.from([...b.cstr('s'), ...bytes('SELECT')])), 'missing-terminator');
  err(p.decodeBind(Buffer.from('portal')), 'missing-terminator');
  err(p.decodeDescribe(Buffer.from([0x53, 0x61])), 'missing-terminator');
  err(p.decodeClose(Buffer.from([0x50, 0x61])), 'missing-terminator');
  err(p.decodeExecute(Buffer.from('p')), 'missing-terminator');
  err(p.decodePasswordMessage(Buffer.from('secret')), 'missing-terminator');
  err(p.decodeCopyFail(Buffer.from('x')), 'missing-terminator');
  err(p.decodeErrorResponse(Buffer.from([0x53, ...bytes('ERROR')])), 'missing-terminator');
  err(p.decodeErrorResponse(Buffer.from([0x53, ...b.cstr('ERROR')])), 'missing-terminator'); // no final zero
  err(p.decodeNoticeResponse(Buffer.from([])), 'missing-terminator');
  err(p.decodeParameterStatus(Buffer.from([...b.cstr('a'), ...bytes('b')])), 'missing-terminator');
  err(p.decodeCommandComplete(Buffer.from('SELECT 1')), 'missing-terminator');
  err(p.decodeRowDescription(Buffer.from([...b.i16(1), ...bytes('id'.repeat(12))])), 'missing-terminator');
  err(p.decodeRowDescription(Buffer.from([...b.i16(1), ...bytes('id')])), 'short-message');
  err(p.decodeNotificationResponse(Buffer.from([...b.i32(1), ...bytes('chan')])), 'missing-terminator');
  err(p.decodeAuthentication(Buffer.from([...b.i32(10), ...bytes('SCRAM-SHA-256')])), 'missing-terminator');
  err(p.decodeAuthentication(Buffer.from([...b.i32(10), ...b.cstr('SCRAM-SHA-256')])), 'missing-terminator');
  err(p.decodeNegotiateProtocolVersion(Buffer.from([...b.i32(0), ...b.i32(1), ...bytes('_pq_.x')])), 'missing-terminator');
});

test('frontend text is strict UTF-8, backend text is lenient', () => {
  err(p.decodeQuery(Buffer.from([0x53, 0xff, 0xfe, 0])), 'invalid-utf8');
  err(p.decodeQuery(Buffer.from([0xc0, 0xa7, 0])), 'invalid-utf8'); // overlong quote
  err(p.decodeQuery(Buffer.from([...bytes('x'.repeat(100)), 0xed, 0xa0, 0x80, 0])), 'invalid-utf8'); // a surrogate, long path
  err(p.decodeParse(Buffer.from([...b.cstr(''), 0xff, 0, 0, 0])), 'invalid-utf8');
  err(p.decodePasswordMessage(Buffer.from([0xff, 0])), 'invalid-utf8');
  const cc = p.decodeCommandComplete(Buffer.from([0x53, 0xff, 0]));
  assert.is(cc.kind, 'CommandComplete');
});

test('fixed messages with the wrong size or values', () => {
  err(p.decodeSync(Buffer.from([0])), 'trailing-bytes');
  err(p.decodeFlush(Buffer.from([0])), 'trailing-bytes');
  err(p.decodeTerminate(Buffer.from([0])), 'trailing-bytes');
  err(p.decodeCopyDone(Buffer.from([0])), 'trailing-bytes');
  err(p.decodeParseComplete(Buffer.from([0])), 'trailing-bytes');
  err(p.decodeReadyForQuery(Buffer.from([0x58])), 'invalid-value');
  err(p.decodeReadyForQuery(Buffer.from([])), 'invalid-length');
  err(p.decodeReadyForQuery(Buffer.from([0x49, 0x49])), 'invalid-length');
  err(p.decodeDescribe(Buffer.from([0x58, 0])), 'invalid-value');
  err(p.decodeClose(Buffer.from([0, 0])), 'invalid-value');
  err(p.decodeExecute(Buffer.from([0, 0, 0, 0, 0, 0])), 'trailing-bytes');
  err(p.decodeAuthentication(Buffer.from([...b.i32(5), 1, 2])), 'short-message');
  err(p.decodeAuthentication(Buffer.from([...b.i32(0), 1])), 'trailing-bytes');
  err(p.decodeAuthentication(Buffer.from([0, 0])), 'short-message');
  err(p.decodeAuthentication(Buffer.from(b.i32(-1))), 'invalid-value');
  err(p.decodeBackendKeyData(Buffer.from([0, 0, 0, 1, 0, 0])), 'invalid-length');
  err(p.decodeCopyInResponse(Buffer.from([2, 0, 0])), 'invalid-value');
  err(p.decodeCopyOutResponse(Buffer.from([0, 0, 1, 0, 5])), 'invalid-value');
  err(p.decodeRowDescription(Buffer.from([...b.i16(1), ...b.cstr('a'), ...b.i32(0), ...b.i16(0), ...b.i32(23), ...b.i16(4), ...b.i32(-1), ...b.i16(3)])), 'invalid-value');
  err(p.decodeNegotiateProtocolVersion(Buffer.from([...b.i32(0), ...b.i32(-1)])), 'invalid-count');
  err(p.decodeNegotiateProtocolVersion(Buffer.from([...b.i32(0), ...b.i32(0x7fffffff)])), 'invalid-count');
  err(p.decodeParameterDescription(Buffer.from([...b.i16(3), 0, 0, 0, 23])), 'short-message');
});

test('error messages never quote the payload', () => {
  const secret = 'hunter2-very-secret-token';
  const bad = [
    p.decodePasswordMessage(Buffer.from(secret)),
    p.decodePasswordMessage(Buffer.from(`${secret}\0extra`)),
    p.decodePasswordMessage(Buffer.from([...bytes(secret), 0xff, 0])),
    p.decodeQuery(Buffer.from(`SELECT '${secret}'`)),
    p.decodeQuery(Buffer.from(`SELECT '${secret}'\0x`)),
    p.decodeBind(Buffer.from([...b.cstr(''), ...b.cstr(''), ...b.i16(0), ...b.i16(1), ...b.i32(25), ...bytes(secret), 9])),
    p.decodeStartupPacket(Buffer.from([0, 3, 0, 0, ...b.cstr('password'), ...bytes(secret)])),
    p.decodeSASLInitialResponse(Buffer.from([...b.cstr('SCRAM-SHA-256'), ...b.i32(100), ...bytes(secret)])),
  ];
  for (const r of bad) {
    const e = err(r);
    assert.not.ok(e.message.includes('hunter2'), e.message);
  }
});

// --- fuzzing every decoder ---

const decoders: [string, (body: Buffer) => unknown][] = [
  ['startup', p.decodeStartupPacket],
  ['authentication', p.decodeAuthentication],
  ['password', p.decodePasswordMessage],
  ['saslInitial', p.decodeSASLInitialResponse],
  ['saslResponse', p.decodeSASLResponse],
  ['query', p.decodeQuery],
  ['parse', p.decodeParse],
  ['bind', p.decodeBind],
  ['describe', p.decodeDescribe],
  ['execute', p.decodeExecute],
  ['close', p.decodeClose],
  ['sync', p.decodeSync],
  ['parameterDescription', p.decodeParameterDescription],
  ['rowDescription', p.decodeRowDescription],
  ['dataRow', p.decodeDataRow],
  ['scanDataRow', (x: Buffer) => {
    const r = p.scanDataRow(x, new Int32Array(p.DATA_ROW_SCAN_SIZE));
    return typeof r === 'number' ? { kind: 'count' } : r;
  }],
  ['commandComplete', p.decodeCommandComplete],
  ['copyIn', p.decodeCopyInResponse],
  ['copyFail', p.decodeCopyFail],
  ['error', p.decodeErrorResponse],
  ['notice', p.decodeNoticeResponse],
  ['readyForQuery', p.decodeReadyForQuery],
  ['parameterStatus', p.decodeParameterStatus],
  ['backendKeyData', p.decodeBackendKeyData],
  ['notification', p.decodeNotificationResponse],
  ['negotiate', p.decodeNegotiateProtocolVersion],
  ['functionCall', p.decodeFunctionCall],
  ['functionCallResponse', p.decodeFunctionCallResponse],
];

const seeds: Buffer[] = [
  sbody(b.startupMessage([['user', 'u'], ['database', 'd']])),
  sbody(b.cancelRequest(1, 2)),
  body(b.authenticationSASL(['SCRAM-SHA-256'])),
  body(b.authenticationMD5Password([1, 2, 3, 4])),
  body(b.passwordMessage('pw')),
  body(b.saslInitialResponse('SCRAM-SHA-256', bytes('n,,n=,r=x'))),
  body(b.query('SELECT 1')),
  body(b.parse('s', 'SELECT $1', [23])),
  body(b.bind('p', 's', [1], [[0, 0, 0, 1], null], [0, 1])),
  body(b.describe('S', 's')),
  body(b.execute('p', 5)),
  body(b.parameterDescription([23, 25])),
  body(b.rowDescription([{ name: 'a', tableOid: 1, column: 1, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 }])),
  body(b.dataRow([bytes('1'), null, []])),
  body(b.copyInResponse(0, [0, 0])),
  body(b.errorResponse([['S', 'ERROR'], ['C', '42501'], ['M', 'no']])),
  body(b.readyForQuery('I')),
  body(b.parameterStatus('a', 'b')),
  body(b.backendKeyData(1, 2)),
  body(b.notificationResponse(1, 'c', 'p')),
  body(b.negotiateProtocolVersion(0, ['_pq_.a'])),
  body(b.functionCall(1, [0], [bytes('x')], 0)),
  body(b.functionCallResponse(bytes('x'))),
];

test('fuzz: random and mutated bodies never make a decoder throw', () => {
  let seed = 987654321;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const interesting = [0, 1, 0xff, 0x7f, 0x80, 0xfe];
  const inputs: Buffer[] = [];
  for (let i = 0; i < 400; i++) inputs.push(Buffer.from(Array.from({ length: rnd(40) }, () => rnd(256))));
  for (const s of seeds) {
    for (let i = 0; i <= s.length; i++) inputs.push(s.subarray(0, i)); // every truncation
    for (let i = 0; i < 60; i++) {
      const m = Buffer.from(s);
      const k = 1 + rnd(3);
      for (let j = 0; j < k && m.length > 0; j++) m[rnd(m.length)] = rnd(2) === 0 ? interesting[rnd(interesting.length)]! : rnd(256);
      inputs.push(m);
      inputs.push(Buffer.concat([s, Buffer.from([rnd(256)])]));
    }
  }
  for (const input of inputs) {
    for (const [name, decode] of decoders) {
      let r: unknown;
      try {
        r = decode(input);
      } catch (e) {
        assert.unreachable(`${name} threw on ${input.toString('hex')}: ${(e as Error).message}`);
      }
      assert.ok(typeof r === 'object' && r !== null && typeof (r as { kind: unknown }).kind === 'string', name);
    }
  }
});

test.run();
