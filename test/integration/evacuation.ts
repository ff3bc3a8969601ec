/**
 * The evacuation tests' side of the lab: read the instances on an evac host, play Nova's
 * conductor and computes (which the lab does not run), and put a host back as seeded.
 *
 * What the lab's nova-api does on `POST /servers/{id}/action {"evacuate": {}}` (measured, Nova
 * 26): with the source host's nova-compute `up`, 400 "Compute service of <host> is still in use."
 * Forced down: 200, and it has recorded the evacuation — the instance's task state `rebuilding`
 * (status REBUILD, still on the source host), an `evacuate` instance action, a Migration of type
 * `evacuation`, status `accepted`, source the host, no destination (unless one was named) — and
 * cast `rebuild_instance` to the conductor, which over the lab's `fake://` transport goes nowhere.
 * So nothing ever moves on its own: the migration stays `accepted` and the instance `rebuilding`
 * until a test plays the conductor ({@link finishEvacuation}). Nova also accepts a second
 * evacuate of the same instance while the first is pending (200, a second `accepted` migration),
 * and an instance in a task state (evac4's `rebooting` one): evacuate checks the vm_state only
 * (active, stopped or error; evac4's PAUSED one gets 409).
 *
 * These helpers write Nova's cell1 DB directly (SQLite in WAL mode, next to nova-api, through
 * test/integration/cell-db.ts like test/integration/heartbeat.ts), the columns Nova's own objects write, so that nova-api reads
 * the result like any other: `GET /servers/detail?host=…`, `GET /os-migrations`, and the
 * force-up check (`PUT /os-services/{id}` `forced_down: false` is refused with a 400 while a
 * `done` evacuation away from the host remains: {@link completeEvacuations} or
 * {@link resetEvacuations} first).
 *
 * Hosts: evac1..evac4 only (`lab.hosts.evac`), their instances in `lab.instances`.
 */
import { withCellDb } from './cell-db.js';
import { novaTime } from './heartbeat.js';
import type { Lab, SeededInstance } from './lab.js';

/** One instance as stored in the cell DB (what the API shows as host, status, task state). */
export interface InstanceRow {
  id: string;
  name: string;
  host: string | null;
  node: string | null;
  vmState: string;
  taskState: string | null;
  powerState: number;
}

/** One migration as stored (`GET /os-migrations` shows the same). */
export interface MigrationRow {
  id: number;
  uuid: string;
  instanceId: string;
  migrationType: string;
  status: string;
  sourceCompute: string | null;
  destCompute: string | null;
  destNode: string | null;
  createdAt: string;
  updatedAt: string | null;
}

const INSTANCE = `SELECT uuid AS id, display_name AS name, host, node, vm_state AS vmState, task_state AS taskState, power_state AS powerState
  FROM instances WHERE deleted = 0`;
const MIGRATION = `SELECT id, uuid, instance_uuid AS instanceId, migration_type AS migrationType, status, source_compute AS sourceCompute,
  dest_compute AS destCompute, dest_node AS destNode, created_at AS createdAt, updated_at AS updatedAt
  FROM migrations WHERE deleted = 0`;

/** The seeded instances of an evac host (lab.json), failing clearly for any other host or an older lab. */
export function seeded(lab: Lab, host: string): SeededInstance[] {
  const list = lab.instances[host];
  if (!list?.length) {
    throw new Error(`evacuation: no seeded instances on ${host} (evac1..evac4 only; a lab started before they were added needs a restart: npm run lab:stop && npm run lab:start)`);
  }
  return list;
}

function seededById(lab: Lab, id: string): { host: string; instance: SeededInstance } {
  for (const [host, list] of Object.entries(lab.instances)) {
    const instance = list.find((i) => i.id === id);
    if (instance) return { host, instance };
  }
  throw new Error(`evacuation: ${id} is not a seeded instance of the lab (lab.instances)`);
}

/** The instances the cell DB has on `host` now, oldest first (Nova's `instances.host`). */
export async function instancesOn(lab: Lab, host: string): Promise<InstanceRow[]> {
  return withCellDb(lab, (db) => db.prepare(`${INSTANCE} AND host = ? ORDER BY created_at, id`).all(host) as InstanceRow[]);
}

/** One instance as stored now. */
export async function instanceRow(lab: Lab, id: string): Promise<InstanceRow> {
  const row = withCellDb(lab, (db) => db.prepare(`${INSTANCE} AND uuid = ?`).get(id) as InstanceRow | undefined);
  if (!row) throw new Error(`evacuation: no instance ${id} in ${lab.novaCell1Db}`);
  return row;
}

/** The evacuation migrations of an instance, oldest first. */
export async function evacuationMigrations(lab: Lab, instanceId: string): Promise<MigrationRow[]> {
  return withCellDb(lab, (db) => db.prepare(`${MIGRATION} AND instance_uuid = ? AND migration_type = 'evacuation' ORDER BY id`).all(instanceId) as MigrationRow[]);
}

/** How an evacuation ends: `done` on `dest`, or `error` (the conductor found no host). */
export type EvacuationEnd = { status: 'done'; dest: string } | { status: 'error' };

/**
 * Plays Nova's conductor and destination compute for one pending evacuation of `instanceId`
 * (its newest `accepted` evacuation migration, or `migrationId`'s), as Nova writes it:
 * - `done` (the destination's rebuild finished: ResourceTracker.finish_evacuation): the instance
 *   on `dest` (host and node), task state none, `active` again (`stopped` if it was stopped,
 *   as the rebuild leaves it); the migration's destination `dest`, status `done`.
 * - `error` (the conductor's NoValidHost): the migration `error`, the instance left on its host,
 *   vm_state `error`, task state none, with an instance fault "No valid host was found." (what
 *   `GET /servers/{id}` shows as `fault`).
 * Returns the instance and the migration as stored after. Throws if there is no such pending
 * migration (e.g. Nova never accepted the evacuation).
 */
export async function finishEvacuation(
  lab: Lab,
  instanceId: string,
  end: EvacuationEnd,
  migrationId?: number,
): Promise<{ instance: InstanceRow; migration: MigrationRow }> {
  return withCellDb(lab, (db) =>
    db.transaction(() => {
      const pending = db
        .prepare(`${MIGRATION} AND instance_uuid = ? AND migration_type = 'evacuation' AND status = 'accepted' ORDER BY id DESC`)
        .all(instanceId) as MigrationRow[];
      const migration = migrationId === undefined ? pending[0] : pending.find((m) => m.id === migrationId);
      if (!migration) {
        throw new Error(`evacuation: no accepted evacuation migration${migrationId === undefined ? '' : ` ${migrationId}`} for ${instanceId}`);
      }
      const instance = db.prepare(`${INSTANCE} AND uuid = ?`).get(instanceId) as InstanceRow | undefined;
      if (!instance) throw new Error(`evacuation: no instance ${instanceId}`);
      const now = novaTime(new Date());
      if (end.status === 'done') {
        if (!end.dest || end.dest === migration.sourceCompute) throw new Error(`evacuation: destination ${end.dest} must be another host than ${migration.sourceCompute}`);
        const stopped = instance.vmState === 'stopped';
        db.prepare(
          `UPDATE instances SET host = ?, node = ?, task_state = NULL, vm_state = ?, power_state = ?, updated_at = ? WHERE uuid = ? AND deleted = 0`,
        ).run(end.dest, end.dest, stopped ? 'stopped' : 'active', stopped ? 4 : 1, now, instanceId);
        db.prepare(`UPDATE migrations SET status = 'done', dest_compute = ?, dest_node = ?, dest_host = '127.0.0.1', updated_at = ? WHERE id = ?`).run(
          end.dest,
          end.dest,
          now,
          migration.id,
        );
      } else {
        db.prepare(`UPDATE instances SET task_state = NULL, vm_state = 'error', updated_at = ? WHERE uuid = ? AND deleted = 0`).run(now, instanceId);
        db.prepare(`UPDATE migrations SET status = 'error', updated_at = ? WHERE id = ?`).run(now, migration.id);
        db.prepare(
          `INSERT INTO instance_faults (created_at, instance_uuid, code, message, details, host, deleted) VALUES (?, ?, 500, 'No valid host was found. ', '', 'lab-conductor', 0)`,
        ).run(now, instanceId);
      }
      return {
        instance: db.prepare(`${INSTANCE} AND uuid = ?`).get(instanceId) as InstanceRow,
        migration: db.prepare(`${MIGRATION} AND id = ?`).get(migration.id) as MigrationRow,
      };
    }).immediate(),
  );
}

/**
 * What `nova pause` leaves in the cell DB once the compute has paused a seeded instance: vm_state
 * `paused`, power state 3 (PAUSED), no task state. Nova then refuses to evacuate it (409 "Cannot
 * 'evacuate' instance … while it is in vm_state paused", as evac4's seeded PAUSED one);
 * {@link resetEvacuations} puts it back as seeded. Returns the instance as stored after.
 */
export async function pauseInstance(lab: Lab, instanceId: string): Promise<InstanceRow> {
  seededById(lab, instanceId);
  return withCellDb(lab, (db) =>
    db.transaction(() => {
      const res = db
        .prepare(`UPDATE instances SET vm_state = 'paused', task_state = NULL, power_state = 3, updated_at = ? WHERE uuid = ? AND deleted = 0`)
        .run(novaTime(new Date()), instanceId);
      if (res.changes !== 1) throw new Error(`evacuation: no instance ${instanceId} in ${lab.novaCell1Db}`);
      return db.prepare(`${INSTANCE} AND uuid = ?`).get(instanceId) as InstanceRow;
    }).immediate(),
  );
}

/**
 * What the source host's nova-compute does when it starts again: its `done` evacuations move
 * to `completed` (after which Nova lets the host be forced up). Returns how many moved.
 */
export async function completeEvacuations(lab: Lab, host: string): Promise<number> {
  return withCellDb(lab, (db) =>
    db
      .prepare(`UPDATE migrations SET status = 'completed', updated_at = ? WHERE source_compute = ? AND status = 'done' AND migration_type = 'evacuation' AND deleted = 0`)
      .run(novaTime(new Date()), host).changes,
  );
}

/**
 * Puts `host`'s seeded instances back as seeded, wherever they are now: on `host` (host and
 * node), their seeded vm/task/power state; their migrations, instance actions (with events) and
 * faults deleted. Leaves the host's forced_down flag alone (the test's probe resets it; with no
 * `done` migration left, Nova allows it). Returns how many migrations were removed.
 */
export async function resetEvacuations(lab: Lab, host: string): Promise<number> {
  const instances = seeded(lab, host);
  return withCellDb(lab, (db) =>
    db.transaction(() => {
      const ids = instances.map((i) => i.id);
      const marks = ids.map(() => '?').join(',');
      const restore = db.prepare(
        `UPDATE instances SET host = ?, node = ?, vm_state = ?, task_state = ?, power_state = ?, updated_at = ? WHERE uuid = ? AND deleted = 0`,
      );
      const now = novaTime(new Date());
      for (const i of instances) {
        const res = restore.run(host, host, i.vm_state, i.task_state, i.power_state, now, i.id);
        if (res.changes !== 1) throw new Error(`evacuation: seeded instance ${i.name} (${i.id}) is gone from ${lab.novaCell1Db}`);
      }
      db.prepare(`DELETE FROM instance_actions_events WHERE action_id IN (SELECT id FROM instance_actions WHERE instance_uuid IN (${marks}))`).run(...ids);
      db.prepare(`DELETE FROM instance_actions WHERE instance_uuid IN (${marks})`).run(...ids);
      db.prepare(`DELETE FROM instance_faults WHERE instance_uuid IN (${marks})`).run(...ids);
      return db.prepare(`DELETE FROM migrations WHERE instance_uuid IN (${marks})`).run(...ids).changes;
    }).immediate(),
  );
}

/** The seeded host an instance belongs to (lab.json), e.g. to reset it. */
export function seededHost(lab: Lab, instanceId: string): string {
  return seededById(lab, instanceId).host;
}
