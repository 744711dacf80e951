import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  functionCandidates,
  operatorCandidates,
  quoteIdent,
  relationCandidates,
  routineCandidates,
  splitKey,
  truncateIdentifier,
} from '../../../runtime/sql/names.ts';
import { parseSearchPath, renderSetValue, settingViolation } from '../../../runtime/sql/settings.ts';

const ctx = (...searchPath: string[]) => ({ searchPath });

test('quoteIdent writes names as quote_ident does', () => {
  assert.is(quoteIdent('orders'), 'orders');
  assert.is(quoteIdent('_x$1'), '_x$1');
  assert.is(quoteIdent('Orders'), '"Orders"');
  assert.is(quoteIdent('order items'), '"order items"');
  assert.is(quoteIdent('a"b'), '"a""b"');
  assert.is(quoteIdent(''), '""');
  assert.is(quoteIdent('1abc'), '"1abc"');
  assert.is(quoteIdent('é'), '"é"');
});

test('relations: pg_catalog first, unless the path places it', () => {
  assert.equal(relationCandidates(undefined, 'pg_class', ctx('public')), ['pg_catalog.pg_class']);
  assert.equal(relationCandidates(undefined, 'pg_class', ctx('a', 'pg_catalog', 'b')), ['a.pg_class', 'pg_catalog.pg_class']);
  assert.equal(relationCandidates(undefined, 't', ctx('a', 'b')), ['a.t', 'b.t']);
  assert.equal(relationCandidates('s', 't', ctx('a')), ['s.t']);
  assert.equal(relationCandidates(undefined, 'pg_new_view', ctx('a')), ['pg_catalog.pg_new_view', 'a.pg_new_view']);
  assert.equal(relationCandidates(undefined, 't', ctx()), []);
});

test('functions: the built-in when pg_catalog accepts the arguments', () => {
  assert.equal(functionCandidates(undefined, 'lower', 1, ctx('public')), ['pg_catalog.lower']);
  assert.equal(functionCandidates(undefined, 'lower', 3, ctx('public')), ['public.lower', 'pg_catalog.lower']);
  assert.equal(functionCandidates(undefined, 'concat', 5, ctx('public')), ['pg_catalog.concat'], 'variadic');
  assert.equal(functionCandidates(undefined, 'concat', 0, ctx('public')), ['public.concat', 'pg_catalog.concat'], 'a variadic needs one argument');
  assert.equal(functionCandidates(undefined, 'pg_read_file', 1, ctx('public')), ['pg_catalog.pg_read_file']);
  assert.equal(functionCandidates(undefined, 'my_fn', 1, ctx('a', 'pg_temp', 'b')), ['a.my_fn', 'b.my_fn'], 'never pg_temp');
  assert.equal(functionCandidates(undefined, 'lower', 1, ctx('a', 'pg_catalog')), ['a.lower', 'pg_catalog.lower']);
  assert.equal(functionCandidates('pg_temp', 'f', 0, ctx('a')), ['pg_temp.f']);
});

test('arity decides: PostgreSQL 15 has pg_read_file with 1, 3 and 4 arguments', () => {
  for (const n of [1, 3, 4]) assert.equal(functionCandidates(undefined, 'pg_read_file', n, ctx('public')), ['pg_catalog.pg_read_file']);
  assert.equal(functionCandidates(undefined, 'pg_read_file', 2, ctx('public')), ['public.pg_read_file', 'pg_catalog.pg_read_file']);
});

test('defaults count: pg_terminate_backend(pid [, timeout])', () => {
  for (const n of [1, 2]) assert.equal(functionCandidates(undefined, 'pg_terminate_backend', n, ctx('public')), ['pg_catalog.pg_terminate_backend']);
});

test('routines named without arguments', () => {
  assert.equal(routineCandidates(undefined, 'lower', null, ctx('public')), ['pg_catalog.lower']);
  assert.equal(routineCandidates(undefined, 'f', null, ctx('a', 'b')), ['a.f', 'b.f']);
});

test('operators', () => {
  assert.equal(operatorCandidates(undefined, '=', ctx('public')), ['pg_catalog."="']);
  assert.equal(operatorCandidates(undefined, '===', ctx('public')), ['public."==="']);
  assert.equal(operatorCandidates(undefined, '=', ctx('public', 'pg_catalog')), ['public."="', 'pg_catalog."="']);
});

test('splitKey', () => {
  assert.equal(splitKey('public.t'), ['public', 't']);
  assert.equal(splitKey('"a.b".t'), ['"a.b"', 't']);
  assert.equal(splitKey('"a""b"."c.d"'), ['"a""b"', '"c.d"']);
  assert.is(splitKey('schema x'), null);
});

test('client_encoding: UTF8 in every spelling PostgreSQL accepts', () => {
  for (const v of ['UTF8', 'utf8', 'UTF-8', 'utf_8', 'Unicode', 'UNICODE', 'u t f 8']) assert.is(settingViolation('client_encoding', v), null, v);
  for (const v of ['SJIS', 'LATIN1', 'GBK', 'BIG5', 'SQL_ASCII', 'UTF16']) assert.ok(settingViolation('client_encoding', v) !== null, v);
  assert.is(settingViolation('client_encoding', null), null, 'RESET');
});

test('standard_conforming_strings: only on, however spelled', () => {
  for (const v of ['on', 'ON', 'true', 'TRUE', 't', 'tr', 'yes', 'y', '1']) assert.is(settingViolation('standard_conforming_strings', v), null, v);
  for (const v of ['off', 'false', 'f', 'no', '0', 'o', 'maybe']) assert.ok(settingViolation('standard_conforming_strings', v) !== null, v);
});

test('backslash_quote: only its default', () => {
  assert.is(settingViolation('backslash_quote', 'safe_encoding'), null);
  assert.ok(settingViolation('backslash_quote', 'on') !== null);
  assert.is(settingViolation('work_mem', 'anything'), null, 'not a text setting');
});

test('search path values', () => {
  assert.equal(parseSearchPath('"$user", public'), ['$user', 'public']);
  assert.equal(parseSearchPath('A, "B""c", d'), ['a', 'B"c', 'd']);
  assert.equal(parseSearchPath(''), []);
  const arg = (sval: string) => ({ A_Const: { sval: { sval } } });
  assert.is(renderSetValue('search_path', [arg('app'), arg('Other')]), 'app, "Other"');
  assert.is(renderSetValue('datestyle', [arg('ISO'), arg('MDY')]), 'ISO, MDY');
});

test('the compiler cuts names in rules as the runtime cuts names from string literals (63 bytes, at a character)', async () => {
  const { serverIdentifier } = await import('../../../compiler/names.ts');
  for (const name of ['t', 'a'.repeat(63), 'a'.repeat(64), 'b'.repeat(62) + 'é', 'é'.repeat(40), 'x'.repeat(60) + '😀😀', '😀'.repeat(16), 'q'.repeat(61) + 'éa']) {
    assert.is(serverIdentifier(name), truncateIdentifier(name), name);
    assert.ok(Buffer.byteLength(serverIdentifier(name)) <= 63, name);
  }
});

test.run();
