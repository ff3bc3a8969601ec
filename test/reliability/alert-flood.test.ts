// Alert floods from outside the bot's process (issue #11, findings 4 and 7): the local bot (`npm
// start`'s startLocalBot: SQLite, in-process worker, default limits) as a child process, its Nova
// (the lab's) behind a counting proxy, its Slack the fake Web API.
//
//   4. Ten webhooks of 1,000 invented hosts each (the generic source's token, under the real alert's
//      own name), then one real Alertmanager alert for alert1: alert1's card — its own, with its
//      Confirm fenced… button, under its alert name — reaches Slack ahead of the flood's queued cards
//      (within 5 s on an idle machine; the latency is printed, the order asserted); the flood is held to its cap and its source's rate limit, the rest counted (answers, log, card).
//   7. 200 resolved webhooks in a burst: a handful of Nova service lists, not 200.
//
// Lab hosts: alert1 and alert2 only (the flood's hosts are invented: Nova does not know them).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_MAX_HOSTS, DEFAULT_MAX_NEW_PER_MINUTE } from '../../src/app/alerts.js';
import { moreHostsText } from '../../src/slack/group-card.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi, type RecordedSlackCall } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { EVENT_DEADLINE_MS, until } from '../integration/wait.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { createAppHarness, textOf } from './harness.js';

const CHANNEL = 'C0ONCALL01';
const AM_TOKEN = `am-${randomBytes(12).toString('hex')}`;
const GENERIC_TOKEN = `gn-${randomBytes(12).toString('hex')}`;
const ALERT_NAME = 'NodeDown';
/**
 * The requirement (issue #11, 4): the real alert's card within 5 s of its webhook, whatever the flood
 * queued. What makes it so is the order, which the test asserts: the card goes ahead of the channel's
 * queue (the flood's cards keep coming after it; with few of them, at most the pacer's burst —
 * src/runtime/compose.ts: burst 5 — got out before it). Its latency is printed, never asserted: on a
 * busy machine the bot's own CPU work stretches it, whatever the order.
 */
const PACER_BURST = 5;

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
let proxy: FaultyOpenStack;
const dirs: string[] = [];
const bots: ChildBot[] = [];

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  slack = await startFakeSlackApi();
  proxy = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  for (const h of lab.hosts.alert.slice(0, 2)) await probe.reset(h);
});
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  slack.reset();
  proxy.nova.reset();
  for (const h of lab.hosts.alert.slice(0, 2)) await probe.reset(h);
});
afterAll(async () => {
  await proxy?.close();
  await slack?.close();
});

/** The local bot with the Alertmanager and generic sources, its own SQLite file, default limits. */
async function startBot(): Promise<{ bot: ChildBot; db: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fd-flood-'));
  dirs.push(dir);
  const secretFile = join(dir, 'secret.json');
  const admin = lab.clouds.admin;
  writeFileSync(
    secretFile,
    JSON.stringify({
      slack: { signingSecret: `flood-${randomBytes(8).toString('hex')}`, botToken: 'xoxb-flood' },
      alerts: { alertmanager: { token: AM_TOKEN }, generic: { token: GENERIC_TOKEN } },
      clouds: { lab: { ...admin, auth: { ...admin.auth, auth_url: proxy.authUrl } } },
    }),
    { mode: 0o600 },
  );
  const db = join(dir, 'force-down.sqlite');
  const bot = await startChildBot({
    PORT: '0',
    FORCE_DOWN_DB: db,
    FORCE_DOWN_SECRET_FILE: secretFile,
    SLACK_API_URL: slack.apiUrl,
    FORCE_DOWN_APPROVERS: 'U0APPROVE1',
    FORCE_DOWN_CHANNEL: CHANNEL,
  });
  bots.push(bot);
  return { bot, db };
}

async function post(bot: ChildBot, path: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, number> }> {
  const res = await fetch(`${bot.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, number> };
}

/** Alertmanager's webhook (version 4) for `hosts`, one alert each. */
function alertmanagerBody(status: 'firing' | 'resolved', hosts: readonly string[], alertname = ALERT_NAME) {
  const now = new Date().toISOString();
  return {
    receiver: 'force-down',
    status,
    alerts: hosts.map((host) => ({
      status,
      labels: { alertname, instance: `${host}:9100`, job: 'node', severity: 'critical' },
      annotations: { summary: `${host} has stopped answering` },
      startsAt: now,
      endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : now,
      generatorURL: 'http://prometheus.example.org:9090/graph?g0.expr=up%3D%3D0',
      fingerprint: createFingerprint(host, alertname),
    })),
    groupLabels: { alertname },
    commonLabels: { alertname, job: 'node', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example.org:9093',
    version: '4',
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
  };
}

const createFingerprint = (host: string, alertname: string) => Buffer.from(`${alertname}/${host}`).toString('hex').slice(0, 16);

/** The buttons of a message's blocks (row accessories and actions blocks). */
function buttonsOf(blocks: unknown): { action_id: string; value?: string }[] {
  const out: { action_id: string; value?: string }[] = [];
  for (const b of (blocks ?? []) as { accessory?: { type: string; action_id: string; value?: string }; elements?: { type: string; action_id: string; value?: string }[] }[]) {
    if (b.accessory?.type === 'button') out.push(b.accessory);
    for (const e of b.elements ?? []) if (e.type === 'button') out.push(e);
  }
  return out;
}

describe('an alert flood does not hide a real alert (issue #11, finding 4)', () => {
  it.each([
    { shape: 'under the real alert\'s own name', nameOf: () => ALERT_NAME, settle: true },
    { shape: 'under a new alert name per host (a new card each)', nameOf: (w: number, i: number) => `Flood${w}x${i}`, settle: false },
  ])(`10 webhooks × 1,000 invented hosts $shape, then a real Alertmanager alert: its own card, with Confirm fenced…, ahead of the flood's queued cards; the flood capped, rate-limited and counted`, async ({ nameOf, settle }) => {
    const { bot, db } = await startBot();
    const real = lab.hosts.alert[0]!;

    // The flood: one stolen token (generic), 10,000 invented hosts, all at once.
    const floodStarted = performance.now();
    const flood = await Promise.all(
      Array.from({ length: 10 }, (_, w) =>
        post(
          bot,
          '/alerts/generic',
          GENERIC_TOKEN,
          Array.from({ length: 1000 }, (_, i) => ({ host: `flood${w}-${String(i).padStart(4, '0')}.attacker.example`, status: 'firing', alertName: nameOf(w, i), summary: 'rack down' })),
        ),
      ),
    );
    const floodMs = performance.now() - floodStarted;
    for (const r of flood) expect(r.status).toBe(200);
    const opened = flood.reduce((n, r) => n + r.json.opened!, 0);
    const dropped = flood.reduce((n, r) => n + r.json.dropped!, 0);
    expect(opened + dropped).toBe(10_000);
    expect(opened).toBeLessThanOrEqual(DEFAULT_MAX_NEW_PER_MINUTE);
    // Each webhook's drops: one log line, with the reason.
    const logged = await until('the flood\'s log lines', () => {
      const lines = bot.entries().filter((e) => e.message === 'alerts dropped: too many new hosts' && e.source === 'generic');
      return lines.reduce((n, e) => n + (e.dropped as number), 0) === dropped ? lines : undefined;
    });
    expect(logged.length).toBeLessThanOrEqual(10);

    // The real alert, from the real source, right after the flood was answered.
    const sentAt = Date.now();
    const answer = await post(bot, '/alerts/alertmanager', AM_TOKEN, alertmanagerBody('firing', [real]));
    expect(answer).toMatchObject({ status: 200, json: { opened: 1, dropped: 0 } });
    const isRealCard = (c: RecordedSlackCall) =>
      c.body.thread_ts === undefined && c.status === 200 && buttonsOf(c.body.blocks).some((b) => b.action_id === ACTION_IDS.confirmFenced) && textOf(c.body.blocks).includes(`*${real}*`);
    const card = await slack.waitFor('chat.postMessage', isRealCard, EVENT_DEADLINE_MS);
    const latencyMs = card.at - sentAt;
    const queued = slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === undefined && textOf(c.body.blocks).includes('attacker.example')).length;
    console.log(
      `alert flood ${nameOf(0, 0) === ALERT_NAME ? '(one name)' : '(a name per host)'}: 10 × 1,000 hosts answered in ${(floodMs / 1000).toFixed(2)} s ` +
        `(${opened} opened, ${dropped} dropped); the real alert's card reached Slack ${latencyMs} ms after its webhook (${queued} flood cards posted by then)`,
    );
    if (settle) {
      // A handful of flood cards in all: at most a burst of them got out before the real one.
      expect(queued).toBeLessThanOrEqual(PACER_BURST);
    } else {
      // A card per flood host (200 queued at Slack's pace): the real card overtook them — flood cards
      // keep reaching Slack after it, and far fewer than the flood's went out before it.
      await slack.waitFor('chat.postMessage', (c) => c.at > card.at && c.body.thread_ts === undefined && textOf(c.body.blocks).includes('attacker.example'), EVENT_DEADLINE_MS);
      expect(queued).toBeLessThan(opened / 2);
    }

    // Its own card: its request's Confirm button, its alert name, none of the flood's hosts.
    const peek = createSqliteStore({ path: db });
    try {
      const request = await until(`${real}'s request`, () => peek.findOpen('lab', real, 'force-down'));
      expect(buttonsOf(card.body.blocks)).toContainEqual(expect.objectContaining({ action_id: ACTION_IDS.confirmFenced, value: request.id }));
      expect(textOf(card.body.blocks)).toContain(ALERT_NAME);
      expect(textOf(card.body.blocks)).not.toContain('attacker.example');
      expect((await peek.getGroup(request.group!))?.members).toEqual([request.id]);

      const floodRequests = (await peek.listByState('pending')).filter((r) => r.host.endsWith('.attacker.example'));
      expect(floodRequests).toHaveLength(opened);
      if (settle) {
        // Once everything settled: at most the cap's rows per card, every host left out counted on its card.
        await bot.idle();
        const floodGroups = await Promise.all([...new Set(floodRequests.map((r) => r.group!))].map(async (id) => (await peek.getGroup(id))!));
        let counted = 0;
        for (const g of floodGroups) {
          expect(g.members.length).toBeLessThanOrEqual(DEFAULT_GROUP_MAX_HOSTS);
          const pages = g.messages.map((ts) => slack.message(CHANNEL, ts)!);
          // One Confirm fenced… per row (each row has its Cancel too, the card its Confirm all fenced… and Cancel all…).
          expect(pages.flatMap((p) => buttonsOf(p.blocks)).filter((b) => b.action_id === ACTION_IDS.confirmFenced)).toHaveLength(g.members.length);
          if (g.overflow) expect(textOf(pages[0]!.blocks)).toContain(moreHostsText(g.overflow));
          counted += g.overflow ?? 0;
        }
        // Hosts left out of a card that was never made (the source's quota already spent) are in the answers and the log only.
        expect(counted).toBeGreaterThan(0);
        expect(counted).toBeLessThanOrEqual(dropped);
      }
    } finally {
      peek.close();
    }
    expect(proxy.nova.count('PUT', /os-services/)).toBe(0);
  });
});

describe('resolved webhooks share Nova lookups (issue #11, finding 7)', () => {
  it('200 resolved webhooks in a burst: a handful of Nova service lists at Nova, not 200; one recovery card for the host Nova has forced down', async () => {
    const { bot } = await startBot();
    const forced = lab.hosts.alert[1]!;
    await probe.setForcedDown(forced, true);
    proxy.nova.reset();
    const hosts = [...Array.from({ length: 199 }, (_, i) => `quiet${i}.example`), forced];
    const answers = await Promise.all(hosts.map((h) => post(bot, '/alerts/alertmanager', AM_TOKEN, alertmanagerBody('resolved', [h]))));
    for (const a of answers) expect(a).toMatchObject({ status: 200, json: { recoveryChecks: 1 } });
    await bot.idle();
    const lists = proxy.nova.count('GET', /\/os-services$/);
    console.log(`resolved burst: 200 webhooks → ${lists} Nova service lists`);
    // The recovery checks' shared list (one per few seconds), which the recovery card's first post shares too.
    expect(lists).toBeGreaterThanOrEqual(1);
    expect(lists).toBeLessThanOrEqual(5);
    await until('the recovery card', () =>
      slack.calls('chat.postMessage').find((c) => c.body.thread_ts === undefined && buttonsOf(c.body.blocks).some((b) => b.action_id === ACTION_IDS.confirmRecovered)),
    );
    const recoveryCards = slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === undefined && buttonsOf(c.body.blocks).some((b) => b.action_id === ACTION_IDS.confirmRecovered));
    expect(recoveryCards).toHaveLength(1);
    expect(textOf(recoveryCards[0]!.body.blocks)).toContain(forced);
  });
});

describe('the shared service list never hides a change this bot made (issue #11, finding 7)', () => {
  it('an alert, its confirmation and the force-down, then at once the resolved alert: recovery is offered (the list read before the force-down is forgotten)', async () => {
    const host = lab.hosts.alert[1]!;
    const h = createAppHarness({ slack, cloud: lab.clouds.admin, secretExtra: { alerts: { alertmanager: { token: AM_TOKEN } } } as never });
    // The use cases' clock stands still: whatever the lab's speed, the resolved alert comes within the
    // shared list's few seconds of the list read before the force-down.
    const frozen = Date.now();
    h.deps.now = () => frozen;
    try {
      const webhook = async (status: 'firing' | 'resolved') =>
        h.route({ method: 'POST', path: '/alerts/alertmanager', headers: { authorization: `Bearer ${AM_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(alertmanagerBody(status, [host])) });
      expect(await webhook('firing')).toMatchObject({ status: 200 });
      await h.drain(); // the card's first post reads (and shares) Nova's list: the host not forced down
      const request = (await h.store.findOpen('lab', host, 'force-down'))!;
      expect(await h.confirmAndExecute(request.id)).toMatchObject({ state: 'succeeded' });
      expect((await probe.service(host)).forced_down).toBe(true);
      expect(await webhook('resolved')).toMatchObject({ status: 200 });
      await h.drain();
      expect(await h.store.findOpen('lab', host, 'unset')).toMatchObject({ state: 'pending', action: 'unset' });
    } finally {
      await h.close();
    }
  });
});
