/** How an approver fenced a host: the modal's choices and the CLI's `--fenced` values. */
export const FENCING_METHODS = {
  bmc: 'BMC power-off (IPMI/Redfish)',
  pdu: 'PDU outlet switched off',
  network: 'network isolation (switch ports down)',
  dead: 'hardware dead / already powered off',
  other: 'other (see note)',
} as const;

export type FencingMethod = keyof typeof FENCING_METHODS;

export function isFencingMethod(value: string): value is FencingMethod {
  return Object.hasOwn(FENCING_METHODS, value);
}

/** Why fencing comes first, in the words the CLI and Slack use. */
export function whyFenceFirst(host: string): string {
  return (
    `Forcing ${host} down tells Nova it may evacuate ${host}'s instances at once. ` +
    `If ${host} is still running, those instances would run twice and corrupt their disks. ` +
    `Fence it first: power it off at the BMC or PDU, or isolate it from the network.`
  );
}
