#!/usr/bin/python3
"""Create the lab's Nova databases and seed them with fake service records.

Run with Debian's /usr/bin/python3 before nova-api starts:

    /usr/bin/python3 setup_nova.py --config-file $DIR/etc/nova/nova.conf \
        --cell0-db sqlite:///... --cell1-db sqlite:///...

1. The nova-manage steps, through nova-manage's own command classes but in
   ONE Python process (each nova-manage run costs ~4 s of imports):
       nova-manage api_db sync
       nova-manage cell_v2 map_cell0 --database_connection CELL0
       nova-manage cell_v2 create_cell --name cell1 --database_connection CELL1
       nova-manage db sync        (main DB = cell1, and cell0)
2. Every sqlite file is switched to WAL journaling (concurrent readers and a
   writer; the default journal gives "database is locked" 500s).
3. Seeds, through Nova's own versioned objects (so every column gets the
   values real services would write):
   * nova-compute services on compute1..compute6 in cell1, each with a host
     mapping (the legacy ``PUT /os-services/force-down`` path resolves the cell
     through the host mapping and 404s without one);
   * hb1..hb4 the same way, but with their last heartbeat 10 minutes old
     (``last_seen_up`` and ``updated_at``): hosts that stopped reporting, so
     Nova counts them ``down`` (service_down_time 60 s) without being forced
     down. The heartbeat tests make them report again
     (test/integration/heartbeat.ts);
   * rack01..rack41 like compute1..compute6 (the grouped card's bulk test);
   * one nova-scheduler service on controller1 in cell1 (scheduler services
     live in a cell DB like every service; they never get host mappings);
   * a finished evacuation away from compute6: an instance (now on compute5)
     and a Migration(migration_type='evacuation', status='done',
     source_compute='compute6'). Nova refuses to unset forced_down on a host
     with such records (services.py ``_check_for_evacuations``) until the
     compute service restarts and moves them to 'completed', which never
     happens here, so compute6 can be forced down but not forced back up.
4. With ``--keep-up-file``, the ids of every seeded service but hb1..hb4, as
   JSON, for keep_up.py (which keeps those services ``up``; see there).
"""

import argparse
import datetime
import json
import sqlite3
import sys

from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.cmd import manage
from nova import config
from nova import context as nova_context
from nova import objects
from nova.objects import fields

# compute1..6: the core, CLI and Slack tests; alert1..4: the alert webhook
# tests; fault1..4: the reliability suite; hb1..hb4: the heartbeat tests;
# bmc1..bmc4: the BMC (Redfish) tests; evac1..evac4: the evacuation tests,
# with instances (seeded by seed_instances.py once Keystone has the project
# they belong to) (one set each, so suites never share a host's forced_down
# flag or heartbeat).
HEARTBEAT_HOSTS = ["hb%d" % i for i in range(1, 5)]
# rack01..rack41: a rack that went down together, for the grouped card's
# "Confirm all fenced…" / "Cancel all…" test (test/integration/rack-e2e.test.ts);
# no instances, kept up like compute1..6 (so `/force-down list` does not show
# them). That test adds the same rows to a lab started before they were seeded
# here, and removes what it added.
RACK_HOSTS = ["rack%02d" % i for i in range(1, 42)]
COMPUTE_HOSTS = (["compute%d" % i for i in range(1, 7)]
                 + ["alert%d" % i for i in range(1, 5)]
                 + ["fault%d" % i for i in range(1, 5)]
                 + ["bmc%d" % i for i in range(1, 5)]
                 + ["evac%d" % i for i in range(1, 5)]
                 + HEARTBEAT_HOSTS
                 + RACK_HOSTS)
# How old the heartbeat hosts' last heartbeat is at lab start: far past
# Nova's service_down_time (60 s), so they start out silent and `down`.
HEARTBEAT_AGE = datetime.timedelta(minutes=10)
SCHEDULER_HOST = "controller1"
EVACUATED_HOST = "compute6"
EVACUATION_DEST = "compute5"
# Not a real keystone project: keeps the instance out of normal listings.
FAKE_PROJECT = "lab-evacuated-project"
FAKE_USER = "lab-evacuated-user"


def create_service(cctxt, host, binary, topic):
    svc = objects.Service(cctxt, host=host, binary=binary, topic=topic,
                          report_count=0, disabled=False, forced_down=False,
                          last_seen_up=timeutils.utcnow())
    svc.create()
    # One "heartbeat" so updated_at is set like on a live service.
    svc.report_count = 1
    svc.save()
    return svc


def silence(db_path, hosts, age):
    """Sets the hosts' last heartbeat `age` in the past, in the columns and
    the format Nova's report_state leaves (naive UTC, microseconds), as
    test/integration/heartbeat.ts's silence() does."""
    then = (timeutils.utcnow() - age).strftime("%Y-%m-%d %H:%M:%S.%f")
    db = sqlite3.connect(db_path, timeout=30)
    with db:
        marks = ",".join("?" * len(hosts))
        n = db.execute("UPDATE services SET last_seen_up = ?, updated_at = ? "
                       "WHERE binary = 'nova-compute' AND deleted = 0 "
                       "AND host IN (%s)" % marks, [then, then] + hosts).rowcount
    db.close()
    if n != len(hosts):
        sys.exit("setup_nova: silenced %d services, expected %d" % (n, len(hosts)))
    return then


def sqlite_path(url):
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        sys.exit("setup_nova: only sqlite URLs are supported, got %r" % url)
    return url[len(prefix):]


def check(ret, what):
    # nova-manage commands report most failures as a non-zero return value
    # (after printing the reason), not as an exception.
    if ret not in (None, 0):
        sys.exit("setup_nova: `nova-manage %s` failed (returned %r)"
                 % (what, ret))
    print("setup_nova: nova-manage %s: ok" % what, flush=True)


def create_databases(conf, cell0_url, cell1_url):
    check(manage.ApiDbCommands().sync(), "api_db sync")
    cells = manage.CellV2Commands()
    check(cells.map_cell0(database_connection=cell0_url), "cell_v2 map_cell0")
    check(cells.create_cell(name="cell1", database_connection=cell1_url,
                            transport_url="fake://", verbose=True),
          "cell_v2 create_cell --name cell1")
    check(manage.DbCommands().sync(), "db sync")
    for url in (conf.api_database.connection, cell0_url, cell1_url):
        db = sqlite3.connect(sqlite_path(url))
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        db.close()
        if mode != "wal":
            sys.exit("setup_nova: could not switch %s to WAL (%s)"
                     % (url, mode))
    print("setup_nova: api, cell0 and cell1 DBs in WAL mode", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--cell0-db", required=True,
                        help="sqlite URL of the cell0 DB")
    parser.add_argument("--cell1-db", required=True,
                        help="sqlite URL of the cell1 DB (= [database])")
    parser.add_argument("--keep-up-file",
                        help="write the ids of the services keep_up.py keeps "
                             "up (every seeded one but the heartbeat hosts)")
    args = parser.parse_args()

    objects.register_all()
    # Like nova-manage's main(): parse_args also sets up the DB APIs
    # (main + api) and the (fake) RPC layer.
    config.parse_args([sys.argv[0], "--config-file", args.config_file])
    if config.CONF.database.connection != args.cell1_db:
        sys.exit("setup_nova: [database] connection must be the cell1 DB")

    create_databases(config.CONF, args.cell0_db, args.cell1_db)
    keep_up = seed()
    then = silence(sqlite_path(args.cell1_db), HEARTBEAT_HOSTS, HEARTBEAT_AGE)
    print("heartbeat      %s: last heartbeat %s (silent, down)"
          % (",".join(HEARTBEAT_HOSTS), then))
    if args.keep_up_file:
        with open(args.keep_up_file, "w") as f:
            json.dump({"db": sqlite_path(args.cell1_db), "services": keep_up}, f)
            f.write("\n")


def seed():
    """Seeds cell1; returns the ids (DB) of the services kept up."""
    keep_up = []
    ctxt = nova_context.get_admin_context()
    cells = {c.name: c for c in objects.CellMappingList.get_all(ctxt)}
    if "cell1" not in cells:
        sys.exit("setup_nova: no cell named cell1 (did create_cell run?)")
    cell1 = cells["cell1"]

    with nova_context.target_cell(ctxt, cell1) as cctxt:
        for host in COMPUTE_HOSTS:
            svc = create_service(cctxt, host, "nova-compute", "compute")
            objects.HostMapping(ctxt, host=host, cell_mapping=cell1).create()
            print("nova-compute   %-12s %s" % (host, svc.uuid))
            if host not in HEARTBEAT_HOSTS:
                keep_up.append(svc.id)

        svc = create_service(cctxt, SCHEDULER_HOST, "nova-scheduler",
                             "scheduler")
        print("nova-scheduler %-12s %s" % (SCHEDULER_HOST, svc.uuid))
        keep_up.append(svc.id)

        # The evacuated instance now lives on the destination host.
        inst = objects.Instance(
            cctxt, uuid=uuidutils.generate_uuid(),
            project_id=FAKE_PROJECT, user_id=FAKE_USER,
            display_name="evacuated-from-%s" % EVACUATED_HOST,
            host=EVACUATION_DEST, node=EVACUATION_DEST,
            vm_state="active", power_state=1, task_state=None,
            availability_zone="nova")
        inst.create()
        objects.InstanceMapping(ctxt, instance_uuid=inst.uuid,
                                cell_mapping=cell1,
                                project_id=FAKE_PROJECT,
                                user_id=FAKE_USER).create()
        mig = objects.Migration(
            cctxt, instance_uuid=inst.uuid,
            migration_type=fields.MigrationType.EVACUATION,
            # 'done' = rebuilt on the destination; the source compute would
            # flip it to 'completed' when it restarts. That is the state the
            # API's force-up check looks for.
            status="done",
            source_compute=EVACUATED_HOST, source_node=EVACUATED_HOST,
            dest_compute=EVACUATION_DEST, dest_node=EVACUATION_DEST,
            dest_host="127.0.0.1",
            project_id=FAKE_PROJECT, user_id=FAKE_USER)
        mig.create()
        print("evacuation     %s -> %s instance %s migration %s (status %s)"
              % (EVACUATED_HOST, EVACUATION_DEST, inst.uuid, mig.uuid,
                 mig.status))
    return keep_up


if __name__ == "__main__":
    main()
