import { holdsLock, lockKey, type ForceDownRequest, type RequestState } from '../domain/request.js';
import { StoreError } from './errors.js';
import type { CreateResult, RequestStore, TransitionPatch, TransitionResult } from './port.js';
import { applySeen, applyTransition, canonicalInstant, isLockHolder, jsonCopy } from './transition.js';

/**
 * The memory store's data: requests by id, and lock key → request id. Pass
 * your own maps to look at or arrange the state in a test (for example a lock
 * left behind by a crash); the store keeps no other state.
 */
export interface MemoryStoreState {
  requests: Map<string, ForceDownRequest>;
  locks: Map<string, string>;
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
  const read = (id: string): ForceDownRequest | undefined => {
    const r = requests.get(id);
    return r === undefined ? undefined : jsonCopy(r);
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
    ): Promise<TransitionResult> {
      const current = requests.get(id);
      if (current === undefined || !from.includes(current.state)) return { ok: false, current: read(id) };
      const next = jsonCopy(applyTransition(current, to, at, patch, by));
      requests.set(id, next);
      const key = lockKey(next);
      if (!holdsLock(to) && locks.get(key) === id) locks.delete(key);
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

    async listByState(wanted: RequestState): Promise<ForceDownRequest[]> {
      return [...requests.values()].filter((r) => r.state === wanted).map((r) => jsonCopy(r));
    },
  };
}
