import { fail, succeed, type Failure, type Outcome } from '../domain/failure.js';
import { COMPUTE_BINARY } from '../domain/host.js';
import type { EvacuationMigration, Instance } from '../domain/instance.js';
import { describePowerState, isOff, type BmcReading } from '../domain/power.js';
import { takesInstances, type ComputeService } from '../domain/service.js';
import type { BmcGateway } from './bmc-port.js';
import type { EvacuateGateway, EvacuationAccepted, EvacuationServers } from './evacuate-port.js';

export type { EvacuationServers };
import type { NovaGateway } from './ports.js';

/**
 * Evacuating a forced-down host: the checks before anything is sent, then
 * Nova's evacuate action once per instance, at most `concurrency`
 * evacuations in progress at a time, each followed through its migration
 * record until it ends (done, failed) or `timeoutMs` after it was accepted.
 * Shared by the breakglass CLI and the Slack worker. Two steps, so that a
 * caller can show what would be evacuated and ask before anything is sent:
 *
 *   const plan = await planEvacuation(servers, nova, bmc, input);  // reads only
 *   const report = await runEvacuation(servers, plan.value, opts); // sends
 *
 * (`evacuateHost` does both.) Nothing here throws for an expected failure.
 */

/** Which of the host's instances to evacuate: all, or only those marked for HA (metadata `HA_Enabled`). */
export type EvacuationScope = 'all' | 'ha-only';

export interface EvacuationInput {
  host: string;
  /** The source host's service binary (default nova-compute). */
  binary?: string;
  /** Where to rebuild them; undefined: Nova's scheduler chooses per instance. */
  target?: string;
  scope: EvacuationScope;
}


/** What the checks found, and what would be evacuated. */
export interface EvacuationPlan {
  host: string;
  target?: string;
  scope: EvacuationScope;
  /** Nova's record of the source host's service when it was checked (forced down or down). */
  service: ComputeService;
  /** The BMC's reading, when the host has a BMC: Off, or unreadable (a dead BMC does not refuse: a host fenced at its PDU takes its BMC with it). */
  bmc?: { reading: BmcReading } | { unreadable: Failure };
  /** Every instance Nova lists on the host (once each). */
  listed: Instance[];
  /** Those to evacuate (all, or the HA-marked ones), once each, in Nova's order. */
  instances: Instance[];
  /** The microversion evacuate will be sent at, when the gateway says. */
  microversion?: string;
}

/** How one instance's evacuation ended; `unfinished`: still in progress when the run stopped at its `stopAt` (a later run follows it). */
export type EvacuationResultKind = 'done' | 'failed' | 'timeout' | 'refused' | 'unfinished';

/** How one instance's evacuation ended. */
export interface EvacuationResult {
  instance: Instance;
  result: EvacuationResultKind;
  /** refused: Nova's refusal of the evacuate (or why it was not sent); failed, timeout: EVACUATION_FAILED / EVACUATION_TIMEOUT. */
  failure?: Failure;
  /** Nova's answer to the evacuate, when it accepted it in this run. */
  accepted?: EvacuationAccepted;
  /** The migration record as last read. */
  migration?: EvacuationMigration;
  /** The evacuate was accepted before this run (the ledger's `alreadyAccepted`): followed, not sent again. */
  acceptedEarlier?: boolean;
}

export interface EvacuationSummary {
  total: number;
  done: number;
  failed: number;
  timeout: number;
  refused: number;
  /** Still in progress when the run stopped at `stopAt`. */
  unfinished: number;
  /** Every instance evacuated (true for none at all). */
  allDone: boolean;
}

/** What runEvacuation needs of a plan: the instances to evacuate and the target; `host`, the source, to tell our evacuation's records from older ones when it resumes. */
export type RunPlan = Pick<EvacuationPlan, 'instances' | 'target'> & { host?: string };

/** Nova's clock and ours may differ: a record this much older than our claim may still be ours. */
const CLOCK_SKEW_MS = 15 * 60_000;

/** When Nova created a migration record (ISO 8601 in UTC, Nova writes no zone), or undefined. */
function createdMs(m: EvacuationMigration): number | undefined {
  if (!m.createdAt) return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(m.createdAt) ? m.createdAt : `${m.createdAt}Z`);
  return Number.isFinite(t) ? t : undefined;
}

export interface EvacuationReport<P extends RunPlan = EvacuationPlan> {
  plan: P;
  results: EvacuationResult[];
  summary: EvacuationSummary;
}

/** What a caller hears per instance while the evacuation runs (the CLI's stderr, a card's progress). */
export type EvacuationProgress =
  | { kind: 'sent'; instance: Instance }
  | { kind: 'accepted'; instance: Instance; migration?: EvacuationMigration; earlier?: boolean }
  | { kind: 'error'; instance: Instance; failure: Failure }
  | { kind: 'done'; instance: Instance; migration: EvacuationMigration }
  | { kind: 'failed'; instance: Instance; migration: EvacuationMigration; failure: Failure }
  | { kind: 'timeout'; instance: Instance; failure: Failure; migration?: EvacuationMigration };

/**
 * Where "each instance at most once" is kept beyond this run: the worker
 * plugs its store in. Without one, an in-memory set keeps it for the run.
 */
export interface EvacuationLedger {
  /**
   * True when an evacuate of this instance was already accepted (it is
   * followed, never sent again); `{ since }` (epoch ms): accepted then, and
   * its evacuation's time runs from then.
   */
  alreadyAccepted?(instanceId: string): boolean | { since: number } | Promise<boolean | { since: number }>;
  /**
   * Called before the evacuate is sent (`sending`), when Nova accepted it
   * (`accepted`), and with each instance's end (with its failure and
   * migration, when known; never `unfinished`); errors are ignored.
   */
  record?(instanceId: string, outcome: 'sending' | 'accepted' | Exclude<EvacuationResultKind, 'unfinished'>, detail?: { failure?: Failure; migration?: EvacuationMigration }): unknown;
}

export interface EvacuationOptions {
  /** Evacuations in progress at once, from the evacuate until its migration ends (FORCE_DOWN_EVACUATE_CONCURRENCY). */
  concurrency: number;
  /** How long an accepted evacuation may take to end (FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES). */
  timeoutMs: number;
  /** Pause between reads of a migration record (default 5 s). */
  pollMs?: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Progress; its failures never stop the evacuation. */
  onProgress?: (progress: EvacuationProgress) => unknown;
  ledger?: EvacuationLedger;
  /**
   * Epoch ms: start no new evacuation from then, and stop following the
   * accepted ones (`unfinished`), e.g. before a Lambda's time runs out; a
   * later run resumes from the ledger. Default: run to the end.
   */
  stopAt?: number;
  /** Also stop (as at `stopAt`) once this answers true. */
  stopWhen?: () => boolean;
}

export const DEFAULT_EVACUATE_POLL_MS = 5_000;

/**
 * The checks, in order, before anything is sent (each refusal sends nothing):
 * 1. Nova's service record for the host: forced down or down, else
 *    HOST_STILL_IN_USE (Nova would answer 400 "Compute service … is still in use").
 * 2. The host's BMC, when it has one: a reading other than Off refuses
 *    (BMC_SAYS_ON); an unreadable BMC is noted, not a refusal.
 * 3. The target, when given: not the host itself (TARGET_SAME_HOST), and an
 *    enabled, up nova-compute of this cloud (TARGET_NOT_FOUND).
 * 4. The microversion (NOVA_TOO_OLD below 2.14), when the gateway tells it.
 * Then the instances on the host, once each, filtered by scope.
 */
export async function planEvacuation(
  servers: EvacuationServers,
  nova: Pick<NovaGateway, 'getService' | 'listComputeServices'>,
  bmc: Pick<BmcGateway, 'readPower'> | undefined,
  input: EvacuationInput,
): Promise<Outcome<EvacuationPlan>> {
  const binary = input.binary ?? COMPUTE_BINARY;
  const svc = await nova.getService(input.host, binary);
  if (!svc.ok) return svc;
  const service = svc.value;
  if (!service.forcedDown && service.state !== 'down') {
    return fail({
      code: 'HOST_STILL_IN_USE',
      message: `Nova sees ${input.host}'s ${binary} as ${service.state ?? 'not down'} and not forced down, so it would evacuate nothing from it (400 "Compute service of ${input.host} is still in use."); nothing was sent`,
      request: 'GET /os-services',
    });
  }

  let bmcSeen: EvacuationPlan['bmc'];
  if (bmc) {
    const read = await bmc.readPower();
    if (read.ok && !isOff(read.value)) {
      return fail({
        code: 'BMC_SAYS_ON',
        message: `${input.host}'s BMC reports power ${describePowerState(read.value.powerState)}, not Off: evacuating would run its instances twice; nothing was sent`,
        request: `GET ${read.value.system}`,
      });
    }
    bmcSeen = read.ok ? { reading: read.value } : { unreadable: read.failure };
  }

  const target = input.target?.trim() || undefined;
  if (target !== undefined) {
    if (target === input.host) {
      return fail({ code: 'TARGET_SAME_HOST', message: `the target ${target} is the host being evacuated; nothing was sent` });
    }
    const list = await nova.listComputeServices();
    if (!list.ok) return list;
    const t = list.value.find((s) => s.host === target && s.binary === COMPUTE_BINARY);
    if (!t) {
      return fail({ code: 'TARGET_NOT_FOUND', message: `Nova has no nova-compute host named ${target}; nothing was sent`, request: 'GET /os-services' });
    }
    if (!takesInstances(t)) {
      const how = [t.forcedDown ? 'forced down' : t.state ?? 'state unknown', t.status ?? 'status unknown'].join(', ');
      return fail({
        code: 'TARGET_NOT_FOUND',
        message: `the target ${target}'s nova-compute is ${how}: it must be up and enabled to take instances; nothing was sent`,
        request: 'GET /os-services',
      });
    }
  }

  let microversion: string | undefined;
  if (servers.evacuateMicroversion) {
    const v = await servers.evacuateMicroversion();
    if (!v.ok) return v;
    microversion = v.value;
  }

  const listedRaw = await servers.listServersOnHost(input.host);
  if (!listedRaw.ok) return listedRaw;
  const seen = new Set<string>();
  const listed = listedRaw.value.filter((i) => !seen.has(i.id) && (seen.add(i.id), true));
  const instances = input.scope === 'ha-only' ? listed.filter((i) => i.ha) : listed;
  return succeed({
    host: input.host,
    ...(target !== undefined ? { target } : {}),
    scope: input.scope,
    service,
    ...(bmcSeen ? { bmc: bmcSeen } : {}),
    listed,
    instances,
    ...(microversion !== undefined ? { microversion } : {}),
  });
}

/**
 * Evacuates the plan's instances: each at most once (an in-memory set, and
 * the ledger's `alreadyAccepted` when given), at most `concurrency` in
 * progress at a time (a slot is held from the evacuate until the migration
 * ends), each followed through its newest evacuation migration record that
 * was not there before the evacuate was sent.
 *
 * The evacuate is never resent. When its answer is lost (NOVA_UNAVAILABLE),
 * the migration records tell whether Nova accepted it: a new record is
 * followed as accepted; none, and the instance is reported refused.
 */
export async function runEvacuation<P extends RunPlan>(servers: EvacuateGateway, plan: P, opts: EvacuationOptions): Promise<EvacuationReport<P>> {
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const pollMs = opts.pollMs ?? DEFAULT_EVACUATE_POLL_MS;
  const tell = async (p: EvacuationProgress) => {
    try {
      await opts.onProgress?.(p);
    } catch {
      // Progress only.
    }
  };
  const stopped = () => (opts.stopAt !== undefined && opts.now() >= opts.stopAt) || opts.stopWhen?.() === true;
  const record = async (id: string, outcome: 'sending' | 'accepted' | EvacuationResultKind, detail?: { failure?: Failure; migration?: EvacuationMigration }) => {
    if (outcome === 'unfinished') return;
    try {
      await opts.ledger?.record?.(id, outcome, detail);
    } catch {
      // The ledger's failure to write does not undo what Nova did.
    }
  };

  const sent = new Set<string>();
  const queue = plan.instances.filter((i) => !sent.has(i.id) && (sent.add(i.id), true));
  const results = new Map<string, EvacuationResult>();

  // Ours is the newest record that was not there before the evacuate was sent; resuming (nothing known
  // from before), the newest from this host created no earlier than the claim (an older evacuation of
  // the same instance, e.g. onto this host, is not ours).
  const newestNew = (list: EvacuationMigration[], before: Set<string>, since?: number) =>
    list.find((m) => {
      if (before.has(m.id)) return false;
      if (since === undefined) return true;
      if (plan.host !== undefined && m.sourceCompute && m.sourceCompute !== plan.host) return false;
      const created = createdMs(m);
      return created === undefined || created >= since - CLOCK_SKEW_MS;
    });

  async function follow(instance: Instance, before: Set<string>, acceptedAt: number, base: Partial<EvacuationResult>, since?: number): Promise<EvacuationResult> {
    let last: EvacuationMigration | undefined;
    let lastError: Failure | undefined;
    for (;;) {
      const read = await servers.evacuationMigrations(instance.id);
      if (read.ok) {
        lastError = undefined;
        const m = newestNew(read.value, before, since);
        if (m) {
          last = m;
          if (m.phase === 'done') {
            await tell({ kind: 'done', instance, migration: m });
            return { ...base, instance, result: 'done', migration: m };
          }
          if (m.phase === 'failed') {
            // Why: Nova's fault on the instance (e.g. "No valid host was found."), when it recorded one.
            const fault = servers.instanceFault ? await servers.instanceFault(instance.id) : undefined;
            const why = fault?.ok ? fault.value : undefined;
            const noHost = why !== undefined && /no valid host/i.test(why);
            const failure: Failure = {
              code: noHost ? 'NO_VALID_HOST' : 'EVACUATION_FAILED',
              message: `Nova's evacuation of ${instance.name || instance.id} ended with migration status ${m.status}`,
              request: 'GET /os-migrations',
              ...(why !== undefined ? { detail: why } : {}),
            };
            await tell({ kind: 'failed', instance, migration: m, failure });
            return { ...base, instance, result: 'failed', migration: m, failure };
          }
        }
      } else lastError = read.failure;
      if (opts.now() - acceptedAt >= opts.timeoutMs) {
        const minutes = Math.round(opts.timeoutMs / 60_000);
        const failure: Failure = {
          code: 'EVACUATION_TIMEOUT',
          message: `Nova's evacuation of ${instance.name || instance.id} did not end within ${minutes >= 1 ? `${minutes} min` : `${Math.round(opts.timeoutMs / 1000)} s`} (migration status ${last?.status ?? 'not seen'}${lastError ? `; last read: ${lastError.code}: ${lastError.message}` : ''})`,
          request: 'GET /os-migrations',
        };
        await tell({ kind: 'timeout', instance, failure, ...(last ? { migration: last } : {}) });
        return { ...base, instance, result: 'timeout', failure, ...(last ? { migration: last } : {}) };
      }
      if (stopped()) return { ...base, instance, result: 'unfinished', ...(last ? { migration: last } : {}) };
      await opts.sleep(pollMs);
    }
  }

  async function evacuateOne(instance: Instance): Promise<EvacuationResult> {
    let earlier: boolean | { since: number } = false;
    try {
      earlier = (await opts.ledger?.alreadyAccepted?.(instance.id)) ?? false;
    } catch {
      earlier = false;
    }
    if (earlier !== false) {
      await tell({ kind: 'accepted', instance, earlier: true });
      const since = typeof earlier === 'object' ? earlier.since : undefined;
      return follow(instance, new Set(), since ?? opts.now(), { acceptedEarlier: true }, since);
    }
    // The records before the evacuate: ours is the one that appears after it.
    const prior = await servers.evacuationMigrations(instance.id);
    const before = new Set(prior.ok ? prior.value.map((m) => m.id) : []);
    await record(instance.id, 'sending');
    await tell({ kind: 'sent', instance });
    const res = await servers.evacuate(instance.id, plan.target);
    const acceptedAt = opts.now();
    if (res.ok) {
      await record(instance.id, 'accepted');
      await tell({ kind: 'accepted', instance });
      return follow(instance, before, acceptedAt, { accepted: res.value });
    }
    if (res.failure.code === 'NOVA_UNAVAILABLE' && prior.ok) {
      // The answer was lost: did Nova record the evacuation anyway?
      const after = await servers.evacuationMigrations(instance.id);
      const m = after.ok ? newestNew(after.value, before) : undefined;
      if (m) {
        await record(instance.id, 'accepted', { migration: m });
        await tell({ kind: 'accepted', instance, migration: m });
        return follow(instance, before, acceptedAt, {});
      }
    }
    await tell({ kind: 'error', instance, failure: res.failure });
    return { instance, result: 'refused', failure: res.failure };
  }

  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const instance = queue[next++]!;
      if (stopped()) {
        results.set(instance.id, { instance, result: 'unfinished' });
        continue;
      }
      const r = await evacuateOne(instance);
      results.set(instance.id, r);
      await record(instance.id, r.result, { ...(r.failure ? { failure: r.failure } : {}), ...(r.migration ? { migration: r.migration } : {}) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));

  const list = queue.map((i) => results.get(i.id)!);
  return { plan, results: list, summary: summarize(list) };
}

export function summarize(results: readonly EvacuationResult[]): EvacuationSummary {
  const count = (k: EvacuationResultKind) => results.filter((r) => r.result === k).length;
  const done = count('done');
  return {
    total: results.length,
    done,
    failed: count('failed'),
    timeout: count('timeout'),
    refused: count('refused'),
    unfinished: count('unfinished'),
    allDone: done === results.length,
  };
}

/** planEvacuation, then runEvacuation: a refused check is the outcome's failure; otherwise the report. */
export async function evacuateHost(
  servers: EvacuationServers,
  nova: Pick<NovaGateway, 'getService' | 'listComputeServices'>,
  bmc: Pick<BmcGateway, 'readPower'> | undefined,
  input: EvacuationInput,
  opts: EvacuationOptions,
): Promise<Outcome<EvacuationReport>> {
  const plan = await planEvacuation(servers, nova, bmc, input);
  if (!plan.ok) return plan;
  return succeed(await runEvacuation(servers, plan.value, opts));
}
