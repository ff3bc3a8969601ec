#!/usr/bin/env bash
# Install the Debian (bookworm) packages the force-down integration lab needs:
# a real Keystone + Nova API served by uwsgi, plus the openstack CLI.
#
# Idempotent: if every package is already installed this does nothing (no
# network access), so it is cheap to call before every start.sh.
# Must run as root on Debian bookworm (CI runs it on a fresh machine).
set -euo pipefail

PACKAGES=(
  nova-common python3-nova                  # Nova API code + nova-manage
  python3-keystone                          # Keystone (keystone-manage, keystone-wsgi-public)
  python3-keystoneclient python3-novaclient python3-openstackclient
  uwsgi-core uwsgi-plugin-python3           # WSGI server for both APIs
  sqlite3                                   # both services use sqlite
  prometheus-alertmanager
  memcached
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  # "install ok installed" only; "unpacked"/"half-configured" counts as missing.
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install.sh: all ${#PACKAGES[@]} lab packages already installed"
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "install.sh: missing packages (${missing[*]}) and not root; re-run as root" >&2
  exit 1
fi

echo "install.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Install the full list (not just the missing ones) so apt resolves them together.
apt-get install -y --no-install-recommends "${PACKAGES[@]}"
