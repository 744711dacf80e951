import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LruCache } from '../../../runtime/sql/cache.ts';
import { cacheStats, classify, classifyCached, configureCache } from '../../../runtime/sql/classify.ts';

test('the LRU cache is bounded by entries and by total key length', () => {
  const c = new LruCache<number>(3, 100);
  for (let i = 0; i < 10; i++) c.set(`k${i}`, i, 10);
  assert.is(c.size, 3);
  assert.is(c.get('k0'), undefined);
  assert.is(c.get('k9'), 9);
  c.set('big', 1, 80);
  assert.ok(c.chars <= 100);
  assert.is(c.get('big'), 1);
  c.set('huge', 1, 1000);
  assert.is(c.get('huge'), undefined, 'an entry larger than the bound is not kept');
});

test('a hit refreshes an entry', () => {
  const c = new LruCache<number>(2, 1000);
  c.set('a', 1, 1);
  c.set('b', 2, 1);
  c.get('a');
  c.set('c', 3, 1);
  assert.is(c.get('a'), 1);
  assert.is(c.get('b'), undefined);
});

test('classifyCached stays bounded', () => {
  configureCache(50, 1_000_000);
  for (let i = 0; i < 500; i++) classifyCached(`SELECT * FROM a${i} WHERE id = ${i}`);
  assert.is(cacheStats().entries, 50);
  // each of those is a template key too (lexical; the normalized key has its own map of 50)
  assert.is(cacheStats().templates, 50);
  // (a sign the lexical key cannot see folded into the constant: the second text of each
  // lexical key takes its normalized key)
  for (let i = 0; i < 500; i++) for (const k of [1, 2]) classifyCached(`SELECT * FROM a${i} WHERE id = -(${k})`);
  assert.is(cacheStats().templates, 100);
  // a text a template gave is not kept: finding it again costs what a cache hit would
  configureCache(50, 1_000_000);
  classifyCached('SELECT * FROM a WHERE id = 1');
  for (let i = 2; i < 500; i++) classifyCached(`SELECT * FROM a WHERE id = ${i}`);
  assert.is(cacheStats().entries, 1);
  configureCache(4096, 16 * 1024 * 1024);
});

test('the same text with different search paths gives different answers', () => {
  const a = classifyCached('SELECT * FROM orders', { searchPath: ['public'] });
  const b = classifyCached('SELECT * FROM orders', { searchPath: ['app'] });
  const c = classifyCached('SELECT * FROM orders', { searchPath: ['app', 'public'] });
  assert.equal(a.statements[0]!.facts, [{ action: 'select', resource: 'public.orders' }]);
  assert.equal(b.statements[0]!.facts, [{ action: 'select', resource: 'app.orders' }]);
  assert.equal(c.statements[0]!.facts.map((f) => f.resource), ['app.orders', 'public.orders']);
  assert.is(classifyCached('SELECT * FROM orders', { searchPath: ['public'] }), a, 'a hit returns the cached result');
});

test('path elements cannot be confused with each other in the key', () => {
  const a = classifyCached('SELECT * FROM t', { searchPath: ['a,b'] });
  const b = classifyCached('SELECT * FROM t', { searchPath: ['a', 'b'] });
  assert.equal(a.statements[0]!.facts.map((f) => f.resource), ['"a,b".t']);
  assert.equal(b.statements[0]!.facts.map((f) => f.resource), ['a.t', 'b.t']);
});

test('an EXECUTE resolved through the session is not cached', () => {
  const registry = new Map([['p', classify('PREPARE p AS DELETE FROM a').statements[0]!]]);
  const prepared = (n: string) => {
    const e = registry.get(n)?.effects[0];
    return e?.kind === 'prepare' ? e.statement : undefined;
  };
  const first = classifyCached('EXECUTE p', { searchPath: ['public'], prepared });
  assert.equal(first.statements[0]!.facts.map((f) => f.action), ['delete']);
  registry.set('p', classify('PREPARE p AS SELECT 1').statements[0]!);
  const second = classifyCached('EXECUTE p', { searchPath: ['public'], prepared });
  assert.equal(second.statements[0]!.facts, [], 'the new prepared statement is used');
  const unknown = classifyCached('EXECUTE q', { searchPath: ['public'], prepared });
  assert.equal(unknown.statements[0]!.facts.map((f) => f.action), ['forbidden']);
  registry.set('q', registry.get('p')!);
  assert.equal(classifyCached('EXECUTE q', { searchPath: ['public'], prepared }).statements[0]!.facts, []);
});

test('a session lookup that throws forbids the statement', () => {
  const r = classifyCached('EXECUTE p', {
    searchPath: ['public'],
    prepared: () => {
      throw new Error('registry gone');
    },
  });
  assert.equal(r.statements[0]!.facts.map((f) => f.action), ['forbidden']);
});

test.run();
