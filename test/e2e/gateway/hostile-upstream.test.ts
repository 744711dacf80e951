// A hostile or broken server behind the gateway, after a normal login: replies PostgreSQL never
// sends. The gateway must not crash or hang: each case ends with a clean reply or a clean error
// to the client, and the gateway goes on serving new sessions.

import { createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { login, loginBytes, open, render, w } from './wire.ts';
import { SHOP_RULES, SHOP_SETUP } from './shop.ts';

const test = suite<{ gw: GatewayFixture; fake: Server; replies: Map<string, Buffer> }>('hostile upstream');

const text = (s: string): number[] => [...Buffer.from(s, 'utf8')];
const field = (name: string): w.Field => ({ name, tableOid: 0, column: 0, typeOid: 25, typeSize: -1, typeMod: -1, format: 0 });
const ready = () => w.message('Z', [w.char('I')]);
const welcome = () =>
  Buffer.concat([
    w.authenticationOk(),
    w.message('S', ...[w.cstr('server_version'), w.cstr('15.0')]),
    w.message('S', ...[w.cstr('server_encoding'), w.cstr('UTF8')]),
    w.message('S', ...[w.cstr('client_encoding'), w.cstr('UTF8')]),
    w.message('S', ...[w.cstr('standard_conforming_strings'), w.cstr('on')]),
    w.message('K', w.i32(4242), w.i32(7)),
    ready(),
  ]);

/**
 * What the fake server answers to the extended protocol: yes to everything, as if every Parse,
 * Bind and Close succeeded (a Describe is a text column, an Execute one row whose value must
 * never reach a client the gateway cannot vouch for).
 */
const EXTENDED: Record<string, () => Buffer> = {
  P: () => w.parseComplete(),
  B: () => w.bindComplete(),
  C: () => w.closeComplete(),
  D: () => w.rowDescription([field('name')]),
  E: () => Buffer.concat([w.dataRow([text('from-a-statement-the-server-had-no-longer')]), w.commandComplete('SELECT 1')]),
  S: () => ready(),
};

/** Sessions of the fake server still connected; a delay before it answers a login (ms). */
const fake = { open: new Set<Socket>(), loginDelayMs: 0 };

/** The fake server: logs every session in, then answers each Query with the reply its text selects. */
function fakeServer(replies: Map<string, Buffer>): Promise<Server> {
  const server = createServer((sock: Socket) => {
    sock.on('error', () => {});
    fake.open.add(sock);
    sock.on('close', () => fake.open.delete(sock));
    let started = false;
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (!started) {
          if (pending.length < 8) return;
          const len = pending.readInt32BE(0);
          if (pending.length < len) return;
          const code = pending.readInt32BE(4);
          pending = pending.subarray(len);
          if (code === 80877103 || code === 80877104) sock.write(Buffer.from('N')); // SSL, GSSENC
          else {
            started = true;
            if (fake.loginDelayMs > 0) setTimeout(() => sock.write(welcome()), fake.loginDelayMs);
            else sock.write(welcome());
          }
          continue;
        }
        if (pending.length < 5) return;
        const len = pending.readInt32BE(1);
        if (pending.length < len + 1) return;
        const type = String.fromCharCode(pending[0]!);
        const body = pending.subarray(5, len + 1);
        pending = pending.subarray(len + 1);
        if (type === 'X') return void sock.end();
        if (type !== 'Q') {
          const answer = EXTENDED[type];
          if (answer) sock.write(answer());
          continue;
        }
        const sql = body.subarray(0, body.length - 1).toString('utf8');
        const reply = [...replies].find(([key]) => sql.includes(key))?.[1];
        sock.write(reply ?? Buffer.concat([w.commandComplete('SELECT 0'), ready()]));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test.before(async (ctx) => {
  ctx.replies = new Map();
  ctx.fake = await fakeServer(ctx.replies);
  const port = (ctx.fake.address() as { port: number }).port;
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES, upstream: { host: '127.0.0.1', port } });
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await new Promise<void>((resolve) => ctx.fake.close(() => resolve()));
});

/** The client's transcript of one query whose reply is `reply` (the session may end). */
async function exchange(ctx: { gw: GatewayFixture; replies: Map<string, Buffer> }, key: string, reply: Buffer): Promise<string[]> {
  ctx.replies.set(key, reply);
  const s = await login(ctx.gw, ['analysts']);
  s.send(w.query(`SELECT name FROM products WHERE name = '${key}'`));
  const out: string[] = [];
  try {
    // until the session ends, or stays quiet a moment after a ReadyForQuery
    let done = false;
    for (;;) {
      const m = await s.next(done ? 300 : 5000);
      out.push(...render([m]));
      if (m.kind === 'ReadyForQuery') done = true;
    }
  } catch (e) {
    const why = (e as Error).message;
    if (why !== 'connection closed' && !why.startsWith('timed out')) out.push(`(${why})`);
  }
  s.close();
  return out;
}

/** After each case a new session gets a normal answer: the gateway still serves. */
async function stillServes(ctx: { gw: GatewayFixture; replies: Map<string, Buffer> }): Promise<void> {
  const out = await exchange(ctx, 'normal', Buffer.concat([w.rowDescription([field('name')]), w.dataRow([text('ok')]), w.commandComplete('SELECT 1'), ready()]));
  assert.equal(out, ['RowDescription name', 'DataRow ok', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
}

const row = (v: string) => Buffer.concat([w.rowDescription([field('name')]), w.dataRow([text(v)])]);

const CASES: { name: string; reply: Buffer; expect: string[] }[] = [
  {
    name: 'a command tag with a line break is relayed as the server wrote it',
    reply: Buffer.concat([row('a'), w.commandComplete('SELECT\n1'), ready()]),
    expect: ['RowDescription name', 'DataRow a', 'CommandComplete SELECT\n1', 'ReadyForQuery I'],
  },
  {
    name: 'a message of no known type ends the session (08006)',
    reply: Buffer.concat([w.message('\u0001', text('x')), ready()]),
    expect: ['ErrorResponse FATAL 08006 pamc: the target sent a malformed message'],
  },
  {
    name: 'a frontend message from the server ends the session (08006)',
    reply: Buffer.concat([w.query('SELECT 1'), ready()]),
    expect: ['ErrorResponse FATAL 08006 pamc: the target sent a malformed message'],
  },
  {
    name: 'a length field of 2 GiB ends the session at once, nothing buffered (08006)',
    reply: Buffer.from([0x43, 0x7f, 0xff, 0xff, 0xff]),
    expect: ['ErrorResponse FATAL 08006 pamc: the target sent a malformed message'],
  },
  {
    name: 'a second ReadyForQuery nobody asked for ends the session (08P01)',
    reply: Buffer.concat([w.commandComplete('SELECT 0'), ready(), ready()]),
    expect: ['CommandComplete SELECT 0', 'ReadyForQuery I', 'ErrorResponse FATAL 08P01 pamc: the target sent a message the gateway did not expect'],
  },
  {
    name: 'the server turning a pinned setting off ends the session (42501)',
    reply: Buffer.concat([w.message('S', w.cstr('standard_conforming_strings'), w.cstr('off')), w.commandComplete('SELECT 0'), ready()]),
    expect: ['ErrorResponse FATAL 42501 pamc: the session changed standard_conforming_strings, which the gateway pins; the session is closed'],
  },
  {
    name: 'a 2 MB error message is relayed whole and the session goes on',
    reply: Buffer.concat([w.errorResponse([['S', 'ERROR'], ['C', '42000'], ['M', 'x'.repeat(2_000_000)]]), ready()]),
    expect: [`ErrorResponse ERROR 42000 ${'x'.repeat(2_000_000)}`, 'ReadyForQuery I'],
  },
];

for (const c of CASES) {
  test(c.name, async (ctx) => {
    const out = await exchange(ctx, `case-${CASES.indexOf(c)}`, c.reply);
    if (out.length > 0 && c.expect.length > 0 && out.join('\n') !== c.expect.join('\n')) assert.equal(out.map((l) => l.slice(0, 200)), c.expect.map((l) => l.slice(0, 200)));
    assert.equal(out, c.expect);
    await stillServes(ctx);
  });
}

test('a server that binds a statement the gateway saw closed: the Execute ends the session, its row never reaches the client (XX000)', async (ctx) => {
  const s = await login(ctx.gw, ['analysts']);
  s.send(w.parse('s1', 'SELECT name FROM orders'), w.sync());
  assert.equal(render(await s.until('ReadyForQuery')), ['ParseComplete', 'ReadyForQuery I']);
  // PostgreSQL would refuse the Bind (s1 is gone); this server binds something anyway
  s.send(w.close('S', 's1'), w.bind('', 's1', [], [], []), w.execute('', 0), w.sync());
  const out: string[] = [];
  try {
    for (;;) out.push(...render([await s.next(5000)]));
  } catch (e) {
    assert.is((e as Error).message, 'connection closed');
  }
  s.close();
  assert.equal(out, ['CloseComplete', 'BindComplete', 'ErrorResponse FATAL XX000 pamc: the gateway cannot tell which statement the target ran; the session is closed']);
  await stillServes(ctx);
});

test('a client that leaves while the gateway logs in upstream: the upstream session is closed, not left connected', async ({ gw }) => {
  fake.loginDelayMs = 800;
  try {
    const known = new Set(fake.open);
    const s = await open(gw);
    s.on('error', () => {});
    s.write(loginBytes(gw, await gw.token(['analysts'])));
    await new Promise((r) => setTimeout(r, 300));
    const mine = [...fake.open].filter((x) => !known.has(x));
    assert.is(mine.length, 1, 'the gateway is logging in upstream');
    s.destroy();
    const deadline = Date.now() + 5_000;
    while (fake.open.has(mine[0]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.not.ok(fake.open.has(mine[0]!), 'the upstream session of the client that left is closed');
  } finally {
    fake.loginDelayMs = 0;
  }
});

test.run();
