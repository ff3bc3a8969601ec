import type { WebClient } from '@slack/web-api';
import type { AppDeps, HostView, Job, Logger, NovaGateway } from '../../../src/app/ports.js';
import type { RequestStore } from '../../../src/app/store-port.js';
import { createSlackCards } from '../../../src/slack/cards.js';
import { createSlackNotifier } from '../../../src/slack/notifier.js';
import type { ChannelPacer } from '../../../src/slack/pacer.js';
import { runJob } from '../../../src/app/worker.js';
import { fail, succeed, type Failure } from '../../../src/domain/failure.js';
import type { ForceDownRequest, HistoryEntry } from '../../../src/domain/request.js';
import type { ComputeService } from '../../../src/domain/service.js';
import type { OpenInput } from '../../../src/app/requests.js';
import { createMemoryStore } from '../../fakes/memory-store.js';

/**
 * The use cases' test bench: a memory store, a hand-written fake Nova, a
 * recording notifier, a job queue drained by hand and a clock moved by hand
 * (the heartbeat watch's sleeps move it too).
 */
export const APPROVER = 'U_APPROVER';
export const REQUESTER = 'U_REQUESTER';

/** A hand-written fake Nova: a table of hosts, a call log, scripted failures. */
export function fakeNova(hosts: Record<string, ComputeService> = { compute1: svc('compute1') }) {
  const calls: { host: string; forcedDown: boolean }[] = [];
  let failWith: Failure | undefined;
  const gateway: NovaGateway = {
    async listComputeServices() {
      return succeed(Object.values(hosts).map((s) => ({ ...s })));
    },
    async getService(host) {
      const s = hosts[host];
      return s ? succeed({ ...s }) : fail({ code: 'HOST_NOT_FOUND', message: `Nova has no nova-compute service on a host named ${host}` });
    },
    async setForcedDown(host, forcedDown) {
      calls.push({ host, forcedDown });
      await new Promise((r) => setTimeout(r, 1));
      if (failWith) return fail(failWith);
      const s = hosts[host];
      if (!s) return fail({ code: 'HOST_NOT_FOUND', message: 'no such host', status: 404 });
      s.forcedDown = forcedDown;
      s.state = forcedDown ? 'down' : 'up';
      return succeed({ service: { ...s }, forcedDown, request: 'PUT /os-services/{id}', microversion: '2.53', novaResponse: { service: s } });
    },
  };
  return { gateway, calls, hosts, failNext: (f?: Failure) => (failWith = f) };
}

/** A host that died ten minutes before the bench's clock starts: Nova counts it down, it reports no more. */
export function svc(host: string): ComputeService {
  return { id: `uuid-${host}`, host, binary: 'nova-compute', state: 'down', status: 'enabled', forcedDown: false, updatedAt: '2026-11-25T13:50:00.000000' };
}

export function setup(over: Partial<AppDeps> = {}) {
  let now = Date.UTC(2026, 10, 25, 14, 0, 0);
  let seq = 0;
  const nova = fakeNova();
  const jobs: Job[] = [];
  const renders: ForceDownRequest[] = [];
  const audits: { id: string; entry: HistoryEntry }[] = [];
  const modals: { viewId: string; id: string; view: HostView }[] = [];
  const deps: AppDeps = {
    store: createMemoryStore(),
    nova: (cloud) => (cloud === 'prod' ? nova.gateway : undefined),
    enqueue: async (job) => void jobs.push(job),
    cards: {
      async request(request) {
        renders.push(structuredClone(request));
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
      async audit(request, entry) {
        audits.push({ id: request.id, entry });
      },
      async replyStatus() {},
      async replyList() {},
      async auditJoined() {},
      async auditGroup() {},
      async updateModal(viewId, request, view) {
        modals.push({ viewId, id: request.id, view });
      },
    },
    policy: { approverUsers: new Set([APPROVER]), approverGroups: new Set(['S_ONCALL']), twoPerson: true },
    allowedChannels: new Set(['C_ONCALL']),
    defaultCloud: 'prod',
    ttlMs: 30 * 60_000,
    safety: { confirmationMaxAgeMs: 600_000, heartbeatWaitMs: 20_000 },
    now: () => now,
    sleep: async (ms) => void (now += ms),
    newId: () => `req-${++seq}`,
    log: { info() {}, warn() {}, error() {} },
    ...over,
  };
  /** Runs queued jobs the way the in-process worker does. */
  const drain = async () => {
    while (jobs.length) await runJob(deps, jobs.shift()!);
  };
  return { deps, nova, jobs, renders, audits, modals, drain, advance: (ms: number) => (now += ms), now: () => now };
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
export function slackCards(opts: { client: WebClient; now: () => number; pacer?: ChannelPacer; store: RequestStore; nova: (cloud: string) => NovaGateway | undefined; log?: Logger }): Pick<AppDeps, 'cards' | 'notifier'> {
  const log = opts.log ?? { info() {}, warn() {}, error() {} };
  const notifier = createSlackNotifier({ client: opts.client, now: opts.now, log, postToResponseUrl: async () => {}, ...(opts.pacer ? { pacer: opts.pacer } : {}) });
  const cards = createSlackCards({ client: opts.client, store: opts.store, nova: opts.nova, notifier, now: opts.now, log, ...(opts.pacer ? { pacer: opts.pacer } : {}) });
  return { cards, notifier };
}
