import { foldHost } from '../domain/host.js';
import type { ForceDownRequest } from '../domain/request.js';
import type { AppDeps } from './ports.js';

/**
 * Nothing is forgotten: a host force-down forced down and nobody unset is
 * brought up again in its card's thread.
 *
 * From force-down's own records, a host is forced down when its latest
 * succeeded request (by the time it succeeded) for the same cloud and host is
 * a force-down; since the first force-down after the last succeeded unset.
 * The sweep reminds of it in its card's thread once per period
 * (FORCE_DOWN_REMIND_HOURS): period n (n ≥ 1) starts when it has been forced
 * down n periods, and `store.markReminded` (a compare-and-set) lets exactly
 * one of any number of sweeps remind for it. Before reminding, Nova's list is
 * read (one `listComputeServices` per cloud with a reminder due, per sweep):
 * a host Nova no longer has forced down (unset by hand) or no longer lists is
 * not reminded of; when Nova cannot be read, our records decide.
 */

/** A host forced down by force-down, as its records say. */
export interface ForcedDownHost {
  cloud: string;
  host: string;
  /** When it was forced down (epoch ms): the first succeeded force-down after the last succeeded unset. */
  since: number;
  /** The latest succeeded force-down of the host: its card's thread gets the reminders. */
  request: ForceDownRequest;
}

/** When `request` succeeded (its last `succeeded` history entry, else its `updatedAt`), epoch ms. */
function succeededAt(request: ForceDownRequest): number {
  for (let i = request.history.length - 1; i >= 0; i--) {
    const entry = request.history[i];
    if (entry?.state === 'succeeded') return Date.parse(entry.at);
  }
  return Date.parse(request.updatedAt);
}

/** The key of a (cloud, host): host names are compared case-folded, as the locks do. */
export const hostKey = (cloud: string, host: string) => `${cloud}\u0000${foldHost(host)}`;

/**
 * Every host force-down's records say is forced down (optionally in `cloud`
 * only), by `cloud` + NUL + lower-cased host.
 */
export async function forcedDownHosts(deps: Pick<AppDeps, 'store'>, cloud?: string): Promise<Map<string, ForcedDownHost>> {
  const succeeded = (await deps.store.listByState('succeeded'))
    .filter((r) => cloud === undefined || r.cloud === cloud)
    .map((r) => ({ r, at: succeededAt(r) }))
    .filter((e) => Number.isFinite(e.at))
    .sort((a, b) => a.at - b.at || a.r.id.localeCompare(b.r.id));
  const down = new Map<string, ForcedDownHost>();
  for (const { r, at } of succeeded) {
    const key = hostKey(r.cloud, r.host);
    if (r.action === 'unset') down.delete(key);
    else {
      const known = down.get(key);
      down.set(key, { cloud: r.cloud, host: r.host, since: known?.since ?? at, request: r });
    }
  }
  return down;
}

/** When `cloud`'s hosts were forced down by force-down (epoch ms), by lower-cased host: for `/force-down list`. */
export async function forcedDownSince(deps: Pick<AppDeps, 'store'>, cloud: string): Promise<Map<string, number>> {
  const since = new Map<string, number>();
  for (const h of (await forcedDownHosts(deps, cloud)).values()) since.set(foldHost(h.host), h.since);
  return since;
}

/**
 * The sweep's reminders: each host forced down for at least one period whose
 * current period was not reminded of yet gets one line in its card's thread.
 * Returns how many were sent. Does nothing without `deps.remindEveryMs`.
 */
export async function remindForcedDown(deps: AppDeps): Promise<number> {
  const every = deps.remindEveryMs;
  if (every === undefined || !(every > 0)) return 0;
  const now = deps.now();
  const due = [...(await forcedDownHosts(deps)).values()].filter((h) => now - h.since >= every);
  if (due.length === 0) return 0;

  // Nova's current view, once per cloud with a reminder due: a host unset by hand is not nagged about.
  const novaForcedDown = new Map<string, Set<string> | undefined>();
  for (const cloud of new Set(due.map((h) => h.cloud))) {
    const nova = deps.nova(cloud);
    const listed = nova ? await nova.listComputeServices() : undefined;
    if (listed?.ok) novaForcedDown.set(cloud, new Set(listed.value.filter((s) => s.forcedDown).map((s) => foldHost(s.host))));
    else {
      novaForcedDown.set(cloud, undefined);
      if (listed) deps.log.warn('reminders: Nova not read, reminding from our records', { cloud, code: listed.failure.code });
    }
  }

  let sent = 0;
  for (const h of due) {
    const inNova = novaForcedDown.get(h.cloud);
    if (inNova && !inNova.has(foldHost(h.host))) continue;
    const period = Math.floor((now - h.since) / every);
    if (!(await deps.store.markReminded(h.request.id, period))) continue;
    await deps.notifier.remind(h.request, now - h.since);
    sent++;
  }
  return sent;
}
