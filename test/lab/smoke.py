#!/usr/bin/python3
"""Quick end-to-end health check of a running lab (start.sh runs it last).

    /usr/bin/python3 smoke.py $DIR/lab.json

Gets tokens from Keystone for the admin user and the application
credential, and lists Nova's services with each: every seeded host must be
there and `up`, but the heartbeat hosts (hb1..hb4), which must be `down`
without being forced down (silent for 10 minutes). With the admin token, it
also lists the servers of each evacuation test host (evac1..evac4:
``GET /servers/detail?all_tenants=1&host=...``), which must be exactly the
instances lab.json records, in the seeded states; and it asks the Neutron
stand-in for its extensions, as nova-api's evacuate path does. Read-only: it
changes nothing in the lab. Exit code 0 = ok.
"""

import json
import sys
import time

import requests

MICROVERSION = "2.53"


def token(http, keystone, auth):
    if "application_credential_id" in auth:
        identity = {"methods": ["application_credential"],
                    "application_credential": {
                        "id": auth["application_credential_id"],
                        "secret": auth["application_credential_secret"]}}
        body = {"auth": {"identity": identity}}
    else:
        identity = {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "password": auth["password"],
            "domain": {"name": auth["user_domain_name"]}}}}
        body = {"auth": {"identity": identity, "scope": {"project": {
            "name": auth["project_name"],
            "domain": {"name": auth["project_domain_name"]}}}}}
    resp = http.post(keystone + "/auth/tokens", json=body, timeout=30)
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"]


def main():
    lab = json.load(open(sys.argv[1]))
    http = requests.Session()
    http.trust_env = False
    silent = set(lab["hosts"]["heartbeat"])
    expected = set(lab["hosts"]["compute"] + [lab["hosts"]["evacuated"]]
                   + lab["hosts"]["alert"] + lab["hosts"]["fault"]
                   + lab["hosts"].get("bmc", [])
                   + lab["hosts"].get("evac", [])
                   + lab["hosts"].get("rack", [])) | silent
    for name in ("admin", "appcred"):
        t0 = time.monotonic()
        tok = token(http, lab["keystone"], lab["clouds"][name]["auth"])
        resp = http.get(lab["nova"] + "/os-services", timeout=30, headers={
            "X-Auth-Token": tok,
            "X-OpenStack-Nova-API-Version": MICROVERSION})
        if resp.status_code != 200:
            sys.exit("smoke: %s: GET /os-services -> HTTP %s %s"
                     % (name, resp.status_code, resp.text[:300]))
        services = resp.json()["services"]
        computes = {s["host"]: s for s in services
                    if s["binary"] == "nova-compute"}
        sched = [s for s in services if s["binary"] == "nova-scheduler"]
        problems = []
        if set(computes) != expected:
            problems.append("compute hosts %s != %s"
                            % (sorted(computes), sorted(expected)))
        if [s["host"] for s in sched] != [lab["hosts"]["scheduler"]]:
            problems.append("scheduler services: %s" % sched)
        down = [s["host"] for s in services
                if s["state"] != "up" and s["host"] not in silent]
        if down:
            problems.append("not up: %s" % down)
        not_silent = [s["host"] for s in services if s["host"] in silent
                      and (s["state"] != "down" or s["forced_down"])]
        if not_silent:
            problems.append("heartbeat hosts not silent (down, not forced): "
                            "%s" % not_silent)
        if problems:
            sys.exit("smoke: %s: %s" % (name, "; ".join(problems)))
        print("smoke: %-7s token + GET /os-services ok: %d services up, "
              "%d silent (%.2fs)" % (name, len(services) - len(silent),
                                     len(silent), time.monotonic() - t0))
        if name == "admin":
            check_instances(http, lab, tok)
    check_neutron(http, lab)


def check_instances(http, lab, tok):
    t0 = time.monotonic()
    seeded = lab.get("instances", {})
    if sorted(seeded) != sorted(lab["hosts"].get("evac", [])):
        sys.exit("smoke: lab.json instances for %s, expected hosts %s"
                 % (sorted(seeded), lab["hosts"].get("evac")))
    for host, expected in seeded.items():
        resp = http.get(lab["nova"] + "/servers/detail", timeout=30,
                        params={"all_tenants": "1", "host": host,
                                "limit": "1000"},
                        headers={"X-Auth-Token": tok,
                                 "X-OpenStack-Nova-API-Version": MICROVERSION})
        if resp.status_code != 200:
            sys.exit("smoke: GET /servers/detail?host=%s -> HTTP %s %s"
                     % (host, resp.status_code, resp.text[:300]))
        got = {s["id"]: s for s in resp.json()["servers"]}
        want = {i["id"]: i for i in expected}
        if set(got) != set(want):
            sys.exit("smoke: servers on %s: %d listed, %d seeded (%d differ)"
                     % (host, len(got), len(want), len(set(got) ^ set(want))))
        wrong = [i["name"] for i in expected
                 if (got[i["id"]]["status"], got[i["id"]]["OS-EXT-STS:task_state"],
                     got[i["id"]]["OS-EXT-SRV-ATTR:host"],
                     got[i["id"]]["metadata"].get("HA_Enabled") == "True")
                 != (i["status"], i["task_state"], host, i["ha"])]
        if wrong:
            sys.exit("smoke: servers on %s not in their seeded state: %s"
                     % (host, wrong))
    print("smoke: admin   GET /servers/detail?all_tenants=1&host=evac* ok: "
          "%s (%.2fs)" % (", ".join("%s %d" % (h, len(v))
                                    for h, v in seeded.items()),
                          time.monotonic() - t0))


def check_neutron(http, lab):
    resp = http.get(lab["neutron"] + "/v2.0/extensions", timeout=10)
    if resp.status_code != 200 or resp.json() != {"extensions": []}:
        sys.exit("smoke: Neutron stand-in GET /v2.0/extensions -> HTTP %s %s"
                 % (resp.status_code, resp.text[:300]))
    print("smoke: Neutron stand-in %s/v2.0/extensions ok" % lab["neutron"])


if __name__ == "__main__":
    main()
