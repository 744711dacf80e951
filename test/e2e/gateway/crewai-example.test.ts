// examples/crewai/agent_tool.py, run as its README says (with /usr/bin/python3) against a
// gateway: the table listing through information_schema, an allowed query, a denied one.

import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { PYTHON, run, SHOP_RULES, SHOP_SETUP } from './shop.ts';

const TOOL = fileURLToPath(new URL('../../../examples/crewai/agent_tool.py', import.meta.url));
const test = suite<{ gw: GatewayFixture }>('examples/crewai agent tool');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

async function tool(gw: GatewayFixture, groups: string[], sql: string): Promise<{ code: number; out: Record<string, unknown> }> {
  const env = { ...process.env, PAMC_TOKEN: await gw.token(groups), PAMC_HOST: gw.host, PAMC_PORT: String(gw.port), PAMC_DB: gw.database, PAMC_SSLMODE: 'disable' };
  try {
    const r = await run(PYTHON, [TOOL, sql], { env });
    return { code: 0, out: JSON.parse(r.stdout) };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    if (!x.stdout) throw new Error(x.stderr);
    return { code: x.code, out: JSON.parse(x.stdout) };
  }
}

test('an analyst agent lists the tables and runs a query', async ({ gw }) => {
  const r = await tool(gw, ['analysts'], 'SELECT id, status FROM orders ORDER BY id LIMIT 2');
  assert.is(r.code, 0);
  assert.equal(Object.keys(r.out.tables as object), ['order_items', 'orders', 'secrets']);
  assert.equal((r.out.tables as Record<string, string[]>).orders, ['id integer', 'status text', 'amount numeric', 'note text']);
  assert.equal(r.out.rows, [
    { id: 1, status: 'new' },
    { id: 2, status: 'new' },
  ]);
});

test("a denied statement comes back as the policy's error, for the agent to read", async ({ gw }) => {
  const r = await tool(gw, ['analysts'], 'DELETE FROM orders');
  assert.is(r.code, 3);
  assert.equal(r.out.error, { sqlstate: '42501', message: 'pamc: permission denied: no rule allows delete on public.orders' });
  assert.is((await gw.direct('SELECT count(*) FROM orders')).trim(), '100');
});

test('a token the policy grants nothing is refused at connect', async ({ gw }) => {
  const r = await tool(gw, ['nobody'], 'SELECT 1');
  assert.is(r.code, 1);
  assert.match(JSON.stringify(r.out.error), /grants this identity nothing/);
});

test.run();
