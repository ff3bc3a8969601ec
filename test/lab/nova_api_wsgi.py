"""The lab's nova-api WSGI script: Debian's /usr/bin/nova-api-wsgi, with
SQLite transactions that wait for each other instead of failing.

On MySQL, two nova-api requests updating rows at once wait for each other's
row locks. On SQLite, oslo.db opens every transaction with a plain (deferred)
``BEGIN``: a transaction that reads and then writes (e.g. ``Instance.save``:
SELECT the row, then UPDATE it) gets "database is locked" AT ONCE when another
connection wrote in between (SQLite cannot wait out a stale read snapshot),
and Nova answers 500. Measured with 50 evacuations submitted at once: 15 of
them 500. So every transaction here starts with ``BEGIN IMMEDIATE`` (it takes
the write lock first, waiting up to the driver's 5 s busy timeout), which is
what a real database's locking gives: concurrent writers serialized, none
refused. Reads stay concurrent (WAL readers never wait for the writer). Each
uwsgi worker serves one request at a time, so no transaction waits for one
of its own process.

Nothing else differs from /usr/bin/nova-api-wsgi.
"""

import sqlalchemy
from sqlalchemy import event

from nova.api.openstack.compute.wsgi import init_application


@event.listens_for(sqlalchemy.engine.Engine, "before_cursor_execute",
                   retval=True)
def _begin_immediate(conn, cursor, statement, parameters, context,
                     executemany):
    # oslo.db's own "begin" listener emits exactly this statement for SQLite.
    if statement == "BEGIN" and conn.dialect.name == "sqlite":
        statement = "BEGIN IMMEDIATE"
    return statement, parameters


application = init_application()
