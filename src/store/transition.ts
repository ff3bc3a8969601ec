import { foldHost } from '../domain/host.js';
import { holdsLock, lockKey, type ForceDownRequest, type HistoryEntry, type RequestGroup, type RequestState } from '../domain/request.js';
import { MAX_OPEN_FORMS, type TransitionGuard, type TransitionPatch } from '../app/store-port.js';

/** The patch keys a transition may set. Anything else a caller passes at run time is ignored. */
export const PATCH_KEYS = ['confirmation', 'outcome', 'messageTs'] as const;

/** The defined entries of `patch`, restricted to {@link PATCH_KEYS} (an `undefined` value leaves the field alone). */
export function definedPatch(patch: TransitionPatch | undefined): TransitionPatch {
  const out: Record<string, unknown> = {};
  for (const key of PATCH_KEYS) {
    if (patch?.[key] !== undefined) out[key] = patch[key];
  }
  return out as TransitionPatch;
}

export function historyEntry(to: RequestState, at: string, by: string | undefined): HistoryEntry {
  return by === undefined ? { state: to, at } : { state: to, at, by };
}

/** The request after a successful transition (the caller has already checked the from-state and any guard): no open form survives it. */
export function applyTransition(request: ForceDownRequest, to: RequestState, at: string, patch?: TransitionPatch, by?: string): ForceDownRequest {
  const { openForms: _dropped, ...rest } = request;
  return { ...rest, ...definedPatch(patch), state: to, updatedAt: at, history: [...request.history, historyEntry(to, at, by)] };
}

/** Whether `request` may take a transition guarded by `guard` (its state checked separately). */
export function passesGuard(request: ForceDownRequest, guard: TransitionGuard | undefined): boolean {
  return guard?.form === undefined || (request.openForms ?? []).includes(guard.form);
}

/** The request with `form` open too; at {@link MAX_OPEN_FORMS} it replaces the open ones. See `RequestStore.recordForm`. */
export function applyForm(request: ForceDownRequest, form: string): ForceDownRequest {
  const open = request.openForms ?? [];
  return { ...request, openForms: open.length >= MAX_OPEN_FORMS ? [form] : [...open, form] };
}

/**
 * Whether `request` is the rightful holder of the lock `key`. A lock naming a
 * request that is gone, no longer open, or (after manual edits) of another
 * (cloud, host, action) is stale and may be taken over.
 */
export function isLockHolder(request: ForceDownRequest | undefined, key: string): request is ForceDownRequest {
  return request !== undefined && holdsLock(request.state) && lockKey(request) === key;
}

/** A deep copy through JSON: what a persistent store would give back (no shared references, no `undefined` fields). */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * `at` in `Date#toISOString` form (UTC, milliseconds), in which string order is
 * time order: how `recordSeen` stores and compares `seen.lastAt` (DynamoDB can
 * only compare the strings), and how `markAlertResolved` stores
 * `alertResolvedAt`. A RangeError when `at` does not parse; `what` names the
 * caller and argument in its message.
 */
export function canonicalInstant(at: string, what = 'recordSeen: at'): string {
  const ms = Date.parse(at);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is not a timestamp: ${JSON.stringify(at)}`);
  return new Date(ms).toISOString();
}

/** The request after one more receipt of its alert at `at` (canonical, see {@link canonicalInstant}); see `RequestStore.recordSeen`. */
export function applySeen(request: ForceDownRequest, at: string): ForceDownRequest {
  const prior = request.seen;
  const lastAt = prior === undefined || at > prior.lastAt ? at : prior.lastAt;
  return { ...request, seen: { count: (prior?.count ?? 1) + 1, lastAt } };
}

/** The request with its alert resolved at `at` (canonical), unless an earlier call already set it (the first wins); see `RequestStore.markAlertResolved`. */
export function applyAlertResolved(request: ForceDownRequest, at: string): ForceDownRequest {
  return request.alertResolvedAt === undefined ? { ...request, alertResolvedAt: at } : request;
}

/** `ids` without repeats, first occurrence kept, in order. */
export function uniqueIds(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/** `members` with the ids of `add` it lacks appended, in order, each once; see `RequestStore.addToGroup`. */
export function appendMembers(members: readonly string[], add: readonly string[]): string[] {
  const have = new Set(members);
  return [...members, ...uniqueIds(add).filter((id) => !have.has(id))];
}

/**
 * `group.createdAt` as epoch ms, the order `findRecentGroup` sorts by. A
 * RangeError when it does not parse: a group that cannot be ordered is refused
 * at `createGroup`.
 */
export function groupCreatedMs(group: Pick<RequestGroup, 'id' | 'createdAt'>): number {
  const ms = Date.parse(group.createdAt);
  if (!Number.isFinite(ms)) throw new RangeError(`createGroup: group ${group.id} createdAt is not a timestamp: ${JSON.stringify(group.createdAt)}`);
  return ms;
}

/** `since` of `findRecentGroup` as epoch ms; a RangeError when it does not parse. */
export function sinceMs(since: string): number {
  const ms = Date.parse(since);
  if (!Number.isFinite(ms)) throw new RangeError(`findRecentGroup: since is not a timestamp: ${JSON.stringify(since)}`);
  return ms;
}

/** Rows a group has taken: its `reserved`, or its members when unset (a group recorded before reservations). */
export function reservedOf(group: Pick<RequestGroup, 'members' | 'reserved'>): number {
  return group.reserved ?? group.members.length;
}

/** How many of `wanted` rows group `group` grants under `limits`; see `RequestStore.reserveGroupSlots`. */
export function slotsGranted(group: Pick<RequestGroup, 'members' | 'reserved'>, wanted: number, limits: { max: number; allowed?: number }): number {
  const room = whole(limits.max) - reservedOf(group);
  return Math.max(0, Math.min(whole(wanted), limits.allowed === undefined ? Infinity : whole(limits.allowed), room));
}

/** `group` after reserving `granted` of `wanted` rows: the grant added to `reserved`, the rest to `overflow`. */
export function applyReservation(group: RequestGroup, wanted: number, granted: number): RequestGroup {
  if (whole(wanted) === 0) return group; // nothing asked: nothing written
  return { ...group, reserved: reservedOf(group) + granted, overflow: (group.overflow ?? 0) + whole(wanted) - granted };
}

/** How many of `wanted` a counter at `used` can still give under `limit`; see `RequestStore.takeQuota`. */
export function quotaGranted(used: number, wanted: number, limit: number): number {
  return Math.max(0, Math.min(whole(wanted), whole(limit) - used));
}

/** A count: a non-negative integer or Infinity (a fraction rounds down; anything else is 0). */
function whole(n: number): number {
  if (n === Infinity) return n;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** The instant `expiresAt` of `takeQuota` as epoch ms; a RangeError when it does not parse. */
export function quotaExpiryMs(expiresAt: string): number {
  const ms = Date.parse(expiresAt);
  if (!Number.isFinite(ms)) throw new RangeError(`takeQuota: expiresAt is not a timestamp: ${JSON.stringify(expiresAt)}`);
  return ms;
}

/**
 * The request with its host spelled as Nova spells it (see
 * `RequestStore.setNovaHost`), or undefined when it is to stay as it is (not
 * pending, or already spelled so). A RangeError when `host` is not the same
 * name case-folded.
 */
export function applyNovaHost(request: ForceDownRequest, host: string): ForceDownRequest | undefined {
  if (foldHost(host) !== foldHost(request.host)) {
    throw new RangeError(`setNovaHost: ${JSON.stringify(host)} is not ${JSON.stringify(request.host)} spelled otherwise`);
  }
  if (request.state !== 'pending' || request.host === host) return undefined;
  return { ...request, host, requestedHost: request.requestedHost ?? request.host };
}

/** `markReminded`'s period, checked: a positive safe integer (a RangeError otherwise). */
export function reminderPeriod(period: number): number {
  if (!Number.isSafeInteger(period) || period < 1) throw new RangeError(`markReminded: period must be a positive integer, got ${String(period)}`);
  return period;
}
