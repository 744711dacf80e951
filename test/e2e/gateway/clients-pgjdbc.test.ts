// pgjdbc (Java 17, /usr/share/java/postgresql.jar) through the gateway: the extended protocol
// for plain statements; a PreparedStatement run more than 5 times becomes a named server-side
// statement executed with no Describe and binary results; batches; denials in the session.

import { existsSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { CLIENTS, runSteps, SHOP_RULES, SHOP_SETUP } from './shop.ts';

const JAR = '/usr/share/java/postgresql.jar';
const test = suite<{ gw: GatewayFixture }>('clients: pgjdbc');

test.before(async (ctx) => {
  if (!existsSync(JAR)) throw new Error(`${JAR} is missing: install libpostgresql-jdbc-java (.ci/run does)`);
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

test('statements, prepared statements past the threshold, batches, denials', async ({ gw }) => {
  const url = `jdbc:postgresql://${gw.host}:${gw.port}/${gw.database}`;
  const s = await runSteps('java', ['-cp', JAR, `${CLIENTS}Client.java`, url, await gw.token(['clerks'])], {}, 120_000);
  assert.is(s.statement.count, 100);
  assert.equal(
    s.prepared.rows,
    [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `${i}:${(i * 1.5).toFixed(2)}:new`),
  );
  assert.equal(s.denied.error, { code: '42501', message: 'ERROR: pamc: permission denied: no rule allows select on public.secrets' });
  assert.is(s['denied-prepared'].denials, 7);
  assert.match((s['tx-denied'].error as { message: string }).message, /truncate on public\.orders is denied by rule policy\.pam:\d+:\d+/);
  assert.is(s['rolled-back'].count, 0);
  assert.is(s.batch.inserted, 10);
  assert.is(s['still-working'].value, 'still here');
  assert.is((await gw.direct("SELECT count(*) FROM orders WHERE status IN ('jdbc', 'batch')")).trim(), '0');
});

test.run();
