import { chooseCloud, cloudContextOf } from '../config/cloud-choice.js';
import { loadCloudFromOpenStackConfig } from '../config/clouds-yaml.js';
import { loadSecretFile } from '../config/secret-document.js';
import { ConfigError, type CloudConfig } from '../config/schema.js';
import { isUnavailable, type Failure } from '../domain/failure.js';
import { FENCING_METHODS } from '../domain/fencing.js';
import { nextStep } from '../domain/runbook.js';
import { formatAge, parseUtc } from '../domain/time.js';
import { createCloudClient } from '../openstack/cloud.js';
import type { ComputeService } from '../openstack/nova.js';
import { parseCli, USAGE, UsageError, type CliCommand, type Common } from './args.js';

export const EXIT = { done: 0, usage: 2, refused: 3, unreachable: 4 } as const;

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  cwd?: string;
  now?: () => number;
  version?: string;
}

/** Runs the breakglass CLI and returns its exit code. All output goes through `io`. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let cmd: CliCommand;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`force-down: ${err.message}\n\nRun "force-down --help" for usage.`);
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

  let resolved: { name: string; cloud: CloudConfig };
  try {
    resolved = resolveCloud(cmd.common, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      report(cmd.common, io, { ok: false, code: err.code, message: err.message, ...cloudContextOf(err) }, `force-down: ${err.message}`, true);
      return EXIT.usage;
    }
    throw err;
  }
  const cloud = cmd.common.microversion ? { ...resolved.cloud, compute_api_version: cmd.common.microversion } : resolved.cloud;
  const client = createCloudClient(resolved.name, cloud);
  const now = io.now ?? Date.now;
  const started = now();
  try {
    switch (cmd.kind) {
      case 'status': {
        const res = await client.nova.getService(cmd.host, cmd.binary);
        if (!res.ok) return failed(res.failure, cmd.host, 'force-down', cmd.common, io, resolved.name);
        report(cmd.common, io, { ok: true, cloud: resolved.name, service: res.value }, describeService(res.value, now()));
        return EXIT.done;
      }
      case 'list': {
        const res = await client.nova.listComputeServices();
        if (!res.ok) return failed(res.failure, '', 'force-down', cmd.common, io, resolved.name);
        const shown = cmd.all ? res.value : res.value.filter((s) => s.forcedDown || s.state === 'down');
        report(cmd.common, io, { ok: true, cloud: resolved.name, services: shown, total: res.value.length }, formatList(shown, res.value.length, cmd.all, now()));
        return EXIT.done;
      }
      case 'set': {
        const res = await client.nova.setForcedDown(cmd.host, cmd.forcedDown, cmd.binary);
        const action = cmd.forcedDown ? 'force-down' : 'unset';
        if (!res.ok) return failed(res.failure, cmd.host, action, cmd.common, io, resolved.name);
        const r = res.value;
        const elapsedMs = now() - started;
        const how = cmd.fenced ? `; fenced: ${FENCING_METHODS[cmd.fenced]}` : '';
        const note = cmd.note ? ` (${cmd.note})` : '';
        const state = r.service.state ? ` state=${r.service.state}` : '';
        const line = cmd.forcedDown
          ? `${cmd.host}: forced down (${r.service.binary || cmd.binary}${state} forced_down=${r.forcedDown}) via ${r.request} at ${r.microversion} on ${resolved.name}${how}${note}`
          : `${cmd.host}: forced_down unset (${r.service.binary || cmd.binary}${state} forced_down=${r.forcedDown}) via ${r.request} at ${r.microversion} on ${resolved.name}${note}`;
        report(
          cmd.common,
          io,
          {
            ok: true,
            action,
            host: cmd.host,
            binary: cmd.binary,
            cloud: resolved.name,
            forcedDown: r.forcedDown,
            service: r.service,
            request: r.request,
            microversion: r.microversion,
            ...(cmd.fenced ? { fenced: cmd.fenced } : {}),
            ...(cmd.note ? { note: cmd.note } : {}),
            elapsedMs,
          },
          line,
        );
        return EXIT.done;
      }
    }
  } finally {
    await client.close();
  }
}

function resolveCloud(common: Common, io: CliIo): { name: string; cloud: CloudConfig } {
  const secretFile = io.env.FORCE_DOWN_SECRET_FILE;
  if (secretFile) {
    const doc = loadSecretFile(secretFile);
    // The same precedence as clouds.yaml: --cloud/--os-cloud, OS_CLOUD, FORCE_DOWN_DEFAULT_CLOUD, the only cloud.
    const { name, cloud } = chooseCloud(doc.clouds, common.cloud, io.env, `secret file ${secretFile}`);
    return { name, cloud };
  }
  const { name, cloud } = loadCloudFromOpenStackConfig(common.cloud, io.env, io.cwd);
  return { name, cloud };
}

function failed(f: Failure, host: string, action: 'force-down' | 'unset', common: Common, io: CliIo, cloud: string): number {
  const code = isUnavailable(f.code) ? EXIT.unreachable : EXIT.refused;
  const step = nextStep(f.code, host || 'the host', action);
  const nova = f.detail ? ` (OpenStack said: ${f.detail})` : '';
  const subject = host ? `${host}: ` : '';
  report(
    common,
    io,
    { ok: false, code: f.code, message: f.message, detail: f.detail, status: f.status, request: f.request, nextStep: step, cloud, host: host || undefined },
    `force-down: ${subject}${f.code}: ${f.message}${nova}\nNext: ${step}`,
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

export function describeService(s: ComputeService, now: number): string {
  const reason = s.disabledReason ? ` (${s.disabledReason})` : '';
  return `${s.host}: ${s.binary} ${s.state ?? '?'}, ${s.status ?? '?'}${reason}, forced_down=${s.forcedDown}, last heartbeat ${heartbeat(s, now)}${s.zone ? `, zone ${s.zone}` : ''}`;
}

function formatList(shown: ComputeService[], total: number, all: boolean, now: number): string {
  if (shown.length === 0) return `All ${total} nova-compute services are up; none is forced down.`;
  const rows = [['HOST', 'STATE', 'STATUS', 'FORCED_DOWN', 'LAST HEARTBEAT'], ...shown.map((s) => [s.host, s.state ?? '?', s.status ?? '?', String(s.forcedDown), heartbeat(s, now)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
  return all ? table : `${table}\n(${shown.length} of ${total} nova-compute services down or forced down; --all shows every one)`;
}


