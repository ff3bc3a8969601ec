import type { Evacuation, InstanceEvacuationState, InstancePatch, RoundDecision } from '../domain/evacuation.js';
import type { ForceDownRequest, RequestGroup, RequestState } from '../domain/request.js';

export type CreateResult = { created: true; request: ForceDownRequest } | { created: false; existing: ForceDownRequest };

export type TransitionResult = { ok: true; request: ForceDownRequest } | { ok: false; current: ForceDownRequest | undefined };

/** What else a transition requires: `form`, the confirmation form it consumes (see `RequestStore.recordForm`). */
export interface TransitionGuard {
  form?: string;
}

/** The most confirmation forms a request keeps open; recording one more replaces them all. */
export const MAX_OPEN_FORMS = 20;

/** Fields a transition may set besides `state`, `updatedAt` and a history entry. */
export type TransitionPatch = Partial<Pick<ForceDownRequest, 'confirmation' | 'outcome' | 'messageTs'>>;

/**
 * A group as the store keeps it: the domain's record, and `messages`, the
 * display's references to where the group is shown (its page messages, in
 * order, empty until posted). They are the display's alone (src/slack/cards.ts
 * writes and reads them); the use cases and the domain never look at them.
 * The stored field keeps the name `messages`, so groups already stored read.
 */
export type StoredGroup = RequestGroup & { messages: string[] };

/** A group to record: `messages` only when it is shown already (default none). */
export type NewGroup = RequestGroup & { messages?: readonly string[] };

/** `createEvacuation`'s answer: the one evacuation of the request, new or already there. */
export type CreateEvacuationResult = { created: boolean; evacuation: Evacuation };

/** An instance update's answer; a refusal returns the evacuation as it is (undefined for an unknown request). */
export type InstanceUpdateResult = { ok: true; evacuation: Evacuation } | { ok: false; current: Evacuation | undefined };

/**
 * Where requests live. Every state change is a compare-and-set naming the
 * states it comes from, so two approvers clicking at once, or a Lambda async
 * retry, cause exactly one transition (and so exactly one Nova call).
 * Adapters: memory (unit tests), sqlite (`npm start`), dynamodb (AWS).
 */
export interface RequestStore {
  /**
   * Records a new request and takes its (cloud, host, action) lock, atomically
   * as seen by other callers. When an open request (one that `holdsLock`)
   * already has the lock, nothing is written and that request is returned. A
   * lock left by a request that is gone or no longer open is taken over.
   */
  create(request: ForceDownRequest): Promise<CreateResult>;

  get(id: string): Promise<ForceDownRequest | undefined>;

  /**
   * Moves the request to `to` only if its state is one of `from` (and, with
   * `guard.form`, only if that form is among its `openForms`); appends
   * `{ state: to, at, by }` to its history, applies `patch` and drops every
   * open form (a form answers the request as it was when it was opened).
   * Releases the lock when `to` no longer holds it. On a lost race (state or
   * form) returns the current item.
   */
  transition(
    id: string,
    from: readonly RequestState[],
    to: RequestState,
    at: string,
    patch?: TransitionPatch,
    by?: string,
    guard?: TransitionGuard,
  ): Promise<TransitionResult>;

  /**
   * Records a confirmation form (modal) opened for request `id`: `form` (its
   * nonce) joins `openForms`, atomically as seen by other callers, only if
   * the request's state is one of `states`. At {@link MAX_OPEN_FORMS} open
   * forms the new one replaces them all (the newest form always works).
   * Changes nothing else. A refusal returns the current item (undefined for an
   * unknown id, and nothing is created).
   */
  recordForm(id: string, form: string, states: readonly RequestState[]): Promise<TransitionResult>;

  /** Records the card's message ts (no state change; last writer wins). */
  setMessage(id: string, messageTs: string): Promise<void>;

  /**
   * Records one more receipt of the alert behind request `id`, atomically as
   * seen by other callers: `seen.count` goes up by exactly one (an absent
   * `seen` counts as 1, the creating alert, so it becomes 2), and
   * `seen.lastAt` becomes `at` only if `at` is later than the stored one, so a
   * delivery that arrives out of order never moves it back. `at` is an ISO-8601
   * timestamp; it is stored normalized to `Date#toISOString` form (a RangeError
   * if it does not parse). Changes nothing else (not `state`, `history` or
   * `updatedAt`), in any state. Returns the updated request, or undefined for
   * an unknown id (and creates nothing).
   */
  recordSeen(id: string, at: string): Promise<ForceDownRequest | undefined>;

  /** The open request holding the lock for (cloud, host, action), if any. */
  findOpen(cloud: string, host: string, action: ForceDownRequest['action']): Promise<ForceDownRequest | undefined>;

  /**
   * Records Nova's own spelling of request `id`'s host, once Nova's lookup for
   * its card found it: `host` becomes `host`, and the spelling it replaces is
   * kept in `requestedHost` (the first one, if called again). Only while the
   * request is `pending` (what an approver has confirmed is not renamed under
   * them) and only for the same name case-folded (the lock, keyed on the
   * folded name, stays as it is; a RangeError for another name). Changes
   * nothing else. Returns the request as it now is, changed or not, or
   * undefined for an unknown id.
   */
  setNovaHost(id: string, host: string): Promise<ForceDownRequest | undefined>;

  /** Every request in `state` (expiry sweeps, stuck `executing`); the caller filters by time. */
  listByState(state: RequestState): Promise<ForceDownRequest[]>;

  /**
   * Records that the alert behind request `id` was resolved at `at` (ISO-8601,
   * stored as `Date#toISOString` writes it; a RangeError if it does not parse).
   * Sets `alertResolvedAt` only if unset (the first resolution wins), changes
   * nothing else, in any state. Returns the updated request, or undefined for
   * an unknown id.
   */
  markAlertResolved(id: string, at: string): Promise<ForceDownRequest | undefined>;

  /**
   * Records that request `id`'s host was reminded for period `period` (an
   * integer ≥ 1: how many whole reminder intervals it had then been forced
   * down; src/app/reminders.ts), as a compare-and-set: only if the request
   * exists and no period ≥ `period` is recorded for it yet. Of any number of
   * concurrent calls for one period exactly one gets true (and reminds); any
   * other, and a later call for that or an earlier period, gets false. Changes
   * nothing of the request itself (its fields, state, history, `updatedAt`).
   * A RangeError for a `period` that is not a positive safe integer.
   */
  markReminded(id: string, period: number): Promise<boolean>;

  /** Records a new group (its members' requests are created separately), shown nowhere yet unless `messages` says so. DUPLICATE_ID if the id exists. */
  createGroup(group: NewGroup): Promise<void>;

  getGroup(id: string): Promise<StoredGroup | undefined>;

  /**
   * Appends `members` to group `id`'s members, atomically as seen by other
   * callers (two concurrent appends both land, each id once). Returns the
   * updated group, or undefined for an unknown id.
   */
  addToGroup(id: string, members: readonly string[]): Promise<StoredGroup | undefined>;

  /** Records where the display shows the group (its `messages`; last writer wins). */
  setGroupMessages(id: string, messages: readonly string[]): Promise<void>;

  /**
   * The most recently created group in `channel` created at or after `since`
   * (ISO-8601), if any; with `key`, only groups recorded with that `key`.
   */
  findRecentGroup(channel: string, since: string, key?: string): Promise<StoredGroup | undefined>;

  /**
   * Reserves rows on group `id` for `wanted` new members, atomically as seen
   * by other callers: grants min(wanted, allowed, max - reserved), where
   * `reserved` is the group's (`members.length` when unset), never below 0;
   * adds the grant to `reserved` and the rest (`wanted - granted`) to
   * `overflow`. Changes nothing else. Returns the grant and the updated
   * group, or undefined for an unknown id (and creates nothing).
   */
  reserveGroupSlots(id: string, wanted: number, limits: { max: number; allowed?: number }): Promise<{ granted: number; group: StoredGroup } | undefined>;

  /**
   * Takes up to `wanted` from counter `key`, whose total never goes past
   * `limit`, atomically as seen by other callers; returns how many were taken
   * (0 to `wanted`). An unknown counter starts at 0. Used for rate limits: the
   * key names its window, and the counter may be forgotten once `expiresAt`
   * (ISO-8601) has passed (DynamoDB's TTL; SQLite drops counters whose
   * `expiresAt` is over an hour before a later call's).
   */
  takeQuota(key: string, wanted: number, limit: number, expiresAt: string): Promise<number>;

  /**
   * The evacuation ledger (src/domain/evacuation.ts). Records `ev`, the
   * request's evacuation, only if the request has none yet (a conditional
   * write): of any number of concurrent creates exactly one is `created`;
   * every other returns the stored one, unchanged.
   */
  createEvacuation(ev: Evacuation): Promise<CreateEvacuationResult>;

  getEvacuation(requestId: string): Promise<Evacuation | undefined>;

  /**
   * Claims an instance before its evacuate is sent: moves its entry from
   * `planned` to `sending` as a compare-and-set, so of any number of
   * concurrent callers exactly one gets `ok`. Refused for an unknown request
   * or instance. `at` (default now) becomes the entry's `updatedAt`.
   */
  claimInstance(requestId: string, instanceId: string, from: 'planned', to: 'sending', at?: string): Promise<InstanceUpdateResult>;

  /**
   * Applies `patch` to one instance's entry only if its state is one of `from`
   * and the move is legal (`canMove`), atomically as seen by other callers.
   * Changes no other entry.
   */
  updateInstance(requestId: string, instanceId: string, from: readonly InstanceEvacuationState[], patch: InstancePatch): Promise<InstanceUpdateResult>;

  /**
   * Records what round `round`'s checks decided (the domain's `decideRound`),
   * atomically as seen by other callers: only while `round` is the current
   * round and undecided, so of concurrent deciders exactly one gets `ok`.
   * Changes no instance entry but, while the ledger has none, adds the
   * listed ones as `planned`; concurrent claims and updates of other entries
   * are never lost. Refused for an unknown request.
   */
  decideRound(requestId: string, round: number, decision: RoundDecision, at: string): Promise<InstanceUpdateResult>;

  /**
   * **Retry failed…** (the domain's `retryRound`): starts round `round + 1`
   * only while `round` is the current round and there is something to retry,
   * atomically as seen by other callers, so of any number of submissions of
   * the same form exactly one gets `ok`. `target` replaces the target
   * (undefined: Nova's scheduler). Instance entries other than the retried
   * ones are never changed (a concurrent update of one is not lost).
   */
  retryEvacuation(requestId: string, round: number, at: string, target?: string): Promise<InstanceUpdateResult>;
}
