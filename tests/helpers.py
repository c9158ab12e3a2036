"""Reading a warehouse file in tests: open read-only, run one query, close (DuckDB allows one
process per file, so no test keeps a connection open)."""

from __future__ import annotations

from warehouse import loader


def rows(db, sql: str, params=None) -> list[tuple]:
    """Every row of ``sql`` on the warehouse file ``db``."""
    con = loader.connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def value(db, sql: str, params=None):
    """The first column of the first row."""
    return rows(db, sql, params)[0][0]
