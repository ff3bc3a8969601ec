import type { ComputeService } from './service.js';
import { parseUtc } from './time.js';

/**
 * The heartbeat watch: Nova's own evidence against a fence confirmation.
 *
 * A live nova-compute reports to Nova every `report_interval` (10 s by
 * default), moving its service row's `last_seen_up` and `updated_at`; Nova
 * calls a service `down` once `last_seen_up` is older than `service_down_time`
 * (60 s), or when it is forced down. A fenced host cannot report, so a
 * heartbeat newer than the one first seen, or than the confirmation, proves the
 * host is not fenced.
 *
 * The API shows `updated_at` only, which also moves on an administrator's
 * change (disable, enable, unset forced_down). So a service that Nova already
 * counts `down` without being forced down has been silent for at least
 * `service_down_time` whatever its `updated_at` says; only a service Nova
 * counts `up`, or one already forced down, is watched by `updated_at`.
 *
 * Times from Nova are Nova's clock, `now` is ours: comparing a heartbeat with
 * the first one seen is skew-free; ages are as good as the two clocks agree.
 */

/** Nova's `service_down_time` default: a heartbeat older than this makes a service `down`. */
export const NOVA_SERVICE_DOWN_TIME_MS = 60_000;

/** Default of FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: twice Nova's default `report_interval` (10 s). */
export const DEFAULT_HEARTBEAT_WAIT_MS = 20_000;

/** The service's last heartbeat as Nova shows it (`updated_at`), in ms since the epoch. */
export function lastHeartbeatMs(service: Pick<ComputeService, 'updatedAt'>): number | undefined {
  return parseUtc(service.updatedAt);
}

/** Nova itself counts the service silent: `down` without being forced down (its heartbeat is older than service_down_time). */
function novaSaysSilent(service: Pick<ComputeService, 'state' | 'forcedDown'>): boolean {
  return !service.forcedDown && service.state === 'down';
}

/**
 * A heartbeat recent enough that the host may well be alive: what the card and
 * the modal warn about (⚠). The age in ms when the service is not known silent
 * and its last heartbeat is younger than Nova's `service_down_time`.
 */
export function recentHeartbeatAgeMs(service: Pick<ComputeService, 'state' | 'forcedDown' | 'updatedAt'>, now: number): number | undefined {
  if (service.forcedDown || novaSaysSilent(service)) return undefined;
  const last = lastHeartbeatMs(service);
  if (last === undefined) return undefined;
  const age = now - last;
  return age < NOVA_SERVICE_DOWN_TIME_MS ? Math.max(0, age) : undefined;
}

export type HeartbeatJudgement =
  /** Nova has not heard from the host for the wait: the force-down may go ahead. */
  | { kind: 'silent' }
  /** Too recent to tell: read Nova again, until `untilMs` (our clock) has passed with no newer heartbeat. */
  | { kind: 'wait'; lastMs: number; untilMs: number }
  /** Nova heard from the host after the first heartbeat seen, or after the confirmation: it is not fenced. */
  | { kind: 'alive'; lastMs: number; why: 'new-heartbeat' | 'after-confirmation' };

export interface JudgeOptions {
  now: number;
  /** How long Nova must not have heard from the host (FORCE_DOWN_HEARTBEAT_WAIT_SECONDS). */
  waitMs: number;
  /** The first heartbeat seen by this watch (ms); later reads compare with it. */
  firstSeenMs?: number;
  /** When the fence was confirmed (ms, our clock). */
  confirmedAtMs?: number;
}

/** One step of the watch, on one reading of Nova's service record. Pure. */
export function judgeHeartbeat(service: Pick<ComputeService, 'state' | 'forcedDown' | 'updatedAt'>, opts: JudgeOptions): HeartbeatJudgement {
  if (novaSaysSilent(service)) return { kind: 'silent' };
  const last = lastHeartbeatMs(service);
  if (last === undefined) return { kind: 'silent' }; // never reported
  if (opts.firstSeenMs !== undefined && last > opts.firstSeenMs) return { kind: 'alive', lastMs: last, why: 'new-heartbeat' };
  if (opts.confirmedAtMs !== undefined && last > opts.confirmedAtMs) return { kind: 'alive', lastMs: last, why: 'after-confirmation' };
  const untilMs = last + opts.waitMs;
  return opts.now >= untilMs ? { kind: 'silent' } : { kind: 'wait', lastMs: last, untilMs };
}
