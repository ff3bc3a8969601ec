/**
 * Load against the local bot (issue 6), shared by the reliability test (test/reliability/load.test.ts:
 * 0 errors, bounded heap) and the benchmark (test/bench/load.ts: latency and memory figures).
 *
 * The bot runs as its own process (`npm start`'s startLocalBot: HTTP server, SQLite in a temp
 * folder, in-process worker), so its memory is its own; this process runs the load generator, the
 * fake Slack Web API and a fake Keystone + Nova (the shared lab is not loaded). Requests are Slack-
 * signed as Slack sends them, `concurrency` at a time, in a fixed mix:
 *
 *   - flows of three: `/force-down <host>` → Confirm fenced… click (views.open) → modal
 *     submitted → the worker forces the host down (the request id is read from the bot's SQLite
 *     file right after the ack, so a flow does not wait for its card);
 *   - `/force-down status <host>` (a worker job answering on the response_url);
 *   - `/force-down help` and garbage (answered by the ack alone);
 *   - alert webhooks (issue 4), `POST /alerts/alertmanager` with the bearer token, as Alertmanager
 *     sends them (one group a notification, `version: "4"`): firing for a new host, firing for a
 *     rack of five new hosts at once, repeats of an earlier firing alert (same fingerprint and
 *     `startsAt`, as Alertmanager re-sends every `repeat_interval`), resolved for a host that fired
 *     (its request marked "alert resolved") or for one that never did (a recovery check: Nova's list,
 *     nothing forced down, no card).
 *
 * Slack requests and webhooks have a budget each (1,000 and 1,000 by default) and are interleaved,
 * `concurrency` in flight at once in all. An error is any answer other than the expected one, a
 * flow that does not end `succeeded`, or a store that does not hold exactly one pending request per
 * host an alert fired for (and nothing more).
 *
 * Cards are spread over `channels` channels (one per lane and then some): the worker paces Slack
 * posts per channel (about one a second, src/slack/pacer.ts), so in one channel 1,000 requests
 * would leave a backlog of card updates draining for many minutes. The figures are about this
 * server, not Slack's per-channel limit; `novaDelay` shows what the pacing costs a force-down.
 * Alert cards have no such choice: they all go to FORCE_DOWN_CHANNEL, where 1,000 webhooks queue
 * thousands of card updates (`alertChannelCalls`), about an hour of Slack's one call a second. So the
 * bot runs with FORCE_DOWN_TEST_SLACK_PACING=off (unpaced-slack-hook.mjs: no spacing, still one call
 * at a time per channel and in order), and the result reports how many calls the channel took.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS, FENCE_MODAL_CALLBACK_ID } from '../../src/slack/ids.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFakeOpenStack } from '../fakes/fake-openstack.js';
import { startFakeSlackApi } from '../fakes/slack-api.js';
import { blockActions, createSlackSender, fenceValues, slashCommand, user, viewSubmission, type SlackResponse } from '../integration/slack-helpers.js';
import { startChildBot } from './child-bot.js';

export type RequestKind = 'slash-open' | 'click' | 'submit' | 'status' | 'help' | 'webhook-firing' | 'webhook-rack' | 'webhook-repeat' | 'webhook-resolved';

export const WEBHOOK_KINDS: readonly RequestKind[] = ['webhook-firing', 'webhook-rack', 'webhook-repeat', 'webhook-resolved'];

export interface LoadOptions {
  /** Signed Slack requests after the warm-up (default 1,000). */
  requests?: number;
  /** Alert webhooks after the warm-up, interleaved with the Slack requests (default 1,000). */
  webhooks?: number;
  /** In flight at once (default 50). */
  concurrency?: number;
  /** Slack requests, and as many webhooks, before the first memory reading, not counted (default 100). */
  warmup?: number;
  /** Memory readings every this many requests (default 200). */
  checkpointEvery?: number;
  /** Channels the cards go to (default 2 × concurrency). */
  channels?: number;
  /** FORCE_DOWN_GROUP_WINDOW_SECONDS of the bot (default: the bot's own, 30). */
  groupWindowSeconds?: number;
  /** Progress lines. */
  onProgress?: (line: string) => void;
}

export interface MemoryReading {
  /** Requests answered when read. */
  after: number;
  rss: number;
  heapUsed: number;
  external: number;
}

export interface LoadResult {
  /** Answers counted (Slack requests and webhooks). */
  requests: number;
  /** Of which webhooks. */
  webhooks: number;
  concurrency: number;
  errors: { kind: RequestKind; status: number; body: string }[];
  /** Latency of each answered request, ms, by kind. */
  latency: Record<RequestKind, number[]>;
  wallMs: number;
  /** From the last answer to the bot's queue idle: the worker catching up (cards, Nova calls). */
  drainMs: number;
  /** Readings after a full GC in the bot's process: after the warm-up, at checkpoints, after the run (queue idle). */
  memory: MemoryReading[];
  flows: number;
  succeeded: number;
  novaPuts: number;
  /** Per measured flow: ms from the modal submission's ack to the PUT reaching Nova. */
  novaDelay: number[];
  errorLogs: string[];
  /** Hosts alerts fired for (warm-up included), each of which must have exactly one pending request. */
  alertHosts: number;
  /** Slack Web API calls to the alert channel (cards, their updates, their threads), warm-up included. */
  alertChannelCalls: number;
}

const SIGNING = 'load-signing-secret';
const WEBHOOK_TOKEN = 'load-alertmanager-token-5d1e9c';
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A small seeded PRNG (mulberry32): the same mix of repeats and resolutions on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FiredAlert {
  host: string;
  fingerprint: string;
  startsAt: string;
}

/** An Alertmanager v4 webhook body for one notification of the `HostDown` group. */
function alertmanagerBody(status: 'firing' | 'resolved', alerts: FiredAlert[]): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    receiver: 'force-down',
    status,
    alerts: alerts.map((a) => ({
      status,
      labels: { alertname: 'HostDown', instance: `${a.host}:9100`, job: 'node', severity: 'critical' },
      annotations: { summary: `${a.host} has stopped answering`, description: 'node_exporter unreachable for 2 minutes' },
      startsAt: a.startsAt,
      endsAt: status === 'firing' ? ZERO_TIME : now,
      generatorURL: 'http://prometheus.example.org:9090/graph?g0.expr=up%3D%3D0',
      fingerprint: a.fingerprint,
    })),
    groupLabels: { alertname: 'HostDown' },
    commonLabels: { alertname: 'HostDown', job: 'node', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example.org:9093',
    version: '4',
    groupKey: `{}:{alertname="HostDown", instance="${alerts[0]?.host ?? ''}"}`,
    truncatedAlerts: 0,
  });
}
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');

export const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

export async function runLoad(opts: LoadOptions = {}): Promise<LoadResult> {
  const total = opts.requests ?? 1_000;
  const totalWebhooks = opts.webhooks ?? 1_000;
  const concurrency = opts.concurrency ?? 50;
  const warmup = opts.warmup ?? 100;
  const every = opts.checkpointEvery ?? 200;
  const progress = opts.onProgress ?? (() => undefined);
  const channels = Array.from({ length: opts.channels ?? 2 * concurrency }, (_, i) => ({ id: `C0LOAD${String(i).padStart(4, '0')}`, name: `load-${i}` }));

  const slack = await startFakeSlackApi();
  const openstack = await startFakeOpenStack();
  const dir = mkdtempSync(join(tmpdir(), 'fd-load-'));
  const secretFile = join(dir, 'secret.json');
  writeFileSync(
    secretFile,
    JSON.stringify({
      slack: { signingSecret: SIGNING, botToken: 'xoxb-load' },
      alerts: { alertmanager: { token: WEBHOOK_TOKEN } },
      clouds: { lab: { auth: { auth_url: openstack.authUrl, username: 'admin', password: 'load-pass', project_name: 'admin' }, region_name: 'RegionOne' } },
    }),
    { mode: 0o600 },
  );
  const db = join(dir, 'force-down.sqlite');
  const bot = await startChildBot({
    PORT: '0',
    FORCE_DOWN_DB: db,
    FORCE_DOWN_SECRET_FILE: secretFile,
    SLACK_API_URL: slack.apiUrl,
    FORCE_DOWN_APPROVERS: APPROVER.id,
    FORCE_DOWN_CHANNEL: channels[0]!.id,
    FORCE_DOWN_ALLOWED_CHANNELS: channels.map((c) => c.id).join(','),
    FORCE_DOWN_TEST_SLACK_PACING: 'off',
    // Every webhook's hosts must open (the run checks it): above the flood limits (issue #11, 4).
    FORCE_DOWN_GROUP_MAX_HOSTS: '5000',
    FORCE_DOWN_ALERT_MAX_NEW_PER_MINUTE: '100000',
    ...(opts.groupWindowSeconds !== undefined ? { FORCE_DOWN_GROUP_WINDOW_SECONDS: String(opts.groupWindowSeconds) } : {}),
  });
  const alertChannel = channels[0]!.id;
  const peek = createSqliteStore({ path: db });
  const submittedAt = new Map<string, number>();
  const sender = createSlackSender({ url: () => bot.url, signingSecret: SIGNING, now: Date.now });

  const latency: Record<RequestKind, number[]> = {
    'slash-open': [],
    click: [],
    submit: [],
    status: [],
    help: [],
    'webhook-firing': [],
    'webhook-rack': [],
    'webhook-repeat': [],
    'webhook-resolved': [],
  };
  const errors: LoadResult['errors'] = [];
  const memory: MemoryReading[] = [];
  let answered = 0;
  let answeredWebhooks = 0;
  let counting = false;
  let nextCheckpoint = every;
  let checkpoint: Promise<void> = Promise.resolve();
  let hostSeq = 0;
  let flows = 0;

  async function timed(kind: RequestKind, send: () => Promise<SlackResponse>, ok: (r: SlackResponse) => boolean): Promise<SlackResponse | undefined> {
    const t0 = performance.now();
    let res: SlackResponse | undefined;
    try {
      res = await send();
    } catch (err) {
      errors.push({ kind, status: 0, body: String(err) });
      return undefined;
    }
    const ms = performance.now() - t0;
    if (!counting) return res;
    latency[kind].push(ms);
    answered++;
    if (WEBHOOK_KINDS.includes(kind)) answeredWebhooks++;
    if (!ok(res)) errors.push({ kind, status: res.status, body: res.body.slice(0, 200) });
    if (answered >= nextCheckpoint) {
      nextCheckpoint += every;
      const after = answered;
      checkpoint = checkpoint.then(async () => {
        const m = await bot.memory();
        memory.push({ after, rss: m.rss, heapUsed: m.heapUsed, external: m.external });
        progress(`  ${after} requests: rss ${(m.rss / 2 ** 20).toFixed(1)} MB, heap ${(m.heapUsed / 2 ** 20).toFixed(1)} MB`);
      });
    }
    return res;
  }

  const acked = (r: SlackResponse) => r.status === 200 && r.body === '';
  const ephemeral = (r: SlackResponse) => r.status === 200 && r.json?.response_type === 'ephemeral';

  /** Confirmed force-down: `/force-down <host>` → Confirm fenced… → modal submitted (3 requests). */
  async function flow(_i: number, channel: { id: string; name: string }, responseUrl: string): Promise<void> {
    const host = `load${++hostSeq}`;
    flows++;
    const open = await timed('slash-open', () => sender.command(slashCommand({ text: `${host} --reason load`, user: REQUESTER, responseUrl, channel })), acked);
    if (!open || !acked(open)) return;
    const request = await peek.findOpen('lab', host, 'force-down');
    if (!request) {
      errors.push({ kind: 'slash-open', status: 0, body: `nothing recorded for ${host}` });
      return;
    }
    const button = { action_id: ACTION_IDS.confirmFenced, value: request.id };
    await timed('click', () => sender.interact(blockActions({ user: APPROVER, button, messageTs: '1.000001', responseUrl, channel })), acked);
    // The modal the click opened (answered once views.open returned): its private_metadata carries the form's nonce.
    const modal = slack
      .calls('views.open')
      .map((c) => (c.body.view as { private_metadata?: string } | undefined)?.private_metadata)
      .findLast((m) => modalRequestId(m) === request.id);
    const submitted = await timed(
      'submit',
      () => sender.interact(viewSubmission({ user: APPROVER, view: { callback_id: FENCE_MODAL_CALLBACK_ID, private_metadata: modal ?? request.id }, values: fenceValues({ method: 'bmc', verified: true }) })),
      acked,
    );
    if (submitted && counting) submittedAt.set(host, performance.now());
  }

  // Alert webhooks, as Alertmanager posts them (bearer token).
  const random = prng(0x5eed);
  const fired: FiredAlert[] = [];
  let alertSeq = 0;
  let neverFiredSeq = 0;
  const webhook = (body: string) => async (): Promise<SlackResponse> => {
    const started = performance.now();
    const res = await fetch(`${bot.url}/alerts/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' }, body });
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status: res.status, body: text, json, ms: performance.now() - started };
  };
  /** A 200 with the counts this notification must have produced, nothing failed, nothing forced down. */
  const receipt = (want: Record<string, number>) => (r: SlackResponse) =>
    r.status === 200 && r.json?.status === 'accepted' && r.json.failed === 0 && r.json.auto === 0 && Object.entries(want).every(([k, v]) => r.json?.[k] === v);
  const newAlerts = (n: number): FiredAlert[] =>
    Array.from({ length: n }, () => {
      const i = ++alertSeq;
      return { host: `alert${i}.rack${Math.ceil(i / 40)}.example.org`, fingerprint: `fp${i.toString(16).padStart(12, '0')}`, startsAt: new Date().toISOString() };
    });
  const fire = async (kind: RequestKind, alerts: FiredAlert[]) => {
    const res = await timed(kind, webhook(alertmanagerBody('firing', alerts)), receipt({ opened: alerts.length, repeats: 0 }));
    if (res?.status === 200) fired.push(...alerts);
  };
  const earlier = () => fired[Math.floor(random() * fired.length)];

  /** The mix, as a cycle of scenarios (`weight` entries each): a lane takes the next one whose budget is not spent. */
  const scenarios: { weight: number; requests: number; budget: 'slack' | 'webhooks'; run: (i: number, channel: { id: string; name: string }, responseUrl: string) => Promise<void> }[] = [
    { weight: 3, requests: 3, budget: 'slack', run: flow },
    {
      weight: 3,
      requests: 1,
      budget: 'slack',
      run: async (i, channel, responseUrl) =>
        void (await timed('status', () => sender.command(slashCommand({ text: `status load${1 + (i % Math.max(1, hostSeq))}`, user: REQUESTER, responseUrl, channel })), ephemeral)),
    },
    {
      weight: 2,
      requests: 1,
      budget: 'slack',
      run: async (i, channel, responseUrl) =>
        void (await timed('help', () => sender.command(slashCommand({ text: i % 2 ? 'help' : '--frobnicate ../x', user: REQUESTER, responseUrl, channel })), ephemeral)),
    },
    // Webhooks: 14 entries for the 14 Slack requests above, so that the two budgets run out together.
    { weight: 5, requests: 1, budget: 'webhooks', run: () => fire('webhook-firing', newAlerts(1)) },
    { weight: 1, requests: 1, budget: 'webhooks', run: () => fire('webhook-rack', newAlerts(5)) },
    {
      weight: 5,
      requests: 1,
      budget: 'webhooks',
      run: async () => {
        const a = earlier();
        if (!a) return fire('webhook-firing', newAlerts(1));
        await timed('webhook-repeat', webhook(alertmanagerBody('firing', [a])), receipt({ opened: 0, repeats: 1 }));
      },
    },
    {
      weight: 3,
      requests: 1,
      budget: 'webhooks',
      run: async () => {
        const a = random() < 0.75 ? earlier() : undefined;
        if (a) await timed('webhook-resolved', webhook(alertmanagerBody('resolved', [a])), receipt({ resolved: 1, recoveryChecks: 0 }));
        else {
          const host = `quiet${++neverFiredSeq}.example.org`;
          await timed('webhook-resolved', webhook(alertmanagerBody('resolved', [{ host, fingerprint: `q${neverFiredSeq}`, startsAt: new Date().toISOString() }])), receipt({ resolved: 0, recoveryChecks: 1 }));
        }
      },
    },
  ];
  // Interleaved: a Slack entry, a webhook entry, … (each kind's entries in their table order).
  const slackCycle = scenarios.filter((sc) => sc.budget === 'slack').flatMap((sc) => Array.from({ length: sc.weight }, () => sc));
  const webhookCycle = scenarios.filter((sc) => sc.budget === 'webhooks').flatMap((sc) => Array.from({ length: sc.weight }, () => sc));
  const cycle = Array.from({ length: Math.max(slackCycle.length, webhookCycle.length) }, (_, i) => [slackCycle[i], webhookCycle[i]]).flat().filter((sc) => sc !== undefined);

  async function drive(budget: { slack: number; webhooks: number }): Promise<void> {
    const issued = { slack: 0, webhooks: 0 };
    let seq = 0;
    const next = () => {
      for (let tries = 0; tries < cycle.length; tries++) {
        const i = seq++;
        const sc = cycle[i % cycle.length]!;
        if (issued[sc.budget] < budget[sc.budget]) return { i, sc };
      }
      return undefined;
    };
    const lane = async (n: number) => {
      let round = 0;
      for (let pick = next(); pick; pick = next()) {
        issued[pick.sc.budget] += pick.sc.requests; // reserved before the await, so the lanes stop at the budget (a flow may overshoot by two)
        await pick.sc.run(pick.i, channels[(n + concurrency * round++) % channels.length]!, slack.responseUrl());
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, n) => lane(n)));
  }

  let wallMs = 0;
  try {
    progress(`warm-up: ${warmup} Slack requests, ${totalWebhooks > 0 ? warmup : 0} webhooks`);
    await drive({ slack: warmup, webhooks: totalWebhooks > 0 ? warmup : 0 });
    await bot.idle();
    counting = true;
    const m0 = await bot.memory();
    memory.push({ after: 0, rss: m0.rss, heapUsed: m0.heapUsed, external: m0.external });
    progress(`  0 requests: rss ${(m0.rss / 2 ** 20).toFixed(1)} MB, heap ${(m0.heapUsed / 2 ** 20).toFixed(1)} MB`);
    const putsBefore = openstack.count('PUT', /os-services/);
    const flowsBefore = flows;
    const t0 = performance.now();
    await drive({ slack: total, webhooks: totalWebhooks });
    wallMs = performance.now() - t0;
    const t1 = performance.now();
    await bot.idle();
    const drainMs = performance.now() - t1;
    progress(`  queue idle ${(drainMs / 1000).toFixed(1)} s after the last answer`);
    await checkpoint;
    const m1 = await bot.memory();
    memory.push({ after: answered, rss: m1.rss, heapUsed: m1.heapUsed, external: m1.external });
    progress(`  ${answered} requests, queue idle: rss ${(m1.rss / 2 ** 20).toFixed(1)} MB, heap ${(m1.heapUsed / 2 ** 20).toFixed(1)} MB`);

    const succeeded = (await peek.listByState('succeeded')).length;
    const stuck = ['approved', 'executing', 'failed'] as const;
    const open = (await Promise.all(stuck.map((st) => peek.listByState(st)))).flat().length;
    // Alerts: exactly one pending force-down request per host an alert fired for (repeats and resolutions open none).
    const pending = await peek.listByState('pending');
    const alertHosts = new Set(fired.map((a) => a.host));
    const strays = pending.filter((r) => !alertHosts.has(r.host) || r.action !== 'force-down' || r.origin.kind !== 'alert');
    const missing = [...alertHosts].filter((host) => !pending.some((r) => r.host === host));
    if (pending.length !== alertHosts.size || strays.length > 0 || missing.length > 0) {
      errors.push({ kind: 'webhook-firing', status: 0, body: `${alertHosts.size} hosts fired, ${pending.length} pending requests (${strays.length} unexpected, ${missing.length} hosts without one)` });
    }
    const putAt = new Map(openstack.calls().filter((c) => c.method === 'PUT' && c.host).map((c) => [c.host!, c.at]));
    const novaDelay = [...submittedAt].map(([host, at]) => (putAt.get(host) ?? Number.NaN) - at);
    if (open > 0 || succeeded !== flows) errors.push({ kind: 'submit', status: 0, body: `${flows} flows, ${succeeded} succeeded, ${open} not finished` });
    return {
      requests: answered,
      webhooks: answeredWebhooks,
      concurrency,
      errors,
      latency,
      wallMs,
      drainMs,
      memory,
      flows: flows - flowsBefore,
      succeeded,
      novaPuts: openstack.count('PUT', /os-services/) - putsBefore,
      novaDelay,
      errorLogs: bot.entries().filter((e) => e.level === 'error').map((e) => JSON.stringify(e)),
      alertHosts: alertHosts.size,
      alertChannelCalls: slack.calls().filter((c) => c.body.channel === alertChannel).length,
    };
  } finally {
    peek.close();
    await bot.close();
    await slack.close();
    await openstack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
