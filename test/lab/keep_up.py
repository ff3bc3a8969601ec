#!/usr/bin/python3
"""Keep the lab's seeded services `up` in Nova's eyes (start.sh runs it).

    /usr/bin/python3 keep_up.py KEEP_UP_FILE PID_FILE

The lab's nova-api runs with Nova's default service_down_time (60 s): a
service is `up` while its ``last_seen_up`` is less than 60 s old, as in a real
cloud, so that the heartbeat hosts hb1..hb4 can be silent (`down`) or
reporting (`up`) as a test makes them (test/integration/heartbeat.ts).

There is no nova-compute to report for the other seeded services (compute*,
alert*, fault*, controller1's scheduler). This process moves their
``last_seen_up`` to now every 10 s (report_interval's default), so Nova keeps
counting them `up` as it did before, and NOTHING else: not ``updated_at`` (the
"last heartbeat" the API shows, still the one written at lab start) and not
``report_count``. It is not a heartbeat: those hosts look as they always did,
`up` and silent since the lab started.

KEEP_UP_FILE is setup_nova.py's --keep-up-file: {"db": cell1 DB path,
"services": [ids]}. The process writes its pid to PID_FILE, and ends when the
cell1 DB is gone (the lab was wiped) or on SIGTERM (stop.sh).
"""

import datetime
import json
import os
import signal
import sqlite3
import sys
import time

INTERVAL = 10          # seconds; Nova's report_interval default
BUSY_TIMEOUT = 30      # seconds to wait for nova-api's write lock


def log(msg):
    print("[%s] keep_up: %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def main():
    keep_up_file, pid_file = sys.argv[1:3]
    with open(keep_up_file) as f:
        spec = json.load(f)
    db_path, ids = spec["db"], [int(i) for i in spec["services"]]
    if not ids:
        sys.exit("keep_up: no services to keep up")
    with open(pid_file, "w") as f:
        f.write("%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log("keeping %d services up in %s every %d s" % (len(ids), db_path, INTERVAL))

    marks = ",".join("?" * len(ids))
    sql = ("UPDATE services SET last_seen_up = ? WHERE deleted = 0 AND id IN (%s)" % marks)
    failures = 0
    while True:
        if not os.path.exists(db_path):
            log("%s is gone: the lab was stopped or wiped; exiting" % db_path)
            return
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        try:
            db = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT)
            try:
                with db:
                    n = db.execute(sql, [now] + ids).rowcount
            finally:
                db.close()
            if n != len(ids) or failures:
                log("last_seen_up=%s on %d of %d services" % (now, n, len(ids)))
            failures = 0
        except sqlite3.Error as e:
            # Never give up: the next round is 10 s later, well within 60 s.
            failures += 1
            log("update failed (%d in a row): %s" % (failures, e))
        time.sleep(INTERVAL)


if __name__ == "__main__":
    main()
