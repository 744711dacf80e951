// The key of an approval grant (spec/approvals.md §3): the same statement however it is laid
// out, and never a statement with other constants or other bind parameters.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fingerprintSql, loadParser } from '../../../runtime/sql/parser.ts';
import { statementKey, type KeyParam } from '../../../runtime/sql/statement-key.ts';

await loadParser();
const st = (text: string, resources: string[] = []) => ({ text, fingerprint: fingerprintSql(text), facts: resources.map((r) => ({ action: r.split(' ')[0], resource: r.split(' ')[1] })) });
const keyOf = (texts: string[], params: KeyParam[] = []) => statementKey(texts.map((t) => st(t)), params);
const key = (sql: string, params: KeyParam[] = []) => keyOf([sql], params);

test('layout does not count: whitespace, comments, keyword case, needless quotes, how a string is written', () => {
  const k = key("UPDATE accounts SET note = 'x' WHERE id = 7");
  for (const same of [
    "update accounts set note = 'x' where id = 7",
    "UPDATE  accounts\n  SET note = 'x' -- why\n  WHERE id = 7",
    "/* ticket 9 */ UPDATE \"accounts\" SET \"note\" = 'x' WHERE \"id\" = 7",
    'UPDATE accounts SET note = $$x$$ WHERE id = 7',
    "UPDATE accounts SET note = E'x' WHERE id = 7",
  ]) {
    assert.is(key(same), k, same);
  }
});

test('constants count, though libpg_query fingerprints them alike', () => {
  const a = "UPDATE accounts SET balance = 0 WHERE id = 7";
  const b = "UPDATE accounts SET balance = 0 WHERE id = 8";
  assert.is(fingerprintSql(a), fingerprintSql(b));
  assert.is.not(key(a), key(b));
  assert.is.not(key('DELETE FROM orders WHERE id < 43'), key('DELETE FROM orders WHERE id < 100000000'));
  assert.is.not(key("SELECT 'a'"), key("SELECT 'b'"));
  assert.is.not(key('SELECT 1'), key('SELECT 1.0'));
});

test('names count: a quoted name keeps its case', () => {
  assert.is.not(key('DELETE FROM "Orders"'), key('DELETE FROM orders'));
  assert.is.not(key('DELETE FROM app.orders'), key('DELETE FROM orders'));
});

test('bind parameters count, NULL apart from the text NULL', () => {
  const sql = 'UPDATE accounts SET balance = $1 WHERE id = $2';
  assert.is(key(sql, ['0', '7']), key(sql, ['0', '7']));
  assert.is.not(key(sql, ['0', '7']), key(sql, ['0', '8']));
  assert.is.not(key(sql, [null, '7']), key(sql, ['NULL', '7']));
  assert.is.not(key(sql, ['0', '7']), key(sql, ['07']));
  // a binary parameter is its bytes: never the same as a text parameter spelling them in hex
  assert.is.not(key('UPDATE notes SET t = $1', ['\\x616263']), key('UPDATE notes SET t = $1', [{ base64: Buffer.from('abc').toString('base64') }]));
  assert.is.not(key('UPDATE notes SET t = $1', ['YWJj']), key('UPDATE notes SET t = $1', [{ base64: 'YWJj' }]));
});

test('the parameter types declared at Parse count; none declared keeps the key it always had', () => {
  const sql = 'UPDATE notes SET t = length($1)';
  const one = (declared: string[]) => statementKey([st(sql, ['update public.notes'])], ['x'], [], '', declared);
  assert.is(one([]), statementKey([st(sql, ['update public.notes'])], ['x']));
  assert.is(one(['the statement: 25']), one(['the statement: 25']));
  assert.is.not(one(['the statement: 25']), one(['the statement: 17']));
  assert.is.not(one(['the statement: 25']), one([]));
});

test('what the names resolved to counts: the same text on another search_path is another statement', () => {
  const sql = 'DELETE FROM orders WHERE id = 1';
  assert.is(statementKey([st(sql, ['delete public.orders'])], []), statementKey([st(sql, ['delete public.orders'])], []));
  assert.is.not(statementKey([st(sql, ['delete public.orders'])], []), statementKey([st(sql, ['delete shadow.orders'])], []));
});

test('several statements: each counts, in order; text that does not parse is keyed by its bytes', () => {
  assert.is.not(keyOf(['DELETE FROM a', 'DELETE FROM b']), keyOf(['DELETE FROM b', 'DELETE FROM a']));
  assert.is.not(keyOf(['DELETE FROM a']), keyOf(['DELETE FROM a', 'DELETE FROM a']));
  assert.is.not(key('DELETE FROM'), key('DELETE  FROM'));
  assert.match(key('UPDATE t SET v = 1'), /^[0-9a-f]{16}\/[0-9a-f]{32}$/);
});

test.run();
