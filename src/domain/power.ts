// A host's power as its BMC reports it (Redfish), and the judgements made on it. Pure.

/** The power states Redfish defines for a ComputerSystem. */
export const POWER_STATES = ['On', 'Off', 'PoweringOn', 'PoweringOff'] as const;
export type KnownPowerState = (typeof POWER_STATES)[number];

/**
 * A power state as read: one of Redfish's four, or whatever else the BMC said
 * (kept verbatim, e.g. "Paused" or ""), or `null` when the system gave none.
 * Only `Off` means off.
 */
export type PowerState = KnownPowerState | (string & {}) | null;

/** One reading of a host's power from its BMC. */
export interface BmcReading {
  /** `PowerState` as the BMC sent it (see {@link PowerState}). */
  powerState: PowerState;
  /** When the answer arrived (ms since the epoch, the worker's clock). */
  readAt: number;
  /** The system read: its Redfish path, e.g. `/redfish/v1/Systems/1`. */
  system: string;
}

/** The host is powered off: its BMC said `PowerState: "Off"`, exactly. Anything else (On, PoweringOff, unknown, missing) is not off. */
export function isOff(reading: Pick<BmcReading, 'powerState'>): boolean {
  return reading.powerState === 'Off';
}

/** `state` is one of the four Redfish power states (anything else is shown as read, and is not off). */
export function isKnownPowerState(state: PowerState): state is KnownPowerState {
  return typeof state === 'string' && (POWER_STATES as readonly string[]).includes(state);
}

/** A power state for a person: Redfish's name, or what the BMC said, quoted, or "no power state". */
export function describePowerState(state: PowerState): string {
  if (state === null) return 'no power state';
  if (isKnownPowerState(state)) return state;
  // BMC text reaches Slack and logs: printable ASCII only, bounded.
  const clean = state.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
  return `"${clean}"`;
}

/**
 * The reset types that turn a host's power off, strongest first, from
 * DMTF's ResetType enum (Redfish Resource.ResetType):
 *
 * 1. `ForceOff`: immediate, non-graceful power off. The only hard off the
 *    enum defines, and what fencing wants.
 * 2. `GracefulShutdown`: asks the OS to shut down and then powers off. Only
 *    when the BMC offers no ForceOff; a sick OS may never finish, which the
 *    power-off timeout catches (BMC_POWER_OFF_TIMEOUT).
 * 3. `PushPowerButton`: a press of the power button. Last, and only sent
 *    while the host reads On: it toggles, so on an Off host it powers on.
 *
 * Never sent: `On`, `ForceOn`, `ForceRestart`, `GracefulRestart`,
 * `PowerCycle`, `FullPowerCycle`, `Nmi`, `Suspend`, `Pause`, `Resume` (each
 * leaves or brings the host running).
 */
export const POWER_OFF_RESET_TYPES = ['ForceOff', 'GracefulShutdown', 'PushPowerButton'] as const;
export type PowerOffResetType = (typeof POWER_OFF_RESET_TYPES)[number];

/** Reset types that ask the OS rather than cut power. */
export function isGraceful(resetType: PowerOffResetType): boolean {
  return resetType !== 'ForceOff';
}

/**
 * The reset type to power a host off with, given the system's
 * `ResetType@Redfish.AllowableValues`: the first of {@link POWER_OFF_RESET_TYPES}
 * it allows. `undefined` allowable values (the BMC lists none) allows all,
 * as Redfish says, so ForceOff. `undefined` result: none of them is allowed.
 */
export function strongestHardOff(allowable: readonly string[] | undefined): PowerOffResetType | undefined {
  if (allowable === undefined) return 'ForceOff';
  return POWER_OFF_RESET_TYPES.find((t) => allowable.includes(t));
}
