// Approvals through the real gateway and a real PostgreSQL: a statement held in the live session
// runs once approved (quorum, distinct approvers), fails when rejected, expired or cancelled; the
// messages pipelined behind it wait and the transaction stays true; retry-mode grants survive a
// restart; the approvals API refuses what an attacker would try; webhooks are signed.

import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT } from 'jose';
import { AUDIENCE, auditedOptions, ISSUER, mintToken, startGateway, type GatewayFixture } from '../../support/gateway.ts';
import * as w from '../../support/pgwire-builder.ts';
import { WireSession } from '../../support/pg-session.ts';
import { render } from '../gateway/wire.ts';
import { agent, api, approver, REQUESTER, waitFor, wireAgent } from './helpers.ts';

interface Hook {
  headers: IncomingMessage['headers'];
  body: string;
}

const HOOK_SECRET = 'e2e-webhook-secret-0123456789';
const test = suite<{ gw: GatewayFixture; hooks: Hook[]; hookServer: Server }>('approvals in the gateway');

const RULES = `
group "ops" {
  on db {
    allow read, insert on public.*, catalog
    approve update on public.held by "dba" within 30s
    approve update on public.pair by "dba" quorum 2 within 30s
    approve update on public.retried by "dba" within 60s mode retry uses 2
    approve update on public.brief by "dba" within 2s
  }
}
group "dba" {}`;

test.before(async (ctx) => {
  ctx.hooks = [];
  ctx.hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      ctx.hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => ctx.hookServer.listen(0, '127.0.0.1', r));
  const hookPort = (ctx.hookServer.address() as { port: number }).port;
  process.env.PAMC_E2E_HOOK_SECRET = HOOK_SECRET;
  const audited = auditedOptions();
  ctx.gw = await startGateway({
    admin: true,
    files: audited.files,
    blocks: `
approvals {
  webhook url "http://127.0.0.1:${hookPort}/hook" secret env "PAMC_E2E_HOOK_SECRET"
  dir "grants"
}${audited.blocks}`,
    setup: `
      CREATE TABLE held (id int PRIMARY KEY, v int);
      INSERT INTO held VALUES (1, 0), (2, 0);
      CREATE TABLE pair (id int PRIMARY KEY, v int);
      INSERT INTO pair VALUES (1, 0);
      CREATE TABLE retried (id int PRIMARY KEY, v int);
      INSERT INTO retried VALUES (1, 0), (2, 0);
      CREATE TABLE brief (id int PRIMARY KEY, v int);
      INSERT INTO brief VALUES (1, 0);
      CREATE TABLE notes (t text);`,
    rules: RULES,
  });
});

test.after(async (ctx) => {
  await ctx.gw.close();
  await new Promise((r) => ctx.hookServer.close(r));
});

/**
 * After a second Parse of a prepared name (which the server refuses) and a Bind of the name:
 * the Execute is refused as ambiguous, and no approval request is made.
 */
async function expectAmbiguousRefusal(s: WireSession): Promise<void> {
  const first = await s.until('ReadyForQuery');
  assert.ok(first.some((m) => m.kind === 'ErrorResponse' && m.fields.code === '42P05'), 'the server refuses the second Parse');
  const second = await s.until('ReadyForQuery');
  const error = second.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string } } | undefined;
  assert.ok(error, JSON.stringify(second.map((m) => m.kind)));
  assert.is(error!.fields.code, '42501');
  assert.match(error!.fields.message, 'may run one of several statements or bindings');
  assert.not.match(error!.fields.message, /request apr_/);
}

/** Whether a promise is still unsettled after `ms`. */
async function stillPending(p: Promise<unknown>, ms = 300): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return !settled;
}

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

test('a held statement tells the agent at once, waits, and runs when approved', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = c.query('UPDATE held SET v = v + 1 WHERE id = 1');
  const id = await waitFor(() => requests[0], 'the notice');
  assert.ok(await stillPending(q), 'the statement waits');
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '0', 'nothing reached the server');
  const shown = await api(gw, 'GET', `/approvals/${id}`, await approver('alice'));
  assert.is(shown.status, 200);
  assert.is(shown.json.sql, 'UPDATE held SET v = v + 1 WHERE id = 1');
  assert.is(shown.json.requester.subject, REQUESTER);
  assert.is(shown.json.target, 'db');
  const voted = await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), { reason: 'ticket OPS-1' });
  assert.is(voted.status, 200);
  assert.is(voted.json.status, 'approved');
  const r = await q;
  assert.is(r.rowCount, 1);
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '1');
  assert.equal((await c.query('SELECT 1 AS x')).rows, [{ x: 1 }], 'the session goes on');
  await c.end();
});

test('the extended protocol holds at Execute; the request shows the bind parameters', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = c.query({ text: 'UPDATE held SET v = $1 WHERE id = $2', values: [42, 2] });
  const id = await waitFor(() => requests[0], 'the notice');
  const shown = await api(gw, 'GET', `/approvals/${id}`, await approver('alice'));
  assert.equal(shown.json.params, ['42', '2']);
  await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {});
  assert.is((await q).rowCount, 1);
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 2'), '42');
  await c.end();
});

test('a rejection fails the statement with 42501 naming the request, the approver and the reason', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = failure(c.query('UPDATE held SET v = 100 WHERE id = 1'));
  const id = await waitFor(() => requests[0], 'the notice');
  const rejected = await api(gw, 'POST', `/approvals/${id}/reject`, await approver('alice'), { reason: 'not during the freeze' });
  assert.is(rejected.status, 200);
  const e = await q;
  assert.is(e.code, '42501');
  assert.match(e.message, id);
  assert.match(e.message, /alice/);
  assert.match(e.message, /not during the freeze/);
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '1');
  assert.equal((await c.query('SELECT count(*)::int AS n FROM held')).rows, [{ n: 2 }]);
  await c.end();
});

test('a request no one decides expires with its window: 57014 naming it', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const started = Date.now();
  const e = await failure(c.query('UPDATE brief SET v = 1'));
  const waited = Date.now() - started;
  assert.is(e.code, '57014');
  assert.match(e.message, /expired/);
  assert.match(e.message, requests[0]);
  assert.ok(waited >= 1900 && waited < 8000, `waited ${waited} ms for a 2 s window`);
  assert.is(await gw.direct('SELECT v FROM brief'), '0');
  const late = await api(gw, 'POST', `/approvals/${requests[0]}/approve`, await approver('alice'), {});
  assert.is(late.status, 409, 'an expired request cannot be approved');
  await c.end();
});

test('quorum 2 needs two distinct approvers; the same approver twice is refused', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = c.query('UPDATE pair SET v = 7 WHERE id = 1');
  const id = await waitFor(() => requests[0], 'the notice');
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {})).status, 200);
  assert.ok(await stillPending(q), 'one approval of two');
  const again = await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {});
  assert.is(again.status, 409, 'a replayed vote');
  assert.ok(await stillPending(q, 100));
  assert.is(await gw.direct('SELECT v FROM pair'), '0');
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await approver('bob'), {})).status, 200);
  assert.is((await q).rowCount, 1);
  assert.is(await gw.direct('SELECT v FROM pair'), '7');
  await c.end();
});

test('nobody approves their own request, even holding the approver group', async ({ gw }) => {
  const { c, requests } = await agent(gw, 'carol', ['ops', 'dba']);
  const q = c.query('UPDATE held SET v = 5 WHERE id = 1');
  const id = await waitFor(() => requests[0], 'the notice');
  const self = await api(gw, 'POST', `/approvals/${id}/approve`, await mintToken(['ops', 'dba'], {}, { sub: 'carol' }), {});
  assert.is(self.status, 403);
  assert.ok(await stillPending(q, 100));
  await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {});
  assert.is((await q).rowCount, 1);
  await c.end();
});

test('a CancelRequest withdraws the held statement (57014) and the session goes on', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = failure(c.query('UPDATE held SET v = 9 WHERE id = 1'));
  const id = await waitFor(() => requests[0], 'the notice');
  const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
  await new Promise<void>((resolve, reject) => {
    const s = connect({ host: gw.host, port: gw.port }, () => s.end(w.cancelRequest(processID, secretKey)));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  const e = await q;
  assert.is(e.code, '57014');
  assert.match(e.message, id);
  assert.match(e.message, /withdrawn/);
  const shown = await api(gw, 'GET', `/approvals/${id}`, await approver('alice'));
  assert.is(shown.json.status, 'withdrawn');
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {})).status, 409);
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '5');
  assert.equal((await c.query('SELECT 2 AS x')).rows, [{ x: 2 }]);
  await c.end();
});

test('messages pipelined behind a held statement wait for it, and then run in order', async ({ gw }) => {
  const s = await wireAgent(gw);
  // one write: a query that is held, then one that is not
  s.send(w.query('UPDATE held SET v = 11 WHERE id = 1'), w.query('SELECT v FROM held WHERE id = 1'));
  const notice = await s.next();
  assert.is(notice.kind, 'NoticeResponse');
  const id = /request (apr_\S+)/.exec(notice.kind === 'NoticeResponse' ? notice.fields.message : '')![1];
  let early: unknown = null;
  try {
    early = await s.next(400);
  } catch {
    // nothing came: the SELECT behind the hold waits
  }
  assert.is(early, null, 'nothing of the second query came before the decision');
  await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {});
  const first = render(await s.until('ReadyForQuery'));
  assert.equal(first, ['CommandComplete UPDATE 1', 'ReadyForQuery I']);
  const second = render(await s.until('ReadyForQuery'));
  assert.equal(second, ['RowDescription v', 'DataRow 11', 'CommandComplete SELECT 1', 'ReadyForQuery I'], 'the SELECT saw the approved update');
  s.close();
});

test('a hold inside a transaction block keeps the transaction; a rejection there fails it as an error would', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  await c.query('BEGIN');
  await c.query("INSERT INTO notes VALUES ('before the hold')");
  const q = c.query('UPDATE held SET v = 12 WHERE id = 1');
  const id = await waitFor(() => requests[0], 'the notice');
  const state = await gw.direct(`SELECT state FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'INSERT INTO notes%'`);
  assert.is(state, 'idle in transaction', 'the server holds the open transaction while the statement waits');
  await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {});
  assert.is((await q).rowCount, 1);
  await c.query('COMMIT');
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '12');
  assert.is(await gw.direct(`SELECT count(*) FROM notes WHERE t = 'before the hold'`), '1');

  await c.query('BEGIN');
  await c.query("INSERT INTO notes VALUES ('rolled back')");
  const q2 = failure(c.query('UPDATE held SET v = 13 WHERE id = 1'));
  const id2 = await waitFor(() => requests[1], 'the second notice');
  await api(gw, 'POST', `/approvals/${id2}/reject`, await approver('alice'), { reason: 'no' });
  assert.is((await q2).code, '42501');
  const aborted = await failure(c.query('SELECT 1'));
  assert.is(aborted.code, '25P02', 'the transaction is failed, as after any error');
  await c.query('ROLLBACK');
  assert.is(await gw.direct(`SELECT count(*) FROM notes WHERE t = 'rolled back'`), '0');
  await c.end();
});

test('retry mode: fails at once naming the request; once approved the same statement — constants and parameters included — runs, uses times', async ({ gw }) => {
  const { c } = await agent(gw);
  const e1 = await failure(c.query('UPDATE retried SET v = 1 WHERE id = 1'));
  assert.is(e1.code, '42501');
  const id = /request (apr_\S+)/.exec(e1.message)![1];
  const e2 = await failure(c.query('UPDATE retried SET v = 1 WHERE id = 1'));
  assert.match(e2.message, id, 'retrying before the approval answers with the same request');
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {})).status, 200);
  // other constants are another statement, though libpg_query's fingerprint is the same
  const literal = await failure(c.query('UPDATE retried SET v = 2 WHERE id = 2'));
  assert.is(literal.code, '42501', 'approving id = 1 approves nothing about id = 2');
  assert.not.match(literal.message, id);
  assert.is((await c.query('UPDATE retried SET v = 1 WHERE id = 1')).rowCount, 1);
  assert.is((await c.query('update  retried\n  SET v = 1 /* again */ WHERE "id" = 1')).rowCount, 1, 'the same statement in another layout');
  const e3 = await failure(c.query('UPDATE retried SET v = 1 WHERE id = 1'));
  assert.is(e3.code, '42501', 'two uses, then a new request');
  assert.not.match(e3.message, id);
  // extended protocol: the bind parameters are part of the statement
  const bound = { text: 'UPDATE retried SET v = $1 WHERE id = $2', values: [7, 2] };
  const e5 = await failure(c.query(bound));
  const boundId = /request (apr_\S+)/.exec(e5.message)![1];
  assert.is((await api(gw, 'POST', `/approvals/${boundId}/approve`, await approver('alice'), {})).status, 200);
  const swapped = await failure(c.query({ ...bound, values: [7, 1] }));
  assert.is(swapped.code, '42501', 'other parameters need their own approval');
  assert.not.match(swapped.message, boundId);
  assert.is((await c.query(bound)).rowCount, 1);
  await c.end();
  // another identity cannot use the grant of this one
  const other = await agent(gw, 'mallory');
  const e4 = await failure(other.c.query('UPDATE retried SET v = 4 WHERE id = 1'));
  assert.is(e4.code, '42501');
  await other.c.end();
  assert.is(await gw.direct('SELECT string_agg(v::text, \',\' ORDER BY id) FROM retried'), '1,7');
});

test('retry mode: EXECUTE of a statement prepared again with another body needs its own approval', async ({ gw }) => {
  const { c } = await agent(gw);
  const approveRetry = async (sql: string): Promise<string> => {
    const e = await failure(c.query(sql));
    const id = /request (apr_\S+)/.exec(e.message)![1];
    assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {})).status, 200);
    await c.query(sql);
    return id;
  };
  // PREPARE carries its statement's facts: it is approved on its own, then EXECUTE is
  await approveRetry('PREPARE p AS UPDATE retried SET v = 60 WHERE id = 1');
  const executed = await approveRetry('EXECUTE p');
  const shown = await api(gw, 'GET', `/approvals/${executed}`, await approver('alice'));
  assert.match(shown.json.sql, 'EXECUTE p\n-- which runs: PREPARE p AS UPDATE retried SET v = 60 WHERE id = 1', 'the approver sees what p is');
  await c.query('DEALLOCATE p');
  await approveRetry('PREPARE p AS UPDATE retried SET v = 61 WHERE id = 2');
  // the grant of `EXECUTE p` has a use left, but p is another statement now
  const swapped = await failure(c.query('EXECUTE p'));
  assert.is(swapped.code, '42501', 'the same EXECUTE text, another prepared statement');
  assert.not.match(swapped.message, executed);
  await c.end();
  assert.is(await gw.direct('SELECT string_agg(v::text, \',\' ORDER BY id) FROM retried'), '60,7');
});

test('without session records too, bind parameters are part of the approved statement', async () => {
  const bare = await startGateway({
    admin: true,
    setup: 'CREATE TABLE retried (id int PRIMARY KEY, v int); INSERT INTO retried VALUES (1, 0), (2, 0);',
    rules: `
group "ops" {
  on db {
    allow read on public.*, catalog
    approve update on public.retried by "dba" within 60s mode retry uses 2
  }
}
group "dba" {}`,
  });
  const c = new pg.Client(await bare.clientConfig(['ops'], {}, REQUESTER));
  c.on('error', () => {}); // the gateway closing under a failed assertion
  try {
    await c.connect();
    const bound = { text: 'UPDATE retried SET v = $1 WHERE id = $2', values: [5, 1] };
    const e = await failure(c.query(bound));
    const id = /request (apr_\S+)/.exec(e.message)![1];
    const shown = await api(bare, 'GET', `/approvals/${id}`, await approver('alice'));
    assert.equal(shown.json.params, ['5', '1'], 'the approver sees the parameters');
    assert.is((await api(bare, 'POST', `/approvals/${id}/approve`, await approver('alice'), {})).status, 200);
    const other = await failure(c.query({ ...bound, values: [5, 2] }));
    assert.is(other.code, '42501');
    assert.not.match(other.message, id);
    assert.is((await c.query(bound)).rowCount, 1);
    assert.is(await bare.direct('SELECT string_agg(v::text, \',\' ORDER BY id) FROM retried'), '5,0');
  } finally {
    await c.end().catch(() => {});
    await bare.close();
  }
});

test('a binary bind parameter reaches the approver as its bytes, not as text', async ({ gw }) => {
  const s = await wireAgent(gw);
  s.send(w.parse('', 'UPDATE retried SET v = $1 WHERE id = 1', [23]), w.bind('', '', [1], [[0, 0, 0, 7]], []), w.execute('', 0), w.sync());
  const reply = await s.until('ReadyForQuery');
  const error = reply.find((m) => m.kind === 'ErrorResponse') as { fields: { message: string } };
  const id = /request (apr_\S+)/.exec(error.fields.message)![1];
  const shown = await api(gw, 'GET', `/approvals/${id}`, await approver('alice'));
  assert.equal(shown.json.params, [{ base64: Buffer.from([0, 0, 0, 7]).toString('base64') }]);
  s.close();
});

test('retry mode: the parameter types declared at Parse are part of the approved statement', async ({ gw }) => {
  // length(text) counts characters, length(bytea) bytes: the same text and the same parameter
  // run another function when $1 is declared bytea. A grant for one is not a grant for the other.
  const text = 'UPDATE retried SET v = length($1) WHERE id = 3';
  await gw.direct('INSERT INTO retried VALUES (3, 0)');
  try {
    await parameterTypes(gw, text);
  } finally {
    await gw.direct('DELETE FROM retried WHERE id = 3');
  }
});

/** `text` (a retry-mode UPDATE of row 3 to length($1)) run with $1 declared text, bytea, or not declared. */
async function parameterTypes(gw: GatewayFixture, text: string): Promise<void> {
  const value = [...Buffer.from('\\x41')];
  const run = async (types: number[], session?: WireSession) => {
    const s = session ?? (await wireAgent(gw));
    s.send(w.parse('', text, types), w.bind('', '', [], [value], []), w.execute('', 0), w.sync());
    const reply = await s.until('ReadyForQuery');
    if (!session) s.close();
    const error = reply.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string } } | undefined;
    if (!error) return { code: 'ok', request: null, message: '' };
    return { code: error.fields.code, request: /request (apr_\S+)/.exec(error.fields.message)?.[1] ?? null, message: error.fields.message };
  };
  const asText = await run([25]);
  assert.is(asText.code, '42501');
  const shown = await api(gw, 'GET', `/approvals/${asText.request}`, await approver('alice'));
  assert.is(shown.json.sql, `${text}\n-- parameter types (OIDs) of the statement: 25`, 'the approver sees the declared types');
  assert.is((await api(gw, 'POST', `/approvals/${asText.request}/approve`, await approver('alice'), {})).status, 200);
  const asBytea = await run([17]);
  assert.is(asBytea.code, '42501', 'declared bytea, the statement needs its own approval');
  assert.ok(asBytea.request && asBytea.request !== asText.request, asBytea.message);
  const undeclared = await run([]);
  assert.is(undeclared.code, '42501', 'undeclared, the server infers the type: another statement again');
  assert.ok(undeclared.request && undeclared.request !== asText.request && undeclared.request !== asBytea.request, undeclared.message);
  // trailing unspecified types (0) leave the statement as it is: the same key as undeclared
  assert.is((await run([0])).request, undeclared.request);
  // in one session: the unnamed statement declared text is confirmed; parsed again declared bytea
  // in the pipeline of the Bind, the portal may run either: never put to an approver, nor a grant used
  const s = await wireAgent(gw);
  assert.is((await run([25], s)).code, 'ok', 'the approved statement runs under its grant');
  const either = await run([17], s);
  assert.is(either.code, '42501');
  assert.match(either.message, 'may run one of several statements or bindings');
  s.close();
  assert.is(await gw.direct('SELECT v FROM retried WHERE id = 3'), '4', 'length of the text \\x41, not of its one byte');
}

test('retry mode: EXECUTE of a protocol-prepared statement covers the types its Parse declared', async ({ gw }) => {
  await gw.direct('INSERT INTO retried VALUES (4, 0)');
  try {
    await preparedTypes(gw);
  } finally {
    await gw.direct('DELETE FROM retried WHERE id = 4');
  }
});

/** EXECUTE of a statement prepared by Parse with $1 declared text, then prepared again declared bytea. */
async function preparedTypes(gw: GatewayFixture): Promise<void> {
  const text = 'UPDATE retried SET v = length($1) WHERE id = 4';
  const execute = "EXECUTE s_len('\\x41')";
  const s = await wireAgent(gw);
  const outcome = async (...messages: Buffer[]) => {
    s.send(...messages);
    const reply = await s.until('ReadyForQuery');
    const error = reply.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string } } | undefined;
    return error ? { code: error.fields.code, request: /request (apr_\S+)/.exec(error.fields.message)?.[1] ?? null, message: error.fields.message } : { code: 'ok', request: null, message: '' };
  };
  assert.is((await outcome(w.parse('s_len', text, [25]), w.sync())).code, 'ok');
  const first = await outcome(w.query(execute));
  assert.is(first.code, '42501', first.message);
  const shown = await api(gw, 'GET', `/approvals/${first.request}`, await approver('alice'));
  assert.is(shown.json.sql, `${execute}\n-- which runs: ${text}\n-- parameter types (OIDs) of prepared statement "s_len": 25`);
  assert.is((await api(gw, 'POST', `/approvals/${first.request}/approve`, await approver('alice'), {})).status, 200);
  assert.is((await outcome(w.query(execute))).code, 'ok', 'one use of two');
  // the same name and text prepared again, its parameter declared bytea: the grant's last use is not for it
  assert.is((await outcome(w.query('DEALLOCATE s_len'))).code, 'ok');
  assert.is((await outcome(w.parse('s_len', text, [17]), w.sync())).code, 'ok');
  const retyped = await outcome(w.query(execute));
  assert.is(retyped.code, '42501', retyped.message);
  assert.ok(retyped.request && retyped.request !== first.request, retyped.message);
  s.close();
  assert.is(await gw.direct('SELECT v FROM retried WHERE id = 4'), '4');
}

test('a portal that may run one of several statements is never put to an approver', async ({ gw }) => {
  // s1 is prepared; a second Parse of s1 fails on the server ("already exists") and the Bind
  // behind its Sync binds the first. The approver would be shown one and the other would run.
  const s = await wireAgent(gw);
  s.send(w.parse('s1', 'UPDATE retried SET v = 30 WHERE id = 1'), w.sync());
  assert.equal((await s.until('ReadyForQuery')).map((m) => m.kind), ['ParseComplete', 'ReadyForQuery']);
  s.send(w.parse('s1', 'UPDATE retried SET v = 31 WHERE id = 2'), w.sync(), w.bind('', 's1', [], [], []), w.execute('', 0), w.sync());
  await expectAmbiguousRefusal(s);
  s.close();
  assert.is(await gw.direct('SELECT string_agg(v::text, \',\' ORDER BY id) FROM retried'), '60,7');
});

test('a Bind pipelined behind an approved SQL PREPARE of its name never runs the new statement unapproved', async ({ gw }) => {
  // The name held a harmless SELECT. The query replacing it is held, approved and forwarded; the
  // Bind and Execute behind it are read before the server has answered it: the name may hold
  // either statement, so the Execute is decided for both (and not put to an approver as one).
  const s = await wireAgent(gw);
  s.send(w.parse('s3', 'SELECT 1'), w.sync());
  await s.until('ReadyForQuery');
  s.send(w.query('DEALLOCATE s3; PREPARE s3 AS UPDATE held SET v = 99 WHERE id = 1'), w.bind('', 's3', [], [], []), w.execute('', 0), w.sync());
  const notice = await s.next();
  const id = /request (apr_\S+)/.exec(notice.kind === 'NoticeResponse' ? notice.fields.message : '')![1];
  await api(gw, 'POST', `/approvals/${id}/approve`, await approver('alice'), {});
  assert.equal(render(await s.until('ReadyForQuery')), ['CommandComplete DEALLOCATE', 'CommandComplete PREPARE', 'ReadyForQuery I']);
  const second = await s.until('ReadyForQuery');
  const error = second.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string } } | undefined;
  assert.ok(error, JSON.stringify(render(second)));
  assert.is(error!.fields.code, '42501');
  assert.match(error!.fields.message, 'may run one of several statements or bindings');
  s.close();
  assert.not.equal(await gw.direct('SELECT v FROM held WHERE id = 1'), '99');
});

test('a statement name the server cuts to 63 bytes cannot stand in for another: the statement that runs is the one put to an approver', async ({ gw }) => {
  // The server compares prepared statement names on their first 63 bytes: closing "n…nB" drops
  // "n…nA", and "n…nC" then takes its place. Bound as "n…nA", the UPDATE must be held, not run as
  // the harmless SELECT the name first held.
  const name = (tail: string) => `${'n'.repeat(63)}${tail}`;
  const s = await wireAgent(gw);
  s.send(w.parse(name('A'), 'SELECT 1'), w.sync());
  await s.until('ReadyForQuery');
  s.send(w.close('S', name('B')), w.parse(name('C'), 'UPDATE held SET v = 98 WHERE id = 1'), w.sync());
  assert.equal(render(await s.until('ReadyForQuery')), ['CloseComplete', 'ParseComplete', 'ReadyForQuery I']);
  s.send(w.bind('', name('A'), [], [], []), w.execute('', 0), w.sync());
  const first = await s.next();
  assert.is(first.kind, 'NoticeResponse', JSON.stringify(first));
  assert.match(first.kind === 'NoticeResponse' ? first.fields.message : '', 'approval required');
  s.close();
  await new Promise((r) => setTimeout(r, 200));
  assert.not.equal(await gw.direct('SELECT v FROM held WHERE id = 1'), '98');
});

test('a statement prepared before the search path changed is resolved again, as the server does: its approval names the new schema', async ({ gw }) => {
  await gw.direct('CREATE SCHEMA IF NOT EXISTS other; CREATE TABLE IF NOT EXISTS other.retried (id int PRIMARY KEY, v int)');
  await gw.reload(`${RULES}
group "ops" {
  on db {
    allow set on search_path
    approve update on other.retried by "dba" within 60s mode retry uses 2
  }
}`);
  try {
    const s = await wireAgent(gw);
    const text = 'UPDATE retried SET v = 50 WHERE id = 1';
    s.send(w.parse('s2', text), w.sync());
    assert.equal((await s.until('ReadyForQuery')).map((m) => m.kind), ['ParseComplete', 'ReadyForQuery']);
    // the same text parsed again after the path changed: the server refuses the second Parse and
    // runs the first — which it resolves again under the new path (other.retried), as the
    // gateway now classifies it: both candidates are one statement, and it needs its approval
    s.send(w.query('SET search_path = other, public'), w.parse('s2', text), w.sync(), w.bind('', 's2', [], [], []), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    const first = await s.until('ReadyForQuery');
    assert.ok(first.some((m) => m.kind === 'ErrorResponse' && m.fields.code === '42P05'), 'the server refuses the second Parse');
    const second = await s.until('ReadyForQuery');
    const error = second.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string } } | undefined;
    assert.is(error?.fields.code, '42501');
    const id = /request (apr_\S+)/.exec(error!.fields.message)?.[1];
    assert.ok(id, error!.fields.message);
    const shown = await api(gw, 'GET', `/approvals/${id}`, await mintToken(['dba'], {}, { sub: 'dba-1' }));
    assert.ok(shown.json.facts.some((f: { action: string; resource: string }) => f.action === 'update' && f.resource === 'other.retried'), JSON.stringify(shown.json.facts));
    assert.is(await gw.direct('SELECT count(*) FROM other.retried WHERE v = 50'), '0');
    s.close();
  } finally {
    await gw.reload(RULES);
    await gw.direct('DROP SCHEMA other CASCADE');
  }
});

test('API attacks: no token, forged, foreign audience, wrong group, unknown id, bad bodies', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = failure(c.query('UPDATE held SET v = 99 WHERE id = 2'));
  const id = await waitFor(() => requests[0], 'the notice');
  const path = `/approvals/${id}/approve`;
  assert.is((await api(gw, 'POST', path, null, {})).status, 401, 'no token');
  assert.is((await api(gw, 'POST', path, 'not-a-jwt', {})).status, 401, 'garbage');
  const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const forged = await new SignJWT({ groups: ['dba'] })
    .setProtectedHeader({ alg: 'ES256', kid: 'e2e-1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('forger')
    .setExpirationTime('5m')
    .sign(forger);
  assert.is((await api(gw, 'POST', path, forged, {})).status, 401, 'signed by another key under our key id');
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'x', groups: ['dba'] })).toString('base64url')}.`;
  assert.is((await api(gw, 'POST', path, unsigned, {})).status, 401, 'alg none');
  assert.is((await api(gw, 'POST', path, await mintToken(['dba'], {}, { sub: 'eve', audience: 'other-app' }), {})).status, 401, 'a token for another audience');
  assert.is((await api(gw, 'POST', path, await mintToken(['dba'], {}, { sub: 'eve', expiresIn: -120 }), {})).status, 401, 'an expired token');
  const ops = await mintToken(['ops'], {}, { sub: 'eve' });
  assert.is((await api(gw, 'POST', path, ops, {})).status, 404, 'not an approver: the request does not exist for them');
  assert.is((await api(gw, 'GET', `/approvals/${id}`, ops)).status, 404);
  assert.equal((await api(gw, 'GET', '/approvals', ops)).json, { requests: [] }, 'nothing listed');
  const listed = (await api(gw, 'GET', '/approvals', await approver('alice'))).json.requests as { id: string }[];
  assert.ok(listed.some((r) => r.id === id), 'an approver sees it');
  const alice = await approver('alice');
  assert.is((await api(gw, 'POST', '/approvals/apr_doesnotexist000/approve', alice, {})).status, 404, 'unknown id');
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, alice, '{"reason":')).status, 400, 'malformed body');
  assert.is((await api(gw, 'POST', `/approvals/${id}/reject`, alice, {})).status, 400, 'a rejection without reason');
  assert.is((await api(gw, 'POST', `/approvals/${id}/delete`, alice, {})).status, 404);
  assert.ok(await stillPending(q, 50), 'none of it decided anything');
  assert.is((await api(gw, 'POST', `/approvals/${id}/reject`, alice, { reason: 'attack drill' })).status, 200);
  assert.is((await q).code, '42501');
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await approver('bob'), {})).status, 409, 'decided already');
  await c.end();
});

test('webhooks: every event is POSTed with a verifiable HMAC signature and no parameter values', async ({ gw, hooks }) => {
  await waitFor(() => hooks.some((h) => JSON.parse(h.body).event === 'approved'), 'an approved event');
  const events = new Set(hooks.map((h) => JSON.parse(h.body).event));
  for (const e of ['requested', 'approved', 'rejected', 'expired', 'withdrawn']) assert.ok(events.has(e), `a ${e} event`);
  for (const h of hooks) {
    const ts = String(h.headers['x-pamc-timestamp']);
    const expected = `sha256=${createHmac('sha256', HOOK_SECRET).update(`${ts}.${h.body}`).digest('hex')}`;
    assert.is(h.headers['x-pamc-signature'], expected);
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 120);
    assert.not.match(h.body, /"42"/, 'bind parameter values stay out of notifications');
  }
  void gw;
});

test('a held statement fails cleanly when the gateway stops; retry grants survive the restart', async ({ gw }) => {
  // a grant, approved and not yet used
  const first = await agent(gw);
  const e = await failure(first.c.query('UPDATE retried SET v = 20 WHERE id = 2'));
  const grant = /request (apr_\S+)/.exec(e.message)![1];
  await api(gw, 'POST', `/approvals/${grant}/approve`, await approver('alice'), {});
  await first.c.end();
  // a held statement when the gateway stops
  const { c, requests } = await agent(gw);
  const q = failure(c.query('UPDATE held SET v = 50 WHERE id = 1'));
  await waitFor(() => requests[0], 'the notice');
  await gw.restart(3000);
  const held = await q;
  assert.is(held.code, '57014');
  assert.match(held.message, /withdrawn/);
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '12');
  // the grant was kept on disk
  const after = await agent(gw);
  assert.is((await after.c.query('UPDATE retried SET v = 20 WHERE id = 2')).rowCount, 1);
  await after.c.end();
  assert.is(await gw.direct('SELECT v FROM retried WHERE id = 2'), '20');
});

test.run();
