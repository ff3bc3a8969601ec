// BMC fence evidence end to end (issue 13): signed Slack requests and alert webhooks to the REAL
// local bot (`startLocalBot`, as `npm start` runs it: HTTP server, SQLite, in-process worker), the
// REAL Keystone + Nova lab (hosts bmc1 and bmc2 only; bmc3/bmc4 are the CLI's), and fake BMCs that
// speak Redfish over HTTPS (test/fakes/redfish.ts: sessions or Basic, a reset applied after a
// delay, failure modes). A fake Slack Web API records what people see; Nova's own state is read
// with the probe, and every call that reached Nova is counted at a proxy in front of it.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBot } from '../../src/local/bot.js';
import { modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import type { FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeRedfish, type FakeRedfish } from '../fakes/redfish.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { bmcEntry, closedPort, methodChoices, powerOffValues } from './bmc-helpers.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { startProxiedBot } from './local-bot-env.js';
import { CHANNEL, blockActions, buttonsOf, fenceValues, slashCommand, textOf, user, viewSubmission, type SlackUser } from './slack-helpers.js';
import { until } from './wait.js';

const SIGNING_SECRET = `bmc-e2e-signing-${randomBytes(16).toString('hex')}`;
const BOT_TOKEN = `xoxb-bmc-e2e-${randomBytes(8).toString('hex')}`;
const ALERT_TOKEN = `bmc-e2e-alerts-${randomBytes(12).toString('hex')}`;
const CLOUD = 'lab';
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');
/** How long the fake BMCs take to apply a reset (real ones: 1-11 s): the worker polls through PoweringOff. */
const RESET_DELAY_MS = 2_000;
const SYSTEM = '1';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
/** bmc1's BMC offers sessions (X-Auth-Token); bmc2's takes Basic only, as sushy-tools does. */
let bmc1: FakeRedfish;
let bmc2: FakeRedfish;
let HOST1: string;
let HOST2: string;

const logLines: string[] = [];
const seenBySlack: string[] = [];
type LocalBot = Awaited<ReturnType<typeof startLocalBot>>;
const running: { bot: LocalBot; dir: string }[] = [];
const proxies: FaultyOpenStack[] = [];
/** How many resets each fake BMC had received before the current test. */
const resetsBefore = new Map<FakeRedfish, number>();
/** The resets `fake` received in this test. */
const resetsOf = (fake: FakeRedfish) => fake.resets().slice(resetsBefore.get(fake) ?? 0);

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  expect(lab.hosts.bmc.length, 'the lab seeds bmc1..bmc4 (restart it with npm run lab:stop && npm run lab:start)').toBeGreaterThanOrEqual(2);
  [HOST1, HOST2] = lab.hosts.bmc as [string, string];
  slack = await startFakeSlackApi();
  bmc1 = await startFakeRedfish({ host: HOST1, sessions: true, resetDelayMs: RESET_DELAY_MS, password: `bmc1-pw-${randomBytes(8).toString('hex')}` });
  bmc2 = await startFakeRedfish({ host: HOST2, resetDelayMs: RESET_DELAY_MS, password: `bmc2-pw-${randomBytes(8).toString('hex')}` });
  for (const h of [HOST1, HOST2]) await probe.reset(h);
});

afterEach(async () => {
  for (const { bot, dir } of running.splice(0)) {
    await bot.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  seenBySlack.push(...slack.calls().map((c) => `${c.path} ${JSON.stringify(c.body)}`));
  slack.reset();
  for (const fake of [bmc1, bmc2]) {
    fake.mode = 'normal';
    fake.setPowerState(SYSTEM, 'On');
    fake.requests.length = 0;
    resetsBefore.set(fake, fake.resets().length);
  }
  for (const h of [HOST1, HOST2]) await probe.reset(h);
});

afterAll(async () => {
  await bmc1?.close();
  await bmc2?.close();
  await slack?.close();
});

interface BotOptions {
  /** `bmc.lab.hosts` of the secret document (default: bmc1 and bmc2 on their fakes). */
  bmc?: Record<string, Record<string, unknown>>;
  /** `alerts` of the secret document. */
  alerts?: Record<string, Record<string, unknown>>;
  env?: Record<string, string>;
}

/** The local bot as `npm start` runs it, its Nova reached through a counting proxy. */
async function startBot(opts: BotOptions = {}) {
  const { bot, proxy, sender } = await startProxiedBot({
    prefix: 'fd-bmc-e2e-',
    lab,
    cloud: CLOUD,
    slack,
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    approver: APPROVER.id,
    channel: CHANNEL.id,
    logLines,
    secret: {
      ...(opts.alerts ? { alerts: opts.alerts } : {}),
      bmc: { [CLOUD]: { hosts: opts.bmc ?? { [HOST1]: bmcEntry(bmc1), [HOST2]: bmcEntry(bmc2) } } },
    },
    env: {
      // The lab's bmc hosts are reset between tests, which moves the updated_at the heartbeat watch
      // reads: with its default 20 s wait, every BMC-less path here would wait that out.
      FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
      FORCE_DOWN_GROUP_WINDOW_SECONDS: '0',
      ...opts.env,
    },
    started: { proxy: (p) => void proxies.push(p), bot: (bot, dir) => void running.push({ bot, dir }) },
  });

  return {
    bot,
    proxy,
    /** `/force-down <text>` from `who`; resolves with the response_url it carried. */
    async slash(text: string, who: SlackUser = REQUESTER) {
      const responseUrl = slack.responseUrl(`cmd-${randomBytes(4).toString('hex')}`);
      const res = await sender.command(slashCommand({ text, user: who, responseUrl }));
      expect(res.status).toBe(200);
      return { res, responseUrl };
    },
    /** The open force-down request of `host`, once its card is posted. */
    async cardOf(host: string) {
      const request = await until(`the card of ${host}`, async () => {
        const r = await bot.deps.store.findOpen(CLOUD, host, 'force-down');
        return r?.messageTs ? r : undefined;
      });
      return { request, ts: request.messageTs! };
    },
    /** Confirm fenced… on the card: the modal views.open sent. */
    async openModal(requestId: string, ts: string, who: SlackUser = APPROVER) {
      const button = buttonsOf(slack.message(CHANNEL.id, ts)?.blocks).find((b) => b.action_id === ACTION_IDS.confirmFenced);
      if (!button) throw new Error('the card has no Confirm fenced… button');
      const responseUrl = slack.responseUrl(`click-${randomBytes(4).toString('hex')}`);
      const res = await sender.interact(blockActions({ user: who, button, messageTs: ts, responseUrl, messageBlocks: slack.message(CHANNEL.id, ts)?.blocks }));
      expect(res).toMatchObject({ status: 200, body: '' });
      const opened = await slack.waitFor('views.open', (c) => modalRequestId((c.body.view as { private_metadata?: string } | undefined)?.private_metadata) === requestId);
      return opened.body.view as Record<string, unknown>;
    },
    async submit(view: Record<string, unknown>, values: Record<string, Record<string, unknown>>, who: SlackUser = APPROVER) {
      const res = await sender.interact(viewSubmission({ user: who, view, values }));
      seenBySlack.push(res.body);
      return res;
    },
    /** The request once it has failed, when the worker has nothing left to do. */
    async failed(requestId: string) {
      const failed = await until('the request to fail', async () => {
        const r = await bot.deps.store.get(requestId);
        return r?.state === 'failed' ? r : undefined;
      });
      await bot.queue.idle();
      return failed;
    },
    /** An alert webhook (`POST /alerts/generic`, bearer token) for `hosts`, firing. */
    async alert(hosts: string[]) {
      const res = await fetch(`${bot.url}/alerts/generic`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ALERT_TOKEN}` },
        body: JSON.stringify(hosts.map((host) => ({ host, status: 'firing', summary: `${host} stopped answering`, id: `bmc-e2e-${host}-${randomBytes(4).toString('hex')}` }))),
      });
      expect(res.status).toBe(200);
    },
  };
}

const cardText = (ts: string) => textOf(slack.message(CHANNEL.id, ts)?.blocks);
const buttonLabels = (ts: string) => buttonsOf(slack.message(CHANNEL.id, ts)?.blocks).map((b) => b.text?.text);
/** Every update of a card Slack was sent, oldest first. */
const cardVersions = (ts: string) => slack.calls('chat.update').filter((c) => c.body.ts === ts).map((c) => textOf(c.body.blocks));
/** The card's audit thread, oldest first. */
const thread = (ts: string) => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === ts).map((c) => String(c.body.text));
const novaPuts = (proxy: FaultyOpenStack) => proxy.nova.count('PUT', /\/os-services\//);
const systemReads = (fake: FakeRedfish) => fake.requests.filter((r) => r.method === 'GET' && r.path === `/redfish/v1/Systems/${SYSTEM}`).length;

describe('power off now, through the BMC', () => {
  it('the card shows the BMC reading; the modal offers "Power off now" first; the worker resets the host, waits for Off, and only then forces it down', async () => {
    const b = await startBot();
    await b.slash(`${HOST1} --reason PSU smoking`);
    const { request, ts } = await b.cardOf(HOST1);

    // The card: Nova's view and, beside it, the BMC's: power On, with a warning.
    const shown = await until('the BMC reading on the card', () => (/BMC/.test(cardText(ts)) && /power On/.test(cardText(ts)) ? cardText(ts) : undefined));
    expect(shown).toContain("*Nova's view*");
    expect(shown).toContain('⚠');

    // The modal: "Power off now via the BMC (Redfish)" first; "BMC power-off" (already done) still there.
    const view = await b.openModal(request.id, ts);
    const choices = methodChoices(view);
    expect(choices[0]).toEqual({ value: 'power-off', text: 'Power off now via the BMC (Redfish)' });
    expect(choices.map((c) => c.value)).toEqual(expect.arrayContaining(['bmc', 'pdu', 'network', 'dead', 'other']));
    expect(await probe.service(HOST1)).toMatchObject({ forced_down: false }); // a click alone changes nothing
    expect(resetsOf(bmc1)).toEqual([]);

    // Nova's PUT, when it arrives: what did the BMC say at that moment?
    const powerAtPut = b.proxy.nova.waitFor('PUT', /\/os-services\//).then(() => bmc1.powerState(SYSTEM));
    expect(await b.submit(view, powerOffValues({ note: 'PSU smoking, powering off' }))).toMatchObject({ status: 200, body: '' });

    await until(`Nova to have ${HOST1} forced down`, async () => (await probe.service(HOST1)).forced_down);
    await b.bot.queue.idle();
    expect(await powerAtPut).toBe('Off');
    expect(resetsOf(bmc1)).toEqual([{ system: SYSTEM, resetType: 'ForceOff' }]);
    expect(novaPuts(b.proxy)).toBe(1);
    // Polled through the reset's delay (PoweringOff), not one read and a guess.
    const resetAt = bmc1.requests.findIndex((r) => r.method === 'POST' && r.path.endsWith('/Actions/ComputerSystem.Reset'));
    expect(bmc1.requests.slice(resetAt + 1).filter((r) => r.method === 'GET' && r.path === `/redfish/v1/Systems/${SYSTEM}`).length).toBeGreaterThanOrEqual(2);
    // Sessions: every one logged out again; the password went only to the login.
    expect(bmc1.sessionsCreated()).toBeGreaterThan(0);
    expect(bmc1.openSessions()).toEqual([]);
    expect(bmc1.requests.filter((r) => r.auth === 'bad')).toEqual([]);

    // While it waited, the card said what it was doing.
    const versions = cardVersions(ts);
    const powering = (state: string) => versions.findIndex((t) => new RegExp(`⏳ powering \\*?${HOST1}\\*? off via its BMC… \\(PowerState: ${state}\\)`).test(t));
    const done = versions.findIndex((t) => t.includes('✅'));
    expect(powering('On'), versions.join('\n=====\n')).toBeGreaterThanOrEqual(0);
    expect(powering('On')).toBeLessThan(done);

    const text = cardText(ts);
    expect(text).toContain(`✅ *${HOST1}* is forced down in Nova`);
    expect(text).toContain(`<@${APPROVER.id}>`);
    expect(text).toContain('*Forced down*\n*yes*');
    // Nothing left to confirm or cancel: only the offer to evacuate the host (evacuation-blocks.ts).
    expect(buttonLabels(ts).filter((l) => !/^Evacuate (\d+ instances?|instances)…$/.test(l ?? ''))).toEqual([]);
    const audit = thread(ts);
    const line = audit.find((l) => l.includes('BMC power-off via Redfish'));
    expect(line, `no audit line about the power-off in:\n${audit.join('\n')}`).toBeDefined();
    // Who, what was sent and when, when Off was seen, and only then Nova's answer.
    expect(line).toContain(`*${HOST1}* forced down`);
    expect(line).toMatch(new RegExp(`BMC power-off via Redfish by <@${APPROVER.id}>: ForceOff sent at \`[0-9T:.-]+Z\`, \`Off\` seen at \`[0-9T:.-]+Z\``));
    expect(line).toContain('Nova: `PUT /os-services/{id}`');
    expect(line).toContain('→ *OK*');
    const [sentAt, offAt] = [...line!.matchAll(/`([0-9T:.-]+Z)`/g)].slice(-2).map((m) => Date.parse(m[1]!));
    expect(offAt! - sentAt!).toBeGreaterThanOrEqual(RESET_DELAY_MS - 50); // Off was seen after the BMC applied the reset, not assumed
    expect((await b.bot.deps.store.get(request.id))?.state).toBe('succeeded');
  });

  it('a BMC that accepts the reset and never reports Off: BMC_POWER_OFF_TIMEOUT, and Nova is never called', async () => {
    const b = await startBot({ env: { FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: '10' } });
    bmc2.mode = 'lie';
    await b.slash(HOST2);
    const { request, ts } = await b.cardOf(HOST2);
    const view = await b.openModal(request.id, ts);
    expect(await b.submit(view, powerOffValues())).toMatchObject({ status: 200, body: '' });

    const failed = await b.failed(request.id);
    expect(failed.outcome?.code).toBe('BMC_POWER_OFF_TIMEOUT');
    expect(resetsOf(bmc2)).toEqual([{ system: SYSTEM, resetType: 'ForceOff' }]);
    expect(systemReads(bmc2)).toBeGreaterThanOrEqual(3);
    expect(novaPuts(b.proxy)).toBe(0);
    expect(await probe.service(HOST2)).toMatchObject({ forced_down: false });
    expect(cardText(ts)).toContain('❌');
    expect(cardText(ts)).toContain(`*${HOST2}*'s BMC accepted the power-off but never reported Off`);
    expect(buttonLabels(ts)).toContain('Retry…');
  });
});

describe('"BMC power-off" (already done), checked against the BMC', () => {
  it('the BMC reports power On: BMC_SAYS_ON on the card, Retry…, no reset sent, and Nova unchanged (no PUT reached it)', async () => {
    const b = await startBot();
    await b.slash(`${HOST2} --reason powered off at the BMC`);
    const { request, ts } = await b.cardOf(HOST2);
    const view = await b.openModal(request.id, ts);
    expect(await b.submit(view, fenceValues({ method: 'bmc', verified: true }))).toMatchObject({ status: 200, body: '' });

    const failed = await b.failed(request.id);
    expect(failed.outcome?.code).toBe('BMC_SAYS_ON');
    const text = cardText(ts);
    expect(text).toContain('❌');
    expect(text).toMatch(new RegExp(`${HOST2}\\*? is not forced down: its BMC reports power On`));
    expect(buttonLabels(ts)).toContain('Retry…');
    expect(thread(ts).some((l) => l.includes('BMC_SAYS_ON'))).toBe(true);
    expect(resetsOf(bmc2)).toEqual([]); // "already done" never powers anything off
    expect(systemReads(bmc2)).toBeGreaterThanOrEqual(1);
    expect(novaPuts(b.proxy)).toBe(0);
    expect(await probe.service(HOST2)).toMatchObject({ forced_down: false, state: 'up' });
  });

  it('the same with the BMC reading Off: forced down, the reading recorded as the evidence', async () => {
    const b = await startBot();
    bmc2.setPowerState(SYSTEM, 'Off');
    await b.slash(HOST2);
    const { request, ts } = await b.cardOf(HOST2);
    const view = await b.openModal(request.id, ts);
    expect(await b.submit(view, fenceValues({ method: 'bmc', verified: true }))).toMatchObject({ status: 200, body: '' });
    await until(`Nova to have ${HOST2} forced down`, async () => (await probe.service(HOST2)).forced_down);
    await b.bot.queue.idle();
    expect(resetsOf(bmc2)).toEqual([]);
    expect(novaPuts(b.proxy)).toBe(1);
    expect(cardText(ts)).toContain(`✅ *${HOST2}* is forced down in Nova`);
    const done = await b.bot.deps.store.get(request.id);
    expect(done?.outcome).toMatchObject({ code: 'OK', bmc: expect.objectContaining({ powerState: 'Off' }) });
  });

  it('the BMC cannot be reached (connection refused): BMC_UNREACHABLE, and Nova unchanged', async () => {
    const port = await closedPort();
    const b = await startBot({ bmc: { [HOST1]: bmcEntry(bmc1, { url: `https://127.0.0.1:${port}` }) } });
    await b.slash(HOST1);
    const { request, ts } = await b.cardOf(HOST1);
    // The card says so beside Nova's view.
    await until('"BMC unreachable" on the card', () => (/BMC unreachable \(refused\)/.test(cardText(ts)) ? true : undefined));
    const view = await b.openModal(request.id, ts);
    expect(await b.submit(view, fenceValues({ method: 'bmc', verified: true }))).toMatchObject({ status: 200, body: '' });

    const failed = await b.failed(request.id);
    expect(failed.outcome?.code).toBe('BMC_UNREACHABLE');
    expect(cardText(ts)).toContain(`❌ *${HOST1}*'s BMC did not answer usefully`);
    expect(buttonLabels(ts)).toContain('Retry…');
    expect(novaPuts(b.proxy)).toBe(0);
    expect(await probe.service(HOST1)).toMatchObject({ forced_down: false, state: 'up' });
    expect(bmc1.requests).toEqual([]); // the entry pointed elsewhere
  });
});

describe('auto mode on the BMC\'s word (autoForceDown: "bmc-off")', () => {
  it('a firing alert for a host whose BMC reads Off is forced down without a human; one whose BMC reads On gets a normal card', async () => {
    const b = await startBot({ alerts: { generic: { token: ALERT_TOKEN, autoForceDown: 'bmc-off' } } });
    bmc1.setPowerState(SYSTEM, 'Off');
    await b.alert([HOST1, HOST2]);

    await until(`Nova to have ${HOST1} forced down`, async () => (await probe.service(HOST1)).forced_down);
    const auto = await until(`the auto request of ${HOST1}`, async () => (await b.bot.deps.store.listByState('succeeded')).find((r) => r.host === HOST1));
    const manual = await b.cardOf(HOST2);
    await b.bot.queue.idle();

    // bmc1: nobody clicked; the BMC's Off is the recorded evidence.
    expect(auto.confirmation?.by).toMatch(/auto/);
    const recorded = [JSON.stringify(auto.confirmation), JSON.stringify(auto.history), ...(auto.messageTs ? [cardText(auto.messageTs), ...thread(auto.messageTs)] : [])].join('\n');
    expect(recorded).toContain('auto: BMC reports power Off');
    expect(resetsOf(bmc1)).toEqual([]); // auto mode reads; it never powers off
    expect(slack.calls('views.open')).toEqual([]);

    // bmc2: a normal card, waiting for a human; Nova untouched.
    expect(manual.request.state).toBe('pending');
    // Both hosts came in one webhook: one grouped card, a row each; bmc2's row waits for an approver's Confirm fenced….
    const blocks = (slack.message(CHANNEL.id, manual.ts)?.blocks ?? []) as { type: string; text?: { text: string }; elements?: { action_id: string; value: string }[] }[];
    const rows = blocks.filter((bl) => bl.type === 'section');
    const at2 = blocks.findIndex((bl) => bl.type === 'section' && bl.text?.text.startsWith(`*${HOST2}*`));
    expect(blocks[at2]?.text?.text).toContain('Waiting for an approver');
    // The row's buttons, in the actions block under its text.
    expect(blocks[at2 + 1]?.elements?.[0]).toMatchObject({ action_id: ACTION_IDS.confirmFenced, value: manual.request.id });
    expect(rows.find((r) => r.text?.text.startsWith(`*${HOST1}*`))?.text?.text).toContain('✅ forced down in Nova');
    expect(resetsOf(bmc2)).toEqual([]);
    expect(await probe.service(HOST2)).toMatchObject({ forced_down: false });
    expect(b.proxy.nova.calls().filter((c) => c.method === 'PUT').map((c) => c.path)).toEqual([`/v2.1/os-services/${(await probe.service(HOST1)).id}`]);
  });

  it('a BMC that cannot be read is not evidence: a normal card, Nova untouched', async () => {
    const port = await closedPort();
    const b = await startBot({
      alerts: { generic: { token: ALERT_TOKEN, autoForceDown: 'bmc-off' } },
      bmc: { [HOST1]: bmcEntry(bmc1, { url: `https://127.0.0.1:${port}` }) },
    });
    await b.alert([HOST1]);
    const manual = await b.cardOf(HOST1);
    await b.bot.queue.idle();
    expect(manual.request.state).toBe('pending');
    expect(buttonLabels(manual.ts)).toEqual(['Confirm fenced…', 'Cancel']);
    expect(novaPuts(b.proxy)).toBe(0);
    expect(await probe.service(HOST1)).toMatchObject({ forced_down: false });
  });
});

describe('/force-down status', () => {
  it('includes the BMC reading', async () => {
    const b = await startBot();
    bmc2.setPowerState(SYSTEM, 'Off');
    for (const [host, power] of [[HOST1, 'On'], [HOST2, 'Off']] as const) {
      const cmd = await b.slash(`status ${host}`);
      const reply = await slack.waitFor('response_url', (c) => cmd.responseUrl.endsWith(c.path));
      await b.bot.queue.idle();
      const text = String(reply.body.text);
      expect(text).toMatch(new RegExp(`^\\*${host}\\*: \`up\``));
      expect(text).toContain('BMC');
      expect(text).toContain(`power ${power}`);
    }
    expect(resetsOf(bmc1)).toEqual([]);
    expect(resetsOf(bmc2)).toEqual([]);
  });
});

describe('the BMC credentials stay secret', () => {
  // Runs last: everything this file logged, sent to Slack or answered Slack with.
  it('no BMC password or session token in any log line, Slack message or answer', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const seen = [...logLines, ...seenBySlack];
    const secrets = [bmc1.password, bmc2.password, ...bmc1.issuedTokens(), Buffer.from(`${bmc2.username}:${bmc2.password}`).toString('base64')];
    expect(bmc1.issuedTokens().length).toBeGreaterThan(0);
    for (const secret of secrets) {
      const leaks = seen.filter((s) => s.includes(secret));
      expect(leaks, `a BMC secret leaked into: ${leaks[0]?.slice(0, 200)}`).toEqual([]);
    }
    expect(logLines.filter((l) => (JSON.parse(l) as { level: string }).level === 'error')).toEqual([]);
  });
});
