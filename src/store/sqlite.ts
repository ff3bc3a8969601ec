import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { holdsLock, lockKey, type ForceDownRequest, type RequestState } from '../domain/request.js';
import { decideRound, patchEvacuation, retryRound, type Evacuation, type InstanceEvacuationState, type InstancePatch, type RoundDecision } from '../domain/evacuation.js';
import { StoreError } from './errors.js';
import type { CreateResult, RequestStore, StoredGroup, TransitionGuard, TransitionPatch, TransitionResult } from '../app/store-port.js';
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
  passesGuard,
  quotaExpiryMs,
  quotaGranted,
  reminderPeriod,
  sinceMs,
  slotsGranted,
} from './transition.js';

export interface SqliteStoreOptions {
  /** The database file. Its folder is created when missing. `:memory:` works too (one connection only). */
  path: string;
  /** How long a write waits for another connection's write lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/** The SQLite store, plus `close()` for a clean shutdown of `npm start` and tests. */
export interface SqliteRequestStore extends RequestStore {
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  id         TEXT PRIMARY KEY,
  lock_key   TEXT NOT NULL,
  state      TEXT NOT NULL,
  json       TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_state ON requests (state);
CREATE TABLE IF NOT EXISTS locks (
  lock_key   TEXT PRIMARY KEY,
  request_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
  id         TEXT PRIMARY KEY,
  channel    TEXT NOT NULL,
  created_at TEXT NOT NULL,
  json       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_by_channel ON groups (channel, created_at);
CREATE TABLE IF NOT EXISTS quotas (
  key        TEXT PRIMARY KEY,
  used       INTEGER NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quotas_by_expiry ON quotas (expires_at);
CREATE TABLE IF NOT EXISTS evacuations (
  request_id TEXT PRIMARY KEY,
  json       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reminders (
  request_id TEXT PRIMARY KEY,
  period     INTEGER NOT NULL
);
`;

interface RequestRow {
  json: string;
}

/**
 * A `RequestStore` in a local SQLite file (better-sqlite3), for `npm start`.
 *
 * Each operation that writes runs in one `BEGIN IMMEDIATE` transaction: it
 * takes the database's write lock before reading, so a check and the write
 * that depends on it cannot interleave with another connection's, even in
 * another process (the others wait up to `busyTimeoutMs`). Within one process
 * better-sqlite3 is synchronous, which serializes callers anyway.
 *
 * `state`, `lock_key` and `updated_at` are columns (for the state index and
 * for reading the file with the sqlite3 shell); the request itself is the
 * `json` column, written together with them, so a new optional request field
 * (`group`, `alertResolvedAt`) needs no schema change. Groups are the `groups`
 * table: `channel` and `created_at` (`createdAt` in `Date#toISOString` form,
 * in which string order is time order) as columns for `findRecentGroup`'s
 * index, the group itself as `json` (a group's `key` is read from it with
 * json_extract: the channel's groups since the window are few). `takeQuota`'s
 * counters are the `quotas` table. The evacuation ledger is the `evacuations`
 * table, one row per request (its instances inside the `json`): a create is
 * `INSERT ... ON CONFLICT DO NOTHING`, an instance update a read-check-write
 * in one `BEGIN IMMEDIATE` transaction. `markReminded`'s last period per
 * request is the `reminders` table (an upsert that only raises it). Every table is `CREATE ... IF NOT EXISTS`,
 * so a file written by an older version gains the tables it lacks on open.
 */
export function createSqliteStore({ path, busyTimeoutMs = 5_000 }: SqliteStoreOptions): SqliteRequestStore {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  db.pragma('journal_mode = WAL');
  // Safe with WAL: a power cut may lose the last commits, never corrupt the file.
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);

  const selectRequest = db.prepare<[string], RequestRow>('SELECT json FROM requests WHERE id = ?');
  const selectLock = db.prepare<[string], { request_id: string }>('SELECT request_id FROM locks WHERE lock_key = ?');
  const insertRequest = db.prepare<[string, string, string, string, string]>(
    'INSERT INTO requests (id, lock_key, state, json, updated_at) VALUES (?, ?, ?, ?, ?)',
  );
  const upsertLock = db.prepare<[string, string]>(
    'INSERT INTO locks (lock_key, request_id) VALUES (?, ?) ON CONFLICT (lock_key) DO UPDATE SET request_id = excluded.request_id',
  );
  const deleteLock = db.prepare<[string, string]>('DELETE FROM locks WHERE lock_key = ? AND request_id = ?');
  const updateMessage = db.prepare<[string, string]>("UPDATE requests SET json = json_set(json, '$.messageTs', ?) WHERE id = ?");
  const selectByState = db.prepare<[string], RequestRow>('SELECT json FROM requests WHERE state = ? ORDER BY rowid');
  // The IN list varies in length; a handful of shapes at most, so cache them.
  const updateStatements = new Map<number, Database.Statement<unknown[]>>();
  const updateFrom = (n: number) => {
    let stmt = updateStatements.get(n);
    if (!stmt) {
      const marks = Array.from({ length: n }, () => '?').join(', ');
      stmt = db.prepare(`UPDATE requests SET state = ?, json = ?, updated_at = ? WHERE id = ? AND state IN (${marks})`);
      updateStatements.set(n, stmt);
    }
    return stmt;
  };

  const read = (id: string): ForceDownRequest | undefined => {
    const row = selectRequest.get(id);
    return row === undefined ? undefined : parse(row.json, id);
  };

  const createTx = db.transaction((request: ForceDownRequest): CreateResult => {
    const key = lockKey(request);
    const lock = selectLock.get(key);
    const holder = lock === undefined ? undefined : read(lock.request_id);
    if (isLockHolder(holder, key)) return { created: false, existing: holder };
    if (selectRequest.get(request.id) !== undefined) throw new StoreError('DUPLICATE_ID', `request ${request.id} already exists`);
    const json = JSON.stringify(request);
    insertRequest.run(request.id, key, request.state, json, request.updatedAt);
    upsertLock.run(key, request.id);
    return { created: true, request: parse(json, request.id) };
  });

  const transitionTx = db.transaction(
    (
      id: string,
      from: readonly RequestState[],
      to: RequestState,
      at: string,
      patch: TransitionPatch | undefined,
      by: string | undefined,
      guard: TransitionGuard | undefined,
    ): TransitionResult => {
      const current = read(id);
      if (current === undefined || !from.includes(current.state) || !passesGuard(current, guard)) return { ok: false, current };
      const next = applyTransition(current, to, at, patch, by);
      const json = JSON.stringify(next);
      // The compare-and-set itself; under BEGIN IMMEDIATE it cannot miss, but it is what decides.
      const { changes } = updateFrom(from.length).run(to, json, at, id, ...from);
      if (changes !== 1) return { ok: false, current: read(id) };
      if (!holdsLock(to)) deleteLock.run(lockKey(next), id);
      return { ok: true, request: parse(json, id) };
    },
  );

  const updateJson = db.prepare<[string, string]>('UPDATE requests SET json = ? WHERE id = ?');
  const recordFormTx = db.transaction((id: string, form: string, states: readonly RequestState[]): TransitionResult => {
    const current = read(id);
    if (current === undefined || !states.includes(current.state)) return { ok: false, current };
    const json = JSON.stringify(applyForm(current, form));
    updateJson.run(json, id);
    return { ok: true, request: parse(json, id) };
  });
  const recordSeenTx = db.transaction((id: string, at: string): ForceDownRequest | undefined => {
    const current = read(id);
    if (current === undefined) return undefined;
    const json = JSON.stringify(applySeen(current, at));
    updateJson.run(json, id);
    return parse(json, id);
  });

  // A read transaction: the lock and its request from one snapshot.
  const findOpenTx = db.transaction((key: string): ForceDownRequest | undefined => {
    const lock = selectLock.get(key);
    const holder = lock === undefined ? undefined : read(lock.request_id);
    return isLockHolder(holder, key) ? holder : undefined;
  });

  const setNovaHostTx = db.transaction((id: string, host: string): ForceDownRequest | undefined => {
    const current = read(id);
    if (current === undefined) return undefined;
    const next = applyNovaHost(current, host);
    if (next === undefined) return current;
    // The lock_key column is unchanged: the lock is keyed on the case-folded host.
    const json = JSON.stringify(next);
    updateJson.run(json, id);
    return parse(json, id);
  });

  const markAlertResolvedTx = db.transaction((id: string, at: string): ForceDownRequest | undefined => {
    const current = read(id);
    if (current === undefined) return undefined;
    if (current.alertResolvedAt !== undefined) return current; // the first resolution wins
    const json = JSON.stringify(applyAlertResolved(current, at));
    updateJson.run(json, id);
    return parse(json, id);
  });

  // Raises the period only: `changes` is 0 when a period as high is recorded already.
  const upsertReminder = db.prepare<[string, number]>(
    'INSERT INTO reminders (request_id, period) VALUES (?, ?) ON CONFLICT (request_id) DO UPDATE SET period = excluded.period WHERE reminders.period < excluded.period',
  );
  const markRemindedTx = db.transaction((id: string, period: number): boolean => {
    if (selectRequest.get(id) === undefined) return false;
    return upsertReminder.run(id, period).changes === 1;
  });

  const selectGroup = db.prepare<[string], RequestRow>('SELECT json FROM groups WHERE id = ?');
  const insertGroup = db.prepare<[string, string, string, string]>(
    'INSERT INTO groups (id, channel, created_at, json) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
  );
  const updateGroupJson = db.prepare<[string, string]>('UPDATE groups SET json = ? WHERE id = ?');
  const updateGroupMessages = db.prepare<[string, string]>("UPDATE groups SET json = json_set(json, '$.messages', json(?)) WHERE id = ?");
  // Of two groups created at the same instant, the later written (higher rowid) wins.
  const selectRecentGroup = db.prepare<[string, string], RequestRow>(
    'SELECT json FROM groups WHERE channel = ? AND created_at >= ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
  );
  const selectRecentKeyedGroup = db.prepare<[string, string, string], RequestRow>(
    "SELECT json FROM groups WHERE channel = ? AND created_at >= ? AND json_extract(json, '$.key') = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
  );
  const readGroup = (id: string): StoredGroup | undefined => {
    const row = selectGroup.get(id);
    return row === undefined ? undefined : parseGroup(row.json, id);
  };
  const addToGroupTx = db.transaction((id: string, members: readonly string[]): StoredGroup | undefined => {
    const current = readGroup(id);
    if (current === undefined) return undefined;
    const json = JSON.stringify({ ...current, members: appendMembers(current.members, members) });
    updateGroupJson.run(json, id);
    return parseGroup(json, id);
  });

  const reserveGroupSlotsTx = db.transaction((id: string, wanted: number, limits: { max: number; allowed?: number }) => {
    const current = readGroup(id);
    if (current === undefined) return undefined;
    const granted = slotsGranted(current, wanted, limits);
    const json = JSON.stringify(applyReservation(current, wanted, granted));
    updateGroupJson.run(json, id);
    return { granted, group: parseGroup(json, id) };
  });

  const selectQuota = db.prepare<[string], { used: number }>('SELECT used FROM quotas WHERE key = ?');
  const upsertQuota = db.prepare<[string, number, string]>(
    'INSERT INTO quotas (key, used, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET used = excluded.used, expires_at = max(expires_at, excluded.expires_at)',
  );
  const deleteOldQuotas = db.prepare<[string]>('DELETE FROM quotas WHERE expires_at < ?');
  const takeQuotaTx = db.transaction((key: string, wanted: number, limit: number, expiresMs: number): number => {
    // Counters name their window: one that expired over an hour before this one's expiry is never asked again.
    deleteOldQuotas.run(new Date(expiresMs - 3_600_000).toISOString());
    const used = selectQuota.get(key)?.used ?? 0;
    const taken = quotaGranted(used, wanted, limit);
    if (taken > 0) upsertQuota.run(key, used + taken, new Date(expiresMs).toISOString());
    return taken;
  });

  const selectEvacuation = db.prepare<[string], RequestRow>('SELECT json FROM evacuations WHERE request_id = ?');
  const insertEvacuation = db.prepare<[string, string]>('INSERT INTO evacuations (request_id, json) VALUES (?, ?) ON CONFLICT (request_id) DO NOTHING');
  const updateEvacuation = db.prepare<[string, string]>('UPDATE evacuations SET json = ? WHERE request_id = ?');
  const readEvacuation = (requestId: string): Evacuation | undefined => {
    const row = selectEvacuation.get(requestId);
    return row === undefined ? undefined : parseEvacuation(row.json, requestId);
  };
  const createEvacuationTx = db.transaction((ev: Evacuation) => {
    const json = JSON.stringify(ev);
    const { changes } = insertEvacuation.run(ev.requestId, json);
    return changes === 1 ? { created: true, evacuation: parseEvacuation(json, ev.requestId) } : { created: false, evacuation: readEvacuation(ev.requestId)! };
  });
  const updateInstanceTx = db.transaction((requestId: string, instanceId: string, from: readonly InstanceEvacuationState[], patch: InstancePatch) => {
    const current = readEvacuation(requestId);
    const next = current === undefined ? undefined : patchEvacuation(current, instanceId, from, patch);
    if (next === undefined) return { ok: false as const, current };
    const json = JSON.stringify(next);
    updateEvacuation.run(json, requestId);
    return { ok: true as const, evacuation: parseEvacuation(json, requestId) };
  });
  /** Reads, applies `change` (a pure domain function; undefined refuses) and writes, in one transaction. */
  const changeEvacuation = (requestId: string, change: (ev: Evacuation) => Evacuation | undefined) => {
    const current = readEvacuation(requestId);
    const next = current === undefined ? undefined : change(current);
    if (next === undefined) return { ok: false as const, current };
    const json = JSON.stringify(next);
    updateEvacuation.run(json, requestId);
    return { ok: true as const, evacuation: parseEvacuation(json, requestId) };
  };
  const decideRoundTx = db.transaction((requestId: string, round: number, decision: RoundDecision, at: string) =>
    changeEvacuation(requestId, (ev) => decideRound(ev, round, decision, at)),
  );
  const retryEvacuationTx = db.transaction((requestId: string, round: number, at: string, target: string | undefined) =>
    changeEvacuation(requestId, (ev) => retryRound(ev, round, at, target)),
  );

  return {
    async createEvacuation(ev) {
      return createEvacuationTx.immediate(ev);
    },

    async getEvacuation(requestId) {
      return readEvacuation(requestId);
    },

    async claimInstance(requestId, instanceId, from, to, at = new Date().toISOString()) {
      return updateInstanceTx.immediate(requestId, instanceId, [from], { state: to, at });
    },

    async updateInstance(requestId, instanceId, from, patch) {
      return updateInstanceTx.immediate(requestId, instanceId, from, patch);
    },

    async decideRound(requestId, round, decision, at) {
      return decideRoundTx.immediate(requestId, round, decision, at);
    },

    async retryEvacuation(requestId, round, at, target) {
      return retryEvacuationTx.immediate(requestId, round, at, target);
    },

    async create(request) {
      return createTx.immediate(request);
    },

    async get(id) {
      return read(id);
    },

    async transition(id, from, to, at, patch, by, guard) {
      return transitionTx.immediate(id, from, to, at, patch, by, guard);
    },

    async recordForm(id, form, states) {
      return recordFormTx.immediate(id, form, states);
    },

    async setMessage(id, messageTs) {
      updateMessage.run(messageTs, id);
    },

    async recordSeen(id, at) {
      return recordSeenTx.immediate(id, canonicalInstant(at));
    },

    async findOpen(cloud, host, action) {
      return findOpenTx(lockKey({ cloud, host, action }));
    },

    async setNovaHost(id, host) {
      return setNovaHostTx.immediate(id, host);
    },

    async listByState(state) {
      return selectByState.all(state).map((row) => parse(row.json, '(listByState)'));
    },

    async markAlertResolved(id, at) {
      return markAlertResolvedTx.immediate(id, canonicalInstant(at, 'markAlertResolved: at'));
    },

    async markReminded(id, period) {
      return markRemindedTx.immediate(id, reminderPeriod(period));
    },

    async createGroup(group) {
      const createdAt = new Date(groupCreatedMs(group)).toISOString();
      const { changes } = insertGroup.run(group.id, group.channel, createdAt, JSON.stringify({ ...group, messages: [...(group.messages ?? [])] }));
      if (changes !== 1) throw new StoreError('DUPLICATE_ID', `group ${group.id} already exists`);
    },

    async getGroup(id) {
      return readGroup(id);
    },

    async addToGroup(id, members) {
      return addToGroupTx.immediate(id, members);
    },

    async setGroupMessages(id, messages) {
      updateGroupMessages.run(JSON.stringify(messages), id);
    },

    async findRecentGroup(channel, since, key) {
      const from = new Date(sinceMs(since)).toISOString();
      const row = key === undefined ? selectRecentGroup.get(channel, from) : selectRecentKeyedGroup.get(channel, from, key);
      return row === undefined ? undefined : parseGroup(row.json, '(findRecentGroup)');
    },

    async reserveGroupSlots(id, wanted, limits) {
      return reserveGroupSlotsTx.immediate(id, wanted, limits);
    },

    async takeQuota(key, wanted, limit, expiresAt) {
      return takeQuotaTx.immediate(key, wanted, limit, quotaExpiryMs(expiresAt));
    },

    close() {
      db.close();
    },
  };
}

function parse(json: string, id: string): ForceDownRequest {
  try {
    return JSON.parse(json) as ForceDownRequest;
  } catch (cause) {
    throw new StoreError('CORRUPT_ITEM', `request ${id}: stored JSON does not parse`, { cause });
  }
}

function parseGroup(json: string, id: string): StoredGroup {
  try {
    return JSON.parse(json) as StoredGroup;
  } catch (cause) {
    throw new StoreError('CORRUPT_ITEM', `group ${id}: stored JSON does not parse`, { cause });
  }
}

function parseEvacuation(json: string, requestId: string): Evacuation {
  try {
    return JSON.parse(json) as Evacuation;
  } catch (cause) {
    throw new StoreError('CORRUPT_ITEM', `evacuation of request ${requestId}: stored JSON does not parse`, { cause });
  }
}
