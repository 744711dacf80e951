"""SQLAlchemy's asyncio engine on asyncpg through the pamc gateway: prints one JSON object per step.

What async agent stacks run: the asyncpg dialect's connect-time queries (version, current
schema, standard_conforming_strings, JSON codecs registered through asyncpg's type
introspection), reflection through run_sync, bound parameters, a denial, and the pool giving
a connection back (SQLAlchemy rolls back; asyncpg's own reset is not used). Connection from the
environment: PAMC_HOST, PAMC_PORT, PAMC_DB and PGPASSWORD (the agent's token).
"""
import asyncio
import json
import os

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine


def step(name, **kv):
    print(json.dumps({"step": name, **kv}, default=str), flush=True)


async def main():
    engine = create_async_engine(
        f"postgresql+asyncpg://agent@{os.environ['PAMC_HOST']}:{os.environ['PAMC_PORT']}/{os.environ['PAMC_DB']}",
        connect_args={"password": os.environ["PGPASSWORD"], "ssl": False},
        pool_size=2,
        future=True,
    )
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
        step("tables", tables=tables)
        rows = (await conn.execute(text("SELECT id, status, amount FROM orders WHERE id <= :n ORDER BY id"), {"n": 2})).fetchall()
        step("query", rows=[[r[0], r[1], str(r[2])] for r in rows])
        try:
            await conn.execute(text("DELETE FROM orders WHERE id = 1"))
            step("denied", error=None)
        except DBAPIError as e:
            step("denied", error={"code": getattr(e.orig, "sqlstate", None), "message": str(e.orig)})
            await conn.rollback()
        step("after-denial", value=(await conn.execute(text("SELECT count(*) FROM orders WHERE id <= 100"))).scalar())
    # the pool hands the same connection out again after its rollback
    for i in range(3):
        async with engine.connect() as conn:
            step(f"pooled-{i}", value=(await conn.execute(text("SELECT CAST(:v AS int)"), {"v": i})).scalar())
    await engine.dispose()


asyncio.run(main())
