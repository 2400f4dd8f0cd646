"""The metadata store's connection: embedded SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from stratus.store.schema import metadata
from stratus.store.states_schema import upgrade_history


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is durable across a
    # process crash (only an OS crash can lose the last commits), which is the
    # promise Stratus makes for the embedded store.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def driver_mark(engine: Engine) -> str:
    """The parameter placeholder of the engine's driver, for SQL sent to the driver
    itself (its executemany) rather than through SQLAlchemy: "?" or "%s"."""
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def open_database(url_or_path: str | Path) -> Engine:
    """Open (and create if needed) the store at a SQLite path or a database URL."""
    if isinstance(url_or_path, Path) or "://" not in str(url_or_path):
        path = Path(url_or_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(str(url_or_path), pool_pre_ping=True)
    metadata.create_all(engine)
    upgrade_history(engine)
    return engine
