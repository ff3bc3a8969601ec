/**
 * Shared pieces of the reliability suite: the composed runtime (the same
 * composition root as Lambda and `npm start`) over a memory store, with jobs
 * run in-process on demand, a fake Slack Web API and captured log lines.
 */
import type { AppDeps, Job } from '../../src/app/ports.js';
import { confirmRequest, openRequest } from '../../src/app/requests.js';
import { runJob } from '../../src/app/worker.js';
import { loadBotSettings } from '../../src/config/env.js';
import { secretDocumentSchema, type CloudConfig, type SecretDocument } from '../../src/config/schema.js';
import type { Action, ForceDownRequest } from '../../src/domain/request.js';
import { composeRuntime, type Runtime } from '../../src/runtime/compose.js';
import { createChannelPacer } from '../../src/slack/pacer.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { createRouter } from '../../src/runtime/router.js';
import { createMemoryStore, type MemoryStoreState } from '../fakes/memory-store.js';
import type { FakeSlackApi } from '../fakes/slack-api.js';
import { textOf } from '../integration/slack-helpers.js';

export const CHANNEL = 'C0ONCALL01';
export const OTHER_CHANNEL = 'C0ELSEWHERE';
export const REQUESTER = 'U0REQUEST1';
export const APPROVER = 'U0APPROVE1';
export const APPROVER2 = 'U0APPROVE2';
export const BOT_TOKEN = 'xoxb-reliability-bot-token-0f9e8d7c';
export const SIGNING_SECRET = 'reliability-signing-secret-5a4b3c2d1e';

/** What a person reads of a Block Kit structure (shared with the integration suite). */
export { textOf };

/** A JSON logger writing into memory; `entries()` parses the lines. */
export function captureLog() {
  const lines: string[] = [];
  const log = createJsonLogger({ write: (line) => lines.push(line) });
  return {
    log,
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { level: string; message: string }),
  };
}

export interface AppHarnessOptions {
  slack: FakeSlackApi;
  cloud: CloudConfig;
  twoPerson?: boolean;
  approvers?: string[];
  /** Extra secret-document fields (alerts…). */
  secretExtra?: Partial<SecretDocument>;
  /** Extra bot settings, as environment variables (FORCE_DOWN_GROUP_WINDOW_SECONDS…). */
  env?: Record<string, string>;
}

/**
 * The app layer as the worker runs it: composeRuntime (real Nova client,
 * real Slack notifier over the fake Slack), a memory store whose maps the test
 * can read, and jobs queued until `drain()` runs them.
 */
export function createAppHarness(opts: AppHarnessOptions) {
  const capture = captureLog();
  const state: MemoryStoreState & { groups: NonNullable<MemoryStoreState['groups']> } = { requests: new Map(), locks: new Map(), groups: new Map() };
  const store = createMemoryStore(state);
  // Successful writes, counted at the port: "nothing recorded" is "no write happened".
  const counter = { writes: 0 };
  /** Requests created, in order (cheaper to read from the end than the store's map). */
  const created: ForceDownRequest[] = [];
  const { create, transition, setMessage, recordSeen, markAlertResolved, createGroup, addToGroup, setGroupMessages } = store;
  store.create = async (r) => {
    const res = await create(r);
    if (res.created) {
      counter.writes++;
      created.push(r);
    }
    return res;
  };
  store.transition = async (...args) => {
    const res = await transition(...args);
    if (res.ok) counter.writes++;
    return res;
  };
  store.setMessage = async (...args) => {
    counter.writes++;
    return setMessage(...args);
  };
  // The alert intake's writes (src/app/alerts.ts): "seen N times", "alert resolved", grouped cards.
  store.recordSeen = async (...args) => {
    counter.writes++;
    return recordSeen(...args);
  };
  store.markAlertResolved = async (...args) => {
    counter.writes++;
    return markAlertResolved(...args);
  };
  store.createGroup = async (...args) => {
    counter.writes++;
    return createGroup(...args);
  };
  store.addToGroup = async (...args) => {
    counter.writes++;
    return addToGroup(...args);
  };
  store.setGroupMessages = async (...args) => {
    counter.writes++;
    return setGroupMessages(...args);
  };
  const jobs: Job[] = [];
  const settings = loadBotSettings({
    FORCE_DOWN_SECRET_FILE: 'unused',
    FORCE_DOWN_APPROVERS: (opts.approvers ?? [APPROVER, APPROVER2]).join(','),
    FORCE_DOWN_CHANNEL: CHANNEL,
    FORCE_DOWN_TWO_PERSON: opts.twoPerson ? 'true' : 'false',
    SLACK_API_URL: opts.slack.apiUrl,
    // The lab's fault1..4 are reset between tests (PUT forced_down=false), which moves the
    // updated_at the heartbeat watch reads: with the default wait (20 s) every force-down would
    // first wait that reset out. The watch has tests of its own (trust-e2e, cli); pass
    // FORCE_DOWN_HEARTBEAT_WAIT_SECONDS in `env` to use it here.
    FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
    ...opts.env,
  });
  const secret = secretDocumentSchema.parse({
    slack: { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN },
    clouds: { lab: opts.cloud },
    ...opts.secretExtra,
  });
  // Slack's pace (about a message a second per channel) would make the fuzzing runs, thousands of cards in
  // one fake channel, take hours: the in-process bench paces at 1 ms, still one call at a time per channel.
  // Pacing itself is tested against a rate-limiting fake Slack (slack-pacing.test.ts, pacer.test.ts).
  const slackPacer = createChannelPacer({ minIntervalMs: 1, burst: 5 });
  const runtime: Runtime = composeRuntime({ settings, secret, store, enqueue: async (job) => void jobs.push(job), log: capture.log, slackPacer });
  const deps: AppDeps = runtime.deps;
  // The api's routes as Lambda and `npm start` build them: Slack, and the alert webhooks (issue 4).
  const route = createRouter({ slack: async () => runtime.slack, alerts: async () => runtime.alerts, now: Date.now, log: capture.log });

  /** Runs queued jobs (and the jobs they queue) as the worker would, one after another. */
  async function drain(): Promise<void> {
    while (jobs.length > 0) await runJob(deps, jobs.shift()!);
  }

  /** `/force-down <host>` by the requester, its card posted. */
  async function open(host: string, action: Action = 'force-down'): Promise<ForceDownRequest> {
    const res = await openRequest(deps, {
      host,
      action,
      origin: { kind: 'slash', userId: REQUESTER, channelId: CHANNEL },
      requestedBy: REQUESTER,
      channel: CHANNEL,
      reason: 'reliability suite',
    });
    if (res.kind !== 'opened') throw new Error(`could not open a request for ${host}: ${res.kind}`);
    await drain();
    return (await store.get(res.request.id))!;
  }

  /** The approver confirms (fenced by BMC) and the worker runs the Nova call. Returns the request as stored after. */
  async function confirmAndExecute(id: string, who = APPROVER): Promise<ForceDownRequest> {
    const res = await confirmRequest(deps, { id, userId: who, userGroups: new Set(), method: 'bmc' });
    if (res.kind !== 'done') throw new Error(`confirmation refused: ${res.refusal}`);
    await drain();
    return (await store.get(id))!;
  }

  const card = (r: ForceDownRequest) => (r.messageTs ? opts.slack.message(CHANNEL, r.messageTs) : undefined);

  return {
    deps,
    store,
    state,
    /** How many writes (creations, transitions, card ts) the store has taken. */
    writes: () => counter.writes,
    /** Every request created, oldest first. */
    created: created as readonly ForceDownRequest[],
    jobs,
    runtime,
    route,
    log: capture,
    drain,
    open,
    confirmAndExecute,
    /** What the card says now (all its texts). */
    cardText: (r: ForceDownRequest) => textOf(card(r)?.blocks),
    /** The card's button labels. */
    buttons: (r: ForceDownRequest) =>
      ((card(r)?.blocks as { type: string; elements?: { type: string; text?: { text: string } }[] }[] | undefined) ?? [])
        .filter((b) => b.type === 'actions')
        .flatMap((b) => (b.elements ?? []).map((e) => e.text?.text)),
    /** The card's thread (audit lines), oldest first. */
    thread: (r: ForceDownRequest) =>
      opts.slack
        .calls('chat.postMessage')
        .filter((c) => c.error === undefined && c.body.thread_ts === r.messageTs)
        .map((c) => String(c.body.text)),
    close: () => runtime.close(),
  };
}

export type AppHarness = ReturnType<typeof createAppHarness>;

/** The lab's admin cloud with Keystone (and so Nova) reached through `authUrl`. */
export const through = (cloud: CloudConfig, authUrl: string): CloudConfig => ({ ...cloud, auth: { ...cloud.auth, auth_url: authUrl } });
