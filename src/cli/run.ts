import { watchHeartbeat } from '../app/heartbeat.js';
import { chooseCloud, cloudContextOf } from '../config/cloud-choice.js';
import { resolve } from 'node:path';
import { loadCloudFromOpenStackConfig, type ConfigTrace } from '../config/clouds-yaml.js';
import { loadSecretFile } from '../config/secret-document.js';
import { ConfigError, type CloudConfig } from '../config/schema.js';
import { isUnavailable, type Failure } from '../domain/failure.js';
import { FENCING_METHODS } from '../domain/fencing.js';
import { novaSpellings } from '../domain/host.js';
import { DEFAULT_HEARTBEAT_WAIT_MS } from '../domain/heartbeat.js';
import { nextStep } from '../domain/runbook.js';
import { formatAge, parseUtc } from '../domain/time.js';
import { createCloudClient } from '../openstack/cloud.js';
import type { ComputeService, NovaClient } from '../openstack/nova.js';
import { parseCli, USAGE, UsageError, wantsJson, type CliCommand, type Common } from './args.js';
import { auditTarget, auditText, postAudit, whoRanIt, type AuditEvent } from './audit.js';

export const EXIT = { done: 0, usage: 2, refused: 3, unreachable: 4 } as const;

/** What the CLI needs of a cloud: its Nova, and closing its connections. */
export interface CliCloud {
  nova: Pick<NovaClient, 'getService' | 'listComputeServices' | 'setForcedDown'>;
  close(): Promise<void>;
}

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  cwd?: string;
  now?: () => number;
  version?: string;
  /** Pause between the heartbeat watch's reads of Nova (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Connects to the chosen cloud (default: the OpenStack client; tests pass a fake). */
  connect?: (name: string, cloud: CloudConfig) => CliCloud;
  /** fetch for the Slack audit line (default: the global fetch). */
  fetch?: typeof fetch;
  /** How long the audit line may take (default AUDIT_TIMEOUT_MS). */
  auditTimeoutMs?: number;
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
}

/** Runs the breakglass CLI and returns its exit code. All output goes through `io`. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  // The operator typing the command is the CLI's fence confirmation: a heartbeat after it refuses.
  const started = now();
  let cmd: CliCommand;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      // --json is read from argv itself, so that a command line that does not parse still gets JSON.
      if (wantsJson(argv)) io.out(JSON.stringify({ ok: false, code: 'USAGE', message: err.message }));
      else io.err(`force-down: ${err.message}\n\nRun "force-down --help" for usage.`);
      return EXIT.usage;
    }
    throw err;
  }
  if (cmd.kind === 'help') {
    io.out(USAGE);
    return EXIT.done;
  }
  if (cmd.kind === 'version') {
    io.out(io.version ?? 'unknown');
    return EXIT.done;
  }

  let resolved: Resolved;
  let waitMs: number | undefined;
  try {
    if (cmd.kind === 'set' && cmd.forcedDown && !cmd.ignoreHeartbeat) waitMs = heartbeatWaitMs(io.env);
    resolved = resolveCloud(cmd.common, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      report(cmd.common, io, { ok: false, code: err.code, message: err.message, ...cloudContextOf(err) }, `force-down: ${err.message}`, true);
      return EXIT.usage;
    }
    throw err;
  }
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
        return await runSet(cmd, client, resolved, io, { now, started, ...(waitMs !== undefined ? { waitMs } : {}) });
    }
  } finally {
    await client.close();
  }
}

type SetCommand = Extract<CliCommand, { kind: 'set' }>;

/**
 * force-down / --unset: the heartbeat watch (forcing down only, unless
 * --ignore-heartbeat), Nova's PUT, the answer, then the audit line. The
 * audit starts once the outcome is known and can only add a warning.
 */
async function runSet(
  cmd: SetCommand,
  client: CliCloud,
  resolved: Resolved,
  io: CliIo,
  t: { now: () => number; started: number; waitMs?: number },
): Promise<number> {
  const action = cmd.forcedDown ? 'force-down' : 'unset';
  const cloudName = resolved.name;
  const ignored = cmd.forcedDown && cmd.ignoreHeartbeat === true;
  let waitedMs: number | undefined;
  let outcome: Awaited<ReturnType<CliCloud['nova']['setForcedDown']>> | undefined;
  if (t.waitMs !== undefined) {
    const watched = await watchHeartbeat(client.nova, cmd.host, cmd.binary, {
      waitMs: t.waitMs,
      now: t.now,
      sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      confirmedAtMs: t.started,
      onWait: ({ lastMs, untilMs }) => {
        const at = t.now();
        const age = Math.max(0, Math.round((at - lastMs) / 1000));
        const left = Math.max(0, Math.ceil((untilMs - at) / 1000));
        io.err(`force-down: waiting to see whether ${cmd.host} still reports to Nova (last heartbeat ${age} s ago; deciding in ${left} s)…`);
      },
    });
    if (watched.ok) waitedMs = watched.value.waitedMs;
    else outcome = watched;
  }
  outcome ??= await client.nova.setForcedDown(cmd.host, cmd.forcedDown, cmd.binary);
  const doneAt = t.now();

  let code: number;
  if (!outcome.ok) {
    const didYouMean = await spellings(client, outcome.failure, cmd.host, cmd.binary);
    code = failed(outcome.failure, { host: cmd.host, action, didYouMean, ...(ignored ? { heartbeatIgnored: true } : {}) }, cmd.common, io, cloudName);
  } else {
    const r = outcome.value;
    const how = cmd.fenced ? `; fenced: ${FENCING_METHODS[cmd.fenced]}` : '';
    const note = cmd.note ? ` (${cmd.note})` : '';
    const skipped = ignored ? '; heartbeat watch skipped (--ignore-heartbeat)' : '';
    const state = r.service.state ? ` state=${r.service.state}` : '';
    const line = cmd.forcedDown
      ? `${cmd.host}: forced down (${r.service.binary || cmd.binary}${state} forced_down=${r.forcedDown}) via ${r.request} at ${r.microversion} on ${cloudName}${how}${note}${skipped}`
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
        ...(ignored ? { heartbeatIgnored: true } : {}),
        ...(waitedMs !== undefined ? { heartbeatWaitedMs: waitedMs } : {}),
        elapsedMs: doneAt - t.started,
      },
      line,
    );
    code = EXIT.done;
  }

  // The audit line: only now that Nova has answered, bounded, and never changing the exit code.
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

function resolveCloud(common: Common, io: CliIo): Resolved {
  // --debug: paths and names only, on stderr; never a file's contents.
  const debug = common.debug ? (line: string) => io.err(`force-down: debug: ${line}`) : undefined;
  const secretFile = io.env.FORCE_DOWN_SECRET_FILE;
  if (secretFile) {
    debug?.(`read secret document ${resolve(secretFile)} (FORCE_DOWN_SECRET_FILE; clouds.yaml, secure.yaml and the OS_* variables are not consulted)`);
    const doc = loadSecretFile(secretFile);
    const { name, cloud, namedBy } = chooseCloud(doc.clouds, common.cloud, io.env, `secret file ${secretFile}`);
    debug?.(`cloud ${name} (${namedBy}) from the secret document`);
    return { name, cloud, ...(doc.slack?.botToken ? { botToken: doc.slack.botToken } : {}) };
  }
  const trace: ConfigTrace | undefined = debug && {
    read: (what, path) => debug(`read ${what} ${resolve(path)}`),
    notRead: (path, why) => debug(`not read: ${resolve(path)} (${why})`),
  };
  const { name, cloud, source, namedBy } = loadCloudFromOpenStackConfig(common.cloud, io.env, io.cwd, trace);
  debug?.(source === 'OS_* variables' ? `cloud ${name} from the OS_* variables (no configuration file)` : `cloud ${name} (${namedBy}) from ${resolve(source)}`);
  return { name, cloud };
}

/** What CLI-specific words replace the runbook's for a code (the runbook speaks of Slack's confirmation). */
function cliNextStep(f: Failure, host: string, action: 'force-down' | 'unset'): string {
  if (f.code === 'HOST_STILL_REPORTING') {
    return `${host}'s nova-compute still reports to Nova, so ${host} is running and not fenced; nothing was changed in Nova. Check the fence (BMC power state, switch port), fence ${host} for real, and run force-down again.`;
  }
  return nextStep(f.code, host, action);
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
  what: { host?: string; action: 'force-down' | 'unset'; heartbeatIgnored?: boolean; didYouMean?: string[] },
  common: Common,
  io: CliIo,
  cloud: string,
): number {
  const code = isUnavailable(f.code) ? EXIT.unreachable : EXIT.refused;
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
