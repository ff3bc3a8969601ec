import type { Outcome } from '../domain/failure.js';
import type { EvacuateBody, EvacuationMigration, Instance } from '../domain/instance.js';

/**
 * What the use cases need of Nova to show a host's instances and evacuate
 * them (src/openstack/servers.ts's ServersClient fits). Every method returns
 * an Outcome; none throws for an expected failure. One per cloud.
 */
export interface EvacuateGateway {
  /**
   * Every instance Nova has on `host`, all projects (`GET /servers/detail
   * ?host=<host>&all_tenants=1`, every page): a read for a card, never on the
   * acknowledgement path. More than the client's bound (10,000 by default):
   * TOO_MANY_INSTANCES.
   */
  listServersOnHost(host: string): Promise<Outcome<Instance[]>>;
  /**
   * Asks Nova once to evacuate instance `serverId` (`POST /servers/{id}/action`):
   * to `target` when given, else where Nova's scheduler chooses. Sent once
   * and never resent, not even on a lost answer: Nova accepts a second
   * evacuate of an instance it is evacuating, so exactly-once is the
   * caller's to keep. After NOVA_UNAVAILABLE the evacuation may or may not
   * have been accepted: read evacuationMigrations before asking again.
   * Errors: NOVA_TOO_OLD (below 2.14), INSTANCE_STATE_CONFLICT (409),
   * HOST_STILL_IN_USE, TARGET_NOT_FOUND, TARGET_SAME_HOST, INSTANCE_NOT_FOUND,
   * NO_VALID_HOST, NOVA_FORBIDDEN, NOVA_REJECTED, NOVA_UNAVAILABLE.
   */
  evacuate(serverId: string, target?: string): Promise<Outcome<EvacuationAccepted>>;
  /**
   * The instance's evacuation migration records (`GET /os-migrations
   * ?instance_uuid=…&migration_type=evacuation`), newest first. Judge the
   * newest with `migrationPhase` (its `phase`): done, failed, or in progress.
   */
  evacuationMigrations(serverId: string): Promise<Outcome<EvacuationMigration[]>>;
  /**
   * Nova's record of the instance's last failure (`GET /servers/{id}`, its
   * `fault.message`, e.g. "No valid host was found. …"), undefined when it
   * has none: why a failed evacuation failed. Optional.
   */
  instanceFault?(serverId: string): Promise<Outcome<string | undefined>>;
}

/** Nova accepted an evacuation (HTTP 200): for the audit record. */
export interface EvacuationAccepted {
  serverId: string;
  /** `POST /servers/{id}/action`. */
  request: string;
  microversion: string;
  /** The body sent (no password: force-down never sends one, and none comes back from 2.14). */
  body: EvacuateBody;
  status: number;
}

/** What the gateway may also offer: the microversion evacuate would use (ServersClient has it), checked before anything is sent. */
export type EvacuationServers = EvacuateGateway & { evacuateMicroversion?: () => Promise<Outcome<string>> };

/** The evacuation settings of the worker (FORCE_DOWN_EVACUATE_CONCURRENCY, FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES). */
export interface EvacuationSettings {
  concurrency: number;
  timeoutMs: number;
  /** Pause between reads of a migration record (default 5 s). */
  pollMs?: number;
  /** How long one job follows before handing over to a fresh one (default EVACUATE_SLICE_MS, src/app/evacuation-flow.ts). */
  sliceMs?: number;
  /** Least time between two progress updates of the card (default EVACUATE_CARD_EVERY_MS). */
  cardEveryMs?: number;
  /**
   * True once the process is stopping (`npm start`'s shutdown): the job stops
   * following and hands over to nobody; the next start resumes the
   * evacuation from the ledger (recoverStalledEvacuations with `atStart`).
   */
  stopping?: () => boolean;
}
