// The lab's Nova cell1 DB (SQLite in WAL mode, next to nova-api, which reads and writes the same
// file), opened the one way the integration helpers that write Nova's rows directly need it.
import Database from 'better-sqlite3';
import type { Lab } from './lab.js';

/** How long a write waits for nova-api's write lock (SQLite busy_timeout) rather than failing with "database is locked". */
export const BUSY_TIMEOUT_MS = 30_000;

/** Runs `use` on a fresh connection to the lab's cell1 DB, closed afterwards. */
export function withCellDb<T>(lab: Lab, use: (db: Database.Database) => T): T {
  // A connection per call: nothing stays open on a lab that start.sh may wipe and restart.
  const db = new Database(lab.novaCell1Db, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    return use(db);
  } finally {
    db.close();
  }
}
