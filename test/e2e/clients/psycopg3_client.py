"""psycopg 3 through the pamc gateway: prints one JSON object per step (the test reads them).

Connection from the environment: PAMC_DSN (libpq conninfo without password) and PGPASSWORD
(the agent's token). Steps: parameters (unnamed extended protocol, binary parameters),
prepare=True and the automatic switch to named statements after 5 runs, a binary cursor
asking for binary results, pipeline mode with a denied statement in the middle, and a denial
in the same session that then continues.
"""
import json
import os

import psycopg


def step(name, **kv):
    print(json.dumps({"step": name, **kv}, default=str), flush=True)


def err(e):
    diag = getattr(e, "diag", None)
    return {"code": getattr(e, "sqlstate", None), "message": diag.message_primary if diag else str(e)}


conn = psycopg.connect(os.environ["PAMC_DSN"], autocommit=True)
conn.prepare_threshold = 5

with conn.cursor() as cur:
    cur.execute("SELECT id, status FROM orders WHERE id = %s", (2,))
    step("params", rows=cur.fetchall())

    # after prepare_threshold runs of the same query psycopg prepares it under a name
    seen = []
    for i in range(1, 9):
        cur.execute("SELECT status FROM orders WHERE id = %s", (i,))
        seen.append(cur.fetchone()[0])
    step("auto-prepared", rows=seen)

    cur.execute("SELECT count(*) FROM orders WHERE id <= %s", (3,), prepare=True)
    step("prepare-true", count=cur.fetchone()[0])

with conn.cursor(binary=True) as cur:
    cur.execute("SELECT id, amount, status FROM orders WHERE id = %s", (4,))
    step("binary", rows=cur.fetchall())

with conn.cursor() as cur:
    try:
        cur.execute("SELECT * FROM secrets WHERE v = %s", ("top",))
        step("denied", error=None)
    except psycopg.Error as e:
        step("denied", error=err(e))
    cur.execute("SELECT 41 + 1")
    step("after-denial", value=cur.fetchone()[0])

# Pipeline mode: several queries sent before any result is read; a denied one in a later
# sync group fails, the ones before it keep their results, and the session goes on.
results = {}
try:
    with conn.pipeline() as p:
        c1 = conn.cursor()
        c2 = conn.cursor()
        c3 = conn.cursor()
        c1.execute("SELECT %s::int AS a", (1,))
        c2.execute("SELECT count(*) FROM orders WHERE id < %s", (3,))
        p.sync()
        results["c1"] = c1.fetchone()[0]
        results["c2"] = c2.fetchone()[0]
        c3.execute("SELECT * FROM secrets WHERE v = %s", ("x",))
        p.sync()
        c3.fetchall()
    step("pipeline", results=results, error=None)
except psycopg.Error as e:
    step("pipeline", results=results, error=err(e))

with conn.pipeline() as p:
    cs = [conn.cursor() for _ in range(5)]
    for i, c in enumerate(cs):
        c.execute("SELECT id FROM orders WHERE id = %s", (i + 1,))
    vals = [c.fetchone()[0] for c in cs]
step("pipeline-ok", rows=vals)

with conn.cursor() as cur:
    cur.execute("SELECT 'still here'")
    step("still-working", value=cur.fetchone()[0])

# A transaction: a denial inside it fails it, as any error would.
conn.autocommit = False
with conn.cursor() as cur:
    cur.execute("UPDATE orders SET status = %s WHERE id = %s", ("tx", 5))
    try:
        cur.execute("DROP TABLE orders")
        step("tx-denied", error=None)
    except psycopg.Error as e:
        step("tx-denied", error=err(e), status=str(conn.info.transaction_status))
    conn.rollback()
    cur.execute("SELECT status FROM orders WHERE id = 5")
    step("tx-rolled-back", value=cur.fetchone()[0])
    conn.rollback()
conn.close()
