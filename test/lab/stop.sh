#!/usr/bin/env bash
# Stop the lab's Keystone and Nova API (uwsgi masters) started by start.sh,
# and its helpers (keep_up.py, the Neutron stand-in, memcached).
#
# Processes are found only through the pid files in the state dir, and a pid
# is only signalled if it still is a uwsgi process (pid files can be stale
# after a reboot or a crash). Quietly succeeds if nothing is running.
set -euo pipefail

LAB_DIR="${FORCE_DOWN_LAB_DIR:-/tmp/force-down-lab}"

# is_our_uwsgi PID -> true if PID is alive and is a uwsgi process.
is_our_uwsgi() {
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q uwsgi
}

stop_one() {
  local name="$1" pidfile="$LAB_DIR/$1.pid" pid i p kids alive=()
  [[ -f "$pidfile" ]] || return 0
  pid="$(tr -dc '0-9' <"$pidfile")"
  if ! is_our_uwsgi "$pid"; then
    rm -f "$pidfile"
    return 0
  fi
  echo "stop.sh: stopping $name (uwsgi master pid $pid)"
  # The master's children: its workers and the http router.
  kids="$(pgrep -P "$pid" | tr '\n' ' ' || true)"
  # SIGINT = immediate shutdown for a uwsgi master: it takes its workers and
  # the http router down with it. (SIGTERM would mean "reload" without
  # die-on-term, so we do not rely on it.)
  kill -INT "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do           # up to 10 s
    alive=()
    for p in $pid $kids; do is_our_uwsgi "$p" && alive+=("$p"); done
    [[ ${#alive[@]} -eq 0 ]] && break
    sleep 0.1
  done
  if [[ ${#alive[@]} -gt 0 ]]; then
    echo "stop.sh: $name: pids ${alive[*]} still running 10 s after SIGINT, sending SIGKILL" >&2
    kill -KILL "${alive[@]}" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
}

[[ -d "$LAB_DIR" ]] || exit 0
stop_one nova-api
stop_one keystone
# A helper process of the lab, by its pid file $LAB_DIR/NAME.pid, only if its
# command line names MATCH (a pid reused by another process is left alone);
# waits until it is gone, so that a restart finds its port free.
stop_pidfile() {
  local name="$1" match="$2" pid i
  [[ -f "$LAB_DIR/$name.pid" ]] || return 0
  pid="$(tr -dc '0-9' <"$LAB_DIR/$name.pid")"
  if [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$match"; then
    echo "stop.sh: stopping $match (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
    [[ -d "/proc/$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$LAB_DIR/$name.pid"
}

stop_pidfile keep-up keep_up.py          # keeps the seeded services up
stop_pidfile neutron-stub neutron_stub.py # the Neutron stand-in
stop_pidfile memcached memcached          # nova's token cache
