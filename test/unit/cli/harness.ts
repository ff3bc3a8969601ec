// runCli with a fake Nova, a fake clock and a fake fetch: everything the CLI
// does is recorded, in order, in `events`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCli, type CliIo } from '../../../src/cli/run.js';
import { fail, succeed, type Failure, type Outcome } from '../../../src/domain/failure.js';
import type { ComputeService } from '../../../src/domain/service.js';
import { tempDir } from '../config/builders.js';

export const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);

/** Nova's naive UTC timestamp for `ms`. */
export const novaTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000');

export interface FakeNovaOptions {
  /** Nova's updated_at for the host, as a function of the read number (0, 1, …) and the fake clock. */
  updatedAt?: (read: number, now: number) => number | null;
  state?: string;
  forcedDown?: boolean;
  /** Make the PUT (or every call) fail with this. */
  putFailure?: Failure;
  getFailure?: Failure;
  listFailure?: Failure;
}

export interface Harness {
  events: string[];
  /** Clouds the CLI connected to, by name. */
  connected: string[];
  /** The fake clock (ms). */
  clock: { now: number };
  run(argv: string[], env?: Record<string, string | undefined>, extra?: Partial<CliIo>): Promise<{ code: number; out: string; err: string; json: any }>;
}

export function harness(nova: FakeNovaOptions = {}): Harness {
  const events: string[] = [];
  const connected: string[] = [];
  const clock = { now: T0 };
  let reads = 0;
  const service = (host: string, binary: string, forcedDown = nova.forcedDown ?? false): ComputeService => {
    const updated = nova.updatedAt ? nova.updatedAt(reads++, clock.now) : T0 - 3_600_000;
    return { id: 'svc-1', host, binary, state: forcedDown ? 'down' : (nova.state ?? 'up'), status: 'enabled', forcedDown, updatedAt: updated === null ? null : novaTime(updated), zone: 'nova' };
  };
  const io = (env: Record<string, string | undefined>, out: string[], err: string[]): CliIo => ({
    env,
    cwd: tempDir('force-down-cli-cwd-'),
    out: (t) => {
      events.push('out');
      out.push(t);
    },
    err: (t) => {
      events.push(/^force-down: (waiting|powering)/.test(t) ? 'progress' : 'err');
      err.push(t);
    },
    now: () => clock.now,
    sleep: async (ms) => {
      events.push(`sleep ${ms}`);
      clock.now += ms;
    },
    connect: (name) => {
      connected.push(name);
      return {
        nova: {
          async getService(host, binary = 'nova-compute'): Promise<Outcome<ComputeService>> {
            events.push(`nova GET ${host}`);
            return nova.getFailure ? fail(nova.getFailure) : succeed(service(host, binary));
          },
          async listComputeServices() {
            events.push('nova LIST');
            if (nova.listFailure) return fail(nova.listFailure);
            return succeed([service('compute1', 'nova-compute', true), service('compute2', 'nova-compute', false)]);
          },
          async setForcedDown(host, forcedDown, binary = 'nova-compute') {
            events.push(`nova PUT ${host} ${forcedDown}`);
            if (nova.putFailure) return fail(nova.putFailure);
            return succeed({ service: service(host, binary, forcedDown), forcedDown, request: 'PUT /os-services/{id}', microversion: '2.53', novaResponse: {} });
          },
        },
        close: async () => void events.push('close'),
      };
    },
  });
  return {
    events,
    connected,
    clock,
    async run(argv, env = {}, extra = {}) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(argv, { ...io({ HOME: tempDir('force-down-cli-home-'), ...env }, out, err), ...extra });
      return cliResult(code, out, err);
    },
  };
}

/** What a CLI run wrote: stdout and stderr joined by lines, and stdout parsed as JSON when it is JSON (else undefined). */
export function cliResult(code: number, out: string[], err: string[]): { code: number; out: string; err: string; json: any } {
  const text = out.join('\n');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { code, out: text, err: err.join('\n'), json };
}

const cloud = (region: string) => ({ auth: { auth_url: 'https://keystone.example:5000/v3', application_credential_id: `ac-${region}`, application_credential_secret: 'SEKRET-appcred-456' }, region_name: region });

/** A secret file with these clouds (and a Slack bot token unless `slack: false`, a `bmc` section when given); returns its path. */
export function secretFile(names: string[], opts: { botToken?: string | false; bmc?: Record<string, unknown> } = {}): string {
  const file = join(tempDir('force-down-secret-'), 'secret.json');
  const slack = opts.botToken === false ? {} : { slack: { signingSecret: 'SEKRET-signing-789', botToken: opts.botToken ?? 'xoxb-SEKRET-bot-000' } };
  writeFileSync(file, JSON.stringify({ ...slack, clouds: Object.fromEntries(names.map((n) => [n, cloud(n)])), ...(opts.bmc ? { bmc: opts.bmc } : {}) }));
  return file;
}

/** A clouds.yaml with these clouds; returns its path. */
export function cloudsYaml(names: string[]): string {
  const file = join(tempDir('force-down-clouds-'), 'clouds.yaml');
  writeFileSync(file, stringify({ clouds: Object.fromEntries(names.map((n) => [n, cloud(n)])) }));
  return file;
}
