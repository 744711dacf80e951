"""SQLAlchemy (psycopg2 driver) through the pamc gateway: prints one JSON object per step.

Connection from the environment: PAMC_HOST, PAMC_PORT, PAMC_DB and PGPASSWORD (the agent's
token). Reflection reads the system catalog: a policy's `catalog` set must be enough for it.
"""
import json
import os

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError


def step(name, **kv):
    print(json.dumps({"step": name, **kv}, default=str), flush=True)


engine = create_engine(
    f"postgresql+psycopg2://agent@{os.environ['PAMC_HOST']}:{os.environ['PAMC_PORT']}/{os.environ['PAMC_DB']}",
    connect_args={"password": os.environ["PGPASSWORD"], "sslmode": "disable"},
    pool_pre_ping=True,
    future=True,
)

insp = inspect(engine)
step("tables", tables=sorted(insp.get_table_names()))
step("columns", columns=[(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns("orders")])
step("pk", pk=insp.get_pk_constraint("orders")["constrained_columns"])
step("indexes", indexes=sorted(i["name"] for i in insp.get_indexes("orders")))

with engine.connect() as conn:
    rows = conn.execute(text("SELECT id, status FROM orders WHERE id <= :n ORDER BY id"), {"n": 2}).fetchall()
    step("query", rows=[list(r) for r in rows])
    try:
        conn.execute(text("DELETE FROM orders WHERE id = 1"))
        step("denied", error=None)
    except DBAPIError as e:
        step("denied", error={"code": e.orig.pgcode, "message": e.orig.diag.message_primary})
        conn.rollback()
    step("after-denial", value=conn.execute(text("SELECT count(*) FROM orders WHERE id <= 100")).scalar())
