#!/usr/bin/python3
"""Seed instances on the evacuation test hosts evac1..evac4 (start.sh runs it
once Keystone is seeded, while nova-api boots).

    /usr/bin/python3 seed_instances.py --config-file $DIR/etc/nova/nova.conf \
        --lab-json $DIR/lab.json

The instances belong to the lab's Keystone project ``evac`` (its id and its
user's are in lab.json's ``evac_owner``, written by seed_keystone.py), and are
made with Nova's own versioned objects, as nova-api and nova-conductor make
them when a server is booted, so that the API and its evacuate path read them
like any other:

* an ``Instance`` in cell1 with a flavor (``lab.small``), ``host``/``node``
  the evac host, its vm/power/task state, metadata (``HA_Enabled=True`` on
  the HA ones, as Masakari marks them) and an info cache whose
  ``network_info`` is ``[]`` (a NULL one makes ``GET /servers/{id}`` a 500);
* an ``InstanceMapping`` to cell1 (the API finds the instance's cell by it);
* a ``RequestSpec`` (``RequestSpec.from_components``): evacuate reads it
  (none -> 500).

No image (like a volume-backed server), no ports. Each evac host also gets
a ``ComputeNode`` record (its hypervisor, named like the host): evacuate to a
named ``host`` (2.68+, not forced) reads it to build the scheduler's
requested destination, and is a 500 (ComputeHostNotFound) without one.

Then adds to lab.json ``instances``: {host: [{id, name, vm_state,
task_state, power_state, status, ha}]} in creation order, the state the
evacuation tests reset a host to (test/integration/evacuation.ts).
"""

import argparse
import json
import os
import sys
import time

from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova import config
from nova import context as nova_context
from nova import objects
from nova.compute import power_state
from nova.network import model as network_model

# (vm_state, power_state, API status)
ACTIVE = ("active", power_state.RUNNING, "ACTIVE")
SHUTOFF = ("stopped", power_state.SHUTDOWN, "SHUTOFF")
ERROR = ("error", power_state.NOSTATE, "ERROR")
PAUSED = ("paused", power_state.PAUSED, "PAUSED")

# host -> [(state, task_state, ha)] in creation order. evac1: a bit of
# everything (2 HA: one running, one stopped); evac2: a few; evac3: enough to
# page through (limit + marker) and to submit 50 evacuations at once; evac4:
# one instance Nova refuses to evacuate (PAUSED: vm_state not active,
# stopped or error -> 409) and one in a task state (`rebooting`), which Nova
# evacuates all the same (200: evacuate checks the vm_state only).
LAYOUT = {
    "evac1": [(ACTIVE, None, True), (ACTIVE, None, False),
              (ACTIVE, None, False), (SHUTOFF, None, True),
              (ERROR, None, False)],
    "evac2": [(ACTIVE, None, False)] * 3,
    "evac3": [(ACTIVE, None, False)] * 60,
    "evac4": [(ACTIVE, None, False), (ACTIVE, "rebooting", False),
              (PAUSED, None, False)],
}


def flavor(ctxt):
    existing = objects.FlavorList.get_all(ctxt)
    for f in existing:
        if f.name == "lab.small":
            return f
    f = objects.Flavor(ctxt, name="lab.small", flavorid="lab-small",
                       memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0,
                       swap=0, rxtx_factor=1.0, vcpu_weight=0,
                       disabled=False, is_public=True, extra_specs={},
                       description=None)
    f.create()
    return f


def compute_node(cctxt, host):
    svc = objects.Service.get_by_compute_host(cctxt, host)
    node = objects.ComputeNode(
        cctxt, uuid=uuidutils.generate_uuid(), service_id=svc.id, host=host,
        hypervisor_hostname=host, hypervisor_type="QEMU",
        hypervisor_version=7002000, vcpus=64, memory_mb=262144,
        local_gb=2000, vcpus_used=0, memory_mb_used=512, local_gb_used=0,
        free_ram_mb=261632, free_disk_gb=2000, current_workload=0,
        running_vms=0, cpu_info="{}", disk_available_least=2000,
        host_ip="127.0.0.1", supported_hv_specs=[], stats={}, metrics="[]",
        cpu_allocation_ratio=16.0, ram_allocation_ratio=1.5,
        disk_allocation_ratio=1.0, mapped=1)
    node.create()
    return node


def create(ctxt, cctxt, cell, flv, owner, host, name, state, task_state, ha):
    vm_state, power, status = state
    uuid = uuidutils.generate_uuid()
    inst = objects.Instance(
        cctxt, uuid=uuid, project_id=owner["project_id"],
        user_id=owner["user_id"], display_name=name, hostname=name,
        host=host, node=host, launched_on=host,
        vm_state=vm_state, power_state=power, task_state=task_state,
        availability_zone="nova", image_ref="", root_device_name="/dev/vda",
        instance_type_id=flv.id, memory_mb=flv.memory_mb, vcpus=flv.vcpus,
        root_gb=flv.root_gb, ephemeral_gb=flv.ephemeral_gb,
        flavor=flv, old_flavor=None, new_flavor=None,
        metadata={"HA_Enabled": "True"} if ha else {},
        system_metadata={},
        info_cache=objects.InstanceInfoCache(
            network_info=network_model.NetworkInfo([])),
        launched_at=timeutils.utcnow())
    inst.create()
    objects.InstanceMapping(ctxt, instance_uuid=uuid, cell_mapping=cell,
                            project_id=owner["project_id"],
                            user_id=owner["user_id"],
                            queued_for_delete=False).create()
    objects.RequestSpec.from_components(
        ctxt, uuid, objects.ImageMeta.from_dict({}), flv,
        numa_topology=None, pci_requests=None, filter_properties={},
        instance_group=None, availability_zone="nova",
        project_id=owner["project_id"], user_id=owner["user_id"]).create()
    # The API's status: vm_state's, but an active server rebooting is REBOOT.
    if task_state == "rebooting":
        status = "REBOOT"
    return {"id": uuid, "name": name, "vm_state": vm_state,
            "task_state": task_state, "power_state": power,
            "status": status, "ha": ha}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config-file", required=True)
    p.add_argument("--lab-json", required=True)
    a = p.parse_args()
    t0 = time.monotonic()

    with open(a.lab_json) as f:
        lab = json.load(f)
    owner = lab["evac_owner"]
    if sorted(LAYOUT) != sorted(lab["hosts"]["evac"]):
        sys.exit("seed_instances: hosts %s != lab.json's %s"
                 % (sorted(LAYOUT), lab["hosts"]["evac"]))

    objects.register_all()
    config.parse_args([sys.argv[0], "--config-file", a.config_file])
    ctxt = nova_context.get_admin_context()
    cells = {c.name: c for c in objects.CellMappingList.get_all(ctxt)}
    cell1 = cells.get("cell1")
    if cell1 is None:
        sys.exit("seed_instances: no cell named cell1")

    flv = flavor(ctxt)
    instances = {}
    with nova_context.target_cell(ctxt, cell1) as cctxt:
        for host, layout in LAYOUT.items():
            compute_node(cctxt, host)
            width = len(str(len(layout)))
            instances[host] = [
                create(ctxt, cctxt, cell1, flv, owner, host,
                       "%s-vm%0*d" % (host, width, i + 1), state, task, ha)
                for i, (state, task, ha) in enumerate(layout)]
            print("seed_instances: %-6s %d instances" % (host, len(layout)),
                  flush=True)

    lab["instances"] = instances
    tmp = a.lab_json + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(lab, indent=2) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, a.lab_json)
    print("seed_instances: %d instances of project %s in %.1fs"
          % (sum(map(len, instances.values())), owner["project_id"],
             time.monotonic() - t0))


if __name__ == "__main__":
    main()
