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
  fields: Omit<Evacuation, 'instances'>,
  instances: readonly { id: string; name: string }[],
): Evacuation {
  const entries: Record<string, InstanceEntry> = {};
  for (const i of instances) {
    if (!(i.id in entries)) entries[i.id] = { name: i.name, state: 'planned', updatedAt: fields.at };
  }
  return { ...fields, instances: entries };
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
