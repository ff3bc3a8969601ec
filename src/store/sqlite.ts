import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { holdsLock, lockKey, type ForceDownRequest, type RequestState } from '../domain/request.js';
import { StoreError } from './errors.js';
import type { CreateResult, RequestStore, TransitionPatch, TransitionResult } from './port.js';
import { applySeen, applyTransition, canonicalInstant, isLockHolder } from './transition.js';

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
 * `json` column, written together with them.
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
    (id: string, from: readonly RequestState[], to: RequestState, at: string, patch: TransitionPatch | undefined, by: string | undefined): TransitionResult => {
      const current = read(id);
      if (current === undefined || !from.includes(current.state)) return { ok: false, current };
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

  return {
    async create(request) {
      return createTx.immediate(request);
    },

    async get(id) {
      return read(id);
    },

    async transition(id, from, to, at, patch, by) {
      return transitionTx.immediate(id, from, to, at, patch, by);
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

    async listByState(state) {
      return selectByState.all(state).map((row) => parse(row.json, '(listByState)'));
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
