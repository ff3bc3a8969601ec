#!/usr/bin/python3
"""Seed the lab Keystone (after `keystone-manage bootstrap`) and write the
lab's output files.

Creates, through Keystone's REST API as the bootstrap admin:

* project ``service`` + user ``nova`` (admin on it): nova-api's
  keystone_authtoken credentials;
* the ``compute`` service with public/internal/admin endpoints in RegionOne;
* project ``member`` + user ``member`` with only the ``member`` role (Nova
  must answer 403 on os-services updates for it);
* project ``evac`` + user ``evac`` (``member`` role): the owner of the
  instances seed_instances.py puts on evac1..evac4;
* an application credential ``lab-appcred`` for the admin user.

Then writes, in --lab-dir: lab.json, clouds.yaml (clouds lab-admin,
lab-member, lab-appcred) and lab.env.

Plain REST calls (requests) on purpose: no client-library magic between the
lab and what Keystone really does.
"""

import argparse
import json
import os
import sys

import requests
import yaml

REGION = "RegionOne"
COMPUTE_HOSTS = ["compute%d" % i for i in range(1, 6)]
# Hosts of their own for the alert webhook and reliability suites (setup_nova.py).
ALERT_HOSTS = ["alert%d" % i for i in range(1, 5)]
FAULT_HOSTS = ["fault%d" % i for i in range(1, 5)]
# Silent at start (a 10-minute-old heartbeat); test/integration/heartbeat.ts makes them report.
HEARTBEAT_HOSTS = ["hb%d" % i for i in range(1, 5)]
BMC_HOSTS = ["bmc%d" % i for i in range(1, 5)]
# The evacuation tests' hosts; seed_instances.py puts instances of project
# `evac` on them.
EVAC_HOSTS = ["evac%d" % i for i in range(1, 5)]
# A rack that went down together (setup_nova.py): silent at start, no instances.
RACK_HOSTS = ["rack%02d" % i for i in range(1, 42)]
SCHEDULER_HOST = "controller1"
EVACUATED_HOST = "compute6"


class Keystone:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = False   # never use a proxy for 127.0.0.1
        self.token = None

    def password_token(self, user, password, project):
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": password,
                "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": project,
                                  "domain": {"name": "Default"}}}}}
        resp = self.http.post(self.url + "/auth/tokens", json=body,
                              timeout=30)
        self._check(resp, "password token for %s" % user)
        return resp.headers["X-Subject-Token"], resp.json()["token"]

    def appcred_token(self, cred_id, secret):
        body = {"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cred_id, "secret": secret}}}}
        resp = self.http.post(self.url + "/auth/tokens", json=body,
                              timeout=30)
        self._check(resp, "application credential token")
        return resp.headers["X-Subject-Token"]

    def call(self, method, path, body=None, what=None):
        resp = self.http.request(method, self.url + path, json=body,
                                 headers={"X-Auth-Token": self.token},
                                 timeout=30)
        self._check(resp, what or "%s %s" % (method, path))
        return resp.json() if resp.content else None

    @staticmethod
    def _check(resp, what):
        if resp.status_code >= 300:
            sys.exit("seed_keystone: %s failed: HTTP %s %s"
                     % (what, resp.status_code, resp.text[:500]))

    def role_id(self, name):
        roles = self.call("GET", "/roles?name=%s" % name)["roles"]
        if not roles:
            sys.exit("seed_keystone: role %r missing (bootstrap?)" % name)
        return roles[0]["id"]

    def project(self, name, description):
        return self.call("POST", "/projects", {"project": {
            "name": name, "domain_id": "default",
            "description": description}})["project"]["id"]

    def user(self, name, password, project_id, role_id):
        uid = self.call("POST", "/users", {"user": {
            "name": name, "password": password, "domain_id": "default",
            "default_project_id": project_id}})["user"]["id"]
        self.call("PUT", "/projects/%s/users/%s/roles/%s"
                  % (project_id, uid, role_id))
        return uid


def cloud(auth_url, **auth):
    return {"auth": dict(auth_url=auth_url, **auth),
            "region_name": REGION, "interface": "public"}


def password_cloud(auth_url, user, password, project):
    return cloud(auth_url, username=user, password=password,
                 project_name=project, user_domain_name="Default",
                 project_domain_name="Default")


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lab-dir", required=True)
    p.add_argument("--keystone-url", required=True)
    p.add_argument("--nova-url", required=True)
    p.add_argument("--neutron-url", required=True,
                   help="the Neutron stand-in (neutron_stub.py)")
    p.add_argument("--admin-password", required=True)
    p.add_argument("--nova-password", required=True)
    p.add_argument("--member-password", required=True)
    p.add_argument("--nova-cell1-db", required=True,
                   help="path of Nova's cell1 SQLite DB (services table)")
    a = p.parse_args()

    ks = Keystone(a.keystone_url)
    ks.token, admin_token_body = ks.password_token("admin", a.admin_password,
                                                   "admin")
    admin_user_id = admin_token_body["user"]["id"]
    admin_role, member_role = ks.role_id("admin"), ks.role_id("member")

    # nova-api's service user
    service_project = ks.project("service", "OpenStack services")
    ks.user("nova", a.nova_password, service_project, admin_role)

    # catalog: compute service + endpoints
    svc_id = ks.call("POST", "/services", {"service": {
        "type": "compute", "name": "nova",
        "description": "Nova Compute API (lab)"}})["service"]["id"]
    for interface in ("public", "internal", "admin"):
        ks.call("POST", "/endpoints", {"endpoint": {
            "service_id": svc_id, "interface": interface,
            "url": a.nova_url, "region_id": REGION}})

    # member-only user: may log in, must be refused os-services updates
    member_project = ks.project("member", "member-only test project")
    ks.user("member", a.member_password, member_project, member_role)

    # The owner of the instances seed_instances.py puts on evac1..evac4: a
    # tenant's project and user like any other (member role only), so an
    # admin lists them with all_tenants, as Masakari or an operator does.
    evac_project = ks.project("evac", "instances on the evacuation test hosts")
    evac_user = ks.user("evac", a.member_password, evac_project, member_role)

    # application credential of the admin user (inherits its admin role on
    # project admin). The secret is only returned by this call.
    cred = ks.call("POST", "/users/%s/application_credentials" % admin_user_id,
                   {"application_credential": {
                       "name": "lab-appcred",
                       "description": "force-down lab"}}
                   )["application_credential"]
    ks.appcred_token(cred["id"], cred["secret"])   # proves it works

    clouds = {
        "admin": password_cloud(a.keystone_url, "admin", a.admin_password,
                                "admin"),
        "member": password_cloud(a.keystone_url, "member", a.member_password,
                                 "member"),
        "appcred": cloud(a.keystone_url,
                         application_credential_id=cred["id"],
                         application_credential_secret=cred["secret"]),
    }
    lab = {
        "keystone": a.keystone_url,
        "nova": a.nova_url,
        "neutron": a.neutron_url,
        "clouds": clouds,
        "hosts": {"compute": COMPUTE_HOSTS, "scheduler": SCHEDULER_HOST,
                  "evacuated": EVACUATED_HOST, "alert": ALERT_HOSTS,
                  "fault": FAULT_HOSTS, "heartbeat": HEARTBEAT_HOSTS,
                  "bmc": BMC_HOSTS, "evac": EVAC_HOSTS,
                  "rack": RACK_HOSTS},
        # Owner of the instances on evac1..evac4 (seed_instances.py adds
        # "instances" to this file).
        "evac_owner": {"project_id": evac_project, "user_id": evac_user},
        # Where nova-compute's heartbeats land (the heartbeat tests write them).
        "nova_cell1_db": os.path.abspath(a.nova_cell1_db),
    }
    lab_dir = os.path.abspath(a.lab_dir)
    write(os.path.join(lab_dir, "lab.json"), json.dumps(lab, indent=2) + "\n")

    yaml_clouds = {}
    for name, c in clouds.items():
        entry = dict(c)
        entry["auth_type"] = ("v3applicationcredential" if name == "appcred"
                              else "password")
        entry["identity_api_version"] = 3
        yaml_clouds["lab-" + name] = entry
    write(os.path.join(lab_dir, "clouds.yaml"),
          yaml.safe_dump({"clouds": yaml_clouds}, sort_keys=False))

    write(os.path.join(lab_dir, "lab.env"),
          "export OS_CLIENT_CONFIG_FILE=%s\nexport FORCE_DOWN_LAB=%s\n"
          % (os.path.join(lab_dir, "clouds.yaml"),
             os.path.join(lab_dir, "lab.json")))
    print("keystone seeded: compute endpoints %s, users nova/member/evac, "
          "app credential %s" % (a.nova_url, cred["id"]))


if __name__ == "__main__":
    main()
