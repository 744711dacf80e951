"""psycopg2 through the pamc gateway: prints one JSON object per step (the test reads them).

Connection from the environment: PAMC_DSN (libpq conninfo without password) and PGPASSWORD
(the agent's token). Steps: implicit BEGIN with reads, a denied statement inside that
transaction (42501, then 25P02 until rollback), executemany, a large object (the FunctionCall
message, refused), and the session still working afterwards.
"""
import json
import os
import sys

import psycopg2

out = []


def step(name, **kv):
    print(json.dumps({"step": name, **kv}), flush=True)


def err(e):
    return {"code": getattr(e, "pgcode", None), "message": str(e).strip().splitlines()[0] if str(e).strip() else ""}


conn = psycopg2.connect(os.environ["PAMC_DSN"])
cur = conn.cursor()

cur.execute("SELECT id, status FROM orders WHERE id = %s", (1,))
step("select", rows=cur.fetchall(), status=conn.info.transaction_status)

try:
    cur.execute("SELECT * FROM secrets")
    step("denied", error=None)
except psycopg2.Error as e:
    step("denied", error=err(e), status=conn.info.transaction_status)

try:
    cur.execute("SELECT 1")
    step("after-denial", error=None)
except psycopg2.Error as e:
    step("after-denial", error=err(e))
conn.rollback()

cur.executemany("INSERT INTO orders (id, status) VALUES (%s, %s)", [(1001, "a"), (1002, "b"), (1003, "c")])
conn.commit()
cur.execute("SELECT count(*) FROM orders WHERE id > 1000")
step("executemany", count=cur.fetchone()[0])
conn.rollback()

# Large objects go through the fast-path FunctionCall message (lo_creat, lo_open, ...).
try:
    lo = conn.lobject(0, "wb")
    lo.write(b"data")
    lo.close()
    conn.commit()
    step("lobject", error=None)
except psycopg2.Error as e:
    step("lobject", error=err(e))
    conn.rollback()

cur.execute("SELECT count(*) FROM orders")
step("still-working", count=cur.fetchone()[0])
conn.close()
