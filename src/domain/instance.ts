import { fail, succeed, type Outcome } from './failure.js';
import { compareMicroversions } from './microversion.js';

/**
 * The instances (Nova servers) on a host, and evacuating them: what is at
 * stake on a request's card, the body of Nova's evacuate action per
 * microversion, and how to read an evacuation's migration record. Pure.
 */

/** One instance on a host, in our names (Nova's `GET /servers/detail`, admin view). */
export interface Instance {
  id: string;
  name: string;
  /** Nova's API status: `ACTIVE`, `SHUTOFF`, `ERROR`, … (`UNKNOWN` when Nova gave none). */
  status: string;
  /** `OS-EXT-STS:vm_state`: `active`, `stopped`, `error`, … (absent when Nova did not show it). */
  vmState?: string;
  /** `OS-EXT-STS:task_state`, e.g. `rebuilding`; null when no operation runs. */
  taskState: string | null;
  /** `OS-EXT-SRV-ATTR:host` (absent when Nova did not show it). */
  host?: string;
  /** Marked for HA (metadata `HA_Enabled`, read as Masakari reads it: see isHaEnabled). */
  ha: boolean;
}

/** Nova's API statuses shown first on a card, in this order; any other status follows. */
export const LEADING_STATES = ['ACTIVE', 'SHUTOFF', 'ERROR'] as const;

/** The words oslo's `bool_from_string` reads as true (after trimming, case-insensitively). */
const TRUE_STRINGS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

/**
 * Masakari's convention: an instance is marked for HA when its metadata key
 * `HA_Enabled` (exactly that key: metadata keys are case-sensitive) reads as
 * true the way Masakari reads it (`strutils.bool_from_string`, not strict):
 * `True`, `true`, `yes`, `1`, `on`, … count; anything else, or no key, does not.
 */
export function isHaEnabled(metadata: Readonly<Record<string, unknown>> | null | undefined): boolean {
  const value = metadata?.['HA_Enabled'];
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  return TRUE_STRINGS.has(String(value).trim().toLowerCase());
}

export interface StateCount {
  state: string;
  count: number;
}

/**
 * Instances per API status, in a stable order: ACTIVE, SHUTOFF, ERROR first
 * (the states an operator reads first: running, stopped, broken), then any
 * other status by count (most first), then by name. States with no instance
 * are left out.
 */
export function countByState(instances: readonly Pick<Instance, 'status'>[]): StateCount[] {
  const counts = new Map<string, number>();
  for (const i of instances) {
    const state = i.status || 'UNKNOWN';
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const leading: string[] = [...LEADING_STATES];
  const rank = (s: string) => {
    const at = leading.indexOf(s);
    return at === -1 ? leading.length : at;
  };
  return [...counts.entries()]
    .map(([state, count]) => ({ state, count }))
    .sort((a, b) => rank(a.state) - rank(b.state) || b.count - a.count || (a.state < b.state ? -1 : a.state > b.state ? 1 : 0));
}

/** `ACTIVE 31 · SHUTOFF 4 · ERROR 1`; `no instances` for none. Statuses are Nova's words: escape them for mrkdwn. */
export function formatStateCounts(counts: readonly StateCount[]): string {
  return counts.length === 0 ? 'no instances' : counts.map((c) => `${c.state} ${c.count}`).join(' · ');
}

/** What is at stake on a host: how many instances, by state, and how many are marked for HA. */
export interface InstanceSummary {
  total: number;
  /** Marked for HA (metadata `HA_Enabled`). */
  ha: number;
  byState: StateCount[];
  /** formatStateCounts(byState). */
  text: string;
}

export function summarizeInstances(instances: readonly Pick<Instance, 'status' | 'ha'>[]): InstanceSummary {
  const byState = countByState(instances);
  return { total: instances.length, ha: instances.filter((i) => i.ha).length, byState, text: formatStateCounts(byState) };
}

// ---------------------------------------------------------------------------
// Evacuate: the microversion and the body.

/**
 * The first microversion force-down evacuates at. Below it Nova requires
 * `onSharedStorage` (which the caller would have to know, per instance, and
 * answer right or lose the disk) and may return a generated admin password:
 * force-down refuses (NOVA_TOO_OLD) rather than guess.
 */
export const EVACUATE_MIN = '2.14';
/**
 * The highest microversion force-down evacuates and lists instances at.
 * 2.68 removed `force` from evacuate (nothing we send changes from 2.29 on);
 * 2.69 lets `GET /servers/detail` return partial records (status `UNKNOWN`,
 * no host or metadata) for instances in a cell that is down; and 2.95 stops
 * evacuated instances at the destination instead of restoring their state.
 * At 2.68 an evacuated instance comes back as it was, and every listed
 * instance has its full record.
 */
export const EVACUATE_MAX = '2.68';
/** From this microversion a chosen target host is checked by Nova's scheduler; below it Nova puts the instance there unchecked. */
export const SCHEDULER_CHECKS_TARGET_FROM = '2.29';
/** From this microversion `GET /os-migrations` shows each record's `migration_type`. */
export const MIGRATION_TYPE_SHOWN_FROM = '2.23';


const minVersion = (...vs: string[]) => vs.reduce((a, b) => (compareMicroversions(a, b) <= 0 ? a : b));

/**
 * The microversion to call Nova's servers and migrations APIs at: the lowest
 * of Nova's maximum (`max`, from its version document), a pinned
 * `compute_api_version` (`pin`: never exceeded) and EVACUATE_MAX. Listing
 * works at any microversion (undefined: send no header, for a Nova without
 * microversions).
 */
export function serversMicroversion(max: string, pin?: string): string | undefined {
  if (!max || compareMicroversions(max, '2.1') < 0) return undefined;
  return minVersion(max, EVACUATE_MAX, ...(pin ? [pin] : []));
}

/** The microversion to evacuate at (serversMicroversion), or NOVA_TOO_OLD when it is below EVACUATE_MIN. */
export function evacuateMicroversion(max: string, pin?: string): Outcome<string> {
  const v = serversMicroversion(max, pin);
  if (v === undefined || compareMicroversions(v, EVACUATE_MIN) < 0) {
    const why =
      pin && v !== undefined && compareMicroversions(pin, max) < 0
        ? `the pinned compute microversion ${pin} is below ${EVACUATE_MIN}`
        : `Nova's maximum compute microversion is ${max || '2.0 (none)'}`;
    return fail({ code: 'NOVA_TOO_OLD', message: `${why}; force-down evacuates at ${EVACUATE_MIN} or later (no onSharedStorage to guess)` });
  }
  return succeed(v);
}

/** The `evacuate` action's body: `host` only when a target was chosen; never `onSharedStorage`, `force` or `adminPass`. */
export interface EvacuateBody {
  evacuate: { host?: string };
}

/**
 * The body Nova's evacuate action wants at `microversion`. Below 2.14 Nova
 * requires `onSharedStorage`: refused (NOVA_TOO_OLD). From 2.14 the body is
 * `{}` or `{host}`; `force` (accepted 2.29–2.67, refused from 2.68) is never
 * sent, so a chosen target is always checked by Nova's scheduler from 2.29.
 */
export function evacuateBody(microversion: string, target?: string): Outcome<EvacuateBody> {
  if (compareMicroversions(microversion, EVACUATE_MIN) < 0) {
    return fail({
      code: 'NOVA_TOO_OLD',
      message: `at microversion ${microversion} Nova's evacuate needs onSharedStorage, which force-down does not guess; it evacuates at ${EVACUATE_MIN} or later`,
    });
  }
  const host = target?.trim();
  return succeed({ evacuate: host ? { host } : {} });
}

// ---------------------------------------------------------------------------
// Migration records.

export type MigrationPhase = 'in-progress' | 'done' | 'failed';

const DONE = new Set(['done', 'completed']);
const FAILED = new Set(['failed', 'error', 'cancelled']);

/**
 * How an evacuation stands by its migration record's status. `done` (the
 * instance was rebuilt on the target) and `completed` (the source host has
 * cleaned up since) are done; `failed`, `error` (e.g. no valid host) and
 * `cancelled` failed; `accepted`, `pre-migrating`, `migrating`, … and any
 * status this code does not know are in progress (a timeout decides then).
 */
export function migrationPhase(status: string): MigrationPhase {
  const s = status.trim().toLowerCase();
  if (DONE.has(s)) return 'done';
  if (FAILED.has(s)) return 'failed';
  return 'in-progress';
}

/** One evacuation migration record of an instance, in our names (Nova's `GET /os-migrations`). */
export interface EvacuationMigration {
  /** Nova's integer id, as text. */
  id: string;
  /** The migration's UUID (Nova shows it from 2.59). */
  uuid?: string;
  instanceId: string;
  /** Nova's word, kept as it is: `accepted`, `done`, `failed`, … */
  status: string;
  phase: MigrationPhase;
  sourceCompute?: string;
  /** The target Nova chose (or was told); null until the scheduler picked one. */
  destCompute?: string | null;
  /** ISO 8601 as Nova gives it (UTC, no zone). */
  createdAt?: string;
  updatedAt?: string | null;
}
