import { fail, succeed, type Outcome } from '../domain/failure.js';
import type { FenceChoice } from '../domain/fencing.js';
import { describePowerState, isOff, type BmcReading, type PowerState } from '../domain/power.js';
import type { ComputeService } from '../domain/service.js';
import type { BmcGateway } from './bmc-port.js';
import { watchHeartbeat, type HeartbeatWait } from './heartbeat.js';
import type { NovaGateway } from './ports.js';

/**
 * The evidence a force-down went ahead on (Slack, auto mode and CLI alike),
 * recorded on the outcome and in the audit line.
 */
export interface FenceEvidence {
  /** Nova's record of the host when the checks passed (none read with --ignore-heartbeat and no BMC Off). */
  service?: ComputeService;
  /** How long the heartbeat watch waited (0: no wait, e.g. the BMC read Off). */
  waitedMs: number;
  /** What the BMC said, when the host has one and it was read. */
  bmc?: BmcEvidence;
}

export interface BmcEvidence {
  /** The last power state read (Off whenever the force-down went ahead on it). */
  powerState: PowerState;
  /** When it was read (ms). */
  readAt: number;
  /** Power off now: the reset type sent, when it was sent, and when Off was seen (ms). */
  reset?: { resetType: string; sentAt: number; offAt: number };
}

/** What the checks tell their caller while they work (the card's "⏳ …" line, the CLI's stderr). */
export type FenceProgress =
  | { kind: 'heartbeat-wait'; wait: HeartbeatWait }
  | { kind: 'powering-off'; powerState: PowerState };

export interface FenceCheckInput {
  host: string;
  binary: string;
  /** How the approver says the host is fenced, or `power-off` (force-down powers it off now). */
  method: FenceChoice | undefined;
  /** When the fence was confirmed (ms); a heartbeat after it refuses. */
  confirmedAtMs: number;
}

export interface FenceCheckOptions {
  /** FORCE_DOWN_HEARTBEAT_WAIT_SECONDS in ms; undefined: no heartbeat watch (--ignore-heartbeat). */
  heartbeatWaitMs: number | undefined;
  /** FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS in ms. */
  powerOffTimeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Progress; its failure never stops the checks. */
  onProgress?: (progress: FenceProgress) => unknown;
}

/**
 * The checks before a force-down, in the order the evidence is strongest:
 *
 * - **power-off** (force-down fences the host itself): `ComputerSystem.Reset`
 *   via the host's BMC, then `PowerState` read until `Off`; only then on,
 *   with no heartbeat wait, but a heartbeat after `Off` still refuses (the
 *   BMC powered off some other machine, or lies).
 * - **a host with a BMC**: its `PowerState` is read. `Off` is evidence that
 *   beats the heartbeat wait (a heartbeat after the confirmation still
 *   refuses). Anything else refuses when the approver said the BMC powered it
 *   off (`BMC_SAYS_ON`), and an unreadable BMC refuses too (`BMC_UNREACHABLE`):
 *   the word was "the BMC says off", and nobody could check it. For the other
 *   methods (a PDU outlet, switch ports, …) a host may well be On: the reading
 *   is shown, the heartbeat watch decides.
 * - otherwise: the heartbeat watch (src/app/heartbeat.ts).
 *
 * Never throws for an expected failure; Nova's PUT is the caller's.
 */
export async function checkFence(
  nova: Pick<NovaGateway, 'getService'>,
  bmc: BmcGateway | undefined,
  input: FenceCheckInput,
  opts: FenceCheckOptions,
): Promise<Outcome<FenceEvidence>> {
  const tell = async (p: FenceProgress) => {
    try {
      await opts.onProgress?.(p);
    } catch {
      // Progress only: the checks go on.
    }
  };
  const watch = (waitMs: number, confirmedAtMs: number) =>
    watchHeartbeat(nova, input.host, input.binary, {
      waitMs,
      now: opts.now,
      sleep: opts.sleep,
      confirmedAtMs,
      onWait: (wait) => tell({ kind: 'heartbeat-wait', wait }),
    });

  if (input.method === 'power-off') {
    if (!bmc) {
      return fail({ code: 'BMC_CONFIG', message: `${input.host} has no BMC configured (bmc.<cloud> in the secret document): force-down cannot power it off; fence it another way` });
    }
    const off = await bmc.powerOff({
      timeoutMs: opts.powerOffTimeoutMs,
      onProgress: (powerState) => void tell({ kind: 'powering-off', powerState }),
    });
    if (!off.ok) return off;
    const { resetType, sentAt, offAt } = off.value;
    const checked = await watch(0, Math.max(input.confirmedAtMs, offAt));
    if (!checked.ok) return checked;
    return succeed({
      service: checked.value.service,
      waitedMs: 0,
      // A host that already read Off was not reset: the reading is the evidence.
      bmc: { powerState: 'Off', readAt: offAt, ...(resetType !== null && sentAt !== null ? { reset: { resetType, sentAt, offAt } } : {}) },
    });
  }

  if (bmc) {
    const read = await bmc.readPower();
    if (read.ok && isOff(read.value)) {
      const checked = await watch(0, input.confirmedAtMs);
      if (!checked.ok) return checked;
      return succeed({ service: checked.value.service, waitedMs: 0, bmc: evidenceOf(read.value) });
    }
    if (input.method === 'bmc') {
      if (!read.ok) return read;
      return fail({
        code: 'BMC_SAYS_ON',
        message: `${input.host}'s BMC reports power ${describePowerState(read.value.powerState)}, not Off: it is not fenced`,
        request: `GET ${read.value.system}`,
      });
    }
    // Another method: the BMC's word (or silence) is shown; the heartbeat watch decides.
    if (opts.heartbeatWaitMs === undefined) return succeed({ waitedMs: 0, ...(read.ok ? { bmc: evidenceOf(read.value) } : {}) });
    const watched = await watch(opts.heartbeatWaitMs, input.confirmedAtMs);
    if (!watched.ok) return watched;
    return succeed({ ...watched.value, ...(read.ok ? { bmc: evidenceOf(read.value) } : {}) });
  }

  if (opts.heartbeatWaitMs === undefined) return succeed({ waitedMs: 0 });
  const watched = await watch(opts.heartbeatWaitMs, input.confirmedAtMs);
  return watched.ok ? succeed(watched.value) : watched;
}

function evidenceOf(reading: BmcReading): BmcEvidence {
  return { powerState: reading.powerState, readAt: reading.readAt };
}

