// Alert webhooks end to end: the real Prometheus Alertmanager from Debian
// (its own config, on 127.0.0.1) delivers to the local bot (npm start's
// server, SQLite), which posts cards to a fake Slack Web API and calls the
// real Nova + Keystone lab, through a counting proxy where calls are counted.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { confirmRequest } from '../../src/app/requests.js';
import type { ForceDownRequest } from '../../src/domain/request.js';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { HOSTS_PER_MESSAGE } from '../../src/slack/group-card.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { localBotFiles } from './local-bot-env.js';
import { CHANNEL } from './slack-helpers.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const AM_TOKEN = `am-${randomBytes(12).toString('hex')}`;
const SIGNING_SECRET = `alerts-e2e-${randomBytes(12).toString('hex')}`;
const BOT_TOKEN = `xoxb-alerts-${randomBytes(8).toString('hex')}`;
const APPROVER = 'U0APPROVE1';
const CLOUD = 'lab';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
const logLines: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  slack = await startFakeSlackApi();
  for (const h of lab.hosts.alert) await probe.reset(h);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  slack.reset();
  for (const h of lab.hosts.alert) await probe.reset(h);
});

afterAll(async () => {
  await slack?.close();
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

/** The local bot with the Alertmanager source configured, its Nova reached through a counting proxy. */
async function startBot(opts: { autoForceDown?: boolean; windowSeconds?: number } = {}) {
  return startBotWith({ alertmanager: { token: AM_TOKEN, autoForceDown: opts.autoForceDown ?? false } }, opts.windowSeconds);
}

/** `extraClouds`: more cloud names in the secret, each the same lab (Keystone and Nova) as `lab`. */
async function startBotWith(alerts: Record<string, Record<string, unknown>>, windowSeconds?: number, extraClouds: readonly string[] = []) {
  const opts = { windowSeconds };
  const dir = mkdtempSync(join(tmpdir(), 'fd-alerts-e2e-'));
  const proxy: FaultyOpenStack = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  const admin = lab.clouds.admin;
  const { env } = localBotFiles(dir, {
    secret: {
      slack: { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN },
      alerts,
      clouds: Object.fromEntries([CLOUD, ...extraClouds].map((name) => [name, { ...admin, auth: { ...admin.auth, auth_url: proxy.authUrl } }])),
    },
    slackApiUrl: slack.apiUrl,
    approvers: APPROVER,
    channel: CHANNEL.id,
  });
  const bot = await startLocalBot({
    env: {
      ...env,
      FORCE_DOWN_GROUP_WINDOW_SECONDS: String(opts.windowSeconds ?? 30),
      // The 200-host storm below is one real rack: above the default cap of 100 rows per card.
      FORCE_DOWN_GROUP_MAX_HOSTS: '200',
      ...(extraClouds.length ? { FORCE_DOWN_DEFAULT_CLOUD: CLOUD } : {}),
    },
    log: createJsonLogger({ write: (line) => logLines.push(line) }),
  });
  cleanups.push(async () => {
    await bot.close();
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { bot, proxy };
}

/** A real Alertmanager whose only receiver is the bot's webhook, bearer-authenticated. */
async function startAlertmanager(webhookUrl: string, opts: { repeatInterval?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-alertmanager-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: force-down',
      "  group_by: ['alertname']",
      '  group_wait: 0s',
      '  group_interval: 1s',
      `  repeat_interval: ${opts.repeatInterval ?? '1h'}`,
      'receivers:',
      '  - name: force-down',
      '    webhook_configs:',
      `      - url: ${webhookUrl}`,
      '        send_resolved: true',
      '        max_alerts: 0',
      '        http_config:',
      '          authorization:',
      '            type: Bearer',
      `            credentials: ${AM_TOKEN}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    ALERTMANAGER,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}/`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  cleanups.push(async () => {
    child.kill('SIGTERM');
    await new Promise((ok) => (child.exitCode !== null ? ok(undefined) : child.once('exit', ok)));
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (i > 600 || child.exitCode !== null) throw new Error(`alertmanager did not start within 60 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    /** POST /api/v2/alerts, as Prometheus does. */
    /** `instance`: node_exporter's label (e.g. `compute1.dc1.example:9100`) instead of `host`. */
    async send(alerts: ({ alertname?: string; labels?: Record<string, string>; resolved?: boolean } & ({ host: string; instance?: never } | { instance: string; host?: never }))[]) {
      const now = new Date();
      const body = alerts.map((a) => ({
        labels: { alertname: a.alertname ?? 'HostDown', ...(a.instance !== undefined ? { instance: a.instance, job: 'node' } : { host: a.host }), severity: 'critical', ...a.labels },
        annotations: { summary: `${a.host ?? a.instance} stopped answering` },
        startsAt: new Date(now.getTime() - 60_000).toISOString(),
        ...(a.resolved ? { endsAt: new Date(now.getTime() - 1000).toISOString() } : {}),
        generatorURL: 'http://prometheus.example:9090/graph?g0.expr=up%3D%3D0',
      }));
      const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`alertmanager refused the alerts: ${res.status} ${await res.text()}`);
    },
  };
}

async function until<T>(what: string, probeFn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probeFn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cardMessages = () => slack.calls('chat.postMessage').filter((c) => c.body.channel === CHANNEL.id && c.body.thread_ts === undefined && c.status === 200);
const shown = (ts: string) => JSON.stringify(slack.message(CHANNEL.id, ts)?.blocks ?? []);

async function openRequests(bot: Awaited<ReturnType<typeof startBot>>['bot']): Promise<ForceDownRequest[]> {
  await bot.queue.idle();
  const states = ['pending', 'approved', 'executing', 'failed'] as const;
  return (await Promise.all(states.map((s) => bot.deps.store.listByState(s)))).flat();
}

describe('Prometheus Alertmanager → force-down (real Alertmanager, real Nova)', () => {
  it('a firing HostDown alert posts a card with the alert; repeats stay one request ("seen N times"); resolved marks it', async () => {
    const { bot, proxy } = await startBot();
    const am = await startAlertmanager(`${bot.url}/alerts/alertmanager`, { repeatInterval: '2s' });
    const host = lab.hosts.alert[0]!;

    await am.send([{ host }]);
    const card = await until('the card', () => cardMessages().find((c) => JSON.stringify(c.body.blocks).includes(host)));
    const text = JSON.stringify(card.body.blocks);
    expect(text).toContain('HostDown');
    expect(text).toContain(`${host} stopped answering`);
    expect(text).toContain("Nova's view");
    expect(text).toContain('confirm_fenced');

    // Alertmanager re-sends the group every repeat_interval: counted, never a second request.
    const repeated = await until('a repeat', async () => {
      const [r] = await openRequests(bot);
      return r?.seen && r.seen.count >= 2 ? r : undefined;
    });
    expect(await openRequests(bot)).toHaveLength(1);
    await until('"seen" on the card', () => shown(repeated.messageTs!).includes('Alert seen') || undefined);

    await am.send([{ host, resolved: true }]);
    const resolved = await until('the resolved mark', async () => (await bot.deps.store.get(repeated.id))?.alertResolvedAt ? bot.deps.store.get(repeated.id) : undefined);
    expect(resolved).toMatchObject({ state: 'pending', action: 'force-down' });
    await until('"alert resolved" on the card', () => shown(resolved!.messageTs!).includes('The alert resolved') || undefined);
    expect(cardMessages()).toHaveLength(1);
    expect(proxy.nova.count('PUT', /os-services/)).toBe(0);
    expect((await probe.service(host)).forced_down).toBe(false);
  });

  it('confirmed, forced down in Nova; then the resolved alert offers recovery, and its confirmation unsets forced_down', async () => {
    const { bot } = await startBot();
    const am = await startAlertmanager(`${bot.url}/alerts/alertmanager`);
    const host = lab.hosts.alert[1]!;

    await am.send([{ host }]);
    const [req] = await until('the request', async () => ((await openRequests(bot)).length ? openRequests(bot) : undefined));
    expect((await confirmRequest(bot.deps, { id: req!.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).kind).toBe('done');
    await bot.queue.idle();
    expect((await probe.service(host)).forced_down).toBe(true);

    await am.send([{ host, resolved: true }]);
    const recovery = await until('the recovery request', async () => (await bot.deps.store.findOpen(CLOUD, host, 'unset')) ?? undefined);
    await bot.queue.idle();
    const offered = JSON.stringify(slack.message(CHANNEL.id, (await bot.deps.store.get(recovery.id))!.messageTs!)?.blocks);
    expect(offered).toContain('confirm_recovered');
    expect((await probe.service(host)).forced_down).toBe(true); // nothing without a confirmation

    expect((await confirmRequest(bot.deps, { id: recovery.id, userId: APPROVER, userGroups: new Set() })).kind).toBe('done');
    await bot.queue.idle();
    expect((await probe.service(host)).forced_down).toBe(false);
  });

  it('auto mode: the alert with the evidence label is forced down in the real lab without a human; the one without is not', async () => {
    const { bot } = await startBot({ autoForceDown: true });
    const am = await startAlertmanager(`${bot.url}/alerts/alertmanager`);
    const [fenced, unfenced] = [lab.hosts.alert[2]!, lab.hosts.alert[3]!];

    await am.send([{ host: fenced, labels: { fenced: 'true' } }, { host: unfenced }]);
    await until('the forced-down host', async () => ((await probe.service(fenced)).forced_down ? true : undefined));
    await bot.queue.idle();
    expect((await probe.service(unfenced)).forced_down).toBe(false);
    const auto = await until('the auto request', async () => {
      const all = await bot.deps.store.listByState('succeeded');
      return all.find((r) => r.host === fenced);
    });
    expect(auto.confirmation?.by).toMatch(/auto/);
    expect((await bot.deps.store.findOpen(CLOUD, unfenced, 'force-down'))?.state).toBe('pending');
    await until('the auto-mode note on the card', () => /auto mode/i.test(shown(auto.messageTs!)) || undefined);
  });

  it('a 200-host storm in one Alertmanager webhook: every host in grouped cards (a handful of messages), one request each, zero force-down calls; a 429 loses nothing', async () => {
    const { bot, proxy } = await startBot();
    const am = await startAlertmanager(`${bot.url}/alerts/alertmanager`);
    const hosts = Array.from({ length: 200 }, (_, i) => `rack9-node${String(i).padStart(3, '0')}`);
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });

    await am.send(hosts.map((host) => ({ host, alertname: 'RackPowerFeedDown' })));
    const requests = await until('200 requests', async () => {
      const all = await openRequests(bot);
      return all.length === 200 ? all : undefined;
    });
    expect(new Set(requests.map((r) => r.host))).toEqual(new Set(hosts));
    const expected = Math.ceil(200 / HOSTS_PER_MESSAGE);
    // Every host's row, in the messages as they are now (pages are updated as hosts join).
    const messages = await until('every host shown', async () => {
      await bot.queue.idle();
      const groups = new Set(requests.map((r) => r.group!));
      const ts: string[] = [];
      for (const g of groups) ts.push(...((await bot.deps.store.getGroup(g))?.messages ?? []));
      const text = ts.map(shown).join('\n');
      return hosts.every((h) => text.includes(h)) ? ts : undefined;
    });
    expect(cardMessages()).toHaveLength(messages.length);
    expect(messages).toHaveLength(expected);
    expect(slack.calls('chat.postMessage').some((c) => c.status === 429)).toBe(true);
    expect(proxy.nova.count('PUT', /os-services/)).toBe(0);
    // One service list for the card, not a lookup per host.
    expect(proxy.nova.count('GET', /os-services/)).toBeLessThanOrEqual(4);
  });
});

describe('Doctor, Grafana and generic webhooks into the local bot', () => {
  it('a Doctor monitor\'s PUT /events (as sample.py sends it), a signed Grafana webhook and a generic alert each post a card; a bad signature is refused', async () => {
    const { bot } = await startBotWith({
      doctor: { token: 'doctor-token-123456' },
      grafana: { token: 'grafana-token-123456', hmacSecret: 'grafana-hmac-123456' },
      generic: { token: 'generic-token-123456' },
    });
    const [h1, h2, h3] = [lab.hosts.alert[0]!, lab.hosts.alert[1]!, lab.hosts.alert[2]!];
    // Doctor: local time with microseconds and no offset, no id, the same monitor_event_id for every host.
    const doctorBody = JSON.stringify([{ time: '2026-11-25T15:04:05.123456', type: 'compute.host.down', details: { hostname: h1, status: 'down', monitor: 'DoctorSampleMonitor', monitor_event_id: 'monitor_sample_event1' } }]);
    const doctor = await fetch(`${bot.url}/events`, { method: 'PUT', headers: { 'content-type': 'application/json', 'X-Auth-Token': 'doctor-token-123456' }, body: doctorBody });
    expect(doctor.status).toBe(200);

    const grafanaBody = JSON.stringify({
      receiver: 'force-down', status: 'firing', orgId: 1, title: '[FIRING:1] HostDown', state: 'alerting', message: 'host down', version: '1',
      groupKey: '{}:{alertname="HostDown"}', truncatedAlerts: 0, externalURL: 'http://grafana.example/', groupLabels: {}, commonLabels: {}, commonAnnotations: {},
      alerts: [{ status: 'firing', labels: { alertname: 'HostDown', instance: `${h2}:9100` }, annotations: { summary: `${h2} down` }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://grafana.example/alerting/1', fingerprint: 'abc123', dashboardURL: '', panelURL: '', silenceURL: 'http://grafana.example/alerting/silence/new' }],
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const { createHmac } = await import('node:crypto');
    const sig = (secret: string) => createHmac('sha256', secret).update(`${ts}:${grafanaBody}`).digest('hex');
    const grafanaHeaders = (secret: string) => ({ 'content-type': 'application/json', authorization: 'Bearer grafana-token-123456', 'X-Grafana-Alerting-Signature': sig(secret), 'X-Grafana-Alerting-Signature-Timestamp': ts });
    expect((await fetch(`${bot.url}/alerts/grafana`, { method: 'POST', headers: grafanaHeaders('wrong-secret'), body: grafanaBody })).status).toBe(401);
    expect((await fetch(`${bot.url}/alerts/grafana`, { method: 'POST', headers: grafanaHeaders('grafana-hmac-123456'), body: grafanaBody })).status).toBe(200);

    const generic = await fetch(`${bot.url}/alerts/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer generic-token-123456' },
      body: JSON.stringify({ host: h3, status: 'firing', summary: 'PSU failure', id: 'zbx-42' }),
    });
    expect(generic.status).toBe(200);

    await bot.queue.idle();
    const open = await openRequests(bot);
    expect(open.map((r) => [r.host, r.origin.kind === 'alert' ? r.origin.source : ''])).toEqual(
      expect.arrayContaining([[h1, 'doctor'], [h2, 'grafana'], [h3, 'generic']]),
    );
    expect(open).toHaveLength(3);
    const text = cardMessages().map((c) => JSON.stringify(c.body.blocks)).join('\n') + [...new Set(open.map((r) => r.messageTs!))].map(shown).join('\n');
    for (const h of [h1, h2, h3]) expect(text).toContain(h);
  });
});

describe('the secret stays secret', () => {
  it('no token or signing secret in any log line or Slack message of this file', () => {
    const seen = [...logLines, ...slack.calls().map((c) => JSON.stringify(c.body))].join('\n');
    for (const secret of [AM_TOKEN, SIGNING_SECRET, lab.clouds.admin.auth.password]) expect(seen).not.toContain(secret);
  });
});

describe('real exporter labels (issue 15): hostPattern, IP addresses, cloudLabel (real Alertmanager, real Nova)', () => {
  /** node_exporter's `instance` only (no host label), the host before the first dot or colon, the cloud from `cloud`. */
  const NODE_EXPORTER = { token: AM_TOKEN, autoForceDown: false, hostLabels: ['instance'], hostPattern: '^([^.:]+)', cloudLabel: 'cloud' };
  const logged = (message: string, match: (entry: Record<string, unknown>) => boolean) =>
    logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.message === message && match(e));

  it('instance="alert3.dc1.example:9100" → alert3, forced down in Nova once confirmed; an IP address instance is ignored, no card, no request', async () => {
    const { bot, proxy } = await startBotWith({ alertmanager: NODE_EXPORTER });
    const am = await startAlertmanager(`${bot.url}/alerts/alertmanager`);
    const host = lab.hosts.alert[2]!; // alert3
    await am.send([
      { alertname: 'NodeDown', instance: `${host}.dc1.example:9100` },
      { alertname: 'NodeDown', instance: '10.0.0.5:9100' },
      { alertname: 'NodeDown', instance: '[2001:db8::1]:9100' },
    ]);
    const card = await until('the card', () => cardMessages().find((c) => JSON.stringify(c.body.blocks).includes(host)));
    await until('both IP addresses logged as ignored', () => {
      const v4 = logged('alert skipped', (e) => e.reason === 'ip-address' && String(e.detail).includes('10.0.0.5:9100'));
      const v6 = logged('alert skipped', (e) => e.reason === 'ip-address' && String(e.detail).includes('[2001:db8::1]:9100'));
      return v4 && v6 ? true : undefined;
    });
    await bot.queue.idle();
    const requests = await openRequests(bot);
    expect(requests.map((r) => [r.host, r.cloud])).toEqual([[host, CLOUD]]);
    // The card names the host as Nova has it (its Nova view was read), and nothing of the addresses.
    const text = JSON.stringify(card.body.blocks);
    expect(text).toContain("Nova's view");
    expect(text).not.toContain('HOST_NOT_FOUND');
    for (const c of cardMessages()) expect(JSON.stringify(c.body)).not.toMatch(/10\.0\.0\.5|2001:db8/);
    expect(cardMessages()).toHaveLength(1);
    expect(proxy.nova.count('PUT', /os-services/)).toBe(0);

    expect((await confirmRequest(bot.deps, { id: requests[0]!.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).kind).toBe('done');
    await bot.queue.idle();
    expect((await probe.service(host)).forced_down).toBe(true);
    expect(proxy.nova.count('PUT', /os-services/)).toBe(1);

    // The same body as Alertmanager's, posted by hand: the answer lists what it ignored, and why.
    const res = await fetch(`${bot.url}/alerts/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AM_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'NodeDown', instance: '10.0.0.5:9100' }, fingerprint: 'ip1' }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      opened: 0,
      skipped: 1,
      ignored: [{ reason: 'ip-address', detail: 'label instance: "10.0.0.5:9100" is an IP address, not a host name', fingerprint: 'ip1' }],
    });
    expect(await openRequests(bot)).toHaveLength(0);
  });

  it('cloud="lab2" routes to the second cloud (the same lab under another name): the card and the request name lab2; an unknown cloud gets a card that says so, with no Confirm', async () => {
    const { bot, proxy } = await startBotWith({ alertmanager: NODE_EXPORTER }, undefined, ['lab2']);
    const am = await startAlertmanager(`${bot.url}/alerts/alertmanager`);
    const [routed, unknown] = [lab.hosts.alert[3]!, lab.hosts.alert[0]!]; // alert4, alert1
    await am.send([
      { alertname: 'NodeDown', instance: `${routed}.dc2.example:9100`, labels: { cloud: 'lab2' } },
      { alertname: 'NodeLost', instance: `${unknown}.dc9.example:9100`, labels: { cloud: 'lab9' } },
    ]);
    const requests = await until('both requests', async () => {
      const all = await openRequests(bot);
      return all.length === 2 && all.every((r) => r.messageTs) ? all : undefined;
    });
    await bot.queue.idle();
    const byHost = Object.fromEntries(requests.map((r) => [r.host, r]));
    expect(byHost[routed]).toMatchObject({ cloud: 'lab2', state: 'pending' });
    expect(byHost[unknown]).toMatchObject({ cloud: 'lab9', state: 'pending' });

    const routedCard = shown(byHost[routed]!.messageTs!);
    expect(routedCard).toContain('lab2');
    expect(routedCard).toContain('confirm_fenced');
    const unknownCard = shown(byHost[unknown]!.messageTs!);
    expect(unknownCard).toContain('cloud lab9 is not configured in force-down');
    expect(unknownCard).not.toContain('confirm_fenced');
    expect(unknownCard).toContain('cancel_request');

    // A confirmation of the unknown cloud's request is refused; lab2's goes to Nova (the lab, through lab2's settings).
    expect(await confirmRequest(bot.deps, { id: byHost[unknown]!.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).toMatchObject({ kind: 'refused', refusal: 'UNKNOWN_CLOUD' });
    expect((await confirmRequest(bot.deps, { id: byHost[routed]!.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).kind).toBe('done');
    await bot.queue.idle();
    expect((await probe.service(routed)).forced_down).toBe(true);
    expect((await probe.service(unknown)).forced_down).toBe(false);
    expect(proxy.nova.count('PUT', /os-services/)).toBe(1);
    expect((await bot.deps.store.get(byHost[routed]!.id))).toMatchObject({ cloud: 'lab2', state: 'succeeded' });
  });
});
