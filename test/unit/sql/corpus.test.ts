import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classify } from '../../../runtime/sql/classify.ts';
import type { Fact, SessionEffect } from '../../../runtime/sql/facts.ts';
import { contextCases, corpus } from './corpus.ts';

const actions = JSON.parse(readFileSync(new URL('../../../spec/data/actions.json', import.meta.url), 'utf8')) as {
  kinds: { postgres: { actions: Record<string, unknown> } };
};
const KNOWN_ACTIONS = new Set([...Object.keys(actions.kinds.postgres.actions), 'forbidden']);

export function factText(f: Fact): string {
  if (f.action === 'forbidden') return 'forbidden';
  let s = f.resource === '' ? f.action : `${f.action} ${f.resource}`;
  if (f.unbounded) s += ' [unbounded]';
  if (f.objectKind !== undefined) s += ` (${f.objectKind})`;
  return s;
}

export function effectText(e: SessionEffect): string {
  switch (e.kind) {
    case 'set':
      return `set ${e.setting}${e.value === null ? ' reset' : `=${e.value}`}${e.local ? ' local' : ''}`;
    case 'prepare':
    case 'execute':
    case 'declare':
      return `${e.kind} ${e.name}`;
    case 'deallocate':
    case 'fetch':
    case 'close':
      return `${e.kind} ${e.name ?? '*'}`;
    case 'listen':
    case 'unlisten':
      return `${e.kind} ${e.channel ?? '*'}`;
    case 'discard':
      return `discard ${e.what}`;
    case 'reset_all':
      return 'reset_all';
    case 'reach':
      return `reach ${e.from} as ${e.as}`;
    case 'reach_column':
      return `reach_column ${e.relation}.${e.from} as ${e.as}`;
  }
}

const sorted = (xs: string[]): string[] => [...new Set(xs)].sort();

test('the corpus has at least 150 statements', () => {
  assert.ok(corpus.length >= 150, `${corpus.length} cases`);
});

for (const c of corpus) {
  const label = `${c.sql.replace(/\s+/g, ' ').slice(0, 90)}${c.path ? ` [path ${c.path.join(',')}]` : ''}`;
  test(label, () => {
    const result = classify(c.sql, { searchPath: c.path ?? ['public'] });
    const got = result.statements.map((s) => sorted(s.facts.map(factText)));
    if (c.each !== undefined) {
      assert.equal(got, c.each.map(sorted), `facts per statement of ${c.sql}`);
    } else {
      const all = sorted(result.statements.flatMap((s) => s.facts.map(factText)));
      assert.equal(all, sorted(c.facts ?? []), `facts of ${c.sql}`);
    }
    for (const s of result.statements)
      for (const f of s.facts) assert.ok(KNOWN_ACTIONS.has(f.action), `unknown action ${f.action}`);
    if (c.effects !== undefined) {
      const effects = result.statements.flatMap((s) => s.effects.map(effectText));
      assert.equal(effects, c.effects, `effects of ${c.sql}`);
    }
    if (c.limited !== undefined) assert.is(result.statements[0]!.limited, c.limited, `limited of ${c.sql}`);
    if (c.detail !== undefined) {
      const detail = result.statements.flatMap((s) => s.facts).find((f) => f.action === 'forbidden')?.detail ?? '';
      assert.ok(detail.includes(c.detail), `detail ${JSON.stringify(detail)} should mention ${c.detail}`);
    }
  });
}

for (const c of contextCases) {
  test(`${c.sql.slice(0, 80)} [${JSON.stringify(c.ctx)}]`, () => {
    const r = classify(c.sql, c.ctx);
    assert.equal(r.statements.map((s) => sorted(s.facts.map(factText))), c.each.map(sorted));
  });
}

test('statement texts, offsets and lengths', () => {
  const sql = '  SELECT 1 ;\n\tDELETE FROM a WHERE id = 1;  -- done\n';
  const r = classify(sql);
  assert.is(r.statements.length, 2);
  const [a, b] = r.statements;
  assert.is(a!.text, 'SELECT 1');
  assert.is(sql.slice(a!.location, a!.location + a!.length), 'SELECT 1');
  assert.is(b!.text, 'DELETE FROM a WHERE id = 1');
  assert.is(sql.slice(b!.location, b!.location + b!.length), b!.text);
  assert.is(a!.nodeType, 'SelectStmt');
  assert.is(b!.nodeType, 'DeleteStmt');
});

test('offsets of statements after multi-byte text are string offsets', () => {
  const sql = "SELECT 'Ünïcødé 😀'; SELECT x FROM ☃";
  const r = classify(sql);
  const last = r.statements[1]!;
  assert.is(last.text, 'SELECT x FROM ☃');
  assert.is(sql.slice(last.location, last.location + last.length), last.text);
  assert.equal(last.facts, [{ action: 'select', resource: 'public."☃"' }]);
});

test('a parse error reports its position and forbids the text', () => {
  const r = classify('SELECT * FROM');
  assert.ok(r.error !== undefined);
  assert.is(r.error!.position, 13);
  assert.is(r.statements.length, 1);
  assert.is(r.statements[0]!.nodeType, 'ParseError');
  assert.is(r.statements[0]!.fingerprint, '');
  assert.is(r.statements[0]!.facts[0]!.action, 'forbidden');
});

test('an error position after multi-byte characters is a string offset', () => {
  const sql = "SELECT '😀😀' FROM";
  const r = classify(sql);
  assert.is(r.error!.position, sql.length);
});

test('empty text and comments only have no statements', () => {
  assert.equal(classify('').statements, []);
  assert.equal(classify('  -- nothing\n /* here */ ').statements, []);
  assert.equal(classify(';;').statements.length, 0);
});

test('fingerprints are per statement and stable across literals', () => {
  const r = classify('SELECT * FROM a WHERE id = 1; SELECT * FROM a WHERE id = 2; SELECT 1');
  const [a, b, c] = r.statements.map((s) => s.fingerprint);
  assert.match(a!, /^[0-9a-f]{16}$/);
  assert.is(a, b);
  assert.is.not(a, c);
  assert.ok(JSON.stringify(r.statements[0]).includes(a!), 'the fingerprint is serialised');
});

test('PREPARE carries the classified statement; EXECUTE finds it through the session', () => {
  const prep = classify('PREPARE del (int) AS DELETE FROM a WHERE id = $1');
  const effect = prep.statements[0]!.effects[0]!;
  assert.is(effect.kind, 'prepare');
  if (effect.kind !== 'prepare') return;
  assert.equal(effect.statement.facts, [{ action: 'delete', resource: 'public.a' }]);
  assert.is(effect.statement.nodeType, 'DeleteStmt');
  const session = new Map([['del', effect.statement]]);
  const exec = classify('EXECUTE del(5)', { searchPath: ['public'], prepared: (n) => session.get(n) });
  assert.equal(exec.statements[0]!.facts, [{ action: 'delete', resource: 'public.a' }]);
  const limited = classify('PREPARE q AS SELECT * FROM a LIMIT 1').statements[0]!.effects[0]!;
  if (limited.kind !== 'prepare') throw new Error('no prepare');
  const exec2 = classify('EXECUTE q', { searchPath: ['public'], prepared: () => limited.statement });
  assert.is(exec2.statements[0]!.limited, true);
});

test('DEALLOCATE ALL and DISCARD ALL hide the session registry from later EXECUTEs in the same text', () => {
  const prepared = classify('PREPARE x AS SELECT 1').statements[0]!;
  const ctx = { searchPath: ['public'], prepared: () => prepared };
  for (const reset of ['DEALLOCATE ALL', 'DISCARD ALL']) {
    const r = classify(`${reset}; EXECUTE x`, ctx);
    assert.equal([...new Set(r.statements[1]!.facts.map((f) => f.action))], ['forbidden'], reset);
  }
});

test('set_config in a view definition or PREPARE body is no session effect now', () => {
  assert.equal(classify("CREATE VIEW v AS SELECT set_config('role', 'x', false)").statements[0]!.effects, []);
  const p = classify("PREPARE p AS SELECT set_config('search_path', 'x', false)").statements[0]!;
  assert.equal(p.effects.map((e) => e.kind), ['prepare']);
  const session = p.effects[0]!.kind === 'prepare' ? p.effects[0]!.statement : undefined;
  const exec = classify('EXECUTE p', { searchPath: ['public'], prepared: () => session });
  assert.equal(exec.statements[0]!.effects.map(effectText), ['set search_path=x', 'execute p']);
});

test.run();
