// Startup parameters: the client encoding is read as the server reads an encoding name (ASCII
// letters and digits, lowercased: asyncpg sends `'utf-8'` with its quotes), and the settings the
// gateway pins go upstream whatever the client asked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideStartup } from '../../../runtime/postgres/gateway/startup-params.ts';

const ctx = { databases: ['shop'], searchPath: ['public'] };
const start = (params: [string, string][]) => decideStartup(new Map([['user', 'agent'], ['database', 'shop'], ...params]), ctx);

test('every spelling of UTF8 the server accepts is accepted, and UTF8 goes upstream', () => {
  for (const v of ['UTF8', 'utf8', 'UTF-8', "'utf-8'", 'utf_8', 'Unicode', 'UNICODE', ' utf 8 ', 'SQL_ASCII']) {
    const d = start([['client_encoding', v]]);
    assert.ok(d.ok, v);
    if (d.ok) assert.is(d.upstream.client_encoding, 'UTF8', v);
  }
});

test('other encodings are refused with 22023, however they are spelled', () => {
  for (const v of ['SJIS', 'LATIN1', 'win1252', 'EUC_JP', 'GB18030', 'BIG5', 'utf16', 'utf', '']) {
    const d = start([['client_encoding', v]]);
    assert.not.ok(d.ok, v);
    if (!d.ok) assert.is(d.sqlstate, '22023', v);
  }
});

test('non-ASCII characters are dropped from an encoding name before lowercasing, as the server does', () => {
  // İ is not i (the server reads "uncode"); fullwidth letters are nothing; a Kelvin sign between
  // the letters of utf8 is dropped, and the server reads utf8 too
  for (const v of ['un\u0130code', 'ｕｔｆ８']) assert.not.ok(start([['client_encoding', v]]).ok, v);
  assert.ok(start([['client_encoding', 'utf\u212a8']]).ok);
});

test('the pinned settings go upstream; the client cannot turn them off', () => {
  const d = start([['application_name', 'a'], ['DateStyle', 'ISO']]);
  assert.ok(d.ok);
  if (d.ok) assert.equal(d.upstream, { application_name: 'a', DateStyle: 'ISO', client_encoding: 'UTF8', standard_conforming_strings: 'on', search_path: 'public' });
  const off = start([['standard_conforming_strings', 'off']]);
  assert.is(off.ok ? null : off.sqlstate, '42501');
});

test.run();
