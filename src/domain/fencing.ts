/** How an approver fenced a host: the modal's choices and the CLI's `--fenced` values. */
export const FENCING_METHODS = {
  bmc: 'BMC power-off (IPMI/Redfish)',
  pdu: 'PDU outlet switched off',
  network: 'network isolation (switch ports down)',
  dead: 'hardware dead / already powered off',
  other: 'other (see note)',
} as const;

export type FencingMethod = keyof typeof FENCING_METHODS;

/**
 * Power off now: force-down fences the host itself through its BMC (Redfish),
 * then forces it down. Offered (first) only for a host with a BMC; the CLI's
 * `--power-off`. Unlike {@link FENCING_METHODS}, not something done already.
 */
export const POWER_OFF_NOW = 'power-off';
export const POWER_OFF_NOW_LABEL = 'Power off now via the BMC (Redfish)';

/** What a confirmation records: how the host was fenced, or that force-down is to power it off now. */
export type FenceChoice = FencingMethod | typeof POWER_OFF_NOW;

/** A fence choice in words (the card, the audit, the CLI). */
export function fenceChoiceLabel(choice: FenceChoice): string {
  return choice === POWER_OFF_NOW ? POWER_OFF_NOW_LABEL : FENCING_METHODS[choice];
}

export function isFenceChoice(value: string): value is FenceChoice {
  return value === POWER_OFF_NOW || isFencingMethod(value);
}

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
