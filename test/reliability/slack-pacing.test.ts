// Slack pacing under storms (issue #11, finding 5), against a fake Slack that enforces Slack's
// per-channel message limit with HTTP 429 + Retry-After (test/fakes/slack-api.ts `rateLimit`).
//
// 1. A caller that awaits each call and does a little async work before the next (the queue runs
//    empty between calls) is paced: 20 posts through the bot's pacer settings (1 s, burst 5) against
//    a channel limited as Slack does (1 a second, short bursts) → all 20 land, in order, with no 429.
//    The pacer that forgot a channel whenever its queue emptied sent them within half a second.
// 2. The expiry storm from outside the bot's process: a 600-host grouped card (recorded and posted as
//    the alert intake and the worker do, in the bot's SQLite file) whose requests are past their TTL;
//    the local bot (`npm start`'s startLocalBot, its own process, real pacer and WebClient, fake
//    Keystone + Nova) starts, and its minute sweep expires them, in a channel limited strictly to
//    1 message a second. 0 lost updates: every row of every page ends "expired"; one Nova service
//    list, one chat.update per page, one thread line. The figures (Slack calls per second in the
//    channel, 429s, Nova lists, updates, thread posts) are printed for the docs, not asserted as times.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRequest } from '../../src/app/requests.js';
import { runJob } from '../../src/app/worker.js';
import type { ForceDownRequest } from '../../src/domain/request.js';
import { HOSTS_PER_MESSAGE } from '../../src/slack/group-card.js';
import { fakeNova, setup as bench, svc } from '../unit/app/harness.js';
import { createChannelPacer } from '../../src/slack/pacer.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFakeOpenStack, type FakeOpenStack } from '../fakes/fake-openstack.js';
import { startFakeSlackApi, type FakeSlackApi, type RecordedSlackCall } from '../fakes/slack-api.js';
import { until } from '../integration/wait.js';
import { startChildBot } from './child-bot.js';

const CHANNEL = 'C0STORM0001';
const BOT_TOKEN = 'xoxb-pacing-storm-token';
const HOSTS = 600;
const TTL_MS = 30 * 60_000;

/** Slack calls per second in a channel: the most accepted in any 1 s window, and the average over the run. */
function rate(calls: readonly RecordedSlackCall[]) {
  const at = calls.map((c) => c.at).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  const spanS = at.length > 1 ? (at.at(-1)! - at[0]!) / 1000 : 0;
  return { calls: at.length, spanSeconds: Math.round(spanS * 10) / 10, peakPerSecond: peak, averagePerSecond: spanS > 0 ? Math.round(((at.length - 1) / spanS) * 100) / 100 : at.length };
}

const accepted = (c: RecordedSlackCall) => c.status === 200 && c.error === undefined;

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(async () => slack.close());

describe('Slack pacing against a channel limited as Slack does (429 + Retry-After)', () => {
  it('a caller awaiting each call with async work between them is paced: 20 posts, in order, none refused', async () => {
    slack.reset();
    // Slack's chat.postMessage: about one a second per channel, short bursts allowed.
    slack.setRateLimit({ intervalMs: 1000, burst: 5 });
    // The bot's client and pacer settings (src/runtime/compose.ts), but 429s handed to the pacer.
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
    const pacer = createChannelPacer({ minIntervalMs: 1000, burst: 5 });
    const texts = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    for (const text of texts) {
      await pacer.schedule(CHANNEL, () => client.chat.postMessage({ channel: CHANNEL, text }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const calls = slack.calls('chat.postMessage');
    expect(calls.filter((c) => c.status === 429)).toHaveLength(0);
    expect(calls.filter(accepted).map((c) => c.body.text)).toEqual(texts);
    console.info('[slack-pacing] 20 awaited posts, 5 ms apart, bot pacer (1 s, burst 5):', JSON.stringify(rate(calls.filter(accepted))));
  }, 120_000);
});

describe('expiry storm: a 600-host grouped card expires in a channel limited to 1 message a second', () => {
  let openstack: FakeOpenStack;
  let dir: string;
  beforeAll(async () => {
    openstack = await startFakeOpenStack();
    dir = mkdtempSync(join(tmpdir(), 'fd-pacing-'));
  });
  afterAll(async () => {
    await openstack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * As the alert intake records a 600-host storm (600 requests, one group) and the worker posts its
   * pages, 31 minutes ago (so every request is past its 30-minute TTL), in the bot's SQLite file.
   */
  async function seedStorm(db: string): Promise<{ groupId: string; hosts: string[]; pages: string[] }> {
    const store = createSqliteStore({ path: db });
    const past = Date.now() - TTL_MS - 60_000;
    const hosts = Array.from({ length: HOSTS }, (_, i) => `storm${String(i).padStart(3, '0')}.rack${Math.floor(i / 40)}.example.org`);
    // The use cases' bench (test/unit/app/harness.ts) on the bot's SQLite store, its clock 31 minutes back.
    const nova = fakeNova(hosts.map((h) => svc(h)), { readOnly: 'seeding never calls Nova' });
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, logLevel: LogLevel.ERROR });
    const quiet = { info() {}, warn() {}, error() {} };
    const { deps } = bench(
      {
        store,
        policy: { approverUsers: new Set(['U0APPROVE1']), approverGroups: new Set(), twoPerson: false },
        allowedChannels: new Set(),
        ttlMs: TTL_MS,
        safety: { confirmationMaxAgeMs: 600_000, heartbeatWaitMs: 0, bmcPowerOffTimeoutMs: 120_000 },
        now: () => past,
        sleep: async () => {},
        newId: () => randomUUID(),
        log: quiet,
      },
      { nova, cloud: 'lab', slack: { client } },
    );
    const groupId = randomUUID();
    const members: ForceDownRequest[] = [];
    for (const host of hosts) {
      const res = await openRequest(
        deps,
        {
          cloud: 'lab',
          host,
          action: 'force-down',
          origin: { kind: 'alert', source: 'alertmanager', fingerprint: `fp-${host}`, alertName: 'HostDown', summary: `${host} has stopped answering` },
          requestedBy: 'alertmanager',
          channel: CHANNEL,
          group: groupId,
        },
        { card: false },
      );
      if (res.kind !== 'opened') throw new Error(`seeding ${host}: ${res.kind}`);
      members.push(res.request);
    }
    await store.createGroup({ id: groupId, channel: CHANNEL, title: 'HostDown', createdAt: members[0]!.createdAt, members: members.map((m) => m.id), messages: [] });
    await runJob(deps, { kind: 'show-group', id: groupId, joined: members.map((m) => m.id) });
    const pages = (await store.getGroup(groupId))!.messages;
    store.close();
    return { groupId, hosts, pages };
  }

  it('0 lost updates: every row ends expired; one Nova list, one update per page, one thread line; calls per second reported', async () => {
    slack.reset();
    slack.setRateLimit(undefined);
    const db = join(dir, 'force-down.sqlite');
    const { hosts, pages } = await seedStorm(db);
    expect(pages).toHaveLength(Math.ceil(HOSTS / HOSTS_PER_MESSAGE));
    const expiredRows = () => pages.map((ts) => (JSON.stringify(slack.message(CHANNEL, ts)?.blocks).match(/expired at/g) ?? []).length).reduce((a, b) => a + b, 0);
    expect(expiredRows()).toBe(0);

    // From now on Slack refuses a second message within a second in the channel (no burst).
    slack.setRateLimit({ intervalMs: 1000, burst: 1 });
    const mark = slack.calls().length;
    const listsBefore = openstack.count('GET', '/v2.1/os-services');
    const secretFile = join(dir, 'secret.json');
    writeFileSync(
      secretFile,
      JSON.stringify({
        slack: { signingSecret: 'pacing-signing-secret', botToken: BOT_TOKEN },
        clouds: { lab: { auth: { auth_url: openstack.authUrl, username: 'admin', password: 'pacing-pass', project_name: 'admin' }, region_name: 'RegionOne' } },
      }),
      { mode: 0o600 },
    );
    const bot = await startChildBot({
      PORT: '0',
      FORCE_DOWN_DB: db,
      FORCE_DOWN_SECRET_FILE: secretFile,
      SLACK_API_URL: slack.apiUrl,
      FORCE_DOWN_APPROVERS: 'U0APPROVE1',
      FORCE_DOWN_CHANNEL: CHANNEL,
    });
    try {
      // The bot sweeps once a minute: the first sweep expires all 600, then the card catches up.
      await until('every row of the grouped card to show expired', () => expiredRows() === HOSTS, { timeoutMs: 240_000, everyMs: 500 });
      await until('the thread line for the expired hosts', () =>
        slack.calls('chat.postMessage').slice(0).some((c) => accepted(c) && c.body.thread_ts === pages[0] && /expired unconfirmed/.test(String(c.body.text))),
      );
      await bot.idle();

      const calls = slack.calls().slice(mark).filter((c) => c.body.channel === CHANNEL);
      const updates = calls.filter((c) => c.method === 'chat.update' && accepted(c));
      const threadPosts = calls.filter((c) => c.method === 'chat.postMessage' && accepted(c) && c.body.thread_ts !== undefined);
      const refused = calls.filter((c) => c.status === 429);
      const lists = openstack.count('GET', '/v2.1/os-services') - listsBefore;

      // 0 lost updates: every page updated (once), every row on it expired, every host still named.
      expect(updates.map((c) => c.body.ts)).toEqual(pages);
      const text = pages.map((ts) => JSON.stringify(slack.message(CHANNEL, ts)?.blocks)).join('\n');
      for (const h of hosts) expect(text).toContain(h);
      expect(expiredRows()).toBe(HOSTS);
      // The group's expiry rendered once.
      expect(lists).toBe(1);
      expect(threadPosts).toHaveLength(1);
      expect(String(threadPosts[0]!.body.text)).toContain(`${HOSTS} hosts expired unconfirmed`);
      // The store agrees, and the bot neither failed nor gave up a Slack call.
      const check = createSqliteStore({ path: db });
      try {
        expect(await check.listByState('expired')).toHaveLength(HOSTS);
        expect(await check.listByState('pending')).toHaveLength(0);
      } finally {
        check.close();
      }
      const troubles = bot.entries().filter((e) => e.level === 'error' || /giving up|slack call failed/.test(e.message));
      expect(troubles).toEqual([]);

      const figures = {
        hosts: HOSTS,
        pages: pages.length,
        novaServiceLists: lists,
        chatUpdates: updates.length,
        threadPosts: threadPosts.length,
        refused429: refused.length,
        channel: rate(calls.filter(accepted)),
      };
      console.info('[slack-pacing] expiry of a 600-host grouped card, channel limited to 1 msg/s (no burst):', JSON.stringify(figures));
    } finally {
      await bot.close();
    }
  }, 300_000);
});
