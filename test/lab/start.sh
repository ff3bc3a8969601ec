#!/usr/bin/env bash
# Start a throw-away but REAL OpenStack Keystone + Nova API (Debian bookworm
# packages, Nova 26 "Zed") on 127.0.0.1 for the force-down integration tests.
#
#   state dir : ${FORCE_DOWN_LAB_DIR:-/tmp/force-down-lab}  (wiped on every start)
#   keystone  : http://127.0.0.1:${LAB_KEYSTONE_PORT:-5000}/v3
#   nova      : http://127.0.0.1:${LAB_NOVA_PORT:-8774}/v2.1
#   neutron   : http://127.0.0.1:${LAB_NEUTRON_PORT:-9696} (a stand-in: neutron_stub.py)
#   outputs   : $DIR/lab.json, $DIR/clouds.yaml, $DIR/lab.env
#   logs      : $DIR/log/*.log
#   pid files : $DIR/{keystone,nova-api,memcached,keep-up,neutron-stub}.pid
#
# There is no nova-conductor/scheduler/compute: the message bus is
# `fake://` and the compute/scheduler services are rows seeded straight into
# the cell DB (setup_nova.py). That is all the os-services API needs.
# Nova counts a service `up` while its last heartbeat is < 60 s old (its
# default service_down_time); keep_up.py keeps the seeded services `up`,
# except hb1..hb4, which start out silent (`down`) for the heartbeat tests.
# The evacuation test hosts evac1..evac4 carry instances (seed_instances.py),
# and nova-api's evacuate path finds a Neutron stand-in (neutron_stub.py) to
# ask about extensions; its cast to the conductor goes nowhere (fake://).
#
# Prerequisite: install.sh (packages). Stop with stop.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_DIR="${FORCE_DOWN_LAB_DIR:-/tmp/force-down-lab}"
KEYSTONE_PORT="${LAB_KEYSTONE_PORT:-5000}"
NOVA_PORT="${LAB_NOVA_PORT:-8774}"
# Not 11211: Debian's memcached package may have started its own there.
MEMCACHED_PORT="${LAB_MEMCACHED_PORT:-11311}"
NEUTRON_PORT="${LAB_NEUTRON_PORT:-9696}"      # the Neutron stand-in
START_TIMEOUT="${LAB_START_TIMEOUT:-120}"   # seconds until both APIs must answer
NOVA_WORKERS="${LAB_NOVA_WORKERS:-2}"       # nova-api uwsgi processes (1 thread each)

# Always Debian's interpreter: the `python3` on PATH may be a pyenv build
# without the OpenStack modules. Make sure nothing from the caller's Python
# environment leaks into Debian's python or into uwsgi's embedded python.
PY=/usr/bin/python3
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP VIRTUAL_ENV || true
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Clients (our own curl/requests calls) must never go through a proxy.
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"

# Fixed credentials: this is a local, throw-away test lab.
ADMIN_PASSWORD="lab-admin-pass"
NOVA_SERVICE_PASSWORD="lab-nova-pass"
MEMBER_PASSWORD="lab-member-pass"

KEYSTONE_URL="http://127.0.0.1:${KEYSTONE_PORT}/v3"
NOVA_URL="http://127.0.0.1:${NOVA_PORT}/v2.1"
MARKER=".force-down-lab"   # proves a dir is ours before we `rm -rf` it

T0=$SECONDS
log() { printf '[lab +%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { printf 'start.sh: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Preconditions
# ---------------------------------------------------------------------------
for bin in "$PY" /usr/bin/keystone-manage /usr/bin/nova-manage /usr/bin/keystone-wsgi-public \
           /usr/bin/nova-api-wsgi /usr/bin/sqlite3 curl; do
  command -v "$bin" >/dev/null || die "$bin not found; run test/lab/install.sh first (as root)"
done
UWSGI="$(command -v uwsgi || command -v uwsgi-core || true)"
[[ -n "$UWSGI" ]] || die "uwsgi not found; run test/lab/install.sh first"
[[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ]] || die "uwsgi python3 plugin missing; run test/lab/install.sh"

case "$LAB_DIR" in
  /*) ;;
  *) die "FORCE_DOWN_LAB_DIR must be an absolute path (got '$LAB_DIR')" ;;
esac
[[ "$LAB_DIR" != "/" ]] || die "refusing to use / as the lab dir"
[[ ! -e "$LAB_DIR" || -d "$LAB_DIR" ]] || die "$LAB_DIR exists and is not a directory"
if [[ -d "$LAB_DIR" && -n "$(ls -A "$LAB_DIR")" && ! -e "$LAB_DIR/$MARKER" ]]; then
  die "$LAB_DIR exists, is not empty and was not created by start.sh; refusing to wipe it"
fi

# ---------------------------------------------------------------------------
# Fresh state dir (stop a lab already running from it first)
# ---------------------------------------------------------------------------
FORCE_DOWN_LAB_DIR="$LAB_DIR" bash "$HERE/stop.sh"
rm -rf "$LAB_DIR"
mkdir -p "$LAB_DIR"/{log,run,etc/keystone,etc/nova/policy.d,keystone,nova/lock}
touch "$LAB_DIR/$MARKER"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$KEYSTONE_PORT" "$NOVA_PORT" "$MEMCACHED_PORT" "$NEUTRON_PORT"; do
  port_busy "$p" && die "127.0.0.1:$p is already in use by another process (not a lab started from $LAB_DIR); set LAB_KEYSTONE_PORT/LAB_NOVA_PORT/LAB_MEMCACHED_PORT/LAB_NEUTRON_PORT or stop it"
done

# ---------------------------------------------------------------------------
# Config files
# ---------------------------------------------------------------------------
KS_CONF="$LAB_DIR/etc/keystone/keystone.conf"
NOVA_CONF="$LAB_DIR/etc/nova/nova.conf"
KS_DB="$LAB_DIR/keystone/keystone.sqlite"
NOVA_API_DB="$LAB_DIR/nova/nova_api.sqlite"
NOVA_CELL0_DB="$LAB_DIR/nova/nova_cell0.sqlite"
NOVA_CELL1_DB="$LAB_DIR/nova/nova_cell1.sqlite"

cat >"$KS_CONF" <<EOF
[DEFAULT]
# logs go to stderr -> uwsgi log file
debug = false

[database]
connection = sqlite:///$KS_DB

[token]
provider = fernet

[fernet_tokens]
key_repository = $LAB_DIR/keystone/fernet-keys
[fernet_receipts]
key_repository = $LAB_DIR/keystone/fernet-keys
[credential]
key_repository = $LAB_DIR/keystone/credential-keys

[identity]
# bcrypt's minimum cost: every password auth would otherwise cost ~0.2 s CPU.
password_hash_rounds = 4

[cache]
# In-process cache (one uwsgi worker): without it every token validation
# re-reads and re-decrypts everything and takes 0.5-1 s.
enabled = true
backend = dogpile.cache.memory
EOF

cat >"$NOVA_CONF" <<EOF
[DEFAULT]
debug = false
host = lab-api
state_path = $LAB_DIR/nova
# No message bus: there is no conductor/compute to talk to anyway.
transport_url = fake://
# ...and should some code path still try an RPC call, fail fast.
rpc_response_timeout = 1
long_rpc_timeout = 1
# Nova's default: a service is "up" while its last_seen_up is less than 60 s
# old. keep_up.py keeps the seeded services up (moving last_seen_up only, so
# the updated_at the API shows stays the lab start's); hb1..hb4 are left to
# the heartbeat tests (test/integration/heartbeat.ts), silent at start.
service_down_time = 60

[api]
auth_strategy = keystone

[api_database]
connection = sqlite:///$NOVA_API_DB

[database]
# The cell1 DB: untargeted DB access (e.g. the evacuation check of the legacy
# PUT /os-services/force-down path) goes here.
connection = sqlite:///$NOVA_CELL1_DB

[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_URL
auth_type = password
username = nova
password = $NOVA_SERVICE_PASSWORD
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
# Token validations cached for Nova's default 300 s in a memcached shared by
# all nova-api workers, as production deployments do (an in-process cache
# would make each worker validate every new token with Keystone again).
# A token Nova has never validated still gets an immediate 401 once revoked,
# which is what the re-authentication test uses.
memcached_servers = 127.0.0.1:$MEMCACHED_PORT

[neutron]
# Evacuate asks Neutron first (GET /v2.0/extensions, with these service
# credentials; without them that is a 500): a stand-in answers
# (neutron_stub.py, no extensions, no ports).
auth_type = password
auth_url = $KEYSTONE_URL
username = nova
password = $NOVA_SERVICE_PASSWORD
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
endpoint_override = http://127.0.0.1:$NEUTRON_PORT

[glance]
# Only used to build an image URL for evacuate's notification; nothing is
# fetched from it.
endpoint_override = http://127.0.0.1:$NEUTRON_PORT/glance

[oslo_concurrency]
lock_path = $LAB_DIR/nova/lock

[oslo_policy]
# Upstream default policies only: point oslo.policy at an (empty) dir of
# ours so operator overrides in /etc/nova/policy.d are never picked up.
policy_file = $LAB_DIR/etc/nova/policy.yaml
policy_dirs = $LAB_DIR/etc/nova/policy.d
EOF

# nova-api-wsgi loads api-paste.ini + nova.conf from $OS_NOVA_CONFIG_DIR.
# Prefer the package's pristine copy over a possibly edited /etc one.
if [[ -f /usr/share/nova-common/api-paste.ini ]]; then
  cp /usr/share/nova-common/api-paste.ini "$LAB_DIR/etc/nova/api-paste.ini"
else
  cp /etc/nova/api-paste.ini "$LAB_DIR/etc/nova/api-paste.ini"
fi

# run CMD... : log the command with a timestamp (setup logs show where time goes)
run() { echo "[$(date +%T)] + $*"; "$@"; }
# WAL lets readers and the (single) writer work concurrently; with the
# default rollback journal parallel requests fail with "database is locked".
# (journal_mode=WAL is persistent: set once per DB file.)
wal() { for db in "$@"; do /usr/bin/sqlite3 "$db" 'PRAGMA journal_mode=WAL;' >/dev/null; done; }

# ---------------------------------------------------------------------------
# Database setup steps
# ---------------------------------------------------------------------------
setup_keystone() {
  local km=(/usr/bin/keystone-manage --config-file "$KS_CONF")
  local owner=(--keystone-user "$(id -un)" --keystone-group "$(id -gn)") p rc=0
  # The key repositories do not depend on the DB: create them while db_sync
  # runs (each keystone-manage run is ~3 s of imports).
  run "${km[@]}" fernet_setup "${owner[@]}" & local fernet=$!
  run "${km[@]}" credential_setup "${owner[@]}" & local cred=$!
  run "${km[@]}" db_sync || rc=$?
  for p in "$fernet" "$cred"; do wait "$p" || rc=$?; done
  (( rc == 0 )) || { echo "keystone-manage failed (rc=$rc)"; return "$rc"; }
  # admin user/project, roles admin/member/reader, RegionOne, identity endpoints
  run "${km[@]}" bootstrap \
    --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-admin-url "$KEYSTONE_URL" \
    --bootstrap-internal-url "$KEYSTONE_URL" \
    --bootstrap-public-url "$KEYSTONE_URL" \
    --bootstrap-region-id RegionOne
  wal "$KS_DB"
}

KEEP_UP_FILE="$LAB_DIR/nova/keep-up.json"
setup_nova() {
  # nova-manage api_db sync / cell_v2 map_cell0 / cell_v2 create_cell /
  # db sync in one Python process, WAL, then the seed data (compute1..6,
  # alert1..4, fault1..4, bmc1..4, evac1..4, hb1..4 (silent), controller1, host mappings,
  # compute6's evacuation). See setup_nova.py.
  run "$PY" "$HERE/setup_nova.py" --config-file "$NOVA_CONF" \
    --cell0-db "sqlite:///$NOVA_CELL0_DB" --cell1-db "sqlite:///$NOVA_CELL1_DB" \
    --keep-up-file "$KEEP_UP_FILE"
}

# A helper of the lab (keep_up.py, the Neutron stand-in) in its own session
# (a Ctrl-C to whoever ran start.sh must not stop it while the lab runs on),
# detached from our stdout/stderr (a caller reading them through a pipe would
# otherwise never see them close). start_detached NAME SCRIPT ARGS... runs
# SCRIPT ARGS... PIDFILE, logging to log/NAME.log; the script writes its pid
# to PIDFILE ($LAB_DIR/NAME.pid) once it is ready; stop.sh stops it.
start_detached() {
  local name="$1" script="$2" i
  shift 2
  setsid "$PY" "$HERE/$script" "$@" "$LAB_DIR/$name.pid" \
    </dev/null >>"$LAB_DIR/log/$name.log" 2>&1 &
  for i in $(seq 1 100); do             # up to 10 s
    [[ -s "$LAB_DIR/$name.pid" ]] && return 0
    sleep 0.1
  done
  cat "$LAB_DIR/log/$name.log" >&2
  die "$script did not start (log: $LAB_DIR/log/$name.log)"
}

start_keep_up() { start_detached keep-up keep_up.py "$KEEP_UP_FILE"; }

start_neutron_stub() { start_detached neutron-stub neutron_stub.py "$NEUTRON_PORT"; }

# ---------------------------------------------------------------------------
# uwsgi: HTTP router on 127.0.0.1:PORT in front of the app on a unix socket
# (measured earlier: letting the worker serve HTTP itself stalls parallel
# clients; the router multiplexes them).
# ---------------------------------------------------------------------------
start_uwsgi() {  # name port wsgi-script processes threads env...
  local name="$1" port="$2" script="$3" procs="$4" threads="$5"; shift 5
  local ini="$LAB_DIR/etc/$name-uwsgi.ini" e
  {
    echo "[uwsgi]"
    echo "plugins = python3,http"
    echo "master = true"
    echo "processes = $procs"
    echo "threads = $threads"
    echo "enable-threads = true"
    echo "http = 127.0.0.1:$port"
    # A NUMBER, not "true": uwsgi parses the value with atoi(), so "true"
    # means 0 = off, and the router then closes every connection after one
    # response without a "Connection: close" header; keep-alive clients
    # (python requests, Node fetch) then fail at random with "connection
    # closed/reset" when they reuse it. Idle keep-alive connections are
    # closed after 60 s (http-timeout default).
    echo "http-keepalive = 1"
    echo "socket = $LAB_DIR/run/$name.sock"
    echo "chmod-socket = 600"
    echo "wsgi-file = $script"
    # load the app in each worker after fork, not in the master: nova
    # monkey-patches eventlet and opens DB connections at import time, which
    # must not be shared across forked workers
    echo "lazy-apps = true"
    # exit instead of serving 'no app loaded' if the app cannot be imported
    echo "need-app = true"
    echo "die-on-term = true"
    # no Py_Finalize on exit: keystone's greenlet segfaults in it (harmless
    # but noisy, and it slows down stop.sh)
    echo "skip-atexit-teardown = true"
    echo "vacuum = true"
    # big keystone tokens / service catalogs in headers
    echo "buffer-size = 65535"
    echo "pidfile = $LAB_DIR/$name.pid"
    echo "daemonize = $LAB_DIR/log/$name.log"
    for e in "$@"; do echo "env = $e"; done
  } >"$ini"
  "$UWSGI" --ini "$ini" >>"$LAB_DIR/log/$name.log" 2>&1
}

# ---------------------------------------------------------------------------
# Go: keystone (db + uwsgi) and nova (db + seed) set up in parallel, since
# most of the time is Python start-up of the *-manage tools. Keystone starts
# booting as soon as its DB is ready; nova-api once the nova DBs are seeded.
# ---------------------------------------------------------------------------
# From here on, any failure stops whatever we already started: our
# background setup jobs (by pid) and the uwsgi services (stop.sh).
on_exit() {
  local rc=$?
  if (( rc != 0 )); then
    local j; for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
    FORCE_DOWN_LAB_DIR="$LAB_DIR" bash "$HERE/stop.sh" >&2 || true
  fi
}
trap on_exit EXIT

start_neutron_stub
log "Neutron stand-in on 127.0.0.1:$NEUTRON_PORT (neutron_stub.py)"
log "starting memcached on 127.0.0.1:$MEMCACHED_PORT (nova's shared token cache)"
/usr/bin/memcached -d -u root -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -P "$LAB_DIR/memcached.pid" \
  || die "memcached did not start (port $MEMCACHED_PORT busy?)"

log "setting up keystone + nova databases in $LAB_DIR"
(
  setup_keystone
  # keystone: ONE process/thread so its in-memory cache is shared by all
  # requests (and sqlite connections never cross threads).
  start_uwsgi keystone "$KEYSTONE_PORT" /usr/bin/keystone-wsgi-public 1 1 \
    "OS_KEYSTONE_CONFIG_DIR=$LAB_DIR/etc/keystone"
) >"$LAB_DIR/log/keystone-setup.log" 2>&1 & ks_setup=$!
setup_nova >"$LAB_DIR/log/nova-setup.log" 2>&1 & nova_setup=$!
wait "$ks_setup" || { tail -n 30 "$LAB_DIR/log/keystone-setup.log" >&2; die "keystone setup failed (log: $LAB_DIR/log/keystone-setup.log)"; }
log "keystone db ready, keystone starting on 127.0.0.1:$KEYSTONE_PORT"
wait "$nova_setup" || { tail -n 30 "$LAB_DIR/log/nova-setup.log" >&2; die "nova setup/seed failed (log: $LAB_DIR/log/nova-setup.log)"; }
# At once: the seeded heartbeats are only good for 60 s.
start_keep_up
log "nova dbs seeded, seeded services kept up (keep_up.py), nova-api starting on 127.0.0.1:$NOVA_PORT"
# nova-api is eventlet monkey-patched: processes, never threads.
# nova_api_wsgi.py: Debian's nova-api-wsgi, with SQLite transactions that
# take the write lock first (BEGIN IMMEDIATE): concurrent writes wait for each
# other as on a real database instead of failing with "database is locked".
start_uwsgi nova-api "$NOVA_PORT" "$HERE/nova_api_wsgi.py" "$NOVA_WORKERS" 1 \
  "OS_NOVA_CONFIG_DIR=$LAB_DIR/etc/nova"

# wait_http NAME URL : until URL answers 200, the uwsgi master dies or the
# deadline passes. On failure, show the service log and stop the lab.
DEADLINE=$((SECONDS + START_TIMEOUT))
# show_log NAME N : last N interesting lines of a service log, on stderr.
# (nova-api logs dozens of harmless "Using RPCClient manually" warnings per
# worker at start-up; they would bury the real error.)
show_log() {
  echo "---- tail of $LAB_DIR/log/$1.log ----" >&2
  grep -v 'Using RPCClient manually' "$LAB_DIR/log/$1.log" | tail -n "$2" >&2 || true
}
wait_http() {
  local name="$1" url="$2" pid code
  while :; do
    code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url" || true)"
    [[ "$code" == 200 ]] && return 0
    pid="$(cat "$LAB_DIR/$name.pid" 2>/dev/null || true)"
    if [[ -z "$pid" || ! -d "/proc/$pid" ]]; then
      # (the pid file is written right after daemonizing; allow a moment)
      sleep 1; pid="$(cat "$LAB_DIR/$name.pid" 2>/dev/null || true)"
      if [[ -z "$pid" || ! -d "/proc/$pid" ]]; then
        show_log "$name" 40
        die "$name (uwsgi) exited during start-up; see $LAB_DIR/log/$name.log"
      fi
    fi
    if (( SECONDS >= DEADLINE )); then
      local f
      for f in keystone nova-api; do show_log "$f" 25; done
      die "$name did not answer 200 on $url within ${START_TIMEOUT}s (last HTTP code: ${code:-none})"
    fi
    sleep 0.5
  done
}

wait_http keystone "$KEYSTONE_URL"
log "keystone answers"

# Users, projects, catalog, application credential; writes lab.json,
# clouds.yaml and lab.env. Runs while nova-api is still booting.
if ! "$PY" "$HERE/seed_keystone.py" --lab-dir "$LAB_DIR" --keystone-url "$KEYSTONE_URL" \
      --nova-url "$NOVA_URL" --neutron-url "http://127.0.0.1:$NEUTRON_PORT" --admin-password "$ADMIN_PASSWORD" \
      --nova-password "$NOVA_SERVICE_PASSWORD" --member-password "$MEMBER_PASSWORD" \
      --nova-cell1-db "$NOVA_CELL1_DB" \
      >"$LAB_DIR/log/keystone-seed.log" 2>&1; then
  tail -n 30 "$LAB_DIR/log/keystone-seed.log" >&2
  die "keystone seeding failed (log: $LAB_DIR/log/keystone-seed.log)"
fi
log "keystone seeded"

# Instances on evac1..evac4, owned by the project seed_keystone.py just made;
# adds them to lab.json. Nova's objects, so ~5 s of imports: in the
# background while nova-api boots.
"$PY" "$HERE/seed_instances.py" --config-file "$NOVA_CONF" --lab-json "$LAB_DIR/lab.json" \
  >"$LAB_DIR/log/instances-seed.log" 2>&1 & instances_seed=$!

wait_http nova-api "http://127.0.0.1:$NOVA_PORT/"
log "nova-api answers"
wait "$instances_seed" || { tail -n 30 "$LAB_DIR/log/instances-seed.log" >&2; die "instance seeding failed (log: $LAB_DIR/log/instances-seed.log)"; }
log "instances seeded on evac1..evac4"

# End-to-end check through keystone auth: the seeded services are visible
# and up (hb1..hb4 down, not forced), the seeded instances listed by host,
# the Neutron stand-in answers. Catches config mistakes now rather
# than in the tests.
if ! "$PY" "$HERE/smoke.py" "$LAB_DIR/lab.json" >"$LAB_DIR/log/smoke.log" 2>&1; then
  cat "$LAB_DIR/log/smoke.log" >&2
  show_log nova-api 30
  die "smoke test failed"
fi
cat "$LAB_DIR/log/smoke.log"

log "lab ready: keystone $KEYSTONE_URL, nova $NOVA_URL"
echo "  source $LAB_DIR/lab.env   # OS_CLIENT_CONFIG_FILE + FORCE_DOWN_LAB"
echo "  clouds: lab-admin lab-member lab-appcred;  stop: bash $HERE/stop.sh"
