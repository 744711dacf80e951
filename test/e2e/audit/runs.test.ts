// What ran, in the record of the statement that ran it (spec/audit.md §1): the parameter types
// a Parse declared (the server resolves the text with them: `length($1)` is another function
// for `text` and `bytea`), and what an EXECUTE, FETCH or MOVE runs by name — a prepared
// statement, a cursor, a protocol portal with its bind parameters. Without them an agent could
// leave nothing of its SQL in the log: parse it at the protocol level, run it by SQL name.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditedOptions, startGateway, type GatewayFixture } from '../../support/gateway.ts';
import * as w from '../../support/pgwire-builder.ts';
import { allRecords, schemaErrors } from '../../unit/audit/helpers.ts';
import { login, render, text } from '../gateway/wire.ts';

type Rec = Record<string, any>;
const test = suite<{ gw: GatewayFixture; records: Rec[] }>('session records: what a statement runs');
const run = promisify(execFile);
const root = join(import.meta.dirname, '../../..');

const LEDGER = 'SELECT amount FROM ledger WHERE id = $1';
const LENGTH = 'SELECT length($1)';
const DECLARE_BOUND = 'DECLARE c_bound CURSOR WITH HOLD FOR SELECT amount FROM ledger WHERE id = $1';

test.before(async (ctx) => {
  const { files, blocks } = auditedOptions();
  ctx.gw = await startGateway({
    files,
    blocks,
    setup: `
      CREATE TABLE ledger (id int PRIMARY KEY, amount int);
      INSERT INTO ledger VALUES (1, 100), (2, 250), (3, 999);`,
    rules: `
group "agents" {
  on db {
    allow read on public.ledger, catalog
  }
}`,
  });
  const s = await login(ctx.gw, ['agents']);
  const step = async (...messages: Buffer[]): Promise<string[]> => {
    s.send(...messages);
    return render(await s.until('ReadyForQuery'));
  };
  // the same text with its parameter declared text, bytea, unspecified, or not declared
  for (const types of [[25], [17], [0], []]) {
    assert.equal(await step(w.parse('', LENGTH, types), w.bind('', '', [0], [text('\\x41')], []), w.execute('', 0), w.sync()), [
      'ParseComplete',
      'BindComplete',
      `DataRow ${types[0] === 17 ? 1 : 4}`,
      'CommandComplete SELECT 1',
      'ReadyForQuery I',
    ]);
  }
  // parsed at the protocol level, run by its SQL name
  await step(w.parse('q', LEDGER, [23]), w.sync());
  assert.equal(await step(w.query('EXECUTE q(2)')), ['RowDescription amount', 'DataRow 250', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
  // bound at the protocol level, read by a SQL FETCH
  await step(w.query('BEGIN'));
  await step(w.bind('p', 'q', [0], [text('3')], []), w.sync());
  assert.equal(await step(w.query('FETCH ALL FROM p')), ['RowDescription amount', 'DataRow 999', 'CommandComplete FETCH 1', 'ReadyForQuery T']);
  await step(w.query('COMMIT'));
  // a cursor declared by an Execute reads the Bind's parameter
  await step(w.query('BEGIN'));
  assert.equal(await step(w.parse('', DECLARE_BOUND, [23]), w.bind('', '', [0], [text('1')], []), w.execute('', 0), w.sync()), [
    'ParseComplete',
    'BindComplete',
    'CommandComplete DECLARE CURSOR',
    'ReadyForQuery T',
  ]);
  await step(w.query('COMMIT'));
  assert.equal(await step(w.query('FETCH ALL FROM c_bound')), ['RowDescription amount', 'DataRow 100', 'CommandComplete FETCH 1', 'ReadyForQuery I']);
  await step(w.query('CLOSE c_bound'));
  // prepared in the same query as its EXECUTE, then prepared again with another body
  await step(w.query('PREPARE r AS SELECT 1; EXECUTE r'));
  await step(w.query('DEALLOCATE r'));
  await step(w.query('PREPARE r AS SELECT amount FROM ledger WHERE id = 2'));
  await step(w.query('EXECUTE r'));
  // a cursor declared in a query: its values are in its text
  await step(w.query('BEGIN; DECLARE d CURSOR FOR SELECT amount FROM ledger ORDER BY id'));
  assert.equal(await step(w.query('MOVE 1 IN d; FETCH 1 FROM d')), ['CommandComplete MOVE 1', 'RowDescription amount', 'DataRow 250', 'CommandComplete FETCH 1', 'ReadyForQuery T']);
  await step(w.query('COMMIT'));
  s.close();
  await ctx.gw.close();
  ctx.records = allRecords(join(ctx.gw.dir, 'audit'));
});

const statements = (records: Rec[], text: string) => records.filter((r) => r.kind === 'statement' && r.text.trim() === text);

test('every record validates against the record schema', ({ records }) => {
  for (const r of records) assert.equal(schemaErrors(r), [], `${r.kind} #${r.seq}`);
});

test('an extended statement records the parameter types its Parse declared', ({ records }) => {
  const runs = statements(records, LENGTH);
  assert.equal(
    runs.map((r) => [r.params, r.paramTypes, r.rows.returned]),
    [
      [['\\x41'], [25], 1],
      [['\\x41'], [17], 1],
      // unspecified or not declared: the server infers the type, nothing to record
      [['\\x41'], undefined, 1],
      [['\\x41'], undefined, 1],
    ],
  );
});

test('EXECUTE of a statement prepared by a Parse records the statement and its types', ({ records }) => {
  const [r] = statements(records, 'EXECUTE q(2)');
  assert.equal(r.runs, [{ text: LEDGER, paramTypes: [23] }]);
  assert.ok(r.facts.some((f: Rec) => f.action === 'select' && f.resource === 'public.ledger'), JSON.stringify(r.facts));
  assert.equal(r.rows, { returned: 1, command: 'SELECT' });
});

test('FETCH of a portal bound by the protocol records its statement, its parameters and types', ({ records }) => {
  const [r] = statements(records, 'FETCH ALL FROM p');
  assert.equal(r.runs, [{ text: LEDGER, params: ['3'], paramTypes: [23] }]);
  assert.is(r.rows.returned, 1);
});

test('FETCH of a cursor declared by an Execute records the DECLARE with the Bind parameters it read', ({ records }) => {
  const [declare] = statements(records, DECLARE_BOUND);
  assert.equal([declare.params, declare.paramTypes], [['1'], [23]]);
  const [r] = statements(records, 'FETCH ALL FROM c_bound');
  assert.equal(r.runs, [{ text: DECLARE_BOUND, params: ['1'], paramTypes: [23] }]);
});

test('EXECUTE of a SQL-prepared statement records the PREPARE it ran, also when prepared in the same query', ({ records }) => {
  const executes = statements(records, 'EXECUTE r');
  assert.equal(
    executes.map((r) => r.runs),
    [[{ text: 'PREPARE r AS SELECT 1' }], [{ text: 'PREPARE r AS SELECT amount FROM ledger WHERE id = 2' }]],
  );
  assert.is(executes[1].rows.returned, 1);
});

test('FETCH and MOVE of a cursor declared in a query record its DECLARE', ({ records }) => {
  const declare = 'DECLARE d CURSOR FOR SELECT amount FROM ledger ORDER BY id';
  assert.equal(statements(records, 'MOVE 1 IN d')[0].runs, [{ text: declare }]);
  assert.equal(statements(records, 'FETCH 1 FROM d')[0].runs, [{ text: declare }]);
  // statements that run nothing by name carry nothing of the kind
  assert.is(statements(records, 'COMMIT')[0].runs, undefined);
});

test('pamc audit show prints what ran and the declared types', async ({ gw }) => {
  const { stdout } = await run(process.execPath, [join(root, 'bin/pamc.js'), 'audit', 'show', join(gw.dir, 'audit')], { cwd: root });
  assert.match(stdout, /FETCH ALL FROM p\n\s+runs: SELECT amount FROM ledger WHERE id = \$1\n\s+params: \$1='3'\n\s+parameter types \(OIDs\): \$1 23\n/);
  assert.match(stdout, /SELECT length\(\$1\)\n\s+params: \$1='\\x41'\n\s+parameter types \(OIDs\): \$1 17\n/);
});

test.run();
