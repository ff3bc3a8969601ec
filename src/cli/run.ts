import { resolve } from 'node:path';
import { config as zodConfig } from 'zod';
import type { BmcGateway } from '../app/bmc-port.js';
import { planEvacuation, runEvacuation, type EvacuationPlan, type EvacuationProgress, type EvacuationReport, type EvacuationResult, type EvacuationServers } from '../app/evacuate.js';
import { checkFence, type BmcEvidence, type FenceProgress } from '../app/fence.js';
import { insecureBmcWarningFor, type BmcSection } from '../config/bmc.js';
import { chooseCloud, cloudContextOf } from '../config/cloud-choice.js';
import type { ConfigTrace } from '../config/clouds-yaml.js';
import { loadSecretFile } from '../config/secret-document.js';
import { ConfigError, type CloudConfig } from '../config/schema.js';
import { isUnavailable, type Failure } from '../domain/failure.js';
import { fenceChoiceLabel, POWER_OFF_NOW } from '../domain/fencing.js';
import { describePowerState } from '../domain/power.js';
import { COMPUTE_BINARY, novaSpellings } from '../domain/host.js';
import { DEFAULT_HEARTBEAT_WAIT_MS } from '../domain/heartbeat.js';
import { nextStep } from '../domain/runbook.js';
import { formatAge, parseUtc } from '../domain/time.js';
import { createCloudClient } from '../openstack/cloud.js';
import type { ComputeService, NovaClient } from '../openstack/nova.js';
import type { CliCommand, Common } from './args.js';
import { EXIT, front, type RunCommand } from './front.js';
import { auditTarget, auditText, evacuationAuditText, postAudit, whoRanIt, type AuditEvent, type EvacuationAuditEvent } from './audit.js';

export { EXIT };

// A CLI process checks each schema once or twice: zod's compiled fast path (generated code, which
// no compile cache keeps) costs more to build than it saves. The bot, which parses all day, keeps it.
zodConfig({ jitless: true });

/** What the CLI needs of a cloud: its Nova, and closing its connections. */
export interface CliCloud {
  nova: Pick<NovaClient, 'getService' | 'listComputeServices' | 'setForcedDown'>;
  /** Nova's servers and migrations APIs (evacuate); the OpenStack client has them. */
  servers?: EvacuationServers;
  close(): Promise<void>;
}

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  cwd?: string;
  now?: () => number;
  version?: string;
  /** Pause between polls: the heartbeat watch's reads of Nova, a power-off's reads of the BMC (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Connects to the chosen cloud (default: the OpenStack client; tests pass a fake). */
  connect?: (name: string, cloud: CloudConfig) => CliCloud;
  /** fetch for the Slack audit line (default: the global fetch). */
  fetch?: typeof fetch;
  /** How long the audit line may take (default AUDIT_TIMEOUT_MS). */
  auditTimeoutMs?: number;
  /**
   * Asks the operator a yes/no question (evacuate without --yes); undefined
   * when there is nobody to ask (stdin is not a terminal): evacuate then
   * sends nothing and exits 2.
   */
  confirm?: (question: string) => Promise<boolean>;
  /** Pause between reads of an evacuation's migration record (default 5 s). */
  evacuatePollMs?: number;
}

/** FORCE_DOWN_HEARTBEAT_WAIT_SECONDS in ms: a whole number of seconds, 0 to 120 (default 20), the bot's range. */
export function heartbeatWaitMs(env: Record<string, string | undefined>): number {
  const raw = env.FORCE_DOWN_HEARTBEAT_WAIT_SECONDS?.trim();
  if (raw === undefined || raw === '') return DEFAULT_HEARTBEAT_WAIT_MS;
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > 120) {
    throw new ConfigError(`FORCE_DOWN_HEARTBEAT_WAIT_SECONDS must be a whole number of seconds from 0 to 120 (got "${raw.slice(0, 20)}")`);
  }
  return Number(raw) * 1000;
}

interface Resolved {
  name: string;
  cloud: CloudConfig;
  /** The secret document's Slack bot token, for the audit line. */
  botToken?: string;
  /** Where the cloud came from (a path, or "OS_* variables"), for messages. */
  source: string;
  /** The secret document's `bmc` section, when the cloud came from one (clouds.yaml and openrc have no BMCs). */
  bmc?: { section: BmcSection | undefined; file: string };
}

/** What --power-off and the BMC checks need, read before anything is sent. */
interface BmcPlan {
  gateway: BmcGateway;
  powerOffTimeoutMs?: number;
}

/** Runs the breakglass CLI and returns its exit code. All output goes through `io`. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // The operator typing the command is the CLI's fence confirmation: a heartbeat after it refuses.
  const started = (io.now ?? Date.now)();
  const parsed = front(argv, io);
  return 'exit' in parsed ? parsed.exit : await runCommand(parsed.cmd, io, started);
}

/**
 * Runs a parsed command (not help or version: front.ts answers those).
 * `started`: when the operator's command began (ms), the CLI's fence confirmation.
 */
export async function runCommand(cmd: RunCommand, io: CliIo, started: number): Promise<number> {
  const now = io.now ?? Date.now;
  let resolved: Resolved;
  let waitMs: number | undefined;
  let powerOffTimeoutMs: number | undefined;
  let evacuation: { concurrency: number; timeoutMs: number } | undefined;
  const powerOff = cmd.kind === 'set' && cmd.fenced === POWER_OFF_NOW;
  try {
    // Power off now has no heartbeat wait (only a check, once the BMC reads Off).
    if (cmd.kind === 'set' && cmd.forcedDown && !powerOff && !cmd.ignoreHeartbeat) waitMs = heartbeatWaitMs(io.env);
    // The bot's settings schema (env.ts) loads only for the two commands that read its settings.
    if (powerOff) powerOffTimeoutMs = (await import('../config/env.js')).bmcPowerOffTimeoutMs(io.env);
    if (cmd.kind === 'evacuate') evacuation = (await import('../config/env.js')).evacuateSettings(io.env);
    resolved = await resolveCloud(cmd.common, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      report(cmd.common, io, { ok: false, code: err.code, message: err.message, ...cloudContextOf(err) }, `force-down: ${err.message}`, true);
      return EXIT.usage;
    }
    throw err;
  }

  // The host's BMC: looked up before anything is sent; --power-off and bmc need one.
  let bmc: BmcPlan | undefined;
  if (cmd.kind === 'bmc' || cmd.kind === 'evacuate' || (cmd.kind === 'set' && cmd.forcedDown)) {
    // The Redfish client loads only for a cloud that has BMCs (a secret document's bmc section).
    const gateway = resolved.bmc
      ? (await import('../bmc/redfish.js')).createBmcLookup(resolved.bmc.section, { now, ...(io.sleep ? { sleep: io.sleep } : {}) })(resolved.name, cmd.host)
      : undefined;
    if (!gateway) {
      if (cmd.kind === 'bmc' || powerOff) return failed(noBmc(cmd.host, resolved), { host: cmd.host, action: cmd.kind === 'bmc' ? 'bmc' : 'force-down' }, cmd.common, io, resolved.name);
    } else {
      if (cmd.common.debug) io.err(`force-down: debug: BMC ${gateway.endpoint} for ${cmd.host} from bmc.${resolved.name} of the secret document`);
      const insecure = insecureBmcWarningFor(resolved.bmc?.section, resolved.name, cmd.host);
      if (insecure) io.err(`force-down: warning: ${insecure}`);
      bmc = { gateway, ...(powerOffTimeoutMs !== undefined ? { powerOffTimeoutMs } : {}) };
    }
  }
  if (cmd.kind === 'bmc') return await runBmc(cmd, bmc!.gateway, resolved.name, io);

  const cloud = cmd.common.microversion ? { ...resolved.cloud, compute_api_version: cmd.common.microversion } : resolved.cloud;
  const client = (io.connect ?? createCloudClient)(resolved.name, cloud);
  try {
    switch (cmd.kind) {
      case 'status': {
        const res = await client.nova.getService(cmd.host, cmd.binary);
        if (!res.ok) {
          const didYouMean = await spellings(client, res.failure, cmd.host, cmd.binary);
          return failed(res.failure, { host: cmd.host, action: 'force-down', didYouMean }, cmd.common, io, resolved.name);
        }
        report(cmd.common, io, { ok: true, cloud: resolved.name, service: res.value }, describeService(res.value, now(), resolved.name));
        return EXIT.done;
      }
      case 'list': {
        const res = await client.nova.listComputeServices();
        if (!res.ok) return failed(res.failure, { action: 'force-down' }, cmd.common, io, resolved.name);
        const shown = cmd.all ? res.value : res.value.filter((s) => s.forcedDown || s.state === 'down');
        report(
          cmd.common,
          io,
          { ok: true, cloud: resolved.name, services: shown, total: res.value.length },
          formatList(shown, res.value.length, cmd.all, now(), resolved.name),
        );
        return EXIT.done;
      }
      case 'set':
        return await runSet(cmd, client, resolved, io, { now, started, ...(waitMs !== undefined ? { waitMs } : {}) }, bmc);
      case 'evacuate':
        return await runEvacuate(cmd, client, resolved, io, now, evacuation!, bmc?.gateway);
    }
  } finally {
    await client.close();
  }
}

type SetCommand = Extract<CliCommand, { kind: 'set' }>;
type BmcCommand = Extract<CliCommand, { kind: 'bmc' }>;
type EvacuateCommand = Extract<CliCommand, { kind: 'evacuate' }>;

/**
 * evacuate: the checks and the instances (src/app/evacuate.ts planEvacuation;
 * nothing sent), the operator's confirmation (--yes, or yes typed on a
 * terminal), then the evacuations with a progress line per instance on
 * stderr, the summary table (or JSON) on stdout, and the audit line.
 */
async function runEvacuate(
  cmd: EvacuateCommand,
  client: CliCloud,
  resolved: Resolved,
  io: CliIo,
  now: () => number,
  settings: { concurrency: number; timeoutMs: number },
  bmc: BmcGateway | undefined,
): Promise<number> {
  const cloudName = resolved.name;
  const servers = client.servers;
  if (!servers) throw new Error('this cloud client has no servers API');
  const audit = async (event: Omit<EvacuationAuditEvent, 'at' | 'who' | 'host' | 'cloud' | 'haOnly' | 'target'>) => {
    const { target, warning } = auditTarget(resolved.botToken, io.env);
    if (warning) io.err(`force-down: ${warning}`);
    if (!target) return;
    const full: EvacuationAuditEvent = {
      at: now(),
      who: whoRanIt(io.env),
      host: cmd.host,
      cloud: cloudName,
      haOnly: cmd.haOnly,
      ...(cmd.target ? { target: cmd.target } : {}),
      ...event,
    };
    const why = await postAudit(target, evacuationAuditText(full), {
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.auditTimeoutMs !== undefined ? { timeoutMs: io.auditTimeoutMs } : {}),
    });
    if (why) io.err(`force-down: warning: the audit line was not posted to Slack channel ${target.channel}: ${why}`);
  };

  const planned = await planEvacuation(servers, client.nova, bmc, {
    host: cmd.host,
    ...(cmd.target ? { target: cmd.target } : {}),
    scope: cmd.haOnly ? 'ha-only' : 'all',
  });
  if (!planned.ok) {
    const didYouMean = await spellings(client, planned.failure, cmd.host, COMPUTE_BINARY);
    const code = failed(planned.failure, { host: cmd.host, action: 'evacuate', didYouMean }, cmd.common, io, cloudName);
    await audit({ refused: { code: planned.failure.code, message: planned.failure.message } });
    return code;
  }
  const plan = planned.value;
  if (plan.bmc && 'unreadable' in plan.bmc) {
    io.err(`force-down: warning: ${cmd.host}'s BMC could not be read (${plan.bmc.unreadable.code}: ${plan.bmc.unreadable.message}); going on: Nova has it ${plan.service.forcedDown ? 'forced down' : 'down'}`);
  }
  const where = plan.target ? `to ${plan.target}` : "where Nova's scheduler chooses";
  const what = `${plan.instances.length} instance${plan.instances.length === 1 ? '' : 's'}${cmd.haOnly ? ` marked for HA (of ${plan.listed.length})` : ''}`;
  if (plan.instances.length === 0) {
    const line = `${cmd.host} on ${cloudName}: nothing to evacuate (${cmd.haOnly ? `none of its ${plan.listed.length} instances is marked for HA` : 'Nova lists no instance on it'})`;
    report(cmd.common, io, evacuationJson(cmd, cloudName, { plan, results: [], summary: { total: 0, done: 0, failed: 0, timeout: 0, refused: 0, unfinished: 0, allDone: true } }), line);
    await audit({ results: [] });
    return EXIT.done;
  }

  if (!cmd.yes) {
    io.err(`force-down: would evacuate ${what} from ${cmd.host} on ${cloudName}, ${where}:\n${planTable(plan)}`);
    const question = `Evacuate them? ${cmd.host} must stay fenced (powered off or isolated) while its instances are rebuilt elsewhere. Type yes to go on:`;
    const yes = io.confirm ? await io.confirm(question) : undefined;
    if (yes !== true) {
      const message =
        yes === undefined
          ? `not confirmed: stdin is not a terminal, so nobody can answer; run again with --yes to confirm that ${cmd.host} stays fenced while its instances are rebuilt elsewhere. Nothing was sent.`
          : 'not confirmed; nothing was sent.';
      report(cmd.common, io, { ok: false, code: 'NOT_CONFIRMED', message, cloud: cloudName, host: cmd.host }, `force-down: ${message}`, true);
      return EXIT.usage;
    }
  }

  io.err(`force-down: evacuating ${what} from ${cmd.host} on ${cloudName}, ${where}${plan.microversion ? ` (microversion ${plan.microversion})` : ''}; at most ${settings.concurrency} at a time, each followed for up to ${Math.round(settings.timeoutMs / 60_000)} min…`);
  const evacuated = await runEvacuation(servers, plan, {
    concurrency: settings.concurrency,
    timeoutMs: settings.timeoutMs,
    ...(io.evacuatePollMs !== undefined ? { pollMs: io.evacuatePollMs } : {}),
    now,
    sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    onProgress: (p) => io.err(progressLine(cmd.host, p)),
  });
  const s = evacuated.summary;
  const counts = [`${s.done} evacuated`, ...(s.failed ? [`${s.failed} failed`] : []), ...(s.timeout ? [`${s.timeout} timed out`] : []), ...(s.refused ? [`${s.refused} refused`] : [])];
  report(
    cmd.common,
    io,
    evacuationJson(cmd, cloudName, evacuated),
    `${resultTable(evacuated.results)}\n${cmd.host} on ${cloudName}: ${s.total} instance${s.total === 1 ? '' : 's'}: ${counts.join(', ')}`,
  );
  await audit({
    results: evacuated.results.map((r) => ({ id: r.instance.id, name: r.instance.name, result: r.result, ...(r.failure ? { code: r.failure.code } : {}) })),
  });
  if (s.allDone) return EXIT.done;
  const unreachableOnly = evacuated.results.every((r) => r.result === 'done' || (r.result === 'refused' && r.failure !== undefined && isUnavailable(r.failure.code)));
  return unreachableOnly ? EXIT.unreachable : EXIT.refused;
}

const label = (i: { name: string; id: string }) => (i.name ? `${i.name} (${i.id})` : i.id);

/** One progress line on stderr per instance event. */
function progressLine(host: string, p: EvacuationProgress): string {
  const who = `force-down: ${host}: ${label(p.instance)}`;
  switch (p.kind) {
    case 'sent':
      return `${who}: evacuate sent`;
    case 'accepted':
      return `${who}: ${p.earlier ? 'accepted earlier; following its migration' : 'accepted by Nova; following its migration'}`;
    case 'error':
      return `${who}: refused: ${p.failure.code}: ${p.failure.message}${p.failure.detail ? ` (Nova said: ${p.failure.detail})` : ''}`;
    case 'done':
      return `${who}: done${p.migration.destCompute ? ` (rebuilt on ${p.migration.destCompute})` : ''}`;
    case 'failed':
      return `${who}: failed (migration status ${p.migration.status})${p.failure.detail ? `: Nova said: ${p.failure.detail}` : ''}`;
    case 'timeout':
      return `${who}: timed out: ${p.failure.message}`;
  }
}

const RESULT_WORDS: Record<EvacuationResult['result'], string> = { done: 'done', failed: 'failed', timeout: 'timed out', refused: 'refused', unfinished: 'in progress' };

function detailOf(r: EvacuationResult): string {
  switch (r.result) {
    case 'done':
      return r.migration?.destCompute ? `on ${r.migration.destCompute}` : '';
    case 'failed':
      return `migration ${r.migration?.id ?? '?'} ${r.migration?.status ?? ''}`.trim() + (r.failure?.detail ? ` (Nova said: ${r.failure.detail})` : '');
    case 'timeout':
    case 'refused':
      return r.failure ? `${r.failure.code}: ${r.failure.message}${r.failure.detail ? ` (Nova said: ${r.failure.detail})` : ''}` : '';
    case 'unfinished':
      return r.migration ? `migration ${r.migration.id} ${r.migration.status}` : '';
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function planTable(plan: EvacuationPlan): string {
  return table([['ID', 'NAME', 'STATE', 'HA'], ...plan.instances.map((i) => [i.id, i.name, i.status, i.ha ? 'yes' : ''])]);
}

function resultTable(results: readonly EvacuationResult[]): string {
  return table([
    ['ID', 'NAME', 'STATE BEFORE', 'RESULT', 'DETAIL'],
    ...results.map((r) => [r.instance.id, r.instance.name, r.instance.status, RESULT_WORDS[r.result], detailOf(r).replace(/\s+/g, ' ')]),
  ]);
}

function evacuationJson(cmd: EvacuateCommand, cloud: string, r: EvacuationReport): Record<string, unknown> {
  return {
    ok: r.summary.allDone,
    action: 'evacuate',
    cloud,
    host: cmd.host,
    ...(cmd.target ? { target: cmd.target } : {}),
    scope: r.plan.scope,
    ...(r.plan.microversion ? { microversion: r.plan.microversion } : {}),
    summary: r.summary,
    instances: r.results.map((x) => ({
      id: x.instance.id,
      name: x.instance.name,
      stateBefore: x.instance.status,
      ha: x.instance.ha,
      result: x.result,
      ...(x.failure ? { code: x.failure.code, message: x.failure.message, ...(x.failure.detail ? { detail: x.failure.detail } : {}) } : {}),
      ...(x.migration ? { migration: { id: x.migration.id, status: x.migration.status, destCompute: x.migration.destCompute ?? null } } : {}),
    })),
  };
}

/**
 * force-down / --unset: the fence checks (forcing down only: src/app/fence.ts,
 * power off now, the BMC's reading, the heartbeat watch unless
 * --ignore-heartbeat), Nova's PUT, the answer, then the audit line. The
 * audit starts once the outcome is known and can only add a warning.
 */
async function runSet(
  cmd: SetCommand,
  client: CliCloud,
  resolved: Resolved,
  io: CliIo,
  t: { now: () => number; started: number; waitMs?: number },
  bmc: BmcPlan | undefined,
): Promise<number> {
  const action = cmd.forcedDown ? 'force-down' : 'unset';
  const cloudName = resolved.name;
  const powerOff = cmd.fenced === POWER_OFF_NOW;
  const ignored = cmd.forcedDown && cmd.ignoreHeartbeat === true;
  let waitedMs: number | undefined;
  let evidence: BmcEvidence | undefined;
  let outcome: Awaited<ReturnType<CliCloud['nova']['setForcedDown']>> | undefined;
  if (cmd.forcedDown) {
    let lastState: string | undefined;
    const onProgress = (p: FenceProgress) => {
      if (p.kind === 'heartbeat-wait') {
        const at = t.now();
        const age = Math.max(0, Math.round((at - p.wait.lastMs) / 1000));
        const left = Math.max(0, Math.ceil((p.wait.untilMs - at) / 1000));
        io.err(`force-down: waiting to see whether ${cmd.host} still reports to Nova (last heartbeat ${age} s ago; deciding in ${left} s)…`);
        return;
      }
      const state = describePowerState(p.powerState);
      if (state === lastState) return;
      io.err(
        lastState === undefined && p.powerState === 'Off'
          ? `force-down: ${cmd.host}'s BMC already reports power Off: no reset sent`
          : `force-down: powering ${cmd.host} off via its BMC… (PowerState: ${state})`,
      );
      lastState = state;
    };
    const checked = await checkFence(
      client.nova,
      bmc?.gateway,
      { host: cmd.host, binary: cmd.binary, method: cmd.fenced, confirmedAtMs: t.started },
      {
        heartbeatWaitMs: t.waitMs,
        powerOffTimeoutMs: bmc?.powerOffTimeoutMs ?? 0,
        now: t.now,
        sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
        onProgress,
      },
    );
    if (checked.ok) {
      if (!ignored) waitedMs = checked.value.waitedMs;
      evidence = checked.value.bmc;
    } else outcome = checked;
  }
  outcome ??= await client.nova.setForcedDown(cmd.host, cmd.forcedDown, cmd.binary);
  const doneAt = t.now();
  const bmcSeen = evidence && bmc ? { endpoint: bmc.gateway.endpoint, ...evidence } : undefined;

  let code: number;
  if (!outcome.ok) {
    const didYouMean = await spellings(client, outcome.failure, cmd.host, cmd.binary);
    code = failed(outcome.failure, { host: cmd.host, action, didYouMean, ...(ignored ? { heartbeatIgnored: true } : {}) }, cmd.common, io, cloudName);
  } else {
    const r = outcome.value;
    const how = cmd.fenced ? `; fenced: ${powerOff ? poweredOffWords(bmcSeen) : fenceChoiceLabel(cmd.fenced)}` : '';
    const reading = bmcSeen && !powerOff ? `; BMC ${bmcSeen.endpoint} reads ${describePowerState(bmcSeen.powerState)} at ${isoSeconds(bmcSeen.readAt)}` : '';
    const note = cmd.note ? ` (${cmd.note})` : '';
    const skipped = ignored ? '; heartbeat watch skipped (--ignore-heartbeat)' : '';
    const state = r.service.state ? ` state=${r.service.state}` : '';
    const line = cmd.forcedDown
      ? `${cmd.host}: forced down (${r.service.binary || cmd.binary}${state} forced_down=${r.forcedDown}) via ${r.request} at ${r.microversion} on ${cloudName}${how}${note}${reading}${skipped}`
      : `${cmd.host}: forced_down unset (${r.service.binary || cmd.binary}${state} forced_down=${r.forcedDown}) via ${r.request} at ${r.microversion} on ${cloudName}${note}`;
    report(
      cmd.common,
      io,
      {
        ok: true,
        action,
        host: cmd.host,
        binary: cmd.binary,
        cloud: cloudName,
        forcedDown: r.forcedDown,
        service: r.service,
        request: r.request,
        microversion: r.microversion,
        ...(cmd.fenced ? { fenced: cmd.fenced } : {}),
        ...(cmd.note ? { note: cmd.note } : {}),
        ...(bmcSeen ? { bmc: bmcJson(bmcSeen) } : {}),
        ...(ignored ? { heartbeatIgnored: true } : {}),
        ...(waitedMs !== undefined ? { heartbeatWaitedMs: waitedMs } : {}),
        elapsedMs: doneAt - t.started,
      },
      line,
    );
    code = EXIT.done;
  }

  // The audit line: only now that Nova has answered (or the checks refused), bounded, and never changing the exit code.
  const { target, warning } = auditTarget(resolved.botToken, io.env);
  if (warning) io.err(`force-down: ${warning}`);
  if (target) {
    const event: AuditEvent = {
      at: doneAt,
      who: whoRanIt(io.env),
      action,
      host: cmd.host,
      binary: cmd.binary,
      cloud: cloudName,
      ...(cmd.fenced ? { fenced: cmd.fenced } : {}),
      ...(cmd.note ? { note: cmd.note } : {}),
      ...(ignored ? { heartbeatIgnored: true } : {}),
      ...(evidence ? { bmc: evidence } : {}),
      outcome: outcome.ok
        ? { ok: true, request: outcome.value.request, microversion: outcome.value.microversion }
        : {
            ok: false,
            code: outcome.failure.code,
            message: outcome.failure.message,
            ...(outcome.failure.request ? { request: outcome.failure.request } : {}),
            ...(outcome.failure.status !== undefined ? { status: outcome.failure.status } : {}),
          },
    };
    const why = await postAudit(target, auditText(event), {
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.auditTimeoutMs !== undefined ? { timeoutMs: io.auditTimeoutMs } : {}),
    });
    if (why) io.err(`force-down: warning: the audit line was not posted to Slack channel ${target.channel}: ${why}`);
  }
  return code;
}

/** `bmc <host>`: one read of the host's power state; no Nova call. */
async function runBmc(cmd: BmcCommand, gateway: BmcGateway, cloud: string, io: CliIo): Promise<number> {
  const read = await gateway.readPower();
  if (!read.ok) return failed(read.failure, { host: cmd.host, action: 'bmc' }, cmd.common, io, cloud);
  const r = read.value;
  report(
    cmd.common,
    io,
    { ok: true, cloud, host: cmd.host, powerState: r.powerState, readAt: new Date(r.readAt).toISOString(), system: r.system, endpoint: gateway.endpoint },
    `${cmd.host} on ${cloud}: BMC ${gateway.endpoint} reports power ${describePowerState(r.powerState)} (read ${isoSeconds(r.readAt)}, system ${r.system})`,
  );
  return EXIT.done;
}

type BmcSeen = BmcEvidence & { endpoint: string };

/** The fence of --power-off in the answer line. */
function poweredOffWords(seen: BmcSeen | undefined): string {
  if (!seen) return fenceChoiceLabel(POWER_OFF_NOW);
  if (!seen.reset) return `its BMC ${seen.endpoint} already read Off at ${isoSeconds(seen.readAt)} (no reset sent)`;
  return `powered off via its BMC ${seen.endpoint} (${seen.reset.resetType} sent at ${isoSeconds(seen.reset.sentAt)}, Off seen at ${isoSeconds(seen.reset.offAt)})`;
}

function bmcJson(seen: BmcSeen): Record<string, unknown> {
  return {
    endpoint: seen.endpoint,
    powerState: seen.powerState,
    readAt: new Date(seen.readAt).toISOString(),
    ...(seen.reset
      ? { reset: { resetType: seen.reset.resetType, sentAt: new Date(seen.reset.sentAt).toISOString(), offAt: new Date(seen.reset.offAt).toISOString() } }
      : {}),
  };
}

/** `2026-11-25T14:00:00Z`: a moment in the answer line. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Why --power-off or bmc cannot go on: the host has no BMC here (BMC_CONFIG, exit 2, nothing sent). */
function noBmc(host: string, resolved: Resolved): Failure {
  if (!resolved.bmc) {
    return {
      code: 'BMC_CONFIG',
      message: `${host}'s BMC is not known: BMCs are configured only in FORCE_DOWN_SECRET_FILE's bmc section (the bot's secret document), and this run read its cloud from ${resolved.source}, which has no BMCs`,
    };
  }
  const { section, file } = resolved.bmc;
  const has = section !== undefined && Object.hasOwn(section, resolved.name);
  return {
    code: 'BMC_CONFIG',
    message: has
      ? `${host} has no BMC entry in ${file} (bmc.${resolved.name} has no hosts entry for it and no template with a url)`
      : `${host} has no BMC entry: ${file} has no bmc.${resolved.name} section`,
  };
}

async function resolveCloud(common: Common, io: CliIo): Promise<Resolved> {
  // --debug: paths and names only, on stderr; never a file's contents.
  const debug = common.debug ? (line: string) => io.err(`force-down: debug: ${line}`) : undefined;
  const secretFile = io.env.FORCE_DOWN_SECRET_FILE;
  if (secretFile) {
    debug?.(`read secret document ${resolve(secretFile)} (FORCE_DOWN_SECRET_FILE; clouds.yaml, secure.yaml and the OS_* variables are not consulted)`);
    const doc = loadSecretFile(secretFile);
    const { name, cloud, namedBy } = chooseCloud(doc.clouds, common.cloud, io.env, `secret file ${secretFile}`);
    debug?.(`cloud ${name} (${namedBy}) from the secret document`);
    return {
      name,
      cloud,
      source: `secret file ${secretFile}`,
      bmc: { section: doc.bmc, file: `secret file ${secretFile}` },
      ...(doc.slack?.botToken ? { botToken: doc.slack.botToken } : {}),
    };
  }
  const trace: ConfigTrace | undefined = debug && {
    read: (what, path) => debug(`read ${what} ${resolve(path)}`),
    notRead: (path, why) => debug(`not read: ${resolve(path)} (${why})`),
  };
  // The YAML parser (with clouds-yaml.ts) loads only when a clouds.yaml is read: not for a secret
  // document, nor when the OS_* variables win.
  const { cloudFromEnvFirst } = await import('../config/openstack-env.js');
  const { name, cloud, source, namedBy } =
    cloudFromEnvFirst(common.cloud, io.env, io.cwd ?? process.cwd(), trace) ??
    (await import('../config/clouds-yaml.js')).loadCloudFromOpenStackConfig(common.cloud, io.env, io.cwd, trace);
  debug?.(source === 'OS_* variables' ? `cloud ${name} from the OS_* variables (no configuration file)` : `cloud ${name} (${namedBy}) from ${resolve(source)}`);
  return { name, cloud, source: source === 'OS_* variables' ? 'the OS_* variables (an openrc)' : source };
}

type Action = 'force-down' | 'unset' | 'bmc' | 'evacuate';

/** What CLI-specific words replace the runbook's for a code (the runbook speaks of Slack's confirmation and the worker). */
function cliNextStep(f: Failure, host: string, action: Action): string {
  const otherFence = `if ${host} is fenced another way, run force-down ${host} --fenced pdu|network|dead|other saying how`;
  const unchanged = action === 'bmc' ? '' : ' Nothing was changed in Nova.';
  if (action === 'evacuate') {
    switch (f.code) {
      case 'HOST_STILL_IN_USE':
        return `Nova still sees ${host}'s nova-compute as up, so it evacuates nothing from it; nothing was sent. Fence ${host}, force it down (force-down ${host} --fenced <how>, or --power-off), then run force-down evacuate ${host} again.`;
      case 'BMC_SAYS_ON':
        return `${host}'s BMC reports its power is not Off: evacuating would run its instances twice; nothing was sent. Power it off (force-down ${host} --power-off) or check the BMC, then evacuate again.`;
      case 'TARGET_NOT_FOUND':
      case 'TARGET_SAME_HOST':
        return `${nextStep(f.code, host, 'force-down')} Nothing was sent.`;
    }
  }
  switch (f.code) {
    case 'HOST_STILL_REPORTING':
      return `${host}'s nova-compute still reports to Nova, so ${host} is running and not fenced; nothing was changed in Nova. Check the fence (BMC power state, switch port), fence ${host} for real, and run force-down again.`;
    case 'BMC_SAYS_ON':
      return `${host}'s BMC reports its power is not Off, so ${host} is not fenced by power; nothing was changed in Nova. Power it off (force-down ${host} --power-off does it via the BMC) and run force-down again; ${otherFence}.`;
    case 'BMC_UNREACHABLE':
      return `force-down could not use ${host}'s BMC (the reason is in the message). Check that this machine reaches the BMC on the management network, and the url and TLS settings (caCert, or insecure) of its entry in FORCE_DOWN_SECRET_FILE's bmc section.${unchanged}${action === 'bmc' ? '' : ` Then try again; ${otherFence}.`}`;
    case 'BMC_POWER_OFF_TIMEOUT':
      return `${host}'s BMC accepted the power-off but did not report Off within FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS; nothing was changed in Nova. Check the BMC (its web console or ipmitool) and the host; do not treat ${host} as fenced until its power is off, then run force-down ${host} --fenced bmc (the BMC is read again).`;
    case 'BMC_CONFIG':
      return `Add or fix ${host}'s BMC entry in FORCE_DOWN_SECRET_FILE's bmc section (url, username/password, system: the message says what does not fit).${unchanged}${action === 'bmc' ? '' : ` Or ${otherFence}.`}`;
    case 'BMC_REJECTED':
      return `${host}'s BMC refused to power it off (the message says how); nothing was changed in Nova. Power it off by other means (BMC console, PDU), then run force-down ${host} --fenced bmc (or --fenced pdu).`;
    default:
      return nextStep(f.code, host, action === 'bmc' || action === 'evacuate' ? 'force-down' : action);
  }
}

/**
 * For HOST_NOT_FOUND, the hosts Nova spells like `host` but for case (one
 * service list, on this failure only). Nova's lookup is exact on every
 * database, and the CLI acts on no name Nova does not spell so: it suggests.
 */
async function spellings(client: CliCloud, f: Failure, host: string, binary: string): Promise<string[]> {
  if (f.code !== 'HOST_NOT_FOUND') return [];
  const list = await client.nova.listComputeServices();
  return list.ok ? novaSpellings(host, binary, list.value).variants.slice(0, 5) : [];
}

function failed(
  f: Failure,
  what: { host?: string; action: Action; heartbeatIgnored?: boolean; didYouMean?: string[] },
  common: Common,
  io: CliIo,
  cloud: string,
): number {
  // A BMC entry that does not fit (or none) is configuration: nothing was sent to Nova.
  const code = f.code === 'BMC_CONFIG' ? EXIT.usage : isUnavailable(f.code) ? EXIT.unreachable : EXIT.refused;
  const step = cliNextStep(f, what.host ?? 'the host', what.action);
  const nova = f.detail ? ` (OpenStack said: ${f.detail})` : '';
  const subject = what.host ? `${what.host} on ${cloud}` : `cloud ${cloud}`;
  const skipped = what.heartbeatIgnored ? ' [heartbeat watch skipped: --ignore-heartbeat]' : '';
  const hint = what.didYouMean?.length ? ` — did you mean ${what.didYouMean.join(' or ')}? (Nova's host names are case-sensitive)` : '';
  report(
    common,
    io,
    {
      ok: false,
      code: f.code,
      message: f.message,
      detail: f.detail,
      status: f.status,
      request: f.request,
      ...(f.ageSeconds !== undefined ? { ageSeconds: f.ageSeconds } : {}),
      nextStep: step,
      cloud,
      host: what.host,
      ...(what.didYouMean?.length ? { didYouMean: what.didYouMean } : {}),
      ...(what.heartbeatIgnored ? { heartbeatIgnored: true } : {}),
    },
    `force-down: ${subject}: ${f.code}: ${f.message}${hint}${nova}${skipped}\nNext: ${step}`,
    true,
  );
  return code;
}

function report(common: Common, io: CliIo, json: Record<string, unknown>, line: string, isError = false): void {
  if (common.json) io.out(JSON.stringify(json));
  else if (isError) io.err(line);
  else io.out(line);
}

function heartbeat(s: ComputeService, now: number): string {
  const t = parseUtc(s.updatedAt);
  return t === undefined ? 'never' : `${new Date(t).toISOString().replace(/\.\d+Z$/, 'Z')} (${formatAge(t, now)})`;
}

/** One service as a line; with `cloud`, the line says which cloud it is in (`compute1 on prod: …`). */
export function describeService(s: ComputeService, now: number, cloud?: string): string {
  const reason = s.disabledReason ? ` (${s.disabledReason})` : '';
  const where = cloud ? ` on ${cloud}` : '';
  return `${s.host}${where}: ${s.binary} ${s.state ?? '?'}, ${s.status ?? '?'}${reason}, forced_down=${s.forcedDown}, last heartbeat ${heartbeat(s, now)}${s.zone ? `, zone ${s.zone}` : ''}`;
}

function formatList(shown: ComputeService[], total: number, all: boolean, now: number, cloud: string): string {
  if (shown.length === 0) return `All ${total} nova-compute services on ${cloud} are up; none is forced down.`;
  const rows = [['HOST', 'STATE', 'STATUS', 'FORCED_DOWN', 'LAST HEARTBEAT'], ...shown.map((s) => [s.host, s.state ?? '?', s.status ?? '?', String(s.forcedDown), heartbeat(s, now)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
  return all
    ? `${table}\n(${total} nova-compute services on ${cloud})`
    : `${table}\n(${shown.length} of ${total} nova-compute services on ${cloud} down or forced down; --all shows every one)`;
}
