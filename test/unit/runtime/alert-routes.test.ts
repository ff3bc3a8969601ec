// The webhook routes through the real router: authentication (401 with no
// detail), parsing (400 naming the field), and what reaches the use case.
import { describe, expect, it } from 'vitest';
import type { AlertReceipt } from '../../../src/app/alerts.js';
import { signGrafanaBody } from '../../../src/alerts/auth.js';
import type { AlertSource, HostAlert } from '../../../src/alerts/types.js';
import type { AlertSourceConfig } from '../../../src/runtime/alert-routes.js';
import type { HttpRequest } from '../../../src/runtime/http.js';
import { createRouter } from '../../../src/runtime/router.js';
import { aDoctorEvent, aGenericAlert, aGrafanaWebhook, anAmAlert, anAmWebhook } from '../alerts/builders.js';

const TOKEN = 'am-token-0123456789abcdef';
const HMAC = 'grafana-hmac-secret-xyz';
const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);

function setup(configs: Partial<Record<AlertSource, AlertSourceConfig>> = {}, receipt: Partial<AlertReceipt> = {}) {
  const received: { source: AlertSource; alerts: readonly HostAlert[] }[] = [];
  const logs: string[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push(JSON.stringify({ level, message, ...data }));
  const route = createRouter({
    slack: async () => {
      throw new Error('not used');
    },
    alerts: async () => ({
      source: (name) => configs[name],
      receive: async (source, alerts) => {
        received.push({ source, alerts });
        return { opened: alerts.length, repeats: 0, resolved: 0, recoveryChecks: 0, auto: 0, failed: 0, ...receipt };
      },
    }),
    now: () => NOW,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  return { route, received, logs };
}

const am = { token: TOKEN, autoForceDown: false };
const post = (path: string, body: unknown, headers: Record<string, string> = {}, method = 'POST'): HttpRequest => ({
  method,
  path,
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const bearer = (t = TOKEN) => ({ authorization: `Bearer ${t}` });

describe('POST /alerts/{source}, PUT /events', () => {
  it('an Alertmanager webhook with the bearer token: 200, the host alerts reach the use case', async () => {
    const t = setup({ alertmanager: am });
    const res = await t.route(post('/alerts/alertmanager', anAmWebhook([anAmAlert({}, { host: 'compute7' })]), bearer()));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'accepted', opened: 1 });
    expect(t.received).toHaveLength(1);
    expect(t.received[0]!.alerts[0]).toMatchObject({ source: 'alertmanager', host: 'compute7', status: 'firing' });
  });

  it('basic auth (any user, the token as password) is accepted as Alertmanager and Grafana offer it', async () => {
    const t = setup({ alertmanager: am });
    const basic = `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}`;
    expect((await t.route(post('/alerts/alertmanager', anAmWebhook(), { authorization: basic }))).status).toBe(200);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', bearer('nope')],
    ['a token of another scheme', { authorization: `Token ${TOKEN}` }],
  ])('%s → 401, no detail, nothing recorded', async (_name, headers) => {
    const t = setup({ alertmanager: am });
    const res = await t.route(post('/alerts/alertmanager', anAmWebhook(), headers));
    expect(res).toMatchObject({ status: 401, body: '' });
    expect(t.received).toEqual([]);
    expect(t.logs.join('\n')).not.toContain(TOKEN);
  });

  it('an unknown source, or a source the secret document does not configure → 401 (no detail either)', async () => {
    const t = setup({ alertmanager: am });
    expect((await t.route(post('/alerts/zabbix', aGenericAlert(), bearer()))).status).toBe(401);
    expect((await t.route(post('/alerts/generic', aGenericAlert(), bearer()))).status).toBe(401);
    expect(t.received).toEqual([]);
  });

  it('malformed JSON and a body of the wrong shape → 400 naming the field; nothing recorded', async () => {
    const t = setup({ alertmanager: am });
    const bad = await t.route(post('/alerts/alertmanager', '{"version": "4", ', bearer()));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/JSON/);
    const wrong = await t.route(post('/alerts/alertmanager', anAmWebhook([anAmAlert({ status: 'burning' })], { status: 'firing' }), bearer()));
    expect(wrong.status).toBe(400);
    expect(JSON.parse(wrong.body).error).toMatch(/alerts\.0\.status/);
    expect(t.received).toEqual([]);
  });

  it('a resolved notification gets a 2xx too (Alertmanager logs a 4xx to it as a failure)', async () => {
    const t = setup({ alertmanager: am });
    const res = await t.route(post('/alerts/alertmanager', anAmWebhook([anAmAlert({ status: 'resolved', endsAt: '2026-11-25T13:59:00Z' })], { status: 'resolved' }), bearer()));
    expect(res.status).toBe(200);
  });

  it('5xx only when nothing was recorded (so Alertmanager retries exactly the lost deliveries)', async () => {
    const lost = setup({ alertmanager: am }, { opened: 0, failed: 1 });
    expect((await lost.route(post('/alerts/alertmanager', anAmWebhook(), bearer()))).status).toBe(503);
    const partial = setup({ alertmanager: am }, { opened: 1, failed: 1 });
    expect((await partial.route(post('/alerts/alertmanager', anAmWebhook(), bearer()))).status).toBe(200);
  });

  it('Grafana with an HMAC secret: a good signature (with its timestamp) is accepted, a bad or missing one is 401', async () => {
    const t = setup({ grafana: { token: TOKEN, autoForceDown: false, hmacSecret: HMAC } });
    const body = JSON.stringify(aGrafanaWebhook());
    const ts = String(Math.floor(NOW / 1000));
    const good = { ...bearer(), 'x-grafana-alerting-signature': signGrafanaBody(HMAC, body, ts), 'x-grafana-alerting-signature-timestamp': ts };
    expect((await t.route(post('/alerts/grafana', body, good))).status).toBe(200);
    const forged = { ...good, 'x-grafana-alerting-signature': signGrafanaBody('not-the-secret', body, ts) };
    expect((await t.route(post('/alerts/grafana', body, forged))).status).toBe(401);
    const replayed = { ...good, 'x-grafana-alerting-signature-timestamp': String(Number(ts) - 3600) };
    expect((await t.route(post('/alerts/grafana', body, replayed))).status).toBe(401);
    expect((await t.route(post('/alerts/grafana', body, bearer()))).status).toBe(401);
    expect(t.received).toHaveLength(1);
  });

  it('Doctor: PUT /events as the sample monitor sends it (a list, X-Auth-Token), POST there is 405', async () => {
    const t = setup({ doctor: { token: TOKEN, autoForceDown: false } });
    const body = [aDoctorEvent('compute3')];
    const res = await t.route(post('/events', body, { 'x-auth-token': TOKEN }, 'PUT'));
    expect(res.status).toBe(200);
    expect(t.received[0]!.alerts[0]).toMatchObject({ source: 'doctor', host: 'compute3', status: 'firing' });
    expect((await t.route(post('/events', body, { 'x-auth-token': TOKEN }, 'POST'))).status).toBe(405);
    expect((await t.route(post('/events', body, {}, 'PUT'))).status).toBe(401);
  });

  it('X-Auth-Token is Doctor\'s header only: other sources want Authorization', async () => {
    const t = setup({ alertmanager: am });
    expect((await t.route(post('/alerts/alertmanager', anAmWebhook(), { 'x-auth-token': TOKEN }))).status).toBe(401);
  });

  it('an alert without a host is acknowledged (200) and logged, not an error', async () => {
    const t = setup({ alertmanager: am });
    const hostless = { ...anAmAlert(), labels: { alertname: 'DiskFull', job: 'node' } };
    const res = await t.route(post('/alerts/alertmanager', anAmWebhook([hostless, anAmAlert({}, { host: 'compute2' })]), bearer()));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ skipped: 1, opened: 1 });
    expect(t.received[0]!.alerts.map((a) => a.host)).toEqual(['compute2']);
    expect(t.logs.some((l) => l.includes('alert skipped') && l.includes('no-host'))).toBe(true);
  });

  it('hostPattern and IP addresses: the answer lists each ignored alert with why; only the matched host reaches the use case', async () => {
    const t = setup({ alertmanager: { ...am, hostPattern: '^([^.:]+)', cloudLabel: 'cloud' } });
    const body = anAmWebhook([
      anAmAlert({ fingerprint: 'fqdn' }, { instance: 'compute1.dc1.example:9100', cloud: 'lab2' }),
      anAmAlert({ fingerprint: 'v4' }, { instance: '10.0.0.5:9100' }),
      anAmAlert({ fingerprint: 'v6' }, { instance: '[2001:db8::1]:9100' }),
      anAmAlert({ fingerprint: 'miss' }, { instance: ':9100' }),
    ]);
    const res = await t.route(post('/alerts/alertmanager', body, bearer()));
    expect(res.status).toBe(200);
    const answer = JSON.parse(res.body);
    expect(answer).toMatchObject({ opened: 1, skipped: 3 });
    expect(answer.ignored).toEqual([
      { reason: 'ip-address', detail: 'label instance: "10.0.0.5:9100" is an IP address, not a host name', alertName: 'NovaComputeHostDown', fingerprint: 'v4' },
      { reason: 'ip-address', detail: 'label instance: "[2001:db8::1]:9100" is an IP address, not a host name', alertName: 'NovaComputeHostDown', fingerprint: 'v6' },
      { reason: 'host-pattern', detail: 'label instance: ":9100" does not match hostPattern', alertName: 'NovaComputeHostDown', fingerprint: 'miss' },
    ]);
    expect(t.received[0]!.alerts).toEqual([expect.objectContaining({ host: 'compute1', cloud: 'lab2', fingerprint: 'fqdn' })]);
  });

  it('a body of only IP addresses opens nothing: the use case gets no alert', async () => {
    const t = setup({ generic: { token: TOKEN, autoForceDown: false } });
    const res = await t.route(post('/alerts/generic', [aGenericAlert({ host: '10.0.0.5' }), aGenericAlert({ host: 'fe80::1' })], bearer()));
    expect(JSON.parse(res.body)).toMatchObject({ skipped: 2, ignored: [{ reason: 'ip-address' }, { reason: 'ip-address' }] });
    expect(t.received.flatMap((r) => r.alerts)).toEqual([]);
  });

  it('lists at most 100 ignored alerts; skipped counts them all', async () => {
    const t = setup({ alertmanager: am });
    const many = Array.from({ length: 150 }, (_, i) => anAmAlert({ fingerprint: `f${i}` }, { instance: `10.0.${Math.floor(i / 250)}.${i % 250}:9100` }));
    const answer = JSON.parse((await t.route(post('/alerts/alertmanager', anAmWebhook(many), bearer()))).body);
    expect(answer.skipped).toBe(150);
    expect(answer.ignored).toHaveLength(100);
  });
});
