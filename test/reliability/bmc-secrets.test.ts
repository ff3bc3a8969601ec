// BMC secrets (issue 13): the local bot as a real child process (`npm start`'s code, SQLite,
// in-process worker) against the lab (bmc1, bmc2) and fake Redfish BMCs over HTTPS, powering hosts
// off and failing at it: a power-off with a session (X-Auth-Token), credentials the BMC refuses, a
// BMC answering an HTML login page, a BMC that never reports Off, auto mode on the BMC's word, and
// status. Everything the process writes (stdout and stderr), every request the fake Slack receives,
// every answer the bot gives Slack and the SQLite file are captured: no BMC password, no user:password
// pair (Basic), and no session token a BMC handed out may appear in any of them, raw or encoded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeRedfish, type FakeRedfish } from '../fakes/redfish.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { bmcEntry, powerOffValues } from '../integration/bmc-helpers.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { localBotFiles } from '../integration/local-bot-env.js';
import { fenceValues, user, viewSubmission } from '../integration/slack-helpers.js';
import { until } from '../integration/wait.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { textOf, through } from './harness.js';
import { captureOf, leaks, random, secretValues } from './secret-capture.js';
import { createSlackFlow, FLOW_CHANNEL } from './slack-flow.js';

const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let os: FaultyOpenStack;
let slack: FakeSlackApi;
let dir: string;
let bot: ChildBot | undefined;
let bmc1: FakeRedfish;
let bmc2: FakeRedfish;
let hosts: [string, string];

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  hosts = lab.hosts.bmc.slice(0, 2) as [string, string];
  os = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  slack = await startFakeSlackApi();
  bmc1 = await startFakeRedfish({ host: hosts[0], sessions: true, resetDelayMs: 1_000, username: random('root-'), password: random('bmc1-pw-') });
  bmc2 = await startFakeRedfish({ host: hosts[1], resetDelayMs: 1_000, username: random('admin-'), password: random('bmc2-pw-') });
  dir = mkdtempSync(join(tmpdir(), 'fd-bmc-secrets-'));
  for (const h of hosts) await probe.reset(h);
});
afterAll(async () => {
  await bot?.close();
  await os?.close();
  await slack?.close();
  await bmc1?.close();
  await bmc2?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const h of hosts ?? []) await probe.reset(h);
});

describe('no BMC secret reaches a log line, a Slack message, an answer to Slack, or the store', () => {
  it('powering off and failing, under capture', async () => {
    const [h1, h2] = hosts;
    const doc = {
      slack: { signingSecret: random('sign-'), botToken: random('xoxb-') },
      alerts: { generic: { token: random('gn-'), autoForceDown: 'bmc-off' } },
      clouds: { lab: through(lab.clouds.admin, os.authUrl) },
      bmc: {
        lab: {
          hosts: {
            [h1]: bmcEntry(bmc1),
            // Credentials the BMC refuses: its refusal (and our retelling of it) must not quote them.
            [h2]: bmcEntry(bmc2, { password: random('wrong-bmc-pw-') }),
          },
        },
      },
    };
    const secrets = secretValues(doc);
    expect(secrets.map((s) => s.path).sort()).toEqual([
      'alerts.generic.token',
      `bmc.lab.hosts.${h1}.password`,
      `bmc.lab.hosts.${h2}.password`,
      'clouds.lab.auth.password',
      'slack.botToken',
      'slack.signingSecret',
    ]);
    const basic = [bmc1, { username: bmc2.username, password: doc.bmc.lab.hosts[h2]!.password }].map((c) => `${c.username}:${c.password}`);
    const { db, env } = localBotFiles(dir, { secret: doc, slackApiUrl: slack.apiUrl, approvers: APPROVER.id, channel: FLOW_CHANNEL.id });
    bot = await startChildBot({
      ...env,
      FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
      FORCE_DOWN_GROUP_WINDOW_SECONDS: '0',
      // The lowest allowed: the BMC that never reports Off fails in 10 s.
      FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: '10',
      FORCE_DOWN_DEFAULT_CLOUD: 'lab',
    });
    const b = bot;
    const flow = createSlackFlow({ slack, url: () => b.url, signingSecret: doc.slack.signingSecret, db });
    const cardText = (ts: string) => textOf(flow.card(ts)?.blocks);
    /** /force-down <host>, Confirm fenced…, the modal submitted with `values`; resolves once the worker is done. */
    async function forceDown(host: string, values: Record<string, Record<string, unknown>>) {
      expect(await flow.slash(host, REQUESTER)).toMatchObject({ status: 200, body: '' });
      const c = await flow.cardOf(host);
      const opened = slack.calls('views.open').length;
      expect((await flow.click(c.cardTs, ACTION_IDS.confirmFenced, APPROVER)).status).toBe(200);
      const modal = await slack.waitFor('views.open', (call) => slack.calls('views.open').indexOf(call) >= opened && modalRequestId((call.body.view as { private_metadata?: string }).private_metadata) === c.requestId);
      const res = await flow.sender.interact(viewSubmission({ user: APPROVER, view: modal.body.view as Record<string, unknown>, values }));
      flow.answers.push(res.body);
      expect(res).toMatchObject({ status: 200, body: '' });
      await until(`the force-down of ${host} to end`, () => /[✅❌]/.test(cardText(c.cardTs)) || undefined);
      await b.idle();
      const text = cardText(c.cardTs);
      // A failed request stays open (Retry…): cancelled, so the next round can open another.
      if (text.includes('❌')) {
        expect((await flow.click(c.cardTs, ACTION_IDS.cancelRequest, REQUESTER)).status).toBe(200);
        await until(`the request of ${host} cancelled`, () => cardText(c.cardTs).includes('🚫') || undefined);
        await b.idle();
      }
      return text;
    }

    // 1. Power off now, with a session: reset, Off, forced down.
    expect(await forceDown(h1, powerOffValues({ note: 'PSU smoking' }))).toContain(`✅ *${h1}* is forced down in Nova`);
    expect(bmc1.resets().length).toBe(1);
    await probe.reset(h1);
    bmc1.setPowerState('1', 'On');

    // 2. Credentials the BMC refuses (Basic): BMC_CONFIG.
    expect(await forceDown(h2, fenceValues({ method: 'bmc', verified: true }))).toContain(`❌ *${h2}*'s BMC entry does not fit its BMC`);
    expect(bmc2.requests.some((r) => r.auth === 'bad')).toBe(true);

    // 3. A BMC answering its HTML login page: BMC_UNREACHABLE (not-redfish), on the card and in status.
    bmc1.mode = 'html';
    expect(await forceDown(h1, fenceValues({ method: 'bmc', verified: true }))).toContain(`❌ *${h1}*'s BMC did not answer usefully`);
    await flow.slash(`status ${h1}`, REQUESTER);
    bmc1.mode = 'normal';

    // 4. A BMC that accepts the reset and never reports Off: BMC_POWER_OFF_TIMEOUT, Nova untouched.
    bmc1.mode = 'lie';
    expect(await forceDown(h1, powerOffValues())).toContain(`❌ *${h1}*'s BMC accepted the power-off but never reported Off`);
    expect(await probe.service(h1)).toMatchObject({ forced_down: false });
    bmc1.mode = 'normal';

    // 5. Auto mode on the BMC's word: Off, forced down without a human.
    bmc1.setPowerState('1', 'Off');
    const alert = await fetch(`${b.url}/alerts/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${doc.alerts.generic.token}` },
      body: JSON.stringify({ host: h1, status: 'firing', summary: `${h1} down`, id: random('alert-') }),
    });
    expect(alert.status).toBe(200);
    await until(`Nova to have ${h1} forced down`, async () => (await probe.service(h1)).forced_down);
    await b.idle();
    await probe.reset(h1);

    // 6. Status with a BMC reading, and with the refused one.
    await flow.slash(`status ${h1}`, REQUESTER);
    await flow.slash(`status ${h2}`, REQUESTER);
    await b.idle();
    await until('every status answer', () => slack.calls('response_url').length >= 3 || undefined);

    await b.close();
    bot = undefined;
    if (process.env.SHOW_CAPTURE) console.log(b.lines.join('\n'), '\n--- stderr ---\n', b.stderr());

    const captured = captureOf(b, slack, flow.answers, db);
    expect(b.lines.length).toBeGreaterThan(15);
    expect(slack.calls('response_url').length).toBeGreaterThanOrEqual(3);
    // The capture would see them: the BMC's words and evidence did reach the card and the log.
    expect(captured.some((c) => c.where === 'log' && c.text.includes('bmc'))).toBe(true);
    expect(captured.some((c) => c.where.startsWith('slack') && c.text.includes('BMC power-off via Redfish'))).toBe(true);

    const tokens = bmc1.issuedTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(4); // a session per BMC operation, each logged out
    expect(bmc1.openSessions()).toEqual([]);
    const all = [...secrets, ...basic.map((value) => ({ path: 'user:password (Basic)', value })), ...tokens.map((value) => ({ path: `${h1}'s BMC session token`, value }))];
    expect(leaks(captured, all)).toEqual([]);
  });
});
