import type { FailureCode } from './failure.js';

export type Action = 'force-down' | 'unset';

/**
 * What an operator should do next, per failure code. One exhaustive switch:
 * the CLI, the Slack card and the README's runbook all say the same thing.
 */
export function nextStep(code: FailureCode, host: string, action: Action): string {
  switch (code) {
    case 'HOST_NOT_FOUND':
      return `Check the spelling: the name must match \`openstack compute service list --service nova-compute\` exactly (short name or FQDN, as Nova has it).`;
    case 'NOT_A_COMPUTE_SERVICE':
      return `Only nova-compute hosts can be forced down. If ${host} is a controller, its services fail over by other means.`;
    case 'NOVA_FORBIDDEN':
      return `The configured credentials lack Nova's admin policy for services. Use an application credential of a user with the admin role (or a role your policy maps to os_compute_api:os-services:update).`;
    case 'EVACUATIONS_PENDING':
      return `Start nova-compute on the recovered ${host} first: it cleans up the evacuated instances and moves their migrations from "done" to "completed". Then unset forced-down again.`;
    case 'NOVA_TOO_OLD':
      return `This Nova lacks the force-down API (microversion 2.11, Liberty). Disable the service and wait for Nova's own down detection, or upgrade Nova; check any pinned compute_api_version.`;
    case 'AUTH_FAILED':
      return `Keystone refused the cloud's credentials: check they are current (an application credential may have expired or been rotated) and update the secret.`;
    case 'ENDPOINT_NOT_FOUND':
      return `The token's catalog has no compute endpoint for the configured region_name/interface: check them against \`openstack endpoint list --service compute\`.`;
    case 'NOVA_UNAVAILABLE':
      return action === 'force-down'
        ? `Nova's API did not answer. ${host} is NOT marked down yet: check the Nova API (load balancer, nova-api logs) and try again; the fence stays in place meanwhile.`
        : `Nova's API did not answer; ${host} is still forced down. Check the Nova API and try again.`;
    case 'KEYSTONE_UNAVAILABLE':
      return `Keystone did not answer, so Nova was not called. Check auth_url and Keystone's health, then try again.`;
    case 'NOVA_REJECTED':
      return `Nova refused the request: read its own message (the CLI's output, or the card's thread) and nova-api's log for the request.`;
    case 'CONFIRMATION_STALE':
      return `A confirmation says the host was fenced at one moment; this one is too old to act on, so Nova was not called. Check the fence on ${host} again (BMC power state, switch port) and confirm again.`;
    case 'HOST_STILL_REPORTING':
      return `${host}'s nova-compute still reports to Nova, so ${host} is running and not fenced; Nova was not called. Check the fence (BMC power state, switch port), fence ${host} for real, and confirm again.`;
    case 'BMC_SAYS_ON':
      return `${host}'s BMC reports its power is not off, so ${host} is not fenced by power. Power it off (or isolate it) and check again; if the BMC is wrong, fence by other means and say so in the confirmation.`;
    case 'BMC_UNREACHABLE':
      return `force-down could not read ${host}'s BMC (the reason is in the message). Check that the worker reaches the BMC on the management network, the BMC's URL and its TLS settings (caCert, or insecure), then try again.`;
    case 'BMC_POWER_OFF_TIMEOUT':
      return `${host}'s BMC accepted the power-off but never reported Off in time. Check the BMC (its web console or \`ipmitool\`) and the host; do not treat ${host} as fenced until its power is off.`;
    case 'BMC_CONFIG':
      return `${host}'s BMC entry in the secret document does not fit its BMC: check its url, username/password and system (the message names the systems the BMC offers).`;
    case 'BMC_REJECTED':
      return `${host}'s BMC refused to power it off (the message says how). Power it off by other means (BMC console, PDU) and confirm the fence.`;
    case 'INSTANCE_STATE_CONFLICT':
      return `Nova will not evacuate this instance in its current state (its task state or vm_state is in Nova's message). If an earlier evacuation is still running, wait for it; otherwise check the instance (\`openstack server show\`), reset its state only if you know what it was doing, and evacuate it again.`;
    case 'HOST_STILL_IN_USE':
      return `Nova still sees ${host}'s nova-compute as up, so it evacuates nothing from it. Force ${host} down first (after fencing it), then evacuate again.`;
    case 'TARGET_NOT_FOUND':
      return `Nova has no compute host of the chosen target's name: pick a target from \`openstack compute service list --service nova-compute\`, or let Nova's scheduler choose.`;
    case 'TARGET_SAME_HOST':
      return `The chosen target is ${host} itself: pick another host, or let Nova's scheduler choose.`;
    case 'INSTANCE_NOT_FOUND':
      return `Nova no longer knows this instance (deleted since ${host}'s instances were listed): nothing to evacuate.`;
    case 'NO_VALID_HOST':
      return `Nova's scheduler found no host with room for this instance: free capacity (or enable a spare host), or choose a target, then evacuate it again.`;
    case 'EVACUATION_FAILED':
      return `Nova accepted the evacuation but its migration failed: read the instance's fault (\`openstack server show\`) and the conductor's and target nova-compute's logs, then evacuate it again or rebuild it by hand.`;
    case 'EVACUATION_TIMEOUT':
      return `Nova accepted the evacuation but its migration has not finished in time: check its migration (\`openstack server migration list --server\` and the instance's id) and the conductor's and target nova-compute's logs before doing anything else; do not evacuate it again while it may still be running.`;
    case 'TOO_MANY_INSTANCES':
      return `Nova lists more instances on ${host} than force-down reads for one host: evacuate them with Nova's own tools (\`nova host-evacuate\`), or check that the host name is right.`;
  }
}
