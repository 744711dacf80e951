"""psycopg 3 or psycopg2 through the pamc gateway, for the strategy x type matrix.

Reads JSON from stdin: {"driver": "psycopg"|"psycopg2", "dsn": ..., "queries": [{"id", "sql"}]},
or for asyncpg {"driver": "asyncpg", "host", "port", "database", "password", "queries"}.
Prints one JSON line per query: the rows as the driver decoded them (each value as
"TypeName:repr"), with text results ("text") and, for psycopg 3 and asyncpg, binary results
("binary"); or the error (a driver that cannot decode a value raises here).
"""
import json
import sys

spec = json.load(sys.stdin)


def show(v):
    if isinstance(v, memoryview):
        v = bytes(v)
    return f"{type(v).__name__}:{v!r}"


def rows_of(cur):
    return [[show(v) for v in r] for r in cur.fetchall()]


if spec["driver"] == "psycopg":
    import psycopg

    conn = psycopg.connect(spec["dsn"], autocommit=True)
    for q in spec["queries"]:
        out = {"id": q["id"]}
        try:
            with conn.cursor() as cur:
                cur.execute(q["sql"])
                out["text"] = rows_of(cur)
            with conn.cursor(binary=True) as cur:
                cur.execute(q["sql"])
                out["binary"] = rows_of(cur)
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out), flush=True)
elif spec["driver"] == "asyncpg":
    import asyncio

    import asyncpg

    async def main():
        conn = await asyncpg.connect(host=spec["host"], port=spec["port"], database=spec["database"], user="agent", password=spec["password"], ssl=False)
        for q in spec["queries"]:
            out = {"id": q["id"]}
            try:
                # a named statement it prepares, binary results of every type it knows
                out["binary"] = [[show(v) for v in r] for r in await conn.fetch(q["sql"])]
            except Exception as e:
                out["error"] = f"{type(e).__name__}: {e}"
            print(json.dumps(out), flush=True)
        await conn.close()

    asyncio.run(main())
else:
    import psycopg2
    import psycopg2.extras

    conn = psycopg2.connect(spec["dsn"])
    conn.autocommit = True
    for q in spec["queries"]:
        out = {"id": q["id"]}
        try:
            with conn.cursor() as cur:
                cur.execute(q["sql"])
                out["text"] = rows_of(cur)
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out), flush=True)
