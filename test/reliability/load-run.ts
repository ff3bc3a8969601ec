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
 *   - `/force-down help` and garbage (answered by the ack alone).
 *
 * An error is any answer other than the expected one, or a flow that does not end `succeeded`.
 *
 * Cards are spread over `channels` channels (one per lane and then some): the worker paces Slack
 * posts per channel (about one a second, src/slack/pacer.ts), so in one channel 1,000 requests
 * would leave a backlog of card updates draining for many minutes. The figures are about this
 * server, not Slack's per-channel limit; `novaDelay` shows what the pacing costs a force-down.
 * (Webhook load joins here as another request kind once the /alerts routes exist.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ACTION_IDS, FENCE_MODAL_CALLBACK_ID } from '../../src/slack/ids.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFakeOpenStack } from '../fakes/fake-openstack.js';
import { startFakeSlackApi } from '../fakes/slack-api.js';
import { blockActions, createSlackSender, fenceValues, slashCommand, user, viewSubmission, type SlackResponse } from '../integration/slack-helpers.js';
import { startChildBot } from './child-bot.js';

export type RequestKind = 'slash-open' | 'click' | 'submit' | 'status' | 'help';

export interface LoadOptions {
  /** Signed requests after the warm-up (default 1,000). */
  requests?: number;
  /** In flight at once (default 50). */
  concurrency?: number;
  /** Requests before the first memory reading, not counted (default 100). */
  warmup?: number;
  /** Memory readings every this many requests (default 200). */
  checkpointEvery?: number;
  /** Channels the cards go to (default 2 × concurrency). */
  channels?: number;
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
  requests: number;
  concurrency: number;
  errors: { kind: RequestKind; status: number; body: string }[];
  /** Latency of each answered request, ms, by kind. */
  latency: Record<RequestKind, number[]>;
  wallMs: number;
  /** Readings after a full GC in the bot's process: after the warm-up, at checkpoints, after the run (queue idle). */
  memory: MemoryReading[];
  flows: number;
  succeeded: number;
  novaPuts: number;
  /** Per measured flow: ms from the modal submission's ack to the PUT reaching Nova. */
  novaDelay: number[];
  errorLogs: string[];
}

const SIGNING = 'load-signing-secret';
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');

export const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

export async function runLoad(opts: LoadOptions = {}): Promise<LoadResult> {
  const total = opts.requests ?? 1_000;
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
  });
  const peek = createSqliteStore({ path: db });
  const submittedAt = new Map<string, number>();
  const sender = createSlackSender({ url: () => bot.url, signingSecret: SIGNING, now: Date.now });

  const latency: Record<RequestKind, number[]> = { 'slash-open': [], click: [], submit: [], status: [], help: [] };
  const errors: LoadResult['errors'] = [];
  const memory: MemoryReading[] = [];
  let answered = 0;
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
    const submitted = await timed(
      'submit',
      () => sender.interact(viewSubmission({ user: APPROVER, view: { callback_id: FENCE_MODAL_CALLBACK_ID, private_metadata: request.id }, values: fenceValues({ method: 'bmc', verified: true }) })),
      acked,
    );
    if (submitted && counting) submittedAt.set(host, performance.now());
  }

  /**
   * The mix, as a cycle of scenarios (`weight` entries each): a lane takes the next one. Alert
   * webhooks (issue 4) join as another entry (kind 'webhook', one signed-token POST per unit).
   */
  const scenarios: { weight: number; requests: number; run: (i: number, channel: { id: string; name: string }, responseUrl: string) => Promise<void> }[] = [
    { weight: 3, requests: 3, run: flow },
    {
      weight: 3,
      requests: 1,
      run: async (i, channel, responseUrl) =>
        void (await timed('status', () => sender.command(slashCommand({ text: `status load${1 + (i % Math.max(1, hostSeq))}`, user: REQUESTER, responseUrl, channel })), ephemeral)),
    },
    {
      weight: 2,
      requests: 1,
      run: async (i, channel, responseUrl) =>
        void (await timed('help', () => sender.command(slashCommand({ text: i % 2 ? 'help' : '--frobnicate ../x', user: REQUESTER, responseUrl, channel })), ephemeral)),
    },
  ];
  const cycle = scenarios.flatMap((sc) => Array.from({ length: sc.weight }, () => sc));

  async function drive(budget: number): Promise<void> {
    let issued = 0;
    let seq = 0;
    const lane = async (n: number) => {
      let round = 0;
      while (issued < budget) {
        const i = seq++;
        const sc = cycle[i % cycle.length]!;
        issued += sc.requests; // reserved before the await, so the lanes stop at the budget (a flow may overshoot by two)
        await sc.run(i, channels[(n + concurrency * round++) % channels.length]!, slack.responseUrl());
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, n) => lane(n)));
  }

  let wallMs = 0;
  try {
    progress(`warm-up: ${warmup} requests`);
    await drive(warmup);
    await bot.idle();
    counting = true;
    const m0 = await bot.memory();
    memory.push({ after: 0, rss: m0.rss, heapUsed: m0.heapUsed, external: m0.external });
    progress(`  0 requests: rss ${(m0.rss / 2 ** 20).toFixed(1)} MB, heap ${(m0.heapUsed / 2 ** 20).toFixed(1)} MB`);
    const putsBefore = openstack.count('PUT', /os-services/);
    const flowsBefore = flows;
    const t0 = performance.now();
    await drive(total);
    wallMs = performance.now() - t0;
    await bot.idle();
    await checkpoint;
    const m1 = await bot.memory();
    memory.push({ after: answered, rss: m1.rss, heapUsed: m1.heapUsed, external: m1.external });
    progress(`  ${answered} requests, queue idle: rss ${(m1.rss / 2 ** 20).toFixed(1)} MB, heap ${(m1.heapUsed / 2 ** 20).toFixed(1)} MB`);

    const succeeded = (await peek.listByState('succeeded')).length;
    const stuck = ['pending', 'approved', 'executing', 'failed'] as const;
    const open = (await Promise.all(stuck.map((st) => peek.listByState(st)))).flat().length;
    const putAt = new Map(openstack.calls().filter((c) => c.method === 'PUT' && c.host).map((c) => [c.host!, c.at]));
    const novaDelay = [...submittedAt].map(([host, at]) => (putAt.get(host) ?? Number.NaN) - at);
    if (open > 0 || succeeded !== flows) errors.push({ kind: 'submit', status: 0, body: `${flows} flows, ${succeeded} succeeded, ${open} not finished` });
    return {
      requests: answered,
      concurrency,
      errors,
      latency,
      wallMs,
      memory,
      flows: flows - flowsBefore,
      succeeded,
      novaPuts: openstack.count('PUT', /os-services/) - putsBefore,
      novaDelay,
      errorLogs: bot.entries().filter((e) => e.level === 'error').map((e) => JSON.stringify(e)),
    };
  } finally {
    peek.close();
    await bot.close();
    await slack.close();
    await openstack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
