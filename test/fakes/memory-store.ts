import { holdsLock, lockKey, type ForceDownRequest, type RequestState } from '../../src/domain/request.js';
import { decideRound, patchEvacuation, retryRound, type Evacuation } from '../../src/domain/evacuation.js';
import { StoreError } from '../../src/store/errors.js';
import type { CreateResult, NewGroup, RequestStore, StoredGroup, TransitionGuard, TransitionPatch, TransitionResult } from '../../src/app/store-port.js';
import {
  appendMembers,
  applyAlertResolved,
  applyForm,
  applyNovaHost,
  applyReservation,
  applySeen,
  applyTransition,
  canonicalInstant,
  groupCreatedMs,
  isLockHolder,
  jsonCopy,
  passesGuard,
  quotaExpiryMs,
  quotaGranted,
  reminderPeriod,
  sinceMs,
  slotsGranted,
} from '../../src/store/transition.js';

/**
 * The memory store's data: requests by id, lock key → request id, and groups
 * by id. Pass your own maps to look at or arrange the state in a test (for
 * example a lock left behind by a crash); the store keeps no other state.
 * `groups` may be left out (then the store makes its own, and adds it here).
 */
export interface MemoryStoreState {
  requests: Map<string, ForceDownRequest>;
  locks: Map<string, string>;
  groups?: Map<string, StoredGroup>;
  /** `takeQuota`'s counters by key (made by the store when left out). */
  quotas?: Map<string, number>;
  /** Evacuations by request id (made by the store when left out). */
  evacuations?: Map<string, Evacuation>;
  /** `markReminded`'s last period by request id (made by the store when left out). */
  reminders?: Map<string, number>;
}

/**
 * A `RequestStore` in process memory, for unit tests and fakes.
 *
 * Race-correct under concurrent async callers: every method does its check
 * and its write in one synchronous stretch (no `await` in between), so the
 * event loop cannot interleave two callers. Requests are copied through JSON
 * on the way in and out, as a persistent store would, so callers never share
 * references with the stored data.
 */
export function createMemoryStore(state: MemoryStoreState = { requests: new Map(), locks: new Map() }): RequestStore {
  const { requests, locks } = state;
  const groups = (state.groups ??= new Map());
  const quotas = (state.quotas ??= new Map());
  const evacuations = (state.evacuations ??= new Map());
  const reminders = (state.reminders ??= new Map());
  const readEvacuation = (requestId: string): Evacuation | undefined => {
    const ev = evacuations.get(requestId);
    return ev === undefined ? undefined : jsonCopy(ev);
  };
  const updateInstance: RequestStore['updateInstance'] = async (requestId, instanceId, from, patch) => {
    const current = evacuations.get(requestId);
    const next = current === undefined ? undefined : patchEvacuation(current, instanceId, from, patch);
    if (next === undefined) return { ok: false, current: readEvacuation(requestId) };
    evacuations.set(requestId, jsonCopy(next));
    return { ok: true, evacuation: readEvacuation(requestId)! };
  };
  /** Applies `change` to the stored evacuation in one synchronous stretch; a refusal (undefined) returns it as it is. */
  const changeEvacuation = (requestId: string, change: (ev: Evacuation) => Evacuation | undefined): Awaited<ReturnType<RequestStore['updateInstance']>> => {
    const current = evacuations.get(requestId);
    const next = current === undefined ? undefined : change(jsonCopy(current));
    if (next === undefined) return { ok: false, current: readEvacuation(requestId) };
    evacuations.set(requestId, jsonCopy(next));
    return { ok: true, evacuation: readEvacuation(requestId)! };
  };
  const read = (id: string): ForceDownRequest | undefined => {
    const r = requests.get(id);
    return r === undefined ? undefined : jsonCopy(r);
  };
  const readGroup = (id: string): StoredGroup | undefined => {
    const g = groups.get(id);
    return g === undefined ? undefined : jsonCopy(g);
  };

  return {
    async create(request: ForceDownRequest): Promise<CreateResult> {
      const key = lockKey(request);
      const holderId = locks.get(key);
      const holder = holderId === undefined ? undefined : requests.get(holderId);
      if (isLockHolder(holder, key)) return { created: false, existing: jsonCopy(holder) };
      if (requests.has(request.id)) throw new StoreError('DUPLICATE_ID', `request ${request.id} already exists`);
      requests.set(request.id, jsonCopy(request));
      locks.set(key, request.id);
      return { created: true, request: jsonCopy(request) };
    },

    async get(id: string): Promise<ForceDownRequest | undefined> {
      return read(id);
    },

    async transition(
      id: string,
      from: readonly RequestState[],
      to: RequestState,
      at: string,
      patch?: TransitionPatch,
      by?: string,
      guard?: TransitionGuard,
    ): Promise<TransitionResult> {
      const current = requests.get(id);
      if (current === undefined || !from.includes(current.state) || !passesGuard(current, guard)) return { ok: false, current: read(id) };
      const next = jsonCopy(applyTransition(current, to, at, patch, by));
      requests.set(id, next);
      const key = lockKey(next);
      if (!holdsLock(to) && locks.get(key) === id) locks.delete(key);
      return { ok: true, request: jsonCopy(next) };
    },

    async recordForm(id: string, form: string, states: readonly RequestState[]): Promise<TransitionResult> {
      const current = requests.get(id);
      if (current === undefined || !states.includes(current.state)) return { ok: false, current: read(id) };
      const next = jsonCopy(applyForm(current, form));
      requests.set(id, next);
      return { ok: true, request: jsonCopy(next) };
    },

    async setMessage(id: string, messageTs: string): Promise<void> {
      const current = requests.get(id);
      if (current !== undefined) requests.set(id, { ...current, messageTs });
    },

    async recordSeen(id: string, at: string): Promise<ForceDownRequest | undefined> {
      const when = canonicalInstant(at);
      const current = requests.get(id);
      if (current === undefined) return undefined;
      const next = jsonCopy(applySeen(current, when));
      requests.set(id, next);
      return jsonCopy(next);
    },

    async findOpen(cloud: string, host: string, action: ForceDownRequest['action']): Promise<ForceDownRequest | undefined> {
      const key = lockKey({ cloud, host, action });
      const holderId = locks.get(key);
      const holder = holderId === undefined ? undefined : requests.get(holderId);
      return isLockHolder(holder, key) ? jsonCopy(holder) : undefined;
    },

    async setNovaHost(id: string, host: string): Promise<ForceDownRequest | undefined> {
      const current = requests.get(id);
      if (current === undefined) return undefined;
      const next = applyNovaHost(current, host);
      if (next !== undefined) requests.set(id, jsonCopy(next));
      return read(id);
    },

    async listByState(wanted: RequestState): Promise<ForceDownRequest[]> {
      return [...requests.values()].filter((r) => r.state === wanted).map((r) => jsonCopy(r));
    },

    async markAlertResolved(id: string, at: string): Promise<ForceDownRequest | undefined> {
      const when = canonicalInstant(at, 'markAlertResolved: at');
      const current = requests.get(id);
      if (current === undefined) return undefined;
      const next = jsonCopy(applyAlertResolved(current, when));
      requests.set(id, next);
      return jsonCopy(next);
    },

    async markReminded(id: string, period: number): Promise<boolean> {
      reminderPeriod(period);
      if (!requests.has(id) || (reminders.get(id) ?? 0) >= period) return false;
      reminders.set(id, period);
      return true;
    },

    async createGroup(group: NewGroup): Promise<void> {
      groupCreatedMs(group);
      if (groups.has(group.id)) throw new StoreError('DUPLICATE_ID', `group ${group.id} already exists`);
      groups.set(group.id, jsonCopy({ ...group, messages: [...(group.messages ?? [])] }));
    },

    async getGroup(id: string): Promise<StoredGroup | undefined> {
      return readGroup(id);
    },

    async addToGroup(id: string, members: readonly string[]): Promise<StoredGroup | undefined> {
      const current = groups.get(id);
      if (current === undefined) return undefined;
      groups.set(id, { ...current, members: appendMembers(current.members, members) });
      return readGroup(id);
    },

    async setGroupMessages(id: string, messages: readonly string[]): Promise<void> {
      const current = groups.get(id);
      if (current !== undefined) groups.set(id, { ...current, messages: [...messages] });
    },

    async findRecentGroup(channel: string, since: string, key?: string): Promise<StoredGroup | undefined> {
      const from = sinceMs(since);
      let best: { group: StoredGroup; ms: number } | undefined;
      // Insertion order: of two groups created at the same instant, the later written wins.
      for (const group of groups.values()) {
        if (group.channel !== channel || (key !== undefined && group.key !== key)) continue;
        const ms = Date.parse(group.createdAt);
        if (ms >= from && (best === undefined || ms >= best.ms)) best = { group, ms };
      }
      return best === undefined ? undefined : jsonCopy(best.group);
    },

    async reserveGroupSlots(id: string, wanted: number, limits: { max: number; allowed?: number }) {
      const current = groups.get(id);
      if (current === undefined) return undefined;
      const granted = slotsGranted(current, wanted, limits);
      groups.set(id, applyReservation(current, wanted, granted));
      return { granted, group: readGroup(id)! };
    },

    async takeQuota(key: string, wanted: number, limit: number, expiresAt: string): Promise<number> {
      quotaExpiryMs(expiresAt);
      const used = quotas.get(key) ?? 0;
      const taken = quotaGranted(used, wanted, limit);
      if (taken > 0) quotas.set(key, used + taken);
      return taken;
    },
  
    async createEvacuation(ev) {
      const existing = readEvacuation(ev.requestId);
      if (existing !== undefined) return { created: false, evacuation: existing };
      evacuations.set(ev.requestId, jsonCopy(ev));
      return { created: true, evacuation: readEvacuation(ev.requestId)! };
    },

    async getEvacuation(requestId) {
      return readEvacuation(requestId);
    },

    async claimInstance(requestId, instanceId, from, to, at = new Date().toISOString()) {
      return updateInstance(requestId, instanceId, [from], { state: to, at });
    },

    updateInstance,

    async decideRound(requestId, round, decision, at) {
      return changeEvacuation(requestId, (ev) => decideRound(ev, round, decision, at));
    },

    async retryEvacuation(requestId, round, at, target) {
      return changeEvacuation(requestId, (ev) => retryRound(ev, round, at, target));
    },
  };
}
