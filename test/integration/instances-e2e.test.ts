// What is at stake on the card, end to end (issue 14): signed Slack requests to the REAL local bot
// (`startLocalBot`, as `npm start` runs it: HTTP server, SQLite, in-process worker) and the REAL
// Keystone + Nova lab's evacuation host evac1 (5 seeded instances: 3 ACTIVE, 1 SHUTOFF, 1 ERROR, 2
// marked HA_Enabled=True). A fake Slack Web API records what people see; every call that reached
// Nova is seen at a proxy in front of it (which can also make Nova's servers list fail).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBot } from '../../src/local/bot.js';
import { modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import type { FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { startProxiedBot } from './local-bot-env.js';
import { CHANNEL, blockActions, buttonsOf, fenceValues, slashCommand, textOf, user, viewSubmission, type SlackUser } from './slack-helpers.js';
import { until } from './wait.js';

const SIGNING_SECRET = `instances-e2e-signing-${randomBytes(16).toString('hex')}`;
const BOT_TOKEN = `xoxb-instances-e2e-${randomBytes(8).toString('hex')}`;
const CLOUD = 'lab';
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
let HOST: string;

type LocalBot = Awaited<ReturnType<typeof startLocalBot>>;
const running: { bot: LocalBot; dir: string }[] = [];
const proxies: FaultyOpenStack[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  expect(lab.hosts.evac, 'the lab seeds evac1..evac4 with instances (a lab older than issue 14 has none: restart it)').toContain('evac1');
  HOST = 'evac1';
  const seeded = lab.instances[HOST] ?? [];
  // The lab's own record of evac1, which the assertions below restate in the card's words.
  expect(seeded.map((i) => i.status).sort()).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ERROR', 'SHUTOFF']);
  expect(seeded.filter((i) => i.ha)).toHaveLength(2);
  slack = await startFakeSlackApi();
  await probe.reset(HOST);
});

afterEach(async () => {
  for (const { bot, dir } of running.splice(0)) {
    await bot.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  slack.reset();
  await probe.reset(HOST);
});

afterAll(async () => {
  await slack?.close();
});

/** The local bot as `npm start` runs it, its Nova reached through a proxy that sees (and can fail) every call. */
async function startBot() {
  const { bot, proxy, sender } = await startProxiedBot({
    prefix: 'fd-instances-e2e-',
    lab,
    cloud: CLOUD,
    slack,
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    approver: APPROVER.id,
    channel: CHANNEL.id,
    logLines,
    // evac1 is kept up by the lab: the confirmation below is about the card, not the heartbeat watch.
    env: { FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0' },
    started: { proxy: (p) => void proxies.push(p), bot: (bot, dir) => void running.push({ bot, dir }) },
  });
  return {
    bot,
    proxy,
    async slash(text: string, who: SlackUser = REQUESTER) {
      const res = await sender.command(slashCommand({ text, user: who, responseUrl: slack.responseUrl(`cmd-${randomBytes(4).toString('hex')}`) }));
      expect(res.status).toBe(200);
      return res;
    },
    /** The open force-down request of `host`, once its card is posted. */
    async cardOf(host: string) {
      const request = await until(`the card of ${host}`, async () => {
        const r = await bot.deps.store.findOpen(CLOUD, host, 'force-down');
        return r?.messageTs ? r : undefined;
      });
      return { request, ts: request.messageTs! };
    },
    /** Confirm fenced… on the card, then the modal filled in and submitted. */
    async confirm(requestId: string, ts: string) {
      const button = buttonsOf(slack.message(CHANNEL.id, ts)?.blocks).find((b) => b.action_id === ACTION_IDS.confirmFenced);
      if (!button) throw new Error('the card has no Confirm fenced… button');
      const clicked = await sender.interact(blockActions({ user: APPROVER, button, messageTs: ts, responseUrl: slack.responseUrl(`click-${randomBytes(4).toString('hex')}`), messageBlocks: slack.message(CHANNEL.id, ts)?.blocks }));
      expect(clicked).toMatchObject({ status: 200, body: '' });
      const opened = await slack.waitFor('views.open', (c) => modalRequestId((c.body.view as { private_metadata?: string } | undefined)?.private_metadata) === requestId);
      const res = await sender.interact(viewSubmission({ user: APPROVER, view: opened.body.view as Record<string, unknown>, values: fenceValues({ method: 'bmc', verified: true }) }));
      expect(res.status).toBe(200);
    },
  };
}

const cardText = (ts: string) => textOf(slack.message(CHANNEL.id, ts)?.blocks);
/** The card's Instances line as Slack holds it now. */
const stakeLine = (ts: string) => cardText(ts).split('\n').find((l) => l.startsWith('*Instances*'));
const serversListings = (proxy: FaultyOpenStack) => proxy.nova.calls().filter((c) => c.method === 'GET' && /\/servers\/detail$/.test(c.path));

describe('what is at stake on the card (real Nova)', () => {
  it('/force-down evac1: the card shows its instances by state and how many are marked HA, listed across projects', async () => {
    const b = await startBot();
    await b.slash(`${HOST} --reason PSU alarm`);
    const { ts } = await b.cardOf(HOST);
    const line = await until('the Instances line on the card', () => stakeLine(ts));
    expect(line).toBe('*Instances*: 5 — ACTIVE 3 · SHUTOFF 1 · ERROR 1 · 2 marked HA');
    const card = cardText(ts);
    expect(card).toContain("*Nova's view*");
    expect(card).toContain('Confirm fenced…');
    // One listing of evac1's instances, every project's (the seeded ones belong to project evac, not admin's).
    const listings = serversListings(b.proxy);
    expect(listings.length).toBeGreaterThanOrEqual(1);
    for (const l of listings) {
      const q = new URLSearchParams(l.query);
      expect(q.get('host')).toBe(HOST);
      expect(q.get('all_tenants')).toBeTruthy();
    }
  });

  it('the line stays through the confirmation to the outcome card', async () => {
    const b = await startBot();
    await b.slash(`${HOST} --reason PSU alarm`);
    const { request, ts } = await b.cardOf(HOST);
    await until('the Instances line on the card', () => stakeLine(ts));
    await b.confirm(request.id, ts);
    const done = await until('an outcome', async () => {
      const r = await b.bot.deps.store.get(request.id);
      return r && (r.state === 'succeeded' || r.state === 'failed') ? r : undefined;
    });
    // The outcome card (✅ or ❌) is the last update Slack got; every update in between kept the line.
    await until('the outcome on the card', () => /✅|❌/.test(cardText(ts)));
    expect(stakeLine(ts)).toBe('*Instances*: 5 — ACTIVE 3 · SHUTOFF 1 · ERROR 1 · 2 marked HA');
    const updates = slack.calls('chat.update').filter((c) => c.body.ts === ts);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    for (const u of updates) expect(textOf(u.body.blocks)).toContain('*Instances*: 5 — ACTIVE 3 · SHUTOFF 1 · ERROR 1 · 2 marked HA');
    expect(['succeeded', 'failed']).toContain(done.state);
  });

  it("Nova's servers list failing: the card says the instances could not be listed, and is posted with Nova's view and its buttons", async () => {
    const b = await startBot();
    b.proxy.nova.inject({ method: 'GET', path: /\/servers\/detail$/, fault: { kind: 'status', status: 403, body: { forbidden: { code: 403, message: 'Policy does not allow os_compute_api:servers:detail:get_all_tenants' } } } });
    await b.slash(`${HOST} --reason PSU alarm`);
    const { ts } = await b.cardOf(HOST);
    const line = await until('the Instances line on the card', () => stakeLine(ts));
    expect(line).toBe("*Instances*: could not be listed (Nova's policy does not allow these credentials to read this (os_compute_api:servers:detail:get_all_tenants))");
    const card = cardText(ts);
    expect(card).toContain("*Nova's view*");
    expect(card).toContain('Confirm fenced…');
    expect(serversListings(b.proxy).length).toBeGreaterThanOrEqual(1);
  });
});
