// Session records of a real gateway in front of a real PostgreSQL: what real clients do becomes
// records that validate against spec/audit-record.schema.json, chain, and pass `pamc audit
// verify`; a changed byte in them is found and named.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditedOptions, mintToken, startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { WireSession } from '../../support/pg-session.ts';
import { allRecords, lines, schemaErrors, segments } from '../../unit/audit/helpers.ts';
import { loginBytes, open, text, w } from '../gateway/wire.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../../..');

type Rec = Record<string, any>;
const test = suite<{ gw: GatewayFixture; records: Rec[]; auditDir: string; publicKey: string }>('session records of the gateway');

test.before(async (ctx) => {
  const audited = auditedOptions('checkpoint every 1s, 1000 records');
  ctx.gw = await startGateway({
    admin: true,
    files: audited.files,
    blocks: audited.blocks,
    setup: `
      CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
      INSERT INTO customers SELECT g, 'name ' || g, 'user' || g || '@example.com' FROM generate_series(1, 20) g;
      CREATE TABLE jobs (id int PRIMARY KEY, state text);
      INSERT INTO jobs VALUES (1, 'new'), (2, 'new');
      CREATE TABLE ledger (id int, amount int);
      INSERT INTO ledger VALUES (1, 100);`,
    rules: `
group "agents" {
  on db {
    allow read on public.customers, public.jobs, catalog
    allow insert on public.jobs
    approve update on public.jobs by "dba" within 30s
    approve read on public.ledger by "dba" within 30s
    mask public.customers.email with email
    limit rows 5
  }
}
group "dba" {}
group "exporters" {
  on db {
    allow read, copy_in on public.jobs
  }
}`,
  });
  ctx.auditDir = join(ctx.gw.dir, 'audit');
  ctx.publicKey = join(ctx.gw.dir, 'audit-public.jwk');
  writeFileSync(ctx.publicKey, audited.publicKey);

  const gw = ctx.gw;
  // a session of node-postgres doing a bit of everything
  const c = new pg.Client(await gw.clientConfig(['agents'], {}, 'agent-records'));
  const requests: string[] = [];
  c.on('notice', (n) => {
    const m = /request (apr_\S+)/.exec(n.message ?? '');
    if (m) requests.push(m[1]);
  });
  await c.connect();
  await c.query('SELECT id, email FROM customers ORDER BY id'); // masked and limited
  await c.query({ text: 'SELECT name FROM customers WHERE id = $1', values: [3] });
  // an agent trying to write a record of its own into the log through its text and parameters
  await c.query({ text: INJECT_TEXT, values: INJECT_VALUES });
  await c.query('DROP TABLE customers').catch(() => {}); // denied
  await c.query('INSERT INTO jobs VALUES (1, \'dup\')').catch(() => {}); // fails on the server
  await c.query("INSERT INTO jobs VALUES (3, 'new')");
  await c.query('SELECT 1; SELECT 2'); // two statements in one query
  // each statement held for approval is approved by dba-alice
  const approved = async (query: Promise<unknown>, reason: string): Promise<void> => {
    const before = requests.length;
    while (requests.length === before) await new Promise((r) => setTimeout(r, 20));
    const res = await fetch(`${gw.adminUrl}/approvals/${requests[before]}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await mintToken(['dba'], {}, { sub: 'dba-alice' })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason }),
    });
    assert.is(res.status, 200);
    await query;
  };
  await approved(c.query("UPDATE jobs SET state = 'done' WHERE id = 1"), 'ticket OPS-7');
  // PREPARE and EXECUTE are each held as the statement they prepare and run
  await approved(c.query("PREPARE touch AS UPDATE jobs SET state = 'touched' WHERE id = 2"), 'ticket OPS-8');
  await approved(c.query('EXECUTE touch'), 'ticket OPS-9');
  // a FETCH is held as a read of what its cursor reads
  await c.query('BEGIN');
  await approved(c.query('DECLARE cur CURSOR FOR SELECT amount FROM ledger'), 'ticket OPS-10');
  await approved(c.query('FETCH 1 FROM cur'), 'ticket OPS-11');
  await c.query('COMMIT');
  await c.end();
  // a held statement rejected: its record is the statement, with its parameters, facts and rule
  const rejecter = new WireSession(await open(gw));
  rejecter.send(loginBytes(gw, await gw.token(['agents'], {}, 'agent-rejected')));
  await rejecter.until('ReadyForQuery');
  // the Execute is held once its Parse and Bind are settled (a Sync, inside a transaction)
  rejecter.send(w.query('BEGIN'));
  await rejecter.until('ReadyForQuery');
  rejecter.send(w.parse('', 'UPDATE jobs SET state = $1 WHERE id = $2'), w.bind('', '', [0, 0], [text('wiped'), text('2')], []), w.sync());
  await rejecter.until('ReadyForQuery');
  rejecter.send(w.execute('', 0), w.sync());
  const notice = (await rejecter.until('NoticeResponse')).pop() as { fields: { message: string } };
  const held = /request (apr_\S+)/.exec(notice.fields.message)![1];
  const res = await fetch(`${gw.adminUrl}/approvals/${held}/reject`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await mintToken(['dba'], {}, { sub: 'dba-alice' })}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'not today' }),
  });
  assert.is(res.status, 200);
  assert.ok((await rejecter.until('ReadyForQuery')).some((m) => m.kind === 'ErrorResponse'));
  rejecter.send(w.query('ROLLBACK'));
  await rejecter.until('ReadyForQuery');
  rejecter.close();
  // a held statement whose session ends before its request settles
  const leaver = new WireSession(await open(gw));
  leaver.send(loginBytes(gw, await gw.token(['agents'], {}, 'agent-leaver')));
  await leaver.until('ReadyForQuery');
  leaver.send(w.query("UPDATE jobs SET state = 'left' WHERE id = 1"));
  await leaver.until('NoticeResponse');
  leaver.close();
  // COPY both ways through psql: the rows it wrote, the rows it sent
  const copy = run('psql', [gw.conninfo(), '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'COPY jobs (id, state) FROM STDIN', '-c', 'COPY (SELECT id FROM jobs ORDER BY id) TO STDOUT'], {
    env: { ...process.env, PGPASSWORD: await gw.token(['exporters'], {}, 'agent-copy') },
  });
  copy.child.stdin?.end('10\tcopied\n11\tcopied\n\\.\n');
  assert.match((await copy).stdout, /^COPY 2\n1\n2\n3\n10\n11\n$/);
  // An agent parses a harmless text under a name in use and runs the name behind a Sync: the
  // server refuses the Parse (42P05) and binds what the name held. Then the same with the
  // unnamed statement: a Parse skipped after an error leaves the earlier one in place.
  const raw = new WireSession(await open(gw));
  raw.send(loginBytes(gw, await gw.token(['agents'], {}, 'agent-wire')));
  await raw.until('ReadyForQuery');
  raw.send(w.parse('kept', 'SELECT name FROM customers WHERE id = $1'), w.sync());
  await raw.until('ReadyForQuery');
  raw.send(w.parse('kept', 'SELECT 42'), w.sync(), w.bind('', 'kept', [0], [text('7')], []), w.execute('', 0), w.sync());
  await raw.until('ReadyForQuery');
  await raw.until('ReadyForQuery');
  raw.send(w.parse('', 'SELECT id FROM customers WHERE id = $1'), w.bind('', '', [0], [text('8')], []), w.execute('', 0), w.sync());
  await raw.until('ReadyForQuery');
  raw.send(w.parse('z', 'SELECT 1/0'), w.bind('', 'z', [], [], []), w.execute('', 0), w.parse('', 'SELECT 43'), w.sync());
  raw.send(w.bind('', '', [0], [text('9')], []), w.execute('', 0), w.sync());
  await raw.until('ReadyForQuery');
  await raw.until('ReadyForQuery');
  raw.close();
  // a token that does not verify
  const bad = new pg.Client({ ...(await gw.clientConfig(['agents'])), password: 'not-a-token' });
  await bad.connect().then(
    () => assert.unreachable('a bad token was accepted'),
    () => {},
  );
  await gw.close(); // writes every queued record and the closing checkpoint
  ctx.records = allRecords(ctx.auditDir);
});

/** Text and parameters that would end a line, close the JSON and start a forged record if written unescaped. */
const INJECT_TEXT = 'SELECT name FROM customers WHERE id = $1::int AND $2::text IS NOT NULL AND $3::bytea IS NOT NULL /* "}\n{"seq":0,"kind":"approval","event":"approved"} \\ */';
const INJECT_VALUES = ['4', '"}\n{"seq":1,"prev":"' + '0'.repeat(64) + '","kind":"approval"}\r\u2028\u0001\ud800 \\"', Buffer.from([0x22, 0x0a, 0x7b, 0xff, 0x00])];

const stmts = (records: Rec[], subject = 'agent-records') => {
  const session = records.find((r) => r.kind === 'connect' && r.identity?.subject === subject)!.session;
  return records.filter((r) => r.kind === 'statement' && r.session === session);
};

test('every record validates against the record schema', ({ records }) => {
  assert.ok(records.length > 10, `${records.length} records`);
  for (const r of records) assert.equal(schemaErrors(r), [], `${r.kind} #${r.seq}`);
});

test('connect and disconnect of the session: identity, client, target, policy; statements and denials counted', ({ records }) => {
  const connect = records.find((r) => r.kind === 'connect' && r.identity?.subject === 'agent-records')!;
  assert.ok(connect);
  assert.equal(connect.identity.groups, ['agents']);
  assert.is(connect.identity.agent, 'e2e-agent');
  assert.is(connect.client.address, '127.0.0.1');
  assert.is(connect.target.name, 'db');
  assert.is(connect.outcome, 'accepted');
  assert.is(connect.policy.name, 'e2e');
  const disconnect = records.find((r) => r.kind === 'disconnect' && r.session === connect.session)!;
  assert.ok(disconnect, 'a disconnect record');
  assert.is(disconnect.reason, 'client');
  assert.is(disconnect.denied, 1);
});

test('a token that does not verify is a rejected connect without identity', ({ records }) => {
  const rejected = records.filter((r) => r.kind === 'connect' && r.outcome === 'rejected');
  assert.is(rejected.length, 1);
  assert.is(rejected[0].identity, null);
  assert.is(rejected[0].error.code, '28P01');
  assert.not.match(JSON.stringify(rejected[0]), /not-a-token/, 'the token is not recorded');
});

test('statements: text, parameters, facts, decision, rules, rows, masked columns, limit, errors', ({ records }) => {
  const s = stmts(records);
  const byText = (t: string) => s.find((r) => r.text === t)!;
  const masked = byText('SELECT id, email FROM customers ORDER BY id');
  assert.is(masked.outcome, 'ok');
  assert.is(masked.decision, 'allow');
  assert.equal(masked.masked, ['email']);
  assert.equal(masked.rows, { returned: 5, command: 'SELECT' });
  assert.is(masked.limit.rows, 5);
  assert.is(masked.limit.reached, true);
  assert.ok(masked.facts.some((f: Rec) => f.action === 'select' && f.resource === 'public.customers'));
  assert.ok(masked.rules.length > 0);

  const bound = byText('SELECT name FROM customers WHERE id = $1');
  assert.is(bound.protocol, 'extended');
  assert.equal(bound.params, ['3']);
  assert.equal(bound.rows, { returned: 1, command: 'SELECT' });

  const denied = byText('DROP TABLE customers');
  assert.is(denied.decision, 'deny');
  assert.is(denied.outcome, 'denied');
  assert.is(denied.error.code, '42501');

  const failed = byText("INSERT INTO jobs VALUES (1, 'dup')");
  assert.is(failed.outcome, 'error');
  assert.is(failed.error.code, '23505');

  const inserted = byText("INSERT INTO jobs VALUES (3, 'new')");
  assert.equal(inserted.rows, { affected: 1, command: 'INSERT' });

  const two = s.filter((r) => r.text === 'SELECT 1' || r.text === 'SELECT 2');
  assert.equal(two.map((r) => r.index), [0, 1], 'each statement of a query has its record');
  assert.is(two[0].query, two[1].query);
});

test('text and parameters written to forge a record are one record, exactly as sent', ({ records, auditDir }) => {
  const s = stmts(records).filter((r) => r.text === INJECT_TEXT);
  assert.is(s.length, 1);
  // node-postgres parses it as the unnamed statement right behind the previous one: the record
  // names the statement that ran, not the one the name held before
  assert.equal(stmts(records).filter((r) => r.text === 'SELECT name FROM customers WHERE id = $1').map((r) => r.params), [['3']]);
  const [rec] = s;
  assert.is(rec.outcome, 'ok', JSON.stringify(rec.error));
  // the server received the lone surrogate as UTF-8's replacement character, and so does the record
  assert.equal(rec.params, ['4', String(INJECT_VALUES[1]).replace('\ud800', '\ufffd'), { base64: Buffer.from([0x22, 0x0a, 0x7b, 0xff, 0x00]).toString('base64') }]);
  // no line of the log is anything but a whole record
  for (const seg of segments(auditDir)) {
    for (const l of lines(auditDir, seg)) assert.ok(Number.isSafeInteger(JSON.parse(l).seq) && typeof JSON.parse(l).kind === 'string', l);
  }
  assert.not.ok(records.some((r) => r.kind === 'approval' && r.event === 'approved' && r.by === undefined));
});

test('a statement run behind a Parse of its name that failed is recorded as what ran, not as the refused text', ({ records }) => {
  const s = stmts(records, 'agent-wire').filter((r) => r.outcome === 'ok');
  assert.equal(
    s.map((r) => [r.text, r.params, r.rows]),
    [
      ['SELECT name FROM customers WHERE id = $1', ['7'], { returned: 1, command: 'SELECT' }],
      ['SELECT id FROM customers WHERE id = $1', ['8'], { returned: 1, command: 'SELECT' }],
      ['SELECT id FROM customers WHERE id = $1', ['9'], { returned: 1, command: 'SELECT' }],
    ],
  );
  assert.ok(s[0].facts.every((f: Rec) => f.resource === 'public.customers'), JSON.stringify(s[0].facts));
});

test('COPY: rows written by COPY FROM are affected, rows sent by COPY TO are returned', ({ records }) => {
  const s = stmts(records, 'agent-copy');
  assert.equal(
    s.map((r) => [r.text, r.outcome, r.rows]),
    [
      ['COPY jobs (id, state) FROM STDIN', 'ok', { affected: 2, command: 'COPY' }],
      ['COPY (SELECT id FROM jobs ORDER BY id) TO STDOUT', 'ok', { returned: 5, command: 'COPY' }],
    ],
  );
});

test('an approved statement names its request; the approval events are recorded with their approver', ({ records }) => {
  const update = stmts(records).find((r) => r.text === "UPDATE jobs SET state = 'done' WHERE id = 1")!;
  assert.is(update.decision, 'approve');
  assert.is(update.outcome, 'ok');
  assert.match(update.approval, /^apr_/);
  assert.ok(update.timing.waitMs > 0, 'the wait is recorded');
  const events = records.filter((r) => r.kind === 'approval' && r.request === update.approval);
  assert.equal(
    events.map((e) => e.event),
    ['requested', 'approved'],
  );
  assert.is(events[1].by.subject, 'dba-alice');
  assert.is(events[1].reason, 'ticket OPS-7');
  assert.match(update.fingerprint, /^[0-9a-f]{16}$/, 'the statement an approval covers is named by its fingerprint');
  // EXECUTE of a prepared statement: decided, approved and recorded as the statement it runs
  const execute = stmts(records).find((r) => r.text === 'EXECUTE touch')!;
  assert.is(execute.decision, 'approve');
  assert.is(execute.outcome, 'ok');
  assert.match(execute.fingerprint, /^[0-9a-f]{16}$/);
  const fetched = stmts(records).find((r) => r.text === 'FETCH 1 FROM cur')!;
  assert.is(fetched.decision, 'approve');
  assert.ok(fetched.facts.some((f: Rec) => f.action === 'select' && f.resource === 'public.ledger'), JSON.stringify(fetched.facts));
  assert.is(fetched.rows.returned, 1);
  assert.match(fetched.fingerprint, /^[0-9a-f]{16}$/);
});

test('a held statement that does not run is recorded as the statement: text, parameters, facts, rules, approval', ({ records }) => {
  const [rejected] = stmts(records, 'agent-rejected').filter((r) => r.text === 'UPDATE jobs SET state = $1 WHERE id = $2');
  assert.ok(rejected, 'the rejected statement has its record');
  assert.equal([rejected.protocol, rejected.decision, rejected.outcome, rejected.params], ['extended', 'approve', 'rejected', ['wiped', '2']]);
  assert.ok(rejected.facts.some((f: Rec) => f.action === 'update' && f.resource === 'public.jobs'), JSON.stringify(rejected.facts));
  assert.ok(rejected.rules.length > 0, 'the rule that asked for approval');
  assert.match(rejected.approval, /^apr_/);
  assert.match(rejected.error.message, /rejected by dba-alice: not today/);
  const [left] = stmts(records, 'agent-leaver');
  assert.equal([left.text, left.protocol, left.decision, left.outcome], ["UPDATE jobs SET state = 'left' WHERE id = 1", 'simple', 'approve', 'cancelled']);
  assert.ok(left.facts.some((f: Rec) => f.action === 'update' && f.resource === 'public.jobs'), JSON.stringify(left.facts));
  assert.ok(left.rules.length > 0);
  assert.match(left.error.message, /the session ended while the statement waited for approval/);
  assert.ok(records.some((r) => r.kind === 'approval' && r.request === left.approval && r.event === 'withdrawn'));
});

test('pamc audit verify passes the log; one changed byte is found and the record named', async ({ auditDir, publicKey }) => {
  const ok = await run(process.execPath, [join(root, 'bin/pamc.js'), 'audit', 'verify', auditDir, '--key', publicKey, '--json'], { cwd: root });
  const report = JSON.parse(ok.stdout);
  assert.is(report.ok, true);
  const seg = segments(auditDir)[0];
  const ls = lines(auditDir, seg);
  const i = ls.findIndex((l) => l.includes('DROP TABLE customers'));
  ls[i] = ls[i].replace('DROP TABLE customers', 'DROP TABLE customerz');
  writeFileSync(join(auditDir, seg), `${ls.join('\n')}\n`);
  const bad = await run(process.execPath, [join(root, 'bin/pamc.js'), 'audit', 'verify', auditDir, '--key', publicKey], { cwd: root }).then(
    () => null,
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  assert.ok(bad, 'verify fails');
  assert.is(bad!.code, 1);
  const seq = JSON.parse(readFileSync(join(auditDir, seg), 'utf8').split('\n')[i]).seq;
  assert.match(bad!.stdout + bad!.stderr, new RegExp(`\\b${seq}\\b`));
});

test.run();
