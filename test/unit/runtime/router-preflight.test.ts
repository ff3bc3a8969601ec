// Routing before reading (issue #11, 2): what the router decides from a request's head alone, and
// the per-route body limits, the same behind API Gateway (whole bodies) as behind the local server.
import { describe, expect, it } from 'vitest';
import type { AlertSource } from '../../../src/alerts/types.js';
import type { AlertSourceConfig } from '../../../src/runtime/alert-routes.js';
import type { RequestHead } from '../../../src/runtime/http.js';
import { BODY_LIMITS, createRouter } from '../../../src/runtime/router.js';
import { signSlackRequest } from '../../fakes/slack-signature.js';

const TOKEN = 'am-token-0123456789abcdef';
const SIGNING = 'preflight-signing-secret';
const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);
const ts = String(Math.floor(NOW / 1000));

function setup(configs: Partial<Record<AlertSource, AlertSourceConfig>> = { alertmanager: { token: TOKEN, autoForceDown: false } }) {
  const logs: Record<string, unknown>[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push({ level, message, ...data });
  const handled: string[] = [];
  const router = createRouter({
    slack: async () => ({
      signingSecret: SIGNING,
      bot: {
        handle: async (e: { body: string }) => (handled.push(e.body), { statusCode: 200, body: '' }),
      } as never,
    }),
    alerts: async () => ({
      source: (name) => configs[name],
      receive: async (_source, alerts) => {
        handled.push(`${alerts.length} alerts`);
        return { opened: alerts.length, repeats: 0, resolved: 0, recoveryChecks: 0, auto: 0, failed: 0 };
      },
    }),
    now: () => NOW,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  return { router, logs, handled };
}

const h = (method: string, path: string, headers: Record<string, string> = {}): RequestHead => ({ method, path, headers });
const slackHeaders = (body: string, at = ts) => ({
  'content-type': 'application/x-www-form-urlencoded',
  'x-slack-request-timestamp': at,
  'x-slack-signature': signSlackRequest(SIGNING, body, at),
});

describe('the router before the body', () => {
  it.each([
    ['POST', '/nope', 404],
    ['GET', '/', 404],
    ['POST', '/healthz', 404],
    ['GET', '/slack/events', 405],
    ['GET', '/alerts/alertmanager', 405],
    ['POST', '/events', 405],
    ['POST', '/alerts', 404],
  ])('%s %s → %i without reading the body', async (method, path, status) => {
    const t = setup();
    const pre = await t.router.preflight(h(method, path));
    expect(pre).toMatchObject({ read: false, answer: { status } });
  });

  it('an alert webhook without its source\'s token, or for a source that is not configured: 401 from the head alone, logged as the webhook logs it', async () => {
    const t = setup();
    for (const [path, headers, reason] of [
      ['/alerts/alertmanager', {}, 'missing'],
      ['/alerts/alertmanager', { authorization: 'Bearer wrong' }, 'bad-token'],
      ['/alerts/grafana', { authorization: `Bearer ${TOKEN}` }, 'not-configured'],
      ['/alerts/zabbix', { authorization: `Bearer ${TOKEN}` }, 'unknown-source'],
    ] as const) {
      expect(await t.router.preflight(h('POST', path, headers)), path).toMatchObject({ read: false, answer: { status: 401, body: '' } });
      expect(t.logs.at(-1)).toMatchObject({ level: 'warn', message: 'alert webhook rejected', reason });
    }
    expect(t.handled).toEqual([]);
  });

  it('an alert webhook with its token may send up to 1 MiB', async () => {
    const t = setup();
    expect(await t.router.preflight(h('POST', '/alerts/alertmanager', { authorization: `Bearer ${TOKEN}` }))).toEqual({ read: true, maxBodyBytes: 1024 * 1024 });
    expect(BODY_LIMITS.alerts).toBe(1024 * 1024);
  });

  it('a Slack request whose signature headers are missing, malformed, stale or future-dated: 401 before the body; one that may be genuine may send up to 512 KiB', async () => {
    const t = setup();
    const stale = String(Math.floor(NOW / 1000) - 301);
    const future = String(Math.floor(NOW / 1000) + 301);
    for (const [headers, reason] of [
      [{}, 'missing-headers'],
      [{ 'x-slack-request-timestamp': 'soon', 'x-slack-signature': 'v0=00' }, 'malformed'],
      [slackHeaders('x', stale), 'stale'],
      [slackHeaders('x', future), 'future'],
    ] as const) {
      expect(await t.router.preflight(h('POST', '/slack/events', headers))).toMatchObject({ read: false, answer: { status: 401, body: '' } });
      expect(t.logs.at(-1)).toMatchObject({ message: 'slack request rejected', reason });
    }
    // Fresh headers: only the body can tell whether the signature is right.
    expect(await t.router.preflight(h('POST', '/slack/events', slackHeaders('command=%2Fforce-down')))).toEqual({ read: true, maxBodyBytes: 512 * 1024 });
    expect(await t.router.preflight(h('GET', '/healthz'))).toEqual({ read: true, maxBodyBytes: 0 });
  });

  it('whole bodies (Lambda) get the same limits: 413 over the route\'s limit, nothing handled', async () => {
    const t = setup();
    const big = `command=%2Fforce-down&text=${'a'.repeat(BODY_LIMITS.slack)}`;
    const res = await t.router({ method: 'POST', path: '/slack/events', headers: slackHeaders(big), body: big });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ error: `request body too large: at most ${BODY_LIMITS.slack} bytes here` });
    const alerts = JSON.stringify({ alerts: [], pad: 'p'.repeat(BODY_LIMITS.alerts) });
    expect((await t.router({ method: 'POST', path: '/alerts/alertmanager', headers: { authorization: `Bearer ${TOKEN}` }, body: alerts })).status).toBe(413);
    expect((await t.router({ method: 'GET', path: '/healthz', headers: {}, body: 'x' })).status).toBe(413);
    expect((await t.router({ method: 'GET', path: '/healthz', headers: {}, body: '' })).status).toBe(200);
    expect(t.handled).toEqual([]);
  });
});
