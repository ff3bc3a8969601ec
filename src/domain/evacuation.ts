/**
 * The evacuation ledger's record: one per force-down request, naming every
 * instance to evacuate and how far its evacuation got. It is what makes
 * "each instance evacuated at most once" hold across clicks, retries and
 * crashes: an instance leaves `planned` for `sending` exactly once (a
 * compare-and-set in the store), before its evacuate is sent, and never
 * returns. Pure.
 */

/** Which of the host's instances to evacuate: all, or only those marked for HA. */
export type EvacuationLedgerScope = 'all' | 'ha-only';

/**
 * One instance's evacuation:
 * - `planned`: nothing sent yet;
 * - `sending`: claimed by a worker, the evacuate is (or may have been) sent:
 *   maybe accepted, so never sent again;
 * - `accepted`: Nova accepted the evacuate; `refused`: Nova refused it (or it was not sent);
 * - `done`, `failed`, `timeout`: how the accepted evacuation ended.
 */
export const INSTANCE_STATES = ['planned', 'sending', 'accepted', 'done', 'failed', 'timeout', 'refused'] as const;
export type InstanceEvacuationState = (typeof INSTANCE_STATES)[number];

export interface InstanceEntry {
  name: string;
  state: InstanceEvacuationState;
  /** A failure code (refused, failed, timeout). */
  code?: string;
  message?: string;
  /** Nova's migration record (its uuid or id), once seen. */
  migration?: string;
  /** ISO-8601. */
  updatedAt: string;
}

export interface Evacuation {
  id: string;
  /** The force-down request it evacuates for: at most one evacuation per request. */
  requestId: string;
  cloud: string;
  host: string;
  scope: EvacuationLedgerScope;
  /** The target host; absent: Nova's scheduler chooses. */
  target?: string;
  /** Who asked for it (a Slack user id, a CLI user). */
  by: string;
  /** ISO-8601, when it was created. */
  at: string;
  /** By instance id. */
  instances: Record<string, InstanceEntry>;
  /**
   * 1 for the first evacuation; each **Retry failed…** starts the next
   * round. A round runs the checks again (host forced down, BMC not On,
   * target usable) before anything is sent. Absent in records written before
   * rounds: 1.
   */
  round?: number;
  /** The round whose checks passed: its instances may be claimed and sent. */
  checkedRound?: number;
  /** Why the latest round's checks refused it: nothing was sent in that round. */
  refusal?: EvacuationRefusal;
}

/** A round refused by the checks before anything was sent (a failure code and our words). */
export interface EvacuationRefusal {
  round: number;
  code: string;
  message: string;
  at: string;
}

/** The legal moves of one instance's entry. `sending` never goes back to `planned`; the end states go nowhere. */
const MOVES: Record<InstanceEvacuationState, readonly InstanceEvacuationState[]> = {
  planned: ['sending'],
  sending: ['accepted', 'refused'],
  accepted: ['done', 'failed', 'timeout'],
  done: [],
  failed: [],
  timeout: [],
  refused: [],
};

export function canMove(from: InstanceEvacuationState, to: InstanceEvacuationState): boolean {
  return MOVES[from].includes(to);
}

/** States in which an evacuate may have reached Nova: never send one again. */
export const SENT_STATES: readonly InstanceEvacuationState[] = ['sending', 'accepted', 'done', 'failed', 'timeout'];

/** Whether an evacuate of an instance in `state` may have been sent (so must never be sent again). */
export function maybeSent(state: InstanceEvacuationState): boolean {
  return SENT_STATES.includes(state);
}

/** Ended: nothing more will happen to it. */
export function isFinal(state: InstanceEvacuationState): boolean {
  return MOVES[state].length === 0;
}

/** A new evacuation with every instance `planned` (an instance listed twice is kept once). */
export function newEvacuation(
  fields: Omit<Evacuation, 'instances' | 'round' | 'checkedRound' | 'refusal'>,
  instances: readonly { id: string; name: string }[],
): Evacuation {
  const entries: Record<string, InstanceEntry> = {};
  for (const i of instances) {
    if (!(i.id in entries)) entries[i.id] = { name: i.name, state: 'planned', updatedAt: fields.at };
  }
  return { ...fields, instances: entries, round: 1 };
}

/** The evacuation's current round (1 for records written before rounds). */
export function roundOf(ev: Pick<Evacuation, 'round'>): number {
  return ev.round ?? 1;
}

/** Where the current round stands: its checks not decided yet, passed (instances may be sent), or refused (nothing sent). */
export type RoundStatus = 'undecided' | 'checked' | 'refused';

export function roundStatus(ev: Pick<Evacuation, 'round' | 'checkedRound' | 'refusal'>): RoundStatus {
  const round = roundOf(ev);
  if (ev.checkedRound === round) return 'checked';
  return ev.refusal?.round === round ? 'refused' : 'undecided';
}

/** What a round's checks decided: the instances to evacuate (listed only while the ledger has none: later rounds retry the ledger's), or a refusal. */
export type RoundDecision = { instances: readonly { id: string; name: string }[] } | { refusal: { code: string; message: string } };

/**
 * The evacuation once round `round`'s checks decided, or undefined when that
 * is not the current round or it was decided already (of two workers, the
 * first decision stands). Passed: the round is checked (`checkedRound`), and,
 * while the ledger has no instance yet, the instances listed become
 * `planned` entries (each id once). Refused: the refusal is recorded and nothing moves.
 */
export function decideRound(ev: Evacuation, round: number, decision: RoundDecision, at: string): Evacuation | undefined {
  if (roundOf(ev) !== round || roundStatus(ev) !== 'undecided') return undefined;
  if ('refusal' in decision) return { ...ev, refusal: { round, code: decision.refusal.code, message: decision.refusal.message, at } };
  const { refusal: _dropped, ...rest } = ev;
  const instances = { ...ev.instances };
  if (Object.keys(ev.instances).length === 0) {
    for (const i of decision.instances) {
      if (!Object.prototype.hasOwnProperty.call(instances, i.id)) instances[i.id] = { name: i.name, state: 'planned', updatedAt: at };
    }
  }
  return { ...rest, instances, checkedRound: round };
}

/** End states **Retry failed…** sends again: Nova's evacuation failed, or Nova refused the evacuate. (A `timeout` may still be running in Nova: never resent.) */
export const RETRYABLE_STATES: readonly InstanceEvacuationState[] = ['failed', 'refused'];

/** States of an evacuation in progress: claimed or accepted, not ended. */
const IN_PROGRESS: readonly InstanceEvacuationState[] = ['sending', 'accepted'];

/** What **Retry failed…** would send again: the failed and refused entries, or, after a round refused by its checks, the planned ones. Empty while any instance is in progress. */
export function retryableInstances(ev: Evacuation): string[] {
  const entries = Object.entries(ev.instances);
  if (entries.some(([, e]) => IN_PROGRESS.includes(e.state))) return [];
  const refusedRound = roundStatus(ev) === 'refused';
  return entries.filter(([, e]) => RETRYABLE_STATES.includes(e.state) || (refusedRound && e.state === 'planned')).map(([id]) => id);
}

/** The instances {@link retryableInstances} names, with their names (the retry modal lists them). */
export function retryableEntries(ev: Evacuation): { id: string; name: string }[] {
  return retryableInstances(ev).map((id) => ({ id, name: ev.instances[id]!.name }));
}

/** Whether **Retry failed…** has something to do now: exactly when {@link retryRound} would start the next round. */
export function canRetryEvacuation(ev: Evacuation): boolean {
  return retryRound(ev, roundOf(ev), ev.at) !== undefined;
}

/**
 * The next round (**Retry failed…**), or undefined when round `round` is not
 * the current one (a second submission of the same form) or there is
 * nothing to retry (see {@link retryableInstances}; a refused round 1, with
 * no instances yet, is retried as a whole: its checks list them). The failed and refused entries
 * go back to `planned` (their code and message dropped); the round's checks
 * run again; `target` replaces the target (undefined: Nova's scheduler).
 */
export function retryRound(ev: Evacuation, round: number, at: string, target?: string): Evacuation | undefined {
  if (roundOf(ev) !== round) return undefined;
  const ids = retryableInstances(ev);
  const refusedWhole = ev.refusal?.round === round && ev.checkedRound === undefined;
  if (ids.length === 0 && !refusedWhole) return undefined;
  const instances = { ...ev.instances };
  for (const id of ids) instances[id] = { name: instances[id]!.name, state: 'planned', updatedAt: at };
  const { refusal: _r, checkedRound: _c, target: _t, ...rest } = ev;
  return { ...rest, instances, round: round + 1, ...(target !== undefined ? { target } : {}) };
}

/** What an update of one instance's entry sets: its new state and when, and optionally why. */
export interface InstancePatch {
  state: InstanceEvacuationState;
  at: string;
  code?: string;
  message?: string;
  migration?: string;
}

/**
 * The entry after `patch`, or undefined when the move is not legal (from the
 * entry's state, or not among `from`). Fields the patch leaves undefined are
 * kept.
 */
export function applyInstancePatch(
  entry: InstanceEntry,
  from: readonly InstanceEvacuationState[],
  patch: InstancePatch,
): InstanceEntry | undefined {
  if (!from.includes(entry.state) || !canMove(entry.state, patch.state)) return undefined;
  const next: InstanceEntry = { ...entry, state: patch.state, updatedAt: patch.at };
  if (patch.code !== undefined) next.code = patch.code;
  if (patch.message !== undefined) next.message = patch.message;
  if (patch.migration !== undefined) next.migration = patch.migration;
  return next;
}

export type EvacuationCounts = Record<InstanceEvacuationState, number> & { total: number };

/** How many instances are in each state. */
export function countEvacuation(ev: Pick<Evacuation, 'instances'>): EvacuationCounts {
  const counts = Object.fromEntries(INSTANCE_STATES.map((s) => [s, 0])) as EvacuationCounts;
  counts.total = 0;
  for (const entry of Object.values(ev.instances)) {
    counts[entry.state] += 1;
    counts.total += 1;
  }
  return counts;
}

/** Words for each state, as a card or the CLI shows them. */
export const INSTANCE_STATE_WORDS: Record<InstanceEvacuationState, string> = {
  planned: 'not sent yet',
  sending: 'evacuate sent, answer not recorded',
  accepted: 'accepted by Nova, in progress',
  done: 'evacuated',
  failed: 'evacuation failed',
  timeout: 'evacuation did not end in time',
  refused: 'refused by Nova, not evacuated',
};

/** `5 instances: 3 evacuated · 1 accepted by Nova, in progress · 1 refused by Nova, not evacuated` (states with none left out). */
export function describeEvacuation(ev: Pick<Evacuation, 'instances'>): string {
  const counts = countEvacuation(ev);
  if (counts.total === 0) return 'no instances';
  const order: InstanceEvacuationState[] = ['done', 'accepted', 'sending', 'planned', 'failed', 'timeout', 'refused'];
  const parts = order.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${INSTANCE_STATE_WORDS[s]}`);
  return `${counts.total} instance${counts.total === 1 ? '' : 's'}: ${parts.join(' · ')}`;
}

/** The evacuation with instance `instanceId`'s entry patched, or undefined when it has no such instance or the move is not legal (see {@link applyInstancePatch}). */
export function patchEvacuation(
  ev: Evacuation,
  instanceId: string,
  from: readonly InstanceEvacuationState[],
  patch: InstancePatch,
): Evacuation | undefined {
  const entry = Object.prototype.hasOwnProperty.call(ev.instances, instanceId) ? ev.instances[instanceId] : undefined;
  const next = entry === undefined ? undefined : applyInstancePatch(entry, from, patch);
  return next === undefined ? undefined : { ...ev, instances: { ...ev.instances, [instanceId]: next } };
}
