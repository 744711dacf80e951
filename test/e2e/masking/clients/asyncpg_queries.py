"""asyncpg through the pamc gateway (via the masking tests' byte tap).

Reads JSON from stdin: {"host", "port", "database", "password", "queries": [{"id", "sql"}]}.
asyncpg prepares every query as a named statement (Parse, Describe, Sync), caches it, and
asks for binary results of every type it knows; each query runs three times on a connection of
its own (so the tap can tell them apart), the last two from its statement cache. Prints one
JSON line per query: the rows of the last run as asyncpg decoded them, or the error.
"""
import asyncio
import json
import sys

import asyncpg

spec = json.load(sys.stdin)


def err(e):
    return {"code": getattr(e, "sqlstate", None), "message": str(e), "type": type(e).__name__}


async def main():
    for q in spec["queries"]:
        out = {"id": q["id"]}
        try:
            conn = await asyncpg.connect(host=spec["host"], port=spec["port"], database=spec["database"], user="agent", password=spec["password"], ssl=False)
            try:
                for _ in range(3):
                    rows = await conn.fetch(q["sql"])
                out["binary"] = [[repr(v) for v in r] for r in rows]
            finally:
                await conn.close()
        except asyncpg.PostgresError as e:
            out["error"] = err(e)
        except Exception as e:  # a value the driver could not decode
            out["error"] = {"code": None, "message": str(e), "type": type(e).__name__}
        print(json.dumps(out), flush=True)


asyncio.run(main())
