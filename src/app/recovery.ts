import { enteredAt, type ForceDownRequest, type NovaOutcome } from '../domain/request.js';
import { cloudGone, errorName, iso, viewOf } from './outcomes.js';
import type { AppDeps, HostView } from './ports.js';
import { confirmationAgeMs, readCardView, staleOutcome } from './requests.js';

/**
 * How long a request may stay in `executing` before the sweep takes its worker
 * for dead. A force-down is at most three sequential HTTP calls (Keystone
 * token; version document and service lookup together; the PUT), each at most
 * 3 attempts × (3 s connect + 10 s headers + 10 s body) plus ≤ 0.6 s of backoff
 * with the default settings of src/openstack/http.ts: ≈ 3.5 minutes. The bound
 * is over twice that, and equal to a Lambda function's maximum run time, so no
 * live worker invocation can still be waiting for Nova when it passes.
 */
export const STALE_EXECUTING_MS = 15 * 60_000;

/** Why the recovered request failed, for the audit thread (the card says the code's words). */
export const WORKER_STOPPED_DETAIL = 'worker stopped before Nova answered; confirm again to retry';

export interface RecoveryOptions {
  /** Requests in `executing` for longer than this are recovered (default {@link STALE_EXECUTING_MS}). */
  olderThanMs?: number;
  /**
   * Also recover requests that entered `executing` before this instant (epoch
   * ms), however recently: the local bot passes its start time, since a
   * restarted process runs no job of the one before it.
   */
  orphanedBefore?: number;
}

/** When the request last entered `executing` (epoch ms). */
function executingSince(request: ForceDownRequest): number {
  return enteredAt(request, 'executing') ?? Date.parse(request.updatedAt);
}

/**
 * Worker (sweep): settles requests whose worker stopped between `executing`
 * and Nova's answer (a crash, a Lambda timeout, a kill -9), so that none is
 * left showing "⏳ forcing down…" for ever. For each stale one it re-reads
 * Nova's `forced_down` for the host:
 *
 * - Nova shows the wanted state (the PUT landed before the worker died):
 *   `succeeded`, outcome OK.
 * - Nova shows the other state: `failed` with NOVA_UNAVAILABLE and
 *   "worker stopped before Nova answered; confirm again to retry".
 * - Nova cannot be read: `failed` with the lookup's code; confirming again is
 *   safe either way (setting forced_down is idempotent).
 *
 * Every move is a compare-and-set from `executing`: a worker that was only
 * slow and answers after all loses it (and shows the recovered state), and two
 * sweeps at once settle a request once. The card is re-rendered and the
 * thread gets the audit line. Returns how many requests were settled.
 */
export async function recoverStaleExecuting(deps: AppDeps, options: RecoveryOptions = {}): Promise<number> {
  const olderThan = options.olderThanMs ?? STALE_EXECUTING_MS;
  const now = deps.now();
  let settled = 0;
  for (const request of await deps.store.listByState('executing')) {
    const since = executingSince(request);
    const stale = now - since > olderThan || (options.orphanedBefore !== undefined && since < options.orphanedBefore);
    if (!stale) continue;
    if (await recoverOne(deps, request)) settled++;
  }
  return settled;
}

async function recoverOne(deps: AppDeps, request: ForceDownRequest): Promise<boolean> {
  const wanted = request.action === 'force-down';
  const nova = deps.nova(request.cloud);
  let view: HostView | undefined;
  let outcome: NovaOutcome;
  if (!nova) {
    outcome = cloudGone(request.cloud, WORKER_STOPPED_DETAIL);
  } else {
    const read = await nova.getService(request.host, request.binary);
    view = viewOf(read);
    if (!read.ok) {
      outcome = {
        code: read.failure.code,
        message: `the worker stopped before Nova answered, and Nova's state could not be read (${read.failure.message}); check the host in Nova, then confirm again to retry`,
        detail: WORKER_STOPPED_DETAIL,
        request: 'GET /os-services',
        ...(read.failure.status !== undefined ? { status: read.failure.status } : {}),
      };
    } else {
      outcome =
        read.value.forcedDown === wanted
          ? {
              code: 'OK',
              message: `${wanted ? 'forced down' : 'forced_down unset'} (Nova shows it; the worker stopped before recording Nova's answer)`,
              request: 'GET /os-services',
            }
          : {
              code: 'NOVA_UNAVAILABLE',
              message: `the worker stopped before Nova answered; Nova shows forced_down=${String(read.value.forcedDown)}; confirm again to retry`,
              detail: WORKER_STOPPED_DETAIL,
              request: 'GET /os-services',
            };
    }
  }
  const to = outcome.code === 'OK' ? 'succeeded' : 'failed';
  const res = await deps.store.transition(request.id, ['executing'], to, iso(deps.now()), { outcome });
  if (!res.ok) return false; // the worker answered after all, or another sweep got there first
  const final = res.request;
  deps.log.warn('recovered a request left executing', { requestId: final.id, host: final.host, action: final.action, state: final.state, outcome: outcome.code });
  try {
    // A grouped request's card is its row in the group's message (alert storms), as executeRequest renders it.
    await deps.cards.request(final, await readCardView(deps, final, view ? { host: view } : {}));
    await deps.notifier.audit(final, final.history.at(-1)!);
  } catch (err) {
    // The store has the outcome; the next render of this card (or the logs) will show it.
    deps.log.error('recovered request: card not updated', { requestId: final.id, error: errorName(err) });
  }
  return true;
}

/** How long a confirmed request may wait for its execute job before the sweep steps in. */
export const APPROVED_GRACE_MS = 2 * 60_000;

/**
 * Worker (sweep): requests confirmed (`approved`) whose execute job never
 * started — Lambda's Invoke throttled or failing, the job dead-lettered, the
 * local process gone with its queue. Each one `approved` for longer than
 * `graceMs` (or, locally, since before this process started):
 *
 * - while its confirmation is fresh (younger than
 *   FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS), its execute job is enqueued
 *   again (a duplicate is harmless: only one job wins approved → executing),
 *   and its card shows it is confirmed but not started, with **Cancel**;
 * - once the confirmation is stale, it ends `failed` with CONFIRMATION_STALE
 *   (Nova not called) and the card offers **Retry…**, a new confirmation.
 *
 * Returns what it did, for the log.
 */
export async function recoverStuckApproved(deps: AppDeps, options: RecoveryOptions & { graceMs?: number } = {}): Promise<{ requeued: number; failed: number }> {
  const grace = options.graceMs ?? APPROVED_GRACE_MS;
  const now = deps.now();
  const done = { requeued: 0, failed: 0 };
  for (const request of await deps.store.listByState('approved')) {
    const since = enteredAt(request, 'approved') ?? Date.parse(request.updatedAt);
    const stuck = now - since > grace || (options.orphanedBefore !== undefined && since < options.orphanedBefore);
    if (!stuck) continue;
    const age = confirmationAgeMs(request, now);
    if (age !== undefined && age <= deps.safety.confirmationMaxAgeMs) {
      deps.log.warn('execute job never started: enqueued again', { requestId: request.id, host: request.host, action: request.action });
      try {
        await deps.enqueue({ kind: 'execute', id: request.id });
        done.requeued++;
        await deps.cards.request(request, await readCardView(deps, request));
      } catch (err) {
        deps.log.error('execute job not enqueued again; the next sweep tries again', { requestId: request.id, error: errorName(err) });
      }
      continue;
    }
    const outcome = staleOutcome(deps, request, `the ${request.action} job never started`);
    const res = await deps.store.transition(request.id, ['approved'], 'failed', iso(deps.now()), { outcome });
    if (!res.ok) continue; // it started after all, or was cancelled
    done.failed++;
    deps.log.warn('execute job never started; request failed', { requestId: request.id, host: request.host, action: request.action, outcome: outcome.code });
    try {
      await deps.cards.request(res.request, await readCardView(deps, res.request));
      await deps.notifier.audit(res.request, res.request.history.at(-1)!);
    } catch (err) {
      deps.log.error('stuck request: card not updated', { requestId: request.id, error: errorName(err) });
    }
  }
  return done;
}
