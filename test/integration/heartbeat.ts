/**
 * Makes a lab host report to Nova like a live nova-compute, or fall silent.
 *
 * A nova-compute reports every `report_interval` (10 s by default) through
 * `ServiceGroup` → `DbDriver._report_state`: `report_count + 1` on its row in
 * the cell DB's `services` table; Nova's DB layer (`service_update`) then sets
 * `last_seen_up` to now because report_count went up, and SQLAlchemy's
 * `onupdate` sets `updated_at` to now. These helpers write exactly that into
 * the lab's cell1 DB (SQLite in WAL mode, next to nova-api, which reads and
 * writes the same file: every write waits up to 30 s for nova-api's write lock
 * rather than failing with "database is locked").
 *
 * What the API shows, and what it means:
 * - `state` is computed by nova-api on every read from `last_seen_up`: `up`
 *   while it is at most `service_down_time` old (the lab runs Nova's default,
 *   60 s), `down` after that, and `down` whenever `forced_down` is set.
 *   `last_seen_up` is the heartbeat, and nothing but a heartbeat moves it.
 * - `updated_at` is the only time the API shows (`GET /os-services`), and it
 *   is NOT purely a heartbeat: any change to the row moves it, e.g. a
 *   `PUT /os-services/{id}` setting or unsetting `forced_down`, or a disable.
 *   A host forced down or up a moment ago shows a fresh `updated_at` even if
 *   it has been silent for hours (and `state: down` says it is silent).
 *
 * Hosts: the lab's `hb1`…`hb4` (`lab.hosts.heartbeat`) are for these tests:
 * seeded with a heartbeat 10 minutes old (silent, `down`) and not kept up by
 * test/lab/keep_up.py. The other seeded hosts are kept `up` by keep_up.py
 * (which moves their `last_seen_up` only); a heartbeat written for one of them
 * works too, but moves the `updated_at` other suites see. Leave an hb host
 * silent when done (`silence(lab, host, 600)`), as the lab seeded it.
 *
 * SQLite: nova-api reads a row and then writes it in one transaction, and a
 * write of ours that lands in between makes that PUT fail with a 500
 * "database is locked" (Nova does not retry it). Measured here: none in 500
 * PUTs with a write every 2 ms, many with a writer that never pauses. So
 * report every few seconds, as nova-compute does, never in a tight loop.
 */
import type Database from 'better-sqlite3';
import { withCellDb } from './cell-db.js';
import type { Lab } from './lab.js';

/** One nova-compute service row, as stored (Nova's naive UTC times: `2026-11-27 11:11:44.851543`). */
export interface ServiceRow {
  id: number;
  host: string;
  lastSeenUp: string | null;
  updatedAt: string | null;
  reportCount: number;
  forcedDown: boolean;
}

/** A time as Nova stores it in SQLite: naive UTC, space-separated, microseconds (`2026-11-27 11:11:44.851000`). */
export function novaTime(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '000');
}

/**
 * A time from Nova, stored (`2026-11-27 11:11:44.851543`) or as the API shows
 * it (`2026-11-27T11:11:44.851543`), both naive UTC, in ms since the epoch.
 */
export function fromNovaTime(value: string): number {
  const ms = Date.parse(`${value.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a Nova time: ${value}`);
  return ms;
}

const SELECT = `SELECT id, host, last_seen_up AS lastSeenUp, updated_at AS updatedAt, report_count AS reportCount, forced_down AS forcedDown
  FROM services WHERE host = ? AND binary = 'nova-compute' AND deleted = 0`;

function readRow(db: Database.Database, lab: Lab, host: string): ServiceRow {
  const rows = db.prepare(SELECT).all(host) as (Omit<ServiceRow, 'forcedDown'> & { forcedDown: number })[];
  if (rows.length !== 1) throw new Error(`heartbeat: ${rows.length} nova-compute services on ${host} in ${lab.novaCell1Db} (expected 1; is it a lab host? hb1..hb4 need a lab started after they were added)`);
  const r = rows[0]!;
  return { ...r, forcedDown: r.forcedDown === 1 };
}

/** The host's nova-compute row as stored now (last_seen_up is not in the API: this is where to read it). */
export async function serviceRow(lab: Lab, host: string): Promise<ServiceRow> {
  return withCellDb(lab, (db) => readRow(db, lab, host));
}

/** Sets the row's times (and bumps report_count for a heartbeat), checking that exactly one row changed. */
function write(lab: Lab, host: string, at: Date, beat: boolean): ServiceRow {
  return withCellDb(lab, (db) =>
    db.transaction(() => {
      const t = novaTime(at);
      const res = db
        .prepare(
          `UPDATE services SET last_seen_up = ?, updated_at = ?${beat ? ', report_count = report_count + 1' : ''}
           WHERE host = ? AND binary = 'nova-compute' AND deleted = 0`,
        )
        .run(t, t, host);
      if (res.changes !== 1) throw new Error(`heartbeat: ${res.changes} nova-compute services on ${host} in ${lab.novaCell1Db} (expected 1)`);
      return readRow(db, lab, host);
    }).immediate(),
  );
}

/**
 * One heartbeat of `host`'s nova-compute, as its report_state writes it:
 * `last_seen_up` and `updated_at` = `at` (default now), `report_count + 1`.
 * Nova counts the host `up` until `at` is 60 s old. Returns the row after.
 */
export async function heartbeat(lab: Lab, host: string, at: Date = new Date()): Promise<ServiceRow> {
  return write(lab, host, at, true);
}

/**
 * A host that stopped reporting `ageSeconds` ago: `last_seen_up` and
 * `updated_at` set that far in the past (report_count unchanged). Past 60 s,
 * Nova counts it `down` (not forced). Returns the row after.
 */
export async function silence(lab: Lab, host: string, ageSeconds: number): Promise<ServiceRow> {
  return write(lab, host, new Date(Date.now() - ageSeconds * 1000), false);
}

/** A host reporting on its own: see {@link keepReporting}. */
export interface Reporting {
  readonly host: string;
  /** Heartbeats written so far (the first one included). */
  beats(): number;
  /** The row after the last heartbeat. */
  last(): ServiceRow;
  /**
   * Stops reporting; resolves once no write is in progress and none will
   * follow. Rejects with the first write error, if a heartbeat failed. The
   * host falls silent from its last heartbeat: Nova counts it `down` 60 s later.
   */
  stop(): Promise<void>;
}

/**
 * Makes `host` report like a live nova-compute: one heartbeat now (written
 * when this resolves), then one every `everyMs` (nova-compute's default
 * report_interval: 10 s), until `stop()`. The timer does not keep the
 * process alive; a failed write is kept for `stop()` and reporting goes on.
 */
export async function keepReporting(lab: Lab, host: string, everyMs = 10_000): Promise<Reporting> {
  if (!(everyMs > 0)) throw new Error(`keepReporting: everyMs must be > 0 (got ${everyMs})`);
  let last = await heartbeat(lab, host);
  let beats = 1;
  let stopped = false;
  let error: unknown;
  let writing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    timer = setTimeout(() => {
      writing = (async () => {
        try {
          last = await heartbeat(lab, host);
          beats++;
        } catch (e) {
          error ??= e;
        }
      })();
      void writing.then(() => {
        if (!stopped) schedule();
      });
    }, everyMs);
    timer.unref();
  };
  schedule();

  return {
    host,
    beats: () => beats,
    last: () => last,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await writing;
      if (error !== undefined) throw error;
    },
  };
}
