import { fail, succeed, type Outcome } from '../domain/failure.js';
import { judgeHeartbeat } from '../domain/heartbeat.js';
import type { ComputeService } from '../domain/service.js';
import type { NovaGateway } from './ports.js';

/** How often the watch reads Nova again while it waits. */
export const HEARTBEAT_POLL_MS = 2_000;

/** What the watch tells its caller when it starts waiting (the card's "⏳ waiting…", the CLI's stderr line). */
export interface HeartbeatWait {
  service: ComputeService;
  /** Nova's last heartbeat, ms since the epoch. */
  lastMs: number;
  /** When the watch decides, if nothing new is heard (our clock, ms). */
  untilMs: number;
}

export interface HeartbeatWatchOptions {
  /** FORCE_DOWN_HEARTBEAT_WAIT_SECONDS in ms. */
  waitMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** When the fence was confirmed (ms); a heartbeat after it refuses. */
  confirmedAtMs?: number;
  /** Called once, when the watch starts waiting. Its failure never stops the watch. */
  onWait?: (wait: HeartbeatWait) => unknown;
  pollMs?: number;
}

/**
 * Before a force-down (Slack, auto mode and CLI alike): requires that Nova has
 * not heard from `host` for `waitMs`. A heartbeat that is too recent is
 * watched, reading Nova again every {@link HEARTBEAT_POLL_MS}, until that much
 * time has passed since it; a newer heartbeat, or one newer than the
 * confirmation, is the host alive: HOST_STILL_REPORTING. A failed lookup is
 * returned as it is (the caller does not call Nova's PUT on it either).
 */
export async function watchHeartbeat(
  nova: Pick<NovaGateway, 'getService'>,
  host: string,
  binary: string,
  opts: HeartbeatWatchOptions,
): Promise<Outcome<{ service: ComputeService; waitedMs: number }>> {
  const started = opts.now();
  const poll = opts.pollMs ?? HEARTBEAT_POLL_MS;
  let firstSeenMs: number | undefined;
  let told = false;
  for (;;) {
    const read = await nova.getService(host, binary);
    if (!read.ok) return read;
    const now = opts.now();
    const verdict = judgeHeartbeat(read.value, {
      now,
      waitMs: opts.waitMs,
      ...(firstSeenMs !== undefined ? { firstSeenMs } : {}),
      ...(opts.confirmedAtMs !== undefined ? { confirmedAtMs: opts.confirmedAtMs } : {}),
    });
    switch (verdict.kind) {
      case 'silent':
        return succeed({ service: read.value, waitedMs: now - started });
      case 'alive': {
        const ageSeconds = Math.max(0, Math.round((now - verdict.lastMs) / 1000));
        return fail({
          code: 'HOST_STILL_REPORTING',
          message: `${host} still reports to Nova (last heartbeat ${ageSeconds} s ago${verdict.why === 'after-confirmation' ? ', after the fence was confirmed' : ''})`,
          request: 'GET /os-services',
          ageSeconds,
        });
      }
      case 'wait':
        firstSeenMs ??= verdict.lastMs;
        if (!told) {
          told = true;
          try {
            await opts.onWait?.({ service: read.value, lastMs: verdict.lastMs, untilMs: verdict.untilMs });
          } catch {
            // Progress only (a card update, a stderr line): the watch goes on.
          }
        }
        await opts.sleep(Math.max(1, Math.min(poll, verdict.untilMs - opts.now())));
    }
  }
}
