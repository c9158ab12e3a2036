"""Reading a warehouse file in tests: open read-only, run one query, close (DuckDB allows one
process per file, so no test keeps a connection open)."""

from __future__ import annotations

from wirehouse.warehouse import duckdb_adapter


def rows(db, sql: str, params=None) -> list[tuple]:
    """Every row of ``sql`` on the warehouse file ``db``."""
    con = duckdb_adapter.connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def value(db, sql: str, params=None):
    """The first column of the first row."""
    return rows(db, sql, params)[0][0]


def assert_whole_batches(db) -> int:
    """A run that stopped or failed loaded whole batches only: every article has its fetch_log row and
    its crawl state. Returns the number of articles."""
    articles, logged, stated = rows(
        db,
        "SELECT (SELECT count(*) FROM articles),"
        " (SELECT count(DISTINCT article_id) FROM fetch_log WHERE disposition = 'article'),"
        " (SELECT count(DISTINCT article_id) FROM url_state WHERE article_id IS NOT NULL)")[0]
    assert 0 < articles == logged == stated, (articles, logged, stated)
    return articles
