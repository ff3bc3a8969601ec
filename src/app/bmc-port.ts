import type { Outcome } from '../domain/failure.js';
import type { BmcReading, PowerOffResetType, PowerState } from '../domain/power.js';

/**
 * What the use cases need of one host's BMC (src/bmc/redfish.ts's Redfish
 * client fits). Every call logs in, works and logs out on its own: there is
 * nothing to close. Failures are data (BMC_UNREACHABLE, BMC_CONFIG,
 * BMC_REJECTED, BMC_POWER_OFF_TIMEOUT); no call throws.
 */
export interface BmcGateway {
  /** The BMC's origin, e.g. `https://10.20.0.7`, for logs and cards (never credentials). */
  readonly endpoint: string;
  /** Reads the host's power state. Judge it with `isOff` (src/domain/power.ts): BMC_SAYS_ON is the use case's to decide. */
  readPower(opts?: { signal?: AbortSignal }): Promise<Outcome<BmcReading>>;
  /**
   * Powers the host off (the strongest off the system allows: `strongestHardOff`)
   * and polls its power state until Off or `timeoutMs` after the reset was
   * sent (BMC_POWER_OFF_TIMEOUT). A host that already reads Off is not reset.
   */
  powerOff(opts: PowerOffOptions): Promise<Outcome<PowerOffResult>>;
}

export interface PowerOffOptions {
  /** How long to wait for Off once the reset is accepted (FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS). */
  timeoutMs: number;
  /** Each power state read while waiting for Off (the first one before the reset), e.g. for a progress line. Its errors are ignored. */
  onProgress?: (powerState: PowerState, reading: BmcReading) => void;
  /** Stops waiting (and any request in flight); the outcome is then a failure. */
  signal?: AbortSignal;
}

export interface PowerOffResult {
  /** The reset sent, or `null` when the host already read Off (nothing sent). */
  resetType: PowerOffResetType | null;
  /** The reset asks the OS (GracefulShutdown, PushPowerButton) rather than cutting power. */
  graceful: boolean;
  /** When the reset was accepted (ms since the epoch), or `null` when none was sent. */
  sentAt: number | null;
  /** When the BMC was first seen reporting Off (ms since the epoch). */
  offAt: number;
  /** The reading that said Off. */
  reading: BmcReading;
}

/** The BMC of `host` in `cloud`, or `undefined` when the host has no BMC entry (it works as without BMCs). Host names compare case-insensitively. */
export type BmcLookup = (cloud: string, host: string) => BmcGateway | undefined;
