// PagerDuty v3 webhooks end to end (issue 15): signed POSTs, as a PagerDuty webhook subscription sends
// them, to the local bot (npm start's server, SQLite), which posts cards to a fake Slack Web API and calls
// the real Nova + Keystone lab (host alert4 only) through a counting proxy.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPagerDutyBody } from '../../src/alerts/pagerduty.js';
import { confirmRequest } from '../../src/app/requests.js';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { localBotFiles } from './local-bot-env.js';
import { CHANNEL } from './slack-helpers.js';
import { until } from './wait.js';

const PD_SECRET = `pd-${randomBytes(12).toString('hex')}`;
const PD_OLD_SECRET = `pd-old-${randomBytes(12).toString('hex')}`;
const SIGNING_SECRET = `pd-e2e-${randomBytes(12).toString('hex')}`;
const BOT_TOKEN = `xoxb-pd-${randomBytes(8).toString('hex')}`;
const APPROVER = 'U0APPROVE1';
const CLOUD = 'lab';
const HOST = 'alert4';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
let bot: Awaited<ReturnType<typeof startLocalBot>>;
let proxy: FaultyOpenStack;
let dir: string;
const logLines: string[] = [];

beforeAll(async () => {
  lab = loadLab();
  expect(lab.hosts.alert).toContain(HOST);
  probe = createNovaProbe(lab);
  slack = await startFakeSlackApi();
  await probe.reset(HOST);
  dir = mkdtempSync(join(tmpdir(), 'fd-pagerduty-e2e-'));
  proxy = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  const admin = lab.clouds.admin;
  const { env } = localBotFiles(dir, {
    secret: {
      slack: { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN },
      // Ours rotating: the new secret next to the old; the host from the title, as "… on <host>.<domain>".
      alerts: { pagerduty: { signingSecret: [PD_SECRET, PD_OLD_SECRET], hostPattern: ' on ([^.\\s]+)' } },
      clouds: { [CLOUD]: { ...admin, auth: { ...admin.auth, auth_url: proxy.authUrl } } },
    },
    slackApiUrl: slack.apiUrl,
    approvers: APPROVER,
    channel: CHANNEL.id,
  });
  bot = await startLocalBot({ env: { ...env, FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0' }, log: createJsonLogger({ write: (line) => logLines.push(line) }) });
});

afterAll(async () => {
  await bot?.close();
  await proxy?.close();
  await slack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (probe) await probe.reset(HOST);
});

const INCIDENT = 'Q0PDE2E4ALERT';
function event(type: string, eventId: string): string {
  return JSON.stringify({
    event: {
      id: eventId,
      event_type: type,
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      agent: { id: 'PUSER1', type: 'user_reference', summary: 'Monitoring' },
      client: { name: 'Prometheus' },
      data: {
        id: INCIDENT,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/${INCIDENT}`,
        html_url: `https://acme.pagerduty.com/incidents/${INCIDENT}`,
        number: 42,
        status: type === 'incident.resolved' ? 'resolved' : 'triggered',
        incident_key: 'nodedown-alert4',
        created_at: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        title: `NodeDown: nova-compute on ${HOST}.dc1.example stopped reporting`,
        service: { id: 'PSVC1', type: 'service_reference', summary: 'OpenStack compute', html_url: 'https://acme.pagerduty.com/services/PSVC1' },
        assignees: [],
        escalation_policy: { id: 'PEP1', type: 'escalation_policy_reference', summary: 'Compute on-call' },
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  });
}

const send = (body: string, signature?: string) =>
  fetch(`${bot.url}/alerts/pagerduty`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'PagerDuty-Webhook/V3.0', ...(signature === undefined ? {} : { 'X-PagerDuty-Signature': signature }) },
    body,
  });

const cardMessages = () => slack.calls('chat.postMessage').filter((c) => c.body.channel === CHANNEL.id && c.body.thread_ts === undefined && c.status === 200);
const shown = (ts: string) => JSON.stringify(slack.message(CHANNEL.id, ts)?.blocks ?? []);

describe('PagerDuty v3 webhook → force-down (local bot, real Nova)', () => {
  it('forged and stale signatures are refused; a signed incident.triggered opens a card, its redelivery is a repeat, other events are ignored; confirmed, alert4 is forced down in Nova; incident.resolved offers recovery', async () => {
    const triggered = event('incident.triggered', 'EVT-PD-E2E-1');
    // Forged (a guessed secret), stale (the body changed after signing), unsigned: 401, nothing opened.
    expect((await send(triggered, signPagerDutyBody('a-guess', triggered))).status).toBe(401);
    expect((await send(triggered.replace(HOST, 'alert3'), signPagerDutyBody(PD_SECRET, triggered))).status).toBe(401);
    expect((await send(triggered)).status).toBe(401);
    await bot.queue.idle();
    expect(cardMessages()).toHaveLength(0);

    // PagerDuty rotating its secret: two v1 values, only the second valid.
    const res = await send(triggered, `${signPagerDutyBody('pagerduty-previous', triggered)},${signPagerDutyBody(PD_SECRET, triggered)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'accepted', opened: 1 });
    const card = await until('the card', () => cardMessages().find((c) => JSON.stringify(c.body.blocks).includes(HOST)));
    const text = JSON.stringify(card.body.blocks);
    expect(text).toContain(`NodeDown: nova-compute on ${HOST}.dc1.example stopped reporting`);
    expect(text).toContain(`https://acme.pagerduty.com/incidents/${INCIDENT}`);
    expect(text).toContain('confirm_fenced');

    // A redelivery (same event, signed with our old secret still configured): counted, no second request.
    const again = await send(triggered, signPagerDutyBody(PD_OLD_SECRET, triggered));
    expect(await again.json()).toMatchObject({ opened: 0, repeats: 1 });
    const acked = event('incident.acknowledged', 'EVT-PD-E2E-2');
    const ack = await send(acked, signPagerDutyBody(PD_SECRET, acked));
    expect(await ack.json()).toMatchObject({ opened: 0, repeats: 0, resolved: 0, skipped: 1, ignored: [{ reason: 'unsupported-event' }] });
    await bot.queue.idle();
    const request = (await bot.deps.store.findOpen(CLOUD, HOST, 'force-down'))!;
    expect(request).toMatchObject({ state: 'pending', origin: { kind: 'alert', source: 'pagerduty', fingerprint: `pagerduty:${INCIDENT}` } });
    expect(cardMessages()).toHaveLength(1);
    expect(proxy.nova.count('PUT', /os-services/)).toBe(0);

    expect((await confirmRequest(bot.deps, { id: request.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).kind).toBe('done');
    await bot.queue.idle();
    expect((await probe.service(HOST)).forced_down).toBe(true);
    expect((await bot.deps.store.get(request.id))!.state).toBe('succeeded');
    await until('✅ on the card', () => shown(request.messageTs!).includes('✅') || undefined);

    const resolved = event('incident.resolved', 'EVT-PD-E2E-3');
    const r = await send(resolved, signPagerDutyBody(PD_SECRET, resolved));
    expect(r.status).toBe(200);
    const recovery = await until('the recovery request', async () => (await bot.deps.store.findOpen(CLOUD, HOST, 'unset')) ?? undefined);
    await bot.queue.idle();
    expect(JSON.stringify(slack.message(CHANNEL.id, (await bot.deps.store.get(recovery.id))!.messageTs!)?.blocks)).toContain('confirm_recovered');
    expect((await probe.service(HOST)).forced_down).toBe(true); // nothing without a confirmation
  });

  it('no signing secret in any log line or Slack message', () => {
    const seen = [...logLines, ...slack.calls().map((c) => JSON.stringify(c.body))].join('\n');
    for (const secret of [PD_SECRET, PD_OLD_SECRET, SIGNING_SECRET, lab.clouds.admin.auth.password]) expect(seen).not.toContain(secret);
  });
});
