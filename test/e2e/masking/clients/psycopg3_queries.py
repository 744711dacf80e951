"""psycopg 3 through the pamc gateway (via the masking tests' byte tap).

Reads JSON from stdin: {"dsn": ..., "queries": [{"id": ..., "sql": ...}, ...]}. For each query,
on a connection of its own (so the tap can tell them apart): five runs with text results, then
runs on a binary cursor (binary results), the last of them after psycopg has prepared the
statement under a name. Prints one JSON line per query: the rows of the last text run and of the
last binary run, as psycopg decoded them (repr), or the error.
"""
import json
import sys

import psycopg

spec = json.load(sys.stdin)


def err(e):
    diag = getattr(e, "diag", None)
    return {"code": getattr(e, "sqlstate", None), "message": diag.message_primary if diag else str(e), "type": type(e).__name__}


for q in spec["queries"]:
    out = {"id": q["id"]}
    try:
        with psycopg.connect(spec["dsn"], autocommit=True) as conn:
            conn.prepare_threshold = 2
            with conn.cursor() as cur:
                for _ in range(3):
                    cur.execute(q["sql"])
                    text_rows = cur.fetchall()
            with conn.cursor(binary=True) as cur:
                for _ in range(3):
                    cur.execute(q["sql"])
                    bin_rows = cur.fetchall()
            out["text"] = [[repr(v) for v in r] for r in text_rows]
            out["binary"] = [[repr(v) for v in r] for r in bin_rows]
    except psycopg.Error as e:
        out["error"] = err(e)
    except Exception as e:  # a value the driver could not decode
        out["error"] = {"code": None, "message": str(e), "type": type(e).__name__}
    print(json.dumps(out), flush=True)
