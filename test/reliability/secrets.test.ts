// Secrets (issue 6): the whole Slack flow through the real local bot process (`npm start`'s code,
// SQLite, in-process worker) against the lab, with successes, Nova and Keystone failures, refusals,
// forged requests and a revoked Slack token, capturing everything the process writes (stdout and
// stderr: our JSON logs and every library's warnings), every request the fake Slack receives,
// every answer the bot gives Slack, and the SQLite file. No value of the secret document may appear
// in any of them, raw or encoded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { localBotFiles } from '../integration/local-bot-env.js';
import { user } from '../integration/slack-helpers.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { textOf, through } from './harness.js';
import { captureOf, leaks, random, secretValues } from './secret-capture.js';
import { createSlackFlow, FLOW_CHANNEL } from './slack-flow.js';

const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');
const STRANGER = user('U0STRANGE1', 'mallory');

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let os: FaultyOpenStack;
let slack: FakeSlackApi;
let dir: string;
let bot: ChildBot | undefined;

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  os = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  slack = await startFakeSlackApi();
  dir = mkdtempSync(join(tmpdir(), 'fd-secrets-'));
  for (const h of lab.hosts.fault) await probe.reset(h);
});
afterAll(async () => {
  await bot?.close();
  await os?.close();
  await slack?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const h of lab.hosts.fault) await probe.reset(h);
});

describe('no secret from the secret document reaches a log line, a Slack message, an answer to Slack, or the store', () => {
  it('the whole flow, with failures, under capture', async () => {
    const [fault1, fault2, fault3, fault4] = lab.hosts.fault as [string, string, string, string];
    const doc = {
      slack: { signingSecret: random('sign-'), botToken: random('xoxb-') },
      alerts: {
        alertmanager: { token: random('am-') },
        grafana: { token: random('gf-'), hmacSecret: random('gfh-') },
        doctor: { token: random('dr-') },
        generic: { token: random('gn-'), autoForceDown: false },
        pagerduty: { signingSecret: random('pd-'), hostPattern: '^([^.:]+)' },
      },
      clouds: {
        lab: through(lab.clouds.admin, os.authUrl),
        appcred: through(lab.clouds.appcred, os.authUrl),
        // A cloud whose password Keystone refuses: its refusal (and our retelling of it) must not quote it.
        broken: through({ ...lab.clouds.admin, auth: { ...lab.clouds.admin.auth, password: random('wrong-pass-') } }, os.authUrl),
      },
    };
    const secrets = secretValues(doc);
    expect(secrets.map((s) => s.path).sort()).toEqual([
      'alerts.alertmanager.token',
      'alerts.doctor.token',
      'alerts.generic.token',
      'alerts.grafana.hmacSecret',
      'alerts.grafana.token',
      'alerts.pagerduty.signingSecret',
      'clouds.appcred.auth.application_credential_secret',
      'clouds.broken.auth.password',
      'clouds.lab.auth.password',
      'slack.botToken',
      'slack.signingSecret',
    ]);
    const { db, env } = localBotFiles(dir, { secret: doc, slackApiUrl: slack.apiUrl, approvers: APPROVER.id, channel: FLOW_CHANNEL.id });
    bot = await startChildBot({
      ...env,
      // fault1..4 are reset between tests, which moves the updated_at the heartbeat watch reads;
      // with its default 20 s wait each force-down here would wait that out (see harness.ts).
      FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
      FORCE_DOWN_DEFAULT_CLOUD: 'lab',
    });
    const b = bot;
    const flow = createSlackFlow({ slack, url: () => b.url, signingSecret: doc.slack.signingSecret, db });
    const cardText = (ts: string) => textOf(flow.card(ts)?.blocks);

    // 1. Force down and unset, password auth.
    expect(await flow.slash(`${fault1} --reason PSU dead`, REQUESTER)).toMatchObject({ status: 200, body: '' });
    let c = await flow.cardOf(fault1);
    expect((await flow.click(c.cardTs, ACTION_IDS.confirmFenced, STRANGER)).status).toBe(200); // refused, ephemeral
    await flow.confirmOnCard(c.requestId, c.cardTs, APPROVER);
    await b.idle();
    expect(cardText(c.cardTs)).toContain(`✅ *${fault1}* is forced down in Nova`);
    expect(await flow.slash(`--unset ${fault1}`, REQUESTER)).toMatchObject({ status: 200 });
    c = await flow.cardOf(fault1, 'unset');
    await flow.confirmOnCard(c.requestId, c.cardTs, APPROVER, 'unset');
    await b.idle();
    expect(cardText(c.cardTs)).toContain(`✅ *${fault1}* is no longer forced down in Nova`);

    // 2. An application credential.
    await flow.slash(`${fault2} --cloud appcred`, REQUESTER);
    c = await flow.cardOf(fault2, 'force-down', 'appcred');
    await flow.confirmOnCard(c.requestId, c.cardTs, APPROVER);
    await b.idle();
    expect(cardText(c.cardTs)).toContain(`✅ *${fault2}* is forced down in Nova`);

    // 3. Keystone refuses the password: AUTH_FAILED, with Keystone's own words in the thread.
    await flow.slash(`${fault3} --cloud broken`, REQUESTER);
    c = await flow.cardOf(fault3, 'force-down', 'broken');
    await flow.confirmOnCard(c.requestId, c.cardTs, APPROVER);
    await b.idle();
    expect(cardText(c.cardTs)).toContain("❌ Keystone refused force-down's credentials");

    // 4. Nova behind a failing load balancer (an HTML error page): NOVA_UNAVAILABLE after retries.
    os.nova.inject({ method: 'PUT', fault: { kind: 'status', status: 503, body: '<html><body><h1>503 Service Unavailable</h1>No server is available.</body></html>' } });
    await flow.slash(fault4, REQUESTER);
    c = await flow.cardOf(fault4);
    await flow.confirmOnCard(c.requestId, c.cardTs, APPROVER);
    await b.idle();
    expect(cardText(c.cardTs)).toContain("❌ Nova's API did not answer (HTTP 503)");
    os.clearFaults();

    // 5. Status, list, help, garbage, an unknown host, a forged and a stale request.
    await flow.slash(`status ${fault2}`, REQUESTER);
    await flow.slash('list', REQUESTER);
    await flow.slash('help', REQUESTER);
    await flow.slash('--frobnicate ../../etc/passwd', REQUESTER);
    await flow.slash('nosuchhost', REQUESTER);
    expect((await flow.sender.command({ command: '/force-down', text: fault1 }, { signingSecret: 'not-the-secret' })).status).toBe(401);
    expect((await flow.sender.command({ command: '/force-down', text: fault1 }, { timestamp: Math.floor(Date.now() / 1000) - 3600 })).status).toBe(401);
    await b.idle();

    // 6. Slack revokes the bot token: every call fails (logged by us and by the Slack client).
    slack.invalidateToken(doc.slack.botToken);
    await flow.slash(`--unset ${fault2} --cloud appcred`, REQUESTER);
    await b.idle();
    expect(b.entries().some((e) => e.message === 'job failed')).toBe(true);

    await b.close();
    bot = undefined;
    if (process.env.SHOW_CAPTURE) console.log(b.lines.join('\n'), '\n--- stderr ---\n', b.stderr());

    // Everything captured.
    const captured = captureOf(b, slack, flow.answers, db);
    expect(b.lines.length).toBeGreaterThan(15);
    expect(slack.calls().length).toBeGreaterThan(30);
    expect(slack.calls('response_url').length).toBeGreaterThanOrEqual(3);
    expect(leaks(captured, secrets)).toEqual([]);
    // The capture would see them: the credentials did travel, to Keystone (through the proxy), and nowhere else.
    expect(os.keystone.calls().some((k) => k.body.includes(doc.clouds.lab.auth.password!))).toBe(true);
    expect(os.keystone.calls().some((k) => k.body.includes(doc.clouds.appcred.auth.application_credential_secret!))).toBe(true);
    // The bot token was used: in the Authorization header, never in a body.
    expect(slack.calls().some((c) => c.token === doc.slack.botToken)).toBe(true);
  });
});
