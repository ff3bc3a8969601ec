import type { WebClient } from '@slack/web-api';
import type { AppDeps, BmcView, Cards, EvacuateForm, EvacuateModalCheck, EvacuationEvent, HostView, InstancesView, Job, Logger, Notifier, NovaGateway } from '../../../src/app/ports.js';
import type { Evacuation } from '../../../src/domain/evacuation.js';
import type { EvacuateGateway } from '../../../src/app/evacuate-port.js';
import type { Instance } from '../../../src/domain/instance.js';
import type { RequestStore } from '../../../src/app/store-port.js';
import { createSlackCards } from '../../../src/slack/cards.js';
import { createSlackNotifier } from '../../../src/slack/notifier.js';
import type { ChannelPacer } from '../../../src/slack/pacer.js';
import { runJob } from '../../../src/app/worker.js';
import { fail, succeed, type Failure, type Outcome } from '../../../src/domain/failure.js';
import type { ForceDownRequest, HistoryEntry } from '../../../src/domain/request.js';
import type { ComputeService } from '../../../src/domain/service.js';
import { readBmc, readInstances, type OpenInput } from '../../../src/app/requests.js';
import { createMemoryStore } from '../../fakes/memory-store.js';

/**
 * The use cases' test bench, shared by every test that drives them: a memory
 * store, a hand-written fake Nova, the cards and notifier (recording fakes, or
 * the real Slack ones over a given Web API client), a job queue drained by
 * hand and a clock moved by hand (the heartbeat watch's sleeps move it too).
 */
export const APPROVER = 'U_APPROVER';
export const REQUESTER = 'U_REQUESTER';

export interface FakeNovaOptions {
  /** Hosts whose force-down (or unset) Nova refuses: 403 on its policy. */
  refuse?: ReadonlySet<string>;
  /** A host not in the table is found too, as {@link svc} has it (but not listed): a Nova whose every lookup succeeds. */
  anyHost?: boolean;
  /** What every single-host lookup answers instead (a Nova or Keystone that is down). */
  readFailure?: Failure;
  /** This Nova must never be changed: `setForcedDown` throws this. */
  readOnly?: string;
  /** Runs before each single-host lookup answers (something that happens while Nova is read). */
  beforeRead?: (host: string) => Promise<void>;
}

/** A hand-written fake Nova: a table of hosts, a log of its calls, scripted failures. */
export function fakeNova(hosts: Record<string, ComputeService> | readonly ComputeService[] = { compute1: svc('compute1') }, opts: FakeNovaOptions = {}) {
  const table: Record<string, ComputeService> = Array.isArray(hosts) ? Object.fromEntries(hosts.map((h) => [h.host, h])) : (hosts as Record<string, ComputeService>);
  /** `setForcedDown` calls, in order. */
  const calls: { host: string; forcedDown: boolean }[] = [];
  /** Reads: service lists and single-host lookups. */
  const reads = { list: 0, get: 0 };
  let failWith: Failure | undefined;
  const fake = {
    calls,
    reads,
    hosts: table,
    /** Each service list waits this long first (ms), so others ask while it is in flight. */
    listDelayMs: 0,
    failNext: (f?: Failure) => (failWith = f),
    gateway: {
      async listComputeServices() {
        reads.list++;
        if (fake.listDelayMs) await new Promise((r) => setTimeout(r, fake.listDelayMs));
        return succeed(Object.values(table).map((s) => ({ ...s })));
      },
      async getService(host) {
        reads.get++;
        await opts.beforeRead?.(host);
        if (opts.readFailure) return fail(opts.readFailure);
        const s = table[host] ?? (opts.anyHost ? svc(host) : undefined);
        return s ? succeed({ ...s }) : fail({ code: 'HOST_NOT_FOUND', message: `Nova has no nova-compute service on a host named ${host}` });
      },
      async setForcedDown(host, forcedDown) {
        if (opts.readOnly) throw new Error(opts.readOnly);
        calls.push({ host, forcedDown });
        await new Promise((r) => setTimeout(r, 1));
        if (failWith) return fail(failWith);
        if (opts.refuse?.has(host)) return fail({ code: 'NOVA_FORBIDDEN', message: 'Nova refused: policy', status: 403 });
        const s = table[host] ?? (opts.anyHost ? svc(host) : undefined);
        if (!s) return fail({ code: 'HOST_NOT_FOUND', message: 'no such host', status: 404 });
        s.forcedDown = forcedDown;
        s.state = forcedDown ? 'down' : 'up';
        return succeed({ service: { ...s }, forcedDown, request: 'PUT /os-services/{id}', microversion: '2.53', novaResponse: { service: s } });
      },
    } satisfies NovaGateway as NovaGateway,
  };
  return fake;
}

export type FakeNova = ReturnType<typeof fakeNova>;

/** A host that died ten minutes before the bench's clock starts: Nova counts it down, it reports no more. */
export function svc(host: string, over: Partial<ComputeService> = {}): ComputeService {
  return { id: `uuid-${host}`, host, binary: 'nova-compute', state: 'down', status: 'enabled', forcedDown: false, updatedAt: '2026-11-25T13:50:00.000000', ...over };
}

export interface BenchOptions {
  /** The fake Nova (default: {@link fakeNova}'s compute1). */
  nova?: FakeNova;
  /** The cloud it answers for (default `prod`, the default cloud). */
  cloud?: string;
  /**
   * The real Slack cards and notifier over this Web API client (the fake
   * Slack's), with `pacer`, as src/runtime/compose.ts wires them. Without it:
   * recording fakes, for requests that are never grouped.
   */
  slack?: { client: Pick<WebClient, 'chat' | 'views'>; pacer?: ChannelPacer };
}

/** One log entry, as the bench's logger records it. */
export type LogEntry = { level: 'info' | 'warn' | 'error'; message: string } & Record<string, unknown>;

export function setup(over: Partial<AppDeps> = {}, opts: BenchOptions = {}) {
  let now = Date.UTC(2026, 10, 25, 14, 0, 0);
  let seq = 0;
  const nova = opts.nova ?? fakeNova();
  const cloud = opts.cloud ?? 'prod';
  const jobs: Job[] = [];
  const renders: ForceDownRequest[] = [];
  const audits: { id: string; entry: HistoryEntry }[] = [];
  const modals: { viewId: string; id: string; view: HostView }[] = [];
  const evacuateModals: { viewId: string; id: string; check: EvacuateModalCheck; form: EvacuateForm }[] = [];
  const evacuationEvents: { id: string; evacuation: Evacuation; event: EvacuationEvent }[] = [];
  /** Every reminder the sweep asked for (src/app/reminders.ts): the request and how long its host had been forced down. */
  const reminders: { id: string; host: string; forcedDownForMs: number }[] = [];
  const logs: LogEntry[] = [];
  const record = (level: LogEntry['level']) => (message: string, data?: Record<string, unknown>) => void logs.push({ level, message, ...data });
  const store = over.store ?? createMemoryStore();
  const novaOf = over.nova ?? ((name: string) => (name === cloud ? nova.gateway : undefined));
  const log: Logger = over.log ?? { info: record('info'), warn: record('warn'), error: record('error') };
  const clock = () => now;
  const display: Pick<AppDeps, 'cards' | 'notifier'> = opts.slack
    ? slackCards({
        client: opts.slack.client,
        now: over.now ?? clock,
        store,
        nova: novaOf,
        log,
        ...(opts.slack.pacer ? { pacer: opts.slack.pacer } : {}),
        ...(over.bmc ? { bmc: (r: ForceDownRequest) => readBmc({ bmc: over.bmc, now: over.now ?? clock, log }, r) } : {}),
        ...(over.servers ? { instances: (r: ForceDownRequest) => readInstances({ servers: over.servers, log }, r) } : {}),
      })
    : {
        cards: {
          async request(request) {
            return request.messageTs ?? `1700000000.${String(++seq).padStart(6, '0')}`;
          },
          async group() {
            throw new Error('slash-command requests are never grouped');
          },
          later() {
            throw new Error('slash-command requests are never grouped');
          },
        },
        notifier: {
          async audit() {},
          async replyStatus() {},
          async replyList() {},
          async remind() {},
          async auditJoined() {},
          async auditGroup() {},
          async updateModal(viewId, request, view) {
            modals.push({ viewId, id: request.id, view });
          },
          async updateEvacuateModal(viewId, request, check, form) {
            evacuateModals.push({ viewId, id: request.id, check, form });
          },
          async evacuationEvent(request, evacuation, event) {
            evacuationEvents.push({ id: request.id, evacuation: structuredClone(evacuation), event });
          },
        },
      };
  // Every request the use cases asked to show, as it was then, and every audit line they asked for.
  const shown = display.cards;
  const cards: Cards = { ...shown, request: (request, view) => (renders.push(structuredClone(request)), shown.request(request, view)) };
  const notifier: Notifier = {
    ...display.notifier,
    audit: (request, entry) => (audits.push({ id: request.id, entry }), display.notifier.audit(request, entry)),
    remind: (request, forcedDownForMs) => (reminders.push({ id: request.id, host: request.host, forcedDownForMs }), display.notifier.remind(request, forcedDownForMs)),
  };
  const deps: AppDeps = {
    store,
    nova: novaOf,
    enqueue: async (job) => void jobs.push(job),
    cards,
    notifier,
    policy: { approverUsers: new Set([APPROVER]), approverGroups: new Set(['S_ONCALL']), twoPerson: true },
    allowedChannels: new Set(['C_ONCALL']),
    defaultCloud: cloud,
    ttlMs: 30 * 60_000,
    safety: { confirmationMaxAgeMs: 600_000, heartbeatWaitMs: 20_000, bmcPowerOffTimeoutMs: 120_000 },
    now: clock,
    sleep: async (ms) => void (now += ms),
    newId: () => `req-${++seq}`,
    log,
    ...over,
  };
  /** Runs queued jobs the way the in-process worker does. */
  const drain = async () => {
    while (jobs.length) await runJob(deps, jobs.shift()!);
  };
  return { deps, nova, jobs, renders, audits, modals, evacuateModals, evacuationEvents, reminders, logs, drain, advance: (ms: number) => (now += ms), now: () => now };
}

export const slash = (over: Partial<OpenInput> = {}): OpenInput => ({
  host: 'compute1',
  action: 'force-down',
  origin: { kind: 'slash', userId: REQUESTER, channelId: 'C_ONCALL' },
  requestedBy: REQUESTER,
  channel: 'C_ONCALL',
  reason: 'BMC shows it off',
  ...over,
});


/**
 * The real Slack side of the use cases (src/slack/cards.ts and notifier.ts)
 * over `client` (the fake Slack Web API), as src/runtime/compose.ts wires it:
 * `cards` and `notifier` for AppDeps.
 */
export function slackCards(opts: {
  client: Pick<WebClient, 'chat' | 'views'>;
  now: () => number;
  pacer?: ChannelPacer;
  store: RequestStore;
  nova: (cloud: string) => NovaGateway | undefined;
  log?: Logger;
  bmc?: (request: ForceDownRequest) => Promise<BmcView | undefined>;
  instances?: (request: ForceDownRequest) => Promise<InstancesView | undefined>;
}): Pick<AppDeps, 'cards' | 'notifier'> {
  const log = opts.log ?? { info() {}, warn() {}, error() {} };
  const notifier = createSlackNotifier({ client: opts.client, now: opts.now, log, postToResponseUrl: async () => {}, ...(opts.pacer ? { pacer: opts.pacer } : {}) });
  const cards = createSlackCards({
    client: opts.client,
    store: opts.store,
    nova: opts.nova,
    notifier,
    now: opts.now,
    log,
    ...(opts.pacer ? { pacer: opts.pacer } : {}),
    ...(opts.bmc ? { bmc: opts.bmc } : {}),
    ...(opts.instances ? { instances: opts.instances } : {}),
  });
  return { cards, notifier };
}

/** One instance as Nova's servers list gives it (our names). */
export function instance(id: string, status: string, ha = false, host = 'compute1'): Instance {
  return { id, name: `vm-${id}`, status, taskState: null, host, ha };
}

/**
 * A hand-written fake of Nova's servers list (AppDeps `servers`): instances
 * per host, every listing recorded (`calls`, the hosts asked), a scripted
 * failure, and an optional gate that holds each listing until released.
 */
export function fakeServers(hosts: Record<string, readonly Instance[]> = {}, cloud = 'prod') {
  const calls: string[] = [];
  let failWith: Failure | undefined;
  let gate: Promise<void> | undefined;
  const table: Record<string, readonly Instance[]> = { ...hosts };
  const fake = {
    calls,
    hosts: table,
    /** Every listing fails with `f` from now on (undefined: answers again). */
    fail: (f?: Failure) => (failWith = f),
    /** Holds every listing until the returned function is called. */
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
    gateway: {
      async listServersOnHost(host: string): Promise<Outcome<Instance[]>> {
        calls.push(host);
        if (gate) await gate;
        if (failWith) return fail(failWith);
        return succeed((table[host] ?? []).map((i) => ({ ...i })));
      },
      // Lists only: evacuations are tested against the fake OpenStack (test/fakes/fake-openstack.ts).
      async evacuate(): Promise<Outcome<never>> {
        return fail({ code: 'NOVA_REJECTED', message: 'this fake lists instances only' });
      },
      async evacuationMigrations(): Promise<Outcome<never>> {
        return fail({ code: 'NOVA_REJECTED', message: 'this fake lists instances only' });
      },
    } satisfies EvacuateGateway,
    /** For AppDeps `servers`. */
    servers: (name: string) => (name === cloud ? fake.gateway : undefined),
  };
  return fake;
}
