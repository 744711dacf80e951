#!/usr/bin/env python3
"""A CrewAI-style SQL tool that reaches PostgreSQL only through the pamc gateway.

What CrewAI's NL2SQL tool does, in a few lines: a SQLAlchemy engine on psycopg2, the list of
tables and their columns (so the agent can write SQL), and running the agent's query. The one
difference that matters: the password is the agent's OIDC token, and the gateway decides
every statement with the policy. A denied statement comes back as the policy's error (SQLSTATE
42501, naming the rule), which the tool hands to the agent as text, as NL2SQL does with errors.

    PAMC_TOKEN=$(npx pamc token --dev --groups analysts --policy examples/quickstart/policy.pam) \\
      python3 examples/crewai/agent_tool.py --port 6432 --database shop "SELECT * FROM orders LIMIT 3"

Output: one JSON object on stdout: {"tables": {...}, "rows": [...]} or {"tables": ..., "error": ...}.
Needs SQLAlchemy and psycopg2 (Debian: python3-sqlalchemy python3-psycopg2).
"""

import argparse
import json
import os
import sys
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError


class GatewaySQLTool:
    """List tables, describe them, run SQL: the three things an NL2SQL agent needs."""

    def __init__(self, host, port, database, token, sslmode="prefer"):
        # The token goes in connect_args, not the URL, so it never appears in a logged URL.
        self.engine = create_engine(
            f"postgresql+psycopg2://agent@{host}:{port}/{quote(database)}",
            connect_args={"password": token, "sslmode": sslmode, "application_name": "crewai-nl2sql"},
            pool_pre_ping=True,
            future=True,
        )

    def tables(self):
        """Tables of the public schema with their columns (information_schema: the policy's `catalog`)."""
        with self.engine.connect() as conn:
            names = [r[0] for r in conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"))]
            out = {}
            for name in names:
                out[name] = [f"{c} {t}" for c, t in conn.execute(text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = :t ORDER BY ordinal_position"), {"t": name})]
            return out

    def run(self, sql):
        """The agent's query: its rows, or the error as text for the agent to read."""
        try:
            with self.engine.begin() as conn:
                result = conn.execute(text(sql))
                if not result.returns_rows:
                    return {"rowcount": result.rowcount}
                return {"rows": [dict(r._mapping) for r in result]}
        except DBAPIError as e:
            orig = e.orig
            code = getattr(orig, "pgcode", None)
            diag = getattr(orig, "diag", None)
            message = diag.message_primary if diag is not None and diag.message_primary else str(orig).strip()
            return {"error": {"sqlstate": code, "message": message}}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sql", help="the query the agent wants to run")
    p.add_argument("--host", default=os.environ.get("PAMC_HOST", "127.0.0.1"))
    p.add_argument("--port", default=os.environ.get("PAMC_PORT", "6432"))
    p.add_argument("--database", default=os.environ.get("PAMC_DB", "shop"))
    p.add_argument("--sslmode", default=os.environ.get("PAMC_SSLMODE", "prefer"))
    args = p.parse_args()
    token = os.environ.get("PAMC_TOKEN")
    if not token:
        print("set PAMC_TOKEN to the agent's token", file=sys.stderr)
        return 2
    tool = GatewaySQLTool(args.host, args.port, args.database, token, args.sslmode)
    try:
        tables = tool.tables()
    except DBAPIError as e:
        print(json.dumps({"error": {"sqlstate": getattr(e.orig, "pgcode", None), "message": str(e.orig).strip()}}))
        return 1
    result = tool.run(args.sql)
    print(json.dumps({"tables": tables, **result}, default=str))
    return 0 if "error" not in result else 3


if __name__ == "__main__":
    sys.exit(main())
