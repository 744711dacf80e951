// Every decoder on the naive builder's bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as b from '../../support/pgwire-builder.ts';
import {
  decodeStartupPacket,
  negotiation,
  decodeAuthentication,
  decodePasswordMessage,
  decodeSASLInitialResponse,
  decodeSASLResponse,
  decodeQuery,
  decodeParse,
  decodeBind,
  bindParamFormat,
  bindResultFormat,
  decodeDescribe,
  decodeExecute,
  decodeClose,
  decodeSync,
  decodeFlush,
  decodeParseComplete,
  decodeBindComplete,
  decodeCloseComplete,
  decodeNoData,
  decodePortalSuspended,
  decodeParameterDescription,
  decodeRowDescription,
  decodeDataRow,
  decodeCommandComplete,
  scanDataRow,
  DATA_ROW_SCAN_SIZE,
  parseCommandTag,
  decodeEmptyQueryResponse,
  decodeCopyInResponse,
  decodeCopyOutResponse,
  decodeCopyBothResponse,
  decodeCopyData,
  decodeCopyDone,
  decodeCopyFail,
  decodeErrorResponse,
  decodeNoticeResponse,
  describeFields,
  decodeReadyForQuery,
  decodeParameterStatus,
  decodeBackendKeyData,
  decodeNotificationResponse,
  decodeNegotiateProtocolVersion,
  decodeTerminate,
  decodeFunctionCall,
  decodeFunctionCallResponse,
  type ProtocolError,
} from '../../../runtime/postgres/protocol/index.ts';

/** The body of a typed message built by the builder. */
const body = (m: Buffer) => m.subarray(5);
/** The body of a startup packet built by the builder (after the length word). */
const sbody = (m: Buffer) => m.subarray(4);
const bytes = (s: string) => [...Buffer.from(s)];
const hex = (x: Buffer | null) => (x === null ? null : x.toString('hex'));

function ok<T extends { kind: string }>(r: T | ProtocolError): T {
  if (r.kind === 'ProtocolError') assert.unreachable(`unexpected error: ${(r as ProtocolError).message}`);
  return r as T;
}

test('StartupMessage, SSLRequest, GSSENCRequest, CancelRequest', () => {
  const s = ok(decodeStartupPacket(sbody(b.startupMessage([['user', 'alice'], ['database', 'shop'], ['options', '-c x=ü']]))));
  assert.is(s.kind, 'StartupMessage');
  if (s.kind !== 'StartupMessage') return;
  assert.is(s.major, 3);
  assert.is(s.minor, 0);
  assert.equal([...s.parameters], [['user', 'alice'], ['database', 'shop'], ['options', '-c x=ü']]);
  assert.is(s.protocolOptions.size, 0);
  assert.is(negotiation(s), null);

  const s32 = ok(decodeStartupPacket(sbody(b.startupMessage([['user', 'u'], ['_pq_.compression', 'on']], 3, 2))));
  if (s32.kind !== 'StartupMessage') return assert.unreachable();
  assert.is(s32.minor, 2);
  assert.equal([...s32.parameters], [['user', 'u']]);
  assert.equal([...s32.protocolOptions], [['_pq_.compression', 'on']]);
  assert.equal(negotiation(s32), { newestMinor: 0, unrecognizedOptions: ['_pq_.compression'] });
  const s31 = ok(decodeStartupPacket(sbody(b.startupMessage([['user', 'u']], 3, 2))));
  if (s31.kind !== 'StartupMessage') return assert.unreachable();
  assert.equal(negotiation(s31), { newestMinor: 0, unrecognizedOptions: [] });

  const empty = ok(decodeStartupPacket(sbody(b.startupMessage([]))));
  if (empty.kind !== 'StartupMessage') return assert.unreachable();
  assert.is(empty.parameters.size, 0);

  assert.equal(decodeStartupPacket(sbody(b.sslRequest())), { kind: 'SSLRequest' });
  assert.equal(decodeStartupPacket(sbody(b.gssEncRequest())), { kind: 'GSSENCRequest' });
  const c = ok(decodeStartupPacket(sbody(b.cancelRequest(4242, -2))));
  if (c.kind !== 'CancelRequest') return assert.unreachable();
  assert.is(c.pid, 4242);
  assert.is(c.secret.toString('hex'), 'fffffffe');
  const c32 = ok(decodeStartupPacket(sbody(b.cancelRequest(9, Array.from({ length: 32 }, (_, i) => i)))));
  if (c32.kind !== 'CancelRequest') return assert.unreachable();
  assert.is(c32.secret.length, 32);
});

test('unsupported protocol versions', () => {
  const v2 = decodeStartupPacket(sbody(b.startupMessage([['user', 'u']], 2, 0)));
  assert.is(v2.kind, 'ProtocolError');
  if (v2.kind === 'ProtocolError') {
    assert.is(v2.code, 'unsupported-protocol');
    assert.is(v2.sqlstate, '0A000');
  }
  const v4 = decodeStartupPacket(sbody(b.startupMessage([['user', 'u']], 4, 0)));
  assert.is(v4.kind, 'ProtocolError');
});

test('authentication requests', () => {
  assert.equal(decodeAuthentication(body(b.authenticationOk())), { kind: 'AuthenticationOk' });
  assert.equal(decodeAuthentication(body(b.authenticationKerberosV5())), { kind: 'AuthenticationKerberosV5' });
  assert.equal(decodeAuthentication(body(b.authenticationCleartextPassword())), { kind: 'AuthenticationCleartextPassword' });
  const md5 = ok(decodeAuthentication(body(b.authenticationMD5Password([1, 2, 3, 0xff]))));
  assert.is(md5.kind === 'AuthenticationMD5Password' && md5.salt.toString('hex'), '010203ff');
  assert.equal(decodeAuthentication(body(b.authenticationGSS())), { kind: 'AuthenticationGSS' });
  const gc = ok(decodeAuthentication(body(b.authenticationGSSContinue([7, 7]))));
  assert.is(gc.kind === 'AuthenticationGSSContinue' && gc.data.toString('hex'), '0707');
  assert.equal(decodeAuthentication(body(b.authenticationSSPI())), { kind: 'AuthenticationSSPI' });
  const sasl = ok(decodeAuthentication(body(b.authenticationSASL(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']))));
  assert.equal(sasl, { kind: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
  const cont = ok(decodeAuthentication(body(b.authenticationSASLContinue(bytes('r=a,s=b,i=1')))));
  assert.is(cont.kind === 'AuthenticationSASLContinue' && cont.data.toString(), 'r=a,s=b,i=1');
  const fin = ok(decodeAuthentication(body(b.authenticationSASLFinal(bytes('v=xyz')))));
  assert.is(fin.kind === 'AuthenticationSASLFinal' && fin.data.toString(), 'v=xyz');
  const unknown = decodeAuthentication(body(b.message('R', b.i32(99))));
  assert.is(unknown.kind, 'ProtocolError');
});

test('password and SASL responses', () => {
  assert.equal(decodePasswordMessage(body(b.passwordMessage('s3cret é'))), { kind: 'PasswordMessage', password: 's3cret é' });
  assert.equal(decodePasswordMessage(body(b.passwordMessage(''))), { kind: 'PasswordMessage', password: '' });
  const init = ok(decodeSASLInitialResponse(body(b.saslInitialResponse('SCRAM-SHA-256', bytes('n,,n=,r=abc')))));
  assert.is(init.mechanism, 'SCRAM-SHA-256');
  assert.is(init.data?.toString(), 'n,,n=,r=abc');
  const none = ok(decodeSASLInitialResponse(body(b.saslInitialResponse('X', null))));
  assert.is(none.data, null);
  const emptyData = ok(decodeSASLInitialResponse(body(b.saslInitialResponse('X', []))));
  assert.is(emptyData.data?.length, 0);
  assert.is(decodeSASLResponse(body(b.saslResponse(bytes('c=biws')))).data.toString(), 'c=biws');
});

test('Query', () => {
  assert.equal(decodeQuery(body(b.query('SELECT 1; SELECT 2'))), { kind: 'Query', sql: 'SELECT 1; SELECT 2' });
  assert.equal(decodeQuery(body(b.query(''))), { kind: 'Query', sql: '' });
  const long = "SELECT 'żółw 🐢' " + 'x'.repeat(100);
  assert.equal(decodeQuery(body(b.query(long))), { kind: 'Query', sql: long });
});

test('Parse, Bind, Describe, Execute, Close, Sync, Flush', () => {
  assert.equal(decodeParse(body(b.parse('P_0', 'SELECT $1, $2', [23, 4294967295]))), {
    kind: 'Parse', name: 'P_0', query: 'SELECT $1, $2', paramTypes: [23, 4294967295],
  });
  assert.equal(decodeParse(body(b.parse('', 'SELECT 1'))), { kind: 'Parse', name: '', query: 'SELECT 1', paramTypes: [] });

  const bind = ok(decodeBind(body(b.bind('p', 'P_0', [0, 1], [bytes('42'), [0, 0, 0, 7]], [1]))));
  assert.is(bind.portal, 'p');
  assert.is(bind.statement, 'P_0');
  assert.equal(bind.paramFormats, [0, 1]);
  assert.equal(bind.params.map(hex), ['3432', '00000007']);
  assert.equal(bind.resultFormats, [1]);
  assert.is(bindParamFormat(bind, 1), 1);
  assert.is(bindResultFormat(bind, 5), 1);
  const bnull = ok(decodeBind(body(b.bind('', '', [1], [null, [], [1]], []))));
  assert.equal(bnull.params.map(hex), [null, '', '01']);
  assert.is(bindParamFormat(bnull, 2), 1);
  assert.is(bindResultFormat(bnull, 0), 0);
  const bempty = ok(decodeBind(body(b.bind('', '', [], [], []))));
  assert.equal(bempty.params, []);

  assert.equal(decodeDescribe(body(b.describe('S', 'P_0'))), { kind: 'Describe', target: 'S', name: 'P_0' });
  assert.equal(decodeDescribe(body(b.describe('P', ''))), { kind: 'Describe', target: 'P', name: '' });
  assert.equal(decodeExecute(body(b.execute('c', 100))), { kind: 'Execute', portal: 'c', maxRows: 100 });
  assert.equal(decodeExecute(body(b.execute('', 0))), { kind: 'Execute', portal: '', maxRows: 0 });
  assert.equal(decodeClose(body(b.close('S', 'x'))), { kind: 'Close', target: 'S', name: 'x' });
  assert.equal(decodeClose(body(b.close('P', ''))), { kind: 'Close', target: 'P', name: '' });
  assert.equal(decodeSync(body(b.sync())), { kind: 'Sync' });
  assert.equal(decodeFlush(body(b.flush())), { kind: 'Flush' });
  assert.equal(decodeTerminate(body(b.terminate())), { kind: 'Terminate' });
});

test('extended query, backend', () => {
  assert.equal(decodeParseComplete(body(b.parseComplete())), { kind: 'ParseComplete' });
  assert.equal(decodeBindComplete(body(b.bindComplete())), { kind: 'BindComplete' });
  assert.equal(decodeCloseComplete(body(b.closeComplete())), { kind: 'CloseComplete' });
  assert.equal(decodeNoData(body(b.noData())), { kind: 'NoData' });
  assert.equal(decodePortalSuspended(body(b.portalSuspended())), { kind: 'PortalSuspended' });
  assert.equal(decodeParameterDescription(body(b.parameterDescription([23, 25, 4294967295]))), {
    kind: 'ParameterDescription', types: [23, 25, 4294967295],
  });
});

test('RowDescription, DataRow, CommandComplete, EmptyQueryResponse', () => {
  const rd = ok(decodeRowDescription(body(b.rowDescription([
    { name: 'id', tableOid: 16384, column: 1, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 },
    { name: 'émail', tableOid: 4000000000, column: 3, typeOid: 1043, typeSize: -1, typeMod: 259, format: 1 },
  ]))));
  assert.equal(rd.fields, [
    { name: 'id', tableOid: 16384, columnNumber: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
    { name: 'émail', tableOid: 4000000000, columnNumber: 3, typeOid: 1043, typeSize: -1, typeModifier: 259, format: 1 },
  ]);
  assert.equal(ok(decodeRowDescription(body(b.rowDescription([])))).fields, []);
  const dr = ok(decodeDataRow(body(b.dataRow([bytes('1'), null, [], [0, 255]]))));
  assert.equal(dr.values.map(hex), ['31', null, '', '00ff']);
  assert.equal(ok(decodeDataRow(body(b.dataRow([])))).values, []);
  const scan = new Int32Array(DATA_ROW_SCAN_SIZE);
  const drBody = body(b.dataRow([bytes('1'), null, [], [0, 255]]));
  assert.is(scanDataRow(drBody, scan), 4);
  assert.equal([...scan.subarray(0, 8)], [6, 1, 11, -1, 15, 0, 19, 2]);
  assert.is(drBody.subarray(scan[6]!, scan[6]! + scan[7]!).toString('hex'), '00ff');
  assert.equal(decodeCommandComplete(body(b.commandComplete('INSERT 0 5'))), { kind: 'CommandComplete', tag: 'INSERT 0 5' });
  assert.equal(parseCommandTag('INSERT 0 5'), { command: 'INSERT', rows: 5, oid: 0 });
  assert.equal(parseCommandTag('SELECT 3'), { command: 'SELECT', rows: 3 });
  assert.equal(parseCommandTag('CREATE TABLE'), { command: 'CREATE TABLE', rows: null });
  assert.equal(parseCommandTag('COPY 1000000'), { command: 'COPY', rows: 1000000 });
  // tags of shapes PostgreSQL does not send: the last number is the rows, one before it the OID
  assert.equal(parseCommandTag('FOO 1 2 3'), { command: 'FOO 1', rows: 3, oid: 2 });
  assert.equal(parseCommandTag('SELECT  5'), { command: 'SELECT ', rows: 5 });
  assert.equal(parseCommandTag('SELECT 5x'), { command: 'SELECT 5x', rows: null });
  assert.equal(parseCommandTag(' 7'), { command: '', rows: 7 });
  assert.equal(parseCommandTag(''), { command: '', rows: null });
  // a line break in a server's tag is text like any other (a regular expression's '.' stopped at it)
  assert.equal(parseCommandTag('SELECT\n1 2'), { command: 'SELECT\n1', rows: 2 });
  assert.equal(decodeEmptyQueryResponse(body(b.emptyQueryResponse())), { kind: 'EmptyQueryResponse' });
});

test('COPY messages', () => {
  assert.equal(decodeCopyInResponse(body(b.copyInResponse(0, [0, 0]))), { kind: 'CopyInResponse', format: 0, columnFormats: [0, 0] });
  assert.equal(decodeCopyOutResponse(body(b.copyOutResponse(1, [1]))), { kind: 'CopyOutResponse', format: 1, columnFormats: [1] });
  assert.equal(decodeCopyBothResponse(body(b.copyBothResponse(0, []))), { kind: 'CopyBothResponse', format: 0, columnFormats: [] });
  assert.is(decodeCopyData(body(b.copyData(bytes('1\tx\n')))).data.toString(), '1\tx\n');
  assert.equal(decodeCopyDone(body(b.copyDone())), { kind: 'CopyDone' });
  assert.equal(decodeCopyFail(body(b.copyFail('stop'))), { kind: 'CopyFail', message: 'stop' });
});

test('ErrorResponse and NoticeResponse with every field', () => {
  const fields: [string, string][] = [
    ['S', 'ERREUR'], ['V', 'ERROR'], ['C', '23505'], ['M', 'duplicate key'], ['D', 'Key (id)=(1) already exists.'], ['H', 'h'],
    ['P', '15'], ['p', '3'], ['q', 'SELECT 1'], ['W', 'PL/pgSQL function f()'], ['s', 'public'], ['t', 'orders'], ['c', 'id'],
    ['d', 'int4'], ['n', 'orders_pkey'], ['F', 'nbtinsert.c'], ['L', '666'], ['R', '_bt_check_unique'], ['Z', 'future'],
  ];
  const e = ok(decodeErrorResponse(body(b.errorResponse(fields))));
  assert.equal(e.fields, {
    severity: 'ERREUR', severityNonLocalized: 'ERROR', code: '23505', message: 'duplicate key', detail: 'Key (id)=(1) already exists.',
    hint: 'h', position: '15', internalPosition: '3', internalQuery: 'SELECT 1', where: 'PL/pgSQL function f()', schema: 'public',
    table: 'orders', column: 'id', dataType: 'int4', constraint: 'orders_pkey', file: 'nbtinsert.c', line: '666',
    routine: '_bt_check_unique', other: [['Z', 'future']],
  });
  assert.is(describeFields(e.fields), 'ERROR 23505 duplicate key');
  const n = ok(decodeNoticeResponse(body(b.noticeResponse([['S', 'NOTICE'], ['C', '00000'], ['M', 'hi']]))));
  assert.equal(n.fields, { severity: 'NOTICE', code: '00000', message: 'hi' });
});

test('ReadyForQuery, ParameterStatus, BackendKeyData, NotificationResponse, NegotiateProtocolVersion', () => {
  for (const s of ['I', 'T', 'E'] as const) assert.equal(decodeReadyForQuery(body(b.readyForQuery(s))), { kind: 'ReadyForQuery', status: s });
  assert.equal(decodeParameterStatus(body(b.parameterStatus('TimeZone', 'Europe/Paris'))), { kind: 'ParameterStatus', name: 'TimeZone', value: 'Europe/Paris' });
  const k = ok(decodeBackendKeyData(body(b.backendKeyData(31337, -559038737))));
  assert.is(k.pid, 31337);
  assert.is(k.secret.toString('hex'), 'deadbeef');
  const k32 = ok(decodeBackendKeyData(body(b.backendKeyData(1, Array.from({ length: 32 }, () => 9)))));
  assert.is(k32.secret.length, 32);
  assert.equal(decodeNotificationResponse(body(b.notificationResponse(5, 'jobs', 'done é'))), { kind: 'NotificationResponse', pid: 5, channel: 'jobs', payload: 'done é' });
  assert.equal(decodeNegotiateProtocolVersion(body(b.negotiateProtocolVersion(196608, ['_pq_.a']))), {
    kind: 'NegotiateProtocolVersion', newestMinor: 0, version: 196608, unrecognizedOptions: ['_pq_.a'],
  });
  // a peer that follows the documentation's wording literally
  assert.equal(decodeNegotiateProtocolVersion(body(b.negotiateProtocolVersion(1, []))), { kind: 'NegotiateProtocolVersion', newestMinor: 1, version: 1, unrecognizedOptions: [] });
});

test('FunctionCall, FunctionCallResponse', () => {
  const f = ok(decodeFunctionCall(body(b.functionCall(952, [1], [[0, 0, 0, 1], null], 1))));
  assert.is(f.functionOid, 952);
  assert.equal(f.argFormats, [1]);
  assert.equal(f.args.map(hex), ['00000001', null]);
  assert.is(f.resultFormat, 1);
  assert.is(ok(decodeFunctionCallResponse(body(b.functionCallResponse(bytes('ok'))))).value?.toString(), 'ok');
  assert.is(ok(decodeFunctionCallResponse(body(b.functionCallResponse(null)))).value, null);
});

test('decoders return views of the body, not copies', () => {
  const m = b.dataRow([bytes('abc')]);
  const dr = ok(decodeDataRow(body(m)));
  m[m.length - 1] = 0x7a; // 'c' → 'z'
  assert.is(dr.values[0]!.toString(), 'abz');
});

test.run();
