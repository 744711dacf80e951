// Every encoder against the naive builder's bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as b from '../../support/pgwire-builder.ts';
import {
  Writer,
  encodeStartupMessage,
  encodeSSLRequest,
  encodeGSSENCRequest,
  encodeCancelRequest,
  encodeAuthentication,
  encodeAuthenticationOk,
  encodeAuthenticationCleartextPassword,
  encodePasswordMessage,
  encodeSASLInitialResponse,
  encodeSASLResponse,
  encodeQuery,
  writeQuery,
  encodeParse,
  writeParse,
  encodeBind,
  writeBind,
  encodeDescribe,
  writeDescribe,
  encodeExecute,
  writeExecute,
  encodeClose,
  encodeSync,
  writeSync,
  encodeFlush,
  encodeParseComplete,
  encodeBindComplete,
  encodeCloseComplete,
  encodeNoData,
  encodePortalSuspended,
  encodeParameterDescription,
  encodeRowDescription,
  encodeDataRow,
  encodeCommandComplete,
  encodeEmptyQueryResponse,
  encodeCopyInResponse,
  encodeCopyOutResponse,
  encodeCopyBothResponse,
  encodeCopyData,
  copyDataHeader,
  writeCopyData,
  encodeCopyDone,
  encodeCopyFail,
  encodeErrorResponse,
  encodeNoticeResponse,
  buildError,
  buildNotice,
  errorFields,
  encodeReadyForQuery,
  encodeParameterStatus,
  encodeBackendKeyData,
  encodeNotificationResponse,
  encodeNegotiateProtocolVersion,
  encodeTerminate,
  encodeFunctionCall,
  encodeFunctionCallResponse,
} from '../../../runtime/postgres/protocol/index.ts';

const same = (got: Buffer, want: Buffer, msg?: string) => assert.equal(got.toString('hex'), want.toString('hex'), msg);
const bytes = (s: string) => [...Buffer.from(s)];

test('startup-phase packets', () => {
  same(encodeStartupMessage({ user: 'alice', database: 'shop', application_name: 'ça va' }), b.startupMessage([['user', 'alice'], ['database', 'shop'], ['application_name', 'ça va']]));
  same(encodeStartupMessage([['user', 'bob']]), b.startupMessage([['user', 'bob']]));
  same(encodeStartupMessage(new Map([['user', 'bob']])), b.startupMessage([['user', 'bob']]));
  same(
    encodeStartupMessage({ user: 'bob' }, { minor: 2, protocolOptions: [['_pq_.x', '1']] }),
    b.startupMessage([['user', 'bob'], ['_pq_.x', '1']], 3, 2),
  );
  same(encodeSSLRequest(), b.sslRequest());
  same(encodeGSSENCRequest(), b.gssEncRequest());
  same(encodeCancelRequest(4242, 0x7eadbeef), b.cancelRequest(4242, 0x7eadbeef));
  same(encodeCancelRequest(4242, -2), b.cancelRequest(4242, -2));
  same(encodeCancelRequest(7, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])), b.cancelRequest(7, [1, 2, 3, 4, 5, 6, 7, 8]));
});

test('authentication requests', () => {
  same(encodeAuthenticationOk(), b.authenticationOk());
  same(encodeAuthentication({ kind: 'AuthenticationOk' }), b.authenticationOk());
  same(encodeAuthentication({ kind: 'AuthenticationKerberosV5' }), b.authenticationKerberosV5());
  same(encodeAuthenticationCleartextPassword(), b.authenticationCleartextPassword());
  same(encodeAuthentication({ kind: 'AuthenticationMD5Password', salt: Buffer.from([1, 2, 3, 0xff]) }), b.authenticationMD5Password([1, 2, 3, 0xff]));
  same(encodeAuthentication({ kind: 'AuthenticationGSS' }), b.authenticationGSS());
  same(encodeAuthentication({ kind: 'AuthenticationGSSContinue', data: Buffer.from([9, 8]) }), b.authenticationGSSContinue([9, 8]));
  same(encodeAuthentication({ kind: 'AuthenticationSSPI' }), b.authenticationSSPI());
  same(
    encodeAuthentication({ kind: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] }),
    b.authenticationSASL(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']),
  );
  same(encodeAuthentication({ kind: 'AuthenticationSASLContinue', data: Buffer.from('r=abc,s=xyz,i=4096') }), b.authenticationSASLContinue(bytes('r=abc,s=xyz,i=4096')));
  same(encodeAuthentication({ kind: 'AuthenticationSASLFinal', data: Buffer.from('v=abc=') }), b.authenticationSASLFinal(bytes('v=abc=')));
});

test('password, SASL responses', () => {
  same(encodePasswordMessage('s3cret'), b.passwordMessage('s3cret'));
  same(encodePasswordMessage(Buffer.from('héllo')), b.passwordMessage('héllo'));
  same(encodePasswordMessage(''), b.passwordMessage(''));
  same(encodeSASLInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc')), b.saslInitialResponse('SCRAM-SHA-256', bytes('n,,n=,r=abc')));
  same(encodeSASLInitialResponse('SCRAM-SHA-256', null), b.saslInitialResponse('SCRAM-SHA-256', null));
  same(encodeSASLResponse(Buffer.from('c=biws,r=abc,p=xyz')), b.saslResponse(bytes('c=biws,r=abc,p=xyz')));
});

test('simple query', () => {
  same(encodeQuery('SELECT 1'), b.query('SELECT 1'));
  same(encodeQuery(''), b.query(''));
  same(encodeQuery("SELECT 'żółw', '🐢'"), b.query("SELECT 'żółw', '🐢'"));
  const long = 'SELECT ' + "'x'||".repeat(5000) + "'y'";
  same(encodeQuery(long), b.query(long));
  const w = new Writer(16);
  writeQuery(w, 'SELECT 1');
  writeQuery(w, 'SELECT 2');
  same(w.toBuffer(), b.concat(b.query('SELECT 1'), b.query('SELECT 2')));
});

test('extended query, frontend', () => {
  same(encodeParse('', 'SELECT $1', []), b.parse('', 'SELECT $1', []));
  same(encodeParse('P_0', 'SELECT $1::int, $2', [23, 0]), b.parse('P_0', 'SELECT $1::int, $2', [23, 0]));
  same(encodeParse('s', 'x', [4294967295]), b.parse('s', 'x', [4294967295]));
  same(
    encodeBind({ portal: 'p1', statement: 'P_0', paramFormats: [0, 1], params: ['42', Buffer.from([0, 0, 0, 7])], resultFormats: [1] }),
    b.bind('p1', 'P_0', [0, 1], [bytes('42'), [0, 0, 0, 7]], [1]),
  );
  same(encodeBind({ params: [null, '', 'é'] }), b.bind('', '', [], [null, [], bytes('é')], []));
  same(encodeBind({}), b.bind('', '', [], [], []));
  same(encodeDescribe('S', 'P_0'), b.describe('S', 'P_0'));
  same(encodeDescribe('P'), b.describe('P', ''));
  same(encodeExecute(), b.execute('', 0));
  same(encodeExecute('c1', 100), b.execute('c1', 100));
  same(encodeClose('S', 'P_0'), b.close('S', 'P_0'));
  same(encodeClose('P', ''), b.close('P', ''));
  same(encodeSync(), b.sync());
  same(encodeFlush(), b.flush());
  // a whole pipeline in one writer
  const w = new Writer();
  writeParse(w, '', 'SELECT $1::int', [23]);
  writeBind(w, { params: ['1'] });
  writeDescribe(w, 'P');
  writeExecute(w);
  writeSync(w);
  same(w.toBuffer(), b.concat(b.parse('', 'SELECT $1::int', [23]), b.bind('', '', [], [bytes('1')], []), b.describe('P', ''), b.execute('', 0), b.sync()));
});

test('extended query, backend', () => {
  same(encodeParseComplete(), b.parseComplete());
  same(encodeBindComplete(), b.bindComplete());
  same(encodeCloseComplete(), b.closeComplete());
  same(encodeNoData(), b.noData());
  same(encodePortalSuspended(), b.portalSuspended());
  same(encodeParameterDescription([23, 25, 4294967295]), b.parameterDescription([23, 25, 4294967295]));
  same(encodeParameterDescription([]), b.parameterDescription([]));
});

test('row data', () => {
  const fields = [
    { name: 'id', tableOid: 16384, columnNumber: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
    { name: 'émail', tableOid: 0, columnNumber: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 1 },
    { name: 'big', tableOid: 4000000000, columnNumber: 2, typeOid: 1043, typeSize: -1, typeModifier: 259, format: 0 },
  ];
  same(
    encodeRowDescription(fields),
    b.rowDescription(fields.map((f) => ({ name: f.name, tableOid: f.tableOid, column: f.columnNumber, typeOid: f.typeOid, typeSize: f.typeSize, typeMod: f.typeModifier, format: f.format }))),
  );
  same(encodeRowDescription([]), b.rowDescription([]));
  same(encodeDataRow(['1', null, '', Buffer.from([0, 255])]), b.dataRow([bytes('1'), null, [], [0, 255]]));
  same(encodeDataRow([]), b.dataRow([]));
  same(encodeCommandComplete('SELECT 3'), b.commandComplete('SELECT 3'));
  same(encodeCommandComplete('INSERT 0 1'), b.commandComplete('INSERT 0 1'));
  same(encodeEmptyQueryResponse(), b.emptyQueryResponse());
});

test('copy', () => {
  same(encodeCopyInResponse(0, [0, 0, 0]), b.copyInResponse(0, [0, 0, 0]));
  same(encodeCopyOutResponse(1, [1, 1]), b.copyOutResponse(1, [1, 1]));
  same(encodeCopyBothResponse(0, []), b.copyBothResponse(0, []));
  same(encodeCopyData(Buffer.from('1\tfoo\n')), b.copyData(bytes('1\tfoo\n')));
  same(encodeCopyData(new Uint8Array(0)), b.copyData([]));
  same(Buffer.concat([copyDataHeader(6), Buffer.from('1\tfoo\n')]), b.copyData(bytes('1\tfoo\n')));
  const w = new Writer();
  writeCopyData(w, Buffer.from('a\n'));
  same(w.toBuffer(), b.copyData(bytes('a\n')));
  same(encodeCopyDone(), b.copyDone());
  same(encodeCopyFail('aborted by client'), b.copyFail('aborted by client'));
});

test('errors and notices', () => {
  same(
    encodeErrorResponse({ severity: 'ERROR', severityNonLocalized: 'ERROR', code: '42501', message: 'permission denied', detail: 'd', hint: 'h', position: '8' }),
    b.errorResponse([['S', 'ERROR'], ['V', 'ERROR'], ['C', '42501'], ['M', 'permission denied'], ['D', 'd'], ['H', 'h'], ['P', '8']]),
  );
  const all = {
    severity: 'ERREUR', severityNonLocalized: 'ERROR', code: '23505', message: 'm', detail: 'D', hint: 'H', position: '1',
    internalPosition: '2', internalQuery: 'q', where: 'W', schema: 's', table: 't', column: 'c', dataType: 'd',
    constraint: 'n', file: 'F', line: '9', routine: 'R', other: [['Z', 'zz']] as [string, string][],
  };
  same(
    encodeNoticeResponse(all),
    b.noticeResponse([
      ['S', 'ERREUR'], ['V', 'ERROR'], ['C', '23505'], ['M', 'm'], ['D', 'D'], ['H', 'H'], ['P', '1'], ['p', '2'], ['q', 'q'],
      ['W', 'W'], ['s', 's'], ['t', 't'], ['c', 'c'], ['d', 'd'], ['n', 'n'], ['F', 'F'], ['L', '9'], ['R', 'R'], ['Z', 'zz'],
    ]),
  );
  same(
    buildError('42501', 'denied by rule shop.pam:12:3', { hint: 'ask dba-oncall' }),
    b.errorResponse([['S', 'ERROR'], ['V', 'ERROR'], ['C', '42501'], ['M', 'denied by rule shop.pam:12:3'], ['H', 'ask dba-oncall']]),
  );
  same(
    buildError('08P01', 'invalid message length', { severity: 'FATAL' }),
    b.errorResponse([['S', 'FATAL'], ['V', 'FATAL'], ['C', '08P01'], ['M', 'invalid message length']]),
  );
  same(buildNotice('00000', 'waiting for approval'), b.noticeResponse([['S', 'NOTICE'], ['V', 'NOTICE'], ['C', '00000'], ['M', 'waiting for approval']]));
  assert.throws(() => errorFields('4250', 'x'), /SQLSTATE/);
});

test('status', () => {
  same(encodeReadyForQuery('I'), b.readyForQuery('I'));
  same(encodeReadyForQuery('T'), b.readyForQuery('T'));
  same(encodeReadyForQuery('E'), b.readyForQuery('E'));
  same(encodeParameterStatus('server_version', '15.18'), b.parameterStatus('server_version', '15.18'));
  same(encodeBackendKeyData(1234, -559038737), b.backendKeyData(1234, -559038737));
  same(encodeBackendKeyData(1234, Buffer.from([1, 2, 3, 4])), b.backendKeyData(1234, [1, 2, 3, 4]));
  same(encodeNotificationResponse(77, 'jobs', 'payload é'), b.notificationResponse(77, 'jobs', 'payload é'));
  // PostgreSQL sends the whole version (3 << 16 | minor) where the docs say "minor version"
  same(encodeNegotiateProtocolVersion(0, ['_pq_.a', '_pq_.b']), b.negotiateProtocolVersion(196608, ['_pq_.a', '_pq_.b']));
  same(encodeNegotiateProtocolVersion(0, []), b.negotiateProtocolVersion(196608, []));
  same(encodeNegotiateProtocolVersion(2, []), b.negotiateProtocolVersion(196610, []));
  same(encodeTerminate(), b.terminate());
});

test('function call', () => {
  same(
    encodeFunctionCall({ functionOid: 952, argFormats: [1], args: [Buffer.from([0, 0, 0, 1]), null], resultFormat: 1 }),
    b.functionCall(952, [1], [[0, 0, 0, 1], null], 1),
  );
  same(encodeFunctionCall({ functionOid: 1 }), b.functionCall(1, [], [], 0));
  same(encodeFunctionCallResponse(Buffer.from('ok')), b.functionCallResponse(bytes('ok')));
  same(encodeFunctionCallResponse(null), b.functionCallResponse(null));
});

test('encoders refuse strings that cannot be represented', () => {
  assert.throws(() => encodeQuery('SELECT 1\0; DROP TABLE x'), /NUL/);
  assert.throws(() => encodeParse('a\0b', 'SELECT 1'), /NUL/);
  assert.throws(() => encodePasswordMessage('pa\0ss'), /NUL/);
  assert.throws(() => encodeStartupMessage({ '': 'x' }), /empty/);
});

test('writer: growth, back-patching, copies', () => {
  const w = new Writer(16);
  const at = w.beginMessage(0x51);
  w.string('x'.repeat(10_000)).int8(0);
  w.endMessage(at);
  same(w.toBuffer(), b.query('x'.repeat(10_000)));
  const first = w.toBuffer();
  w.reset();
  writeQuery(w, 'SELECT 2');
  same(first, b.query('x'.repeat(10_000)), 'toBuffer is a copy: later writes do not change it');
  same(w.view(), b.query('SELECT 2'));
  w.reset().int16(-1).int32(-1).uint32(4294967295).int8(255);
  same(w.toBuffer(), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  // a scratch-based encoder after a huge message still works and gives a fresh buffer
  const big = encodeQuery('y'.repeat(2_000_000));
  const small = encodeQuery('SELECT 1');
  assert.is(big.length, 2_000_006);
  same(small, b.query('SELECT 1'));
});

test.run();
