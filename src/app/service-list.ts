import type { Outcome } from '../domain/failure.js';
import type { ComputeService } from '../domain/service.js';
import type { NovaGateway } from './ports.js';

/**
 * How long one Nova service list answers every recovery check of its cloud.
 * A resolved alert only asks "is this host forced down?": a few seconds' old
 * answer is as good, and a burst of resolved webhooks (200 in a second) costs
 * one list instead of 200.
 */
export const SHARED_LIST_TTL_MS = 5_000;

interface Entry {
  list: Promise<Outcome<ComputeService[]>>;
  /** When the list settled (our clock); undefined while it is in flight. */
  settledAt?: number;
}

/** Per gateway (one per cloud and runtime): the list in flight, or the last one while it is fresh. */
const lists = new WeakMap<NovaGateway, Entry>();

/**
 * Nova's compute services, shared: at most one list in
 * flight per cloud (callers meanwhile wait for it: single flight), then reused
 * for `ttlMs` after it settled, failures included (a Nova that is down is not
 * asked again by every waiting check). A list that throws is not kept.
 *
 * For recovery checks and a card's first post only: never for decisions that
 * need Nova's state now (the worker's checks before a force-down read Nova
 * themselves), nor for a card's updates (a list older than the one it shows
 * could take back what it says).
 */
export function sharedComputeServices(nova: NovaGateway, now: () => number, ttlMs = SHARED_LIST_TTL_MS): Promise<Outcome<ComputeService[]>> {
  const entry = lists.get(nova);
  if (entry && (entry.settledAt === undefined || now() - entry.settledAt < ttlMs)) return entry.list;
  const fresh: Entry = { list: nova.listComputeServices() };
  lists.set(nova, fresh);
  fresh.list.then(
    () => void (fresh.settledAt = now()),
    () => void (lists.get(nova) === fresh && lists.delete(nova)),
  );
  return fresh.list;
}

/**
 * Forgets `nova`'s shared list: its cloud's services just changed (a force-down
 * or an unset by this process), so the next check reads Nova again. Callers
 * already waiting for a list in flight keep it: they asked before the change.
 */
export function forgetComputeServices(nova: NovaGateway): void {
  lists.delete(nova);
}
