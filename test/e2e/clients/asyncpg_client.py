"""asyncpg through the pamc gateway: prints one JSON object per step (the test reads them).

asyncpg (the driver of async Python agent stacks) speaks only the extended protocol with its
own habits: every query with arguments is a named statement it prepares (Parse, Describe,
Sync) and caches, then runs with binary parameters and results; executemany pipelines
Bind/Execute pairs; cursors fetch a portal in pieces inside a transaction; COPY of records is
binary. Connection from the environment: PAMC_HOST, PAMC_PORT, PAMC_DB and PGPASSWORD (the
agent's token).
"""
import asyncio
import json
import os

import asyncpg


def step(name, **kv):
    print(json.dumps({"step": name, **kv}, default=str), flush=True)


def err(e):
    return {"code": getattr(e, "sqlstate", None), "message": str(e)}


async def main():
    conn = await asyncpg.connect(
        host=os.environ["PAMC_HOST"],
        port=int(os.environ["PAMC_PORT"]),
        database=os.environ["PAMC_DB"],
        user="agent",
        password=os.environ["PGPASSWORD"],
        ssl=False,
    )

    rows = await conn.fetch("SELECT id, status, amount FROM orders WHERE id = $1", 2)
    step("params", rows=[[r["id"], r["status"], str(r["amount"])] for r in rows])

    # the same text again: asyncpg's statement cache binds its named statement without a Parse
    seen = [await conn.fetchval("SELECT status FROM orders WHERE id = $1", i) for i in range(1, 6)]
    step("cached", rows=seen)

    try:
        await conn.fetch("SELECT * FROM secrets WHERE v = $1", "top")
        step("denied", error=None)
    except asyncpg.PostgresError as e:
        step("denied", error=err(e))
    step("after-denial", value=await conn.fetchval("SELECT $1::int + 1", 41))

    # simple protocol (no arguments): two statements, and a denied one among them
    try:
        await conn.execute("UPDATE orders SET note = 'a' WHERE id = 1; DELETE FROM secrets")
        step("multi-denied", error=None)
    except asyncpg.PostgresError as e:
        step("multi-denied", error=err(e))
    step("multi-none-ran", note=await conn.fetchval("SELECT note FROM orders WHERE id = 1"))

    # executemany: Bind/Execute pairs pipelined behind one Sync
    await conn.executemany("INSERT INTO orders (id, status) VALUES ($1, $2)", [(201, "bulk"), (202, "bulk"), (203, "bulk")])
    step("executemany", count=await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'bulk'"))

    # a cursor: a portal fetched 3 rows at a time inside a transaction
    got = []
    async with conn.transaction():
        async for r in conn.cursor("SELECT id FROM orders WHERE id <= $1 ORDER BY id", 10, prefetch=3):
            got.append(r["id"])
    step("cursor", rows=got)

    # an explicit prepared statement, run twice with other arguments
    ps = await conn.prepare("SELECT count(*) FROM orders WHERE id <= $1")
    step("prepared", counts=[await ps.fetchval(5), await ps.fetchval(7)])

    # binary COPY FROM STDIN of records
    res = await conn.copy_records_to_table("orders", records=[(301, "copied", None, None), (302, "copied", None, None)])
    step("copy-in", result=res, count=await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'copied'"))

    # a denied statement inside a transaction fails it, as any error would
    try:
        async with conn.transaction():
            await conn.execute("UPDATE orders SET note = 'tx' WHERE id = 3")
            await conn.fetch("SELECT v FROM secrets")
        step("tx-denied", error=None)
    except asyncpg.PostgresError as e:
        step("tx-denied", error=err(e))
    step("tx-rolled-back", note=await conn.fetchval("SELECT note FROM orders WHERE id = 3"))

    step("still-working", value=await conn.fetchval("SELECT 'still here'"))
    await conn.close()

    # a pool of one connection: each release resets it (pg_advisory_unlock_all(), CLOSE ALL, a DO
    # block that runs UNLISTEN * when the session listens, RESET ALL) and hands it out again
    pool = await asyncpg.create_pool(
        host=os.environ["PAMC_HOST"], port=int(os.environ["PAMC_PORT"]), database=os.environ["PAMC_DB"],
        user="agent", password=os.environ["PGPASSWORD"], ssl=False, min_size=1, max_size=1,
    )
    pooled = []
    for i in range(3):
        async with pool.acquire() as c:
            pooled.append(await c.fetchval("SELECT count(*) FROM orders WHERE id <= $1", i + 1))
    await pool.close()
    step("pool", counts=pooled)


asyncio.run(main())
