// PagerDuty v3 webhooks (issue 15): the signature (X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw
// body>, several during a rotation), the parser (incident.triggered opens, incident.resolved resolves, other
// event types are acknowledged and ignored; the host from hostField or hostPattern on the title), the route
// through the real router, and the secret document's `alerts.pagerduty`.
import { describe, expect, it } from 'vitest';
import type { AlertReceipt } from '../../../src/app/alerts.js';
import { pagerDutySignatures, parsePagerDuty, signPagerDutyBody, verifyPagerDutySignature, fieldValue } from '../../../src/alerts/pagerduty.js';
import { alertOptions, type AlertSource, type HostAlert } from '../../../src/alerts/types.js';
import { secretDocumentSchema } from '../../../src/config/schema.js';
import type { AlertSourceConfig } from '../../../src/runtime/alert-routes.js';
import { createRouter } from '../../../src/runtime/router.js';

const SECRET = 'pd-signing-Secret-0a1b2c3d4e5f';
const OLD_SECRET = 'pd-signing-Secret-old-9z8y7x';

type Json = Record<string, unknown>;

/** An incident as PagerDuty's v3 webhook sends it in `event.data`. */
export function anIncident(overrides: Json = {}): Json {
  return {
    id: 'Q1ABCDEF2GHIJK',
    type: 'incident',
    self: 'https://api.pagerduty.com/incidents/Q1ABCDEF2GHIJK',
    html_url: 'https://acme.pagerduty.com/incidents/Q1ABCDEF2GHIJK',
    number: 4711,
    status: 'triggered',
    incident_key: '6a2f3c1e9b8d4f7a',
    created_at: '2026-11-25T14:03:10Z',
    title: 'NovaComputeDown on compute1.dc1.example',
    service: { html_url: 'https://acme.pagerduty.com/services/PSVC123', id: 'PSVC123', self: 'https://api.pagerduty.com/services/PSVC123', summary: 'OpenStack compute', type: 'service_reference' },
    assignees: [],
    escalation_policy: { id: 'PEP1', type: 'escalation_policy_reference', summary: 'Ops' },
    teams: [],
    priority: null,
    urgency: 'high',
    conference_bridge: null,
    resolve_reason: null,
    ...overrides,
  };
}

/** The v3 envelope around one event. */
export function aPagerDutyEvent(eventType = 'incident.triggered', data: Json = anIncident(), overrides: Json = {}): Json {
  return {
    event: {
      id: '01DEN3WK5G4QXJ8ZY0ZJ1B2C3D',
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: '2026-11-25T14:03:11.123Z',
      agent: { html_url: 'https://acme.pagerduty.com/users/PUSER1', id: 'PUSER1', summary: 'Oncall', type: 'user_reference' },
      client: null,
      data,
      ...overrides,
    },
  };
}

const TITLE_PATTERN = /on ([^.\s]+)/;
const options = (extra: { hostField?: string; hostPattern?: RegExp } = {}) => ({ ...alertOptions(extra.hostPattern ? { hostPattern: extra.hostPattern } : {}), ...(extra.hostField ? { hostField: extra.hostField } : {}) });

describe('X-PagerDuty-Signature', () => {
  const body = JSON.stringify(aPagerDutyEvent());

  it('accepts the v1 HMAC-SHA256 of the raw body; hex in either case', () => {
    const sig = signPagerDutyBody(SECRET, body);
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifyPagerDutySignature({ body, signature: sig, secrets: SECRET })).toEqual({ ok: true });
    expect(verifyPagerDutySignature({ body, signature: `v1=${sig.slice(3).toUpperCase()}`, secrets: SECRET })).toEqual({ ok: true });
  });

  it('several values (PagerDuty rotating its secret): any one valid accepts, in any position', () => {
    const good = signPagerDutyBody(SECRET, body);
    const bad = signPagerDutyBody(OLD_SECRET, body);
    expect(verifyPagerDutySignature({ body, signature: `${bad},${good}`, secrets: SECRET })).toEqual({ ok: true });
    expect(verifyPagerDutySignature({ body, signature: `${good}, ${bad}`, secrets: SECRET })).toEqual({ ok: true });
    expect(verifyPagerDutySignature({ body, signature: `${bad},${bad}`, secrets: SECRET })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('several secrets (ours rotating): a body signed with any one of them is accepted', () => {
    expect(verifyPagerDutySignature({ body, signature: signPagerDutyBody(OLD_SECRET, body), secrets: [SECRET, OLD_SECRET] })).toEqual({ ok: true });
    expect(verifyPagerDutySignature({ body, signature: signPagerDutyBody('another', body), secrets: [SECRET, OLD_SECRET] }).ok).toBe(false);
  });

  it('a forged, truncated or stale one (the body changed after signing) is a bad signature', () => {
    const sig = signPagerDutyBody(SECRET, body);
    expect(verifyPagerDutySignature({ body, signature: signPagerDutyBody('not-it', body), secrets: SECRET })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyPagerDutySignature({ body: body.replace('compute1', 'compute2'), signature: sig, secrets: SECRET })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyPagerDutySignature({ body: `${body} `, signature: sig, secrets: SECRET })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyPagerDutySignature({ body, signature: sig.slice(0, -1), secrets: SECRET })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('missing, garbled, or only other versions: refused; an unknown version next to a valid v1 is skipped', () => {
    const sig = signPagerDutyBody(SECRET, body);
    expect(pagerDutySignatures(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(pagerDutySignatures('  ')).toEqual({ ok: false, reason: 'missing' });
    for (const garbled of [sig.slice(3), `sha256=${sig.slice(3)}`, `v1:${sig.slice(3)}`, `v1 = ${sig.slice(3)}`, 'v1=', `${sig};${sig}`, 'v2=abc', `${sig},`]) {
      expect(verifyPagerDutySignature({ body, signature: garbled, secrets: SECRET }).ok, garbled).toBe(false);
    }
    expect(verifyPagerDutySignature({ body, signature: `v2=${'0'.repeat(64)},${sig}`, secrets: SECRET })).toEqual({ ok: true });
    expect(pagerDutySignatures(Array.from({ length: 17 }, () => sig).join(','))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('no secret configured accepts nothing', () => {
    expect(verifyPagerDutySignature({ body, signature: signPagerDutyBody('', body), secrets: '' })).toEqual({ ok: false, reason: 'not-configured' });
    expect(verifyPagerDutySignature({ body, signature: signPagerDutyBody('', body), secrets: [] })).toEqual({ ok: false, reason: 'not-configured' });
  });
});

describe('parsePagerDuty', () => {
  it('incident.triggered: one firing alert, the incident id as fingerprint, its page as link, the title as summary', () => {
    const r = parsePagerDuty(aPagerDutyEvent(), options({ hostPattern: TITLE_PATTERN }));
    expect(r).toEqual({
      ok: true,
      skipped: [],
      alerts: [
        {
          source: 'pagerduty',
          host: 'compute1',
          status: 'firing',
          fingerprint: 'pagerduty:Q1ABCDEF2GHIJK',
          alertName: 'OpenStack compute',
          summary: 'NovaComputeDown on compute1.dc1.example',
          link: 'https://acme.pagerduty.com/incidents/Q1ABCDEF2GHIJK',
          startsAt: '2026-11-25T14:03:10.000Z',
          fencedEvidence: false,
        },
      ],
    });
  });

  it('incident.resolved: the same host and fingerprint, resolved', () => {
    const r = parsePagerDuty(aPagerDutyEvent('incident.resolved', anIncident({ status: 'resolved' })), options({ hostPattern: TITLE_PATTERN }));
    expect(r.ok && r.alerts).toEqual([expect.objectContaining({ host: 'compute1', status: 'resolved', fingerprint: 'pagerduty:Q1ABCDEF2GHIJK' })]);
  });

  it('any other event type is acknowledged and ignored, whatever its data', () => {
    for (const type of ['incident.acknowledged', 'incident.annotated', 'incident.reopened', 'incident.priority_updated', 'pagey.ping', 'service.created']) {
      const r = parsePagerDuty(aPagerDutyEvent(type, { anything: [1, 2] }), options({ hostPattern: TITLE_PATTERN }));
      expect(r, type).toEqual({ ok: true, alerts: [], skipped: [{ reason: 'unsupported-event', detail: expect.stringContaining(type) }] });
    }
  });

  it('hostField: a custom field as PagerDuty lists them, a plain object, or any dotted path; it wins over the title', () => {
    const listed = anIncident({ custom_fields: [{ name: 'region', value: 'dc1' }, { name: 'host', value: 'compute9', type: 'field_value' }] });
    expect(parsePagerDuty(aPagerDutyEvent('incident.triggered', listed), options({ hostField: 'custom_fields.host', hostPattern: TITLE_PATTERN })))
      .toMatchObject({ ok: true, alerts: [{ host: 'compute9' }] });
    const plain = anIncident({ custom_fields: { host: 'compute8:9100' } });
    expect(parsePagerDuty(aPagerDutyEvent('incident.triggered', plain), options({ hostField: 'custom_fields.host' }))).toMatchObject({ ok: true, alerts: [{ host: 'compute8' }] });
    expect(parsePagerDuty(aPagerDutyEvent('incident.triggered', anIncident({ incident_key: 'compute7' })), options({ hostField: 'incident_key' }))).toMatchObject({ ok: true, alerts: [{ host: 'compute7' }] });
    // Absent: the title pattern, when configured, else no host.
    expect(parsePagerDuty(aPagerDutyEvent(), options({ hostField: 'custom_fields.host', hostPattern: TITLE_PATTERN }))).toMatchObject({ ok: true, alerts: [{ host: 'compute1' }] });
    expect(parsePagerDuty(aPagerDutyEvent(), options({ hostField: 'custom_fields.host' }))).toMatchObject({ ok: true, alerts: [], skipped: [{ reason: 'no-host' }] });
  });

  it('fieldValue never reads inherited properties', () => {
    expect(fieldValue({ a: {} }, 'a.constructor')).toBeUndefined();
    expect(fieldValue({ a: {} }, 'a.toString')).toBeUndefined();
    expect(fieldValue({ a: [{ name: 'x', value: { y: 'z' } }] }, 'a.x.y')).toBe('z');
  });

  it('an IP address is never a host (field or title); a title the pattern does not match names none', () => {
    for (const ip of ['10.0.0.5', '10.0.0.5:9100', '[2001:db8::1]:9100', 'fe80::1']) {
      const r = parsePagerDuty(aPagerDutyEvent('incident.triggered', anIncident({ custom_fields: { host: ip } })), options({ hostField: 'custom_fields.host' }));
      expect(r, ip).toMatchObject({ ok: true, alerts: [], skipped: [{ reason: 'ip-address', fingerprint: 'pagerduty:Q1ABCDEF2GHIJK' }] });
    }
    const byTitle = parsePagerDuty(aPagerDutyEvent('incident.triggered', anIncident({ title: 'Down on 10.1.2.3' })), options({ hostPattern: /on (\S+)/ }));
    expect(byTitle).toMatchObject({ ok: true, alerts: [], skipped: [{ reason: 'ip-address' }] });
    const noMatch = parsePagerDuty(aPagerDutyEvent('incident.triggered', anIncident({ title: 'Disk full' })), options({ hostPattern: TITLE_PATTERN }));
    expect(noMatch).toMatchObject({ ok: true, alerts: [], skipped: [{ reason: 'host-pattern' }] });
    const bad = parsePagerDuty(aPagerDutyEvent('incident.triggered', anIncident({ custom_fields: { host: 'compute 1/../x' } })), options({ hostField: 'custom_fields.host' }));
    expect(bad).toMatchObject({ ok: true, alerts: [], skipped: [{ reason: 'bad-host' }] });
  });

  it('cloudLabel is a dotted path into the incident too: its value names the cloud; absent, the default cloud; not a cloud name, ignored', () => {
    const withCloud = (value: unknown) => aPagerDutyEvent('incident.triggered', anIncident({ custom_fields: [{ name: 'cloud', value }] }));
    const opts = { ...alertOptions({ hostPattern: TITLE_PATTERN, cloudLabel: 'custom_fields.cloud' }) };
    expect(parsePagerDuty(withCloud('dc2'), opts)).toMatchObject({ ok: true, alerts: [{ host: 'compute1', cloud: 'dc2' }] });
    const absent = parsePagerDuty(aPagerDutyEvent(), opts);
    expect(absent.ok && absent.alerts[0]!.cloud).toBeUndefined();
    expect(parsePagerDuty(withCloud('no such/cloud'), opts)).toMatchObject({ ok: true, alerts: [], skipped: [{ reason: 'bad-cloud', fingerprint: 'pagerduty:Q1ABCDEF2GHIJK' }] });
  });

  it('only an http(s) link is kept', () => {
    const r = parsePagerDuty(aPagerDutyEvent('incident.triggered', anIncident({ html_url: 'javascript:alert(1)' })), options({ hostPattern: TITLE_PATTERN }));
    expect(r.ok && r.alerts[0]!.link).toBeUndefined();
  });

  it('a malformed envelope or incident: an error naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /^body: /],
      [[], /^body: /],
      [{}, /^event: /],
      [{ event: { event_type: 'incident.triggered', data: anIncident() } }, /^event\.id: /],
      [aPagerDutyEvent('incident.triggered', anIncident({ id: 42 })), /^event\.data\.id: /],
      [aPagerDutyEvent('incident.triggered', anIncident({ id: undefined })), /^event\.data\.id: /],
      [aPagerDutyEvent('incident.triggered', anIncident({ title: ['x'] })), /^event\.data\.title: /],
      [aPagerDutyEvent('incident.triggered', anIncident({ created_at: 'yesterday' })), /^event\.data\.created_at: /],
      [aPagerDutyEvent('incident.resolved', 'not an incident' as never), /^event\.data: /],
      [aPagerDutyEvent(''), /^event\.event_type: /],
    ];
    for (const [body, error] of cases) {
      const r = parsePagerDuty(body, options({ hostPattern: TITLE_PATTERN }));
      expect(r.ok, JSON.stringify(body)).toBe(false);
      expect(!r.ok && r.error).toMatch(error);
    }
  });
});

describe('POST /alerts/pagerduty', () => {
  const NOW = Date.UTC(2026, 10, 25, 14, 5, 0);
  function setup(config: AlertSourceConfig | undefined) {
    const received: { source: AlertSource; alerts: readonly HostAlert[] }[] = [];
    const logs: string[] = [];
    const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push(JSON.stringify({ level, message, ...data }));
    const route = createRouter({
      slack: async () => {
        throw new Error('not used');
      },
      alerts: async () => ({
        source: (name) => (name === 'pagerduty' ? config : undefined),
        receive: async (source, alerts): Promise<AlertReceipt> => {
          received.push({ source, alerts });
          return { opened: alerts.filter((a) => a.status === 'firing').length, repeats: 0, resolved: alerts.filter((a) => a.status === 'resolved').length, recoveryChecks: 0, auto: 0, failed: 0 };
        },
      }),
      now: () => NOW,
      log: { info: log('info'), warn: log('warn'), error: log('error') },
    });
    return { route, received, logs };
  }
  const pd: AlertSourceConfig = { autoForceDown: false, signingSecret: [SECRET, OLD_SECRET], hostPattern: 'on ([^.\\s]+)' };
  const post = (body: string, headers: Record<string, string>) => ({ method: 'POST', path: '/alerts/pagerduty', headers: { 'content-type': 'application/json', ...headers }, body });

  it('signed: 200, the alert reaches the use case; forged, stale, missing or garbled: 401 with an empty body, the reason only in the log', async () => {
    const t = setup(pd);
    const body = JSON.stringify(aPagerDutyEvent());
    const good = await t.route(post(body, { 'x-pagerduty-signature': signPagerDutyBody(SECRET, body) }));
    expect(good.status).toBe(200);
    expect(JSON.parse(good.body)).toMatchObject({ status: 'accepted', opened: 1, skipped: 0 });
    expect(t.received).toEqual([{ source: 'pagerduty', alerts: [expect.objectContaining({ host: 'compute1', status: 'firing' })] }]);
    const rotated = await t.route(post(body, { 'X-PagerDuty-Signature': `${signPagerDutyBody('gone', body)},${signPagerDutyBody(OLD_SECRET, body)}` }));
    expect(rotated.status).toBe(200);

    const refusals = [
      post(body, { 'x-pagerduty-signature': signPagerDutyBody('guess', body) }),
      post(body.replace('compute1', 'compute2'), { 'x-pagerduty-signature': signPagerDutyBody(SECRET, body) }),
      post(body, {}),
      post(body, { 'x-pagerduty-signature': 'v1=zz' }),
      post(body, { 'x-pagerduty-signature': signPagerDutyBody(SECRET, body).slice(3) }),
      // A bearer token is no substitute for the signature.
      post(body, { authorization: `Bearer ${SECRET}` }),
    ];
    for (const req of refusals) {
      const res = await t.route(req);
      expect(res).toMatchObject({ status: 401, body: '' });
    }
    expect(t.received).toHaveLength(2);
    const reasons = t.logs.map((l) => JSON.parse(l) as { reason?: string }).map((l) => l.reason).filter(Boolean);
    expect(reasons).toEqual(['signature-bad-signature', 'signature-bad-signature', 'signature-missing', 'signature-malformed', 'signature-malformed', 'signature-missing']);
    for (const line of t.logs) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(OLD_SECRET);
    }
  });

  it('a missing or garbled signature is refused from the head alone, before the body is read', async () => {
    const t = setup(pd);
    const pre = await t.route.preflight({ method: 'POST', path: '/alerts/pagerduty', headers: {} });
    expect(pre).toMatchObject({ read: false, answer: { status: 401 } });
    const garbled = await t.route.preflight({ method: 'POST', path: '/alerts/pagerduty', headers: { 'x-pagerduty-signature': 'sha256=abc' } });
    expect(garbled).toMatchObject({ read: false, answer: { status: 401 } });
    const wellFormed = await t.route.preflight({ method: 'POST', path: '/alerts/pagerduty', headers: { 'x-pagerduty-signature': `v1=${'ab'.repeat(32)}` } });
    expect(wellFormed).toMatchObject({ read: true });
    expect(await t.route.preflight({ method: 'GET', path: '/alerts/pagerduty', headers: {} })).toMatchObject({ read: false, answer: { status: 405 } });
  });

  it('not configured: 401 even with a valid-looking signature', async () => {
    const t = setup(undefined);
    const body = JSON.stringify(aPagerDutyEvent());
    expect((await t.route(post(body, { 'x-pagerduty-signature': signPagerDutyBody(SECRET, body) }))).status).toBe(401);
  });

  it('with a token configured (a custom header on the subscription), both the token and the signature are required', async () => {
    const t = setup({ ...pd, token: 'pd-custom-header-token-123' });
    const body = JSON.stringify(aPagerDutyEvent());
    const sig = { 'x-pagerduty-signature': signPagerDutyBody(SECRET, body) };
    expect((await t.route(post(body, sig))).status).toBe(401);
    expect((await t.route(post(body, { ...sig, authorization: 'Bearer pd-custom-header-token-123' }))).status).toBe(200);
    expect((await t.route(post(body, { 'x-pagerduty-signature': signPagerDutyBody('x', body), authorization: 'Bearer pd-custom-header-token-123' }))).status).toBe(401);
  });

  it('signed but not JSON, or not the v3 shape: 400 naming the field; other event types: 200, ignored with the reason, nothing received', async () => {
    const t = setup(pd);
    const send = (body: string) => t.route(post(body, { 'x-pagerduty-signature': signPagerDutyBody(SECRET, body) }));
    expect(await send('{"event":')).toMatchObject({ status: 400 });
    const bad = await send(JSON.stringify(aPagerDutyEvent('incident.triggered', anIncident({ id: 7 }))));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/^event\.data\.id: /);
    const acked = await send(JSON.stringify(aPagerDutyEvent('incident.acknowledged')));
    expect(acked.status).toBe(200);
    expect(JSON.parse(acked.body)).toMatchObject({ status: 'accepted', opened: 0, skipped: 1, ignored: [{ reason: 'unsupported-event' }] });
    expect(t.received.every((r) => r.alerts.length === 0)).toBe(true);
  });

  it('hostField from the configuration reaches the parser', async () => {
    const t = setup({ autoForceDown: false, signingSecret: SECRET, hostField: 'custom_fields.host' });
    const body = JSON.stringify(aPagerDutyEvent('incident.triggered', anIncident({ custom_fields: [{ name: 'host', value: 'compute5' }] })));
    expect((await t.route(post(body, { 'x-pagerduty-signature': signPagerDutyBody(SECRET, body) }))).status).toBe(200);
    expect(t.received[0]!.alerts[0]).toMatchObject({ host: 'compute5' });
  });
});

describe('alerts.pagerduty in the secret document', () => {
  const doc = (pagerduty: unknown) => ({ clouds: { lab: { auth: { auth_url: 'https://keystone.example:5000/v3', username: 'u', password: 'p', project_name: 'admin' } } }, alerts: { pagerduty } });

  it('a signing secret (or a list) and hostField or hostPattern; no token needed', () => {
    expect(secretDocumentSchema.safeParse(doc({ signingSecret: SECRET, hostPattern: '^([^.]+)' })).success).toBe(true);
    expect(secretDocumentSchema.safeParse(doc({ signingSecret: [SECRET, OLD_SECRET], hostField: 'custom_fields.host' })).success).toBe(true);
  });

  it('refuses no secret, an empty list, neither hostField nor hostPattern, a pattern without exactly one group, a bad path; never quoting a value', () => {
    for (const bad of [
      { hostPattern: '^([^.]+)' },
      { signingSecret: [], hostPattern: '^([^.]+)' },
      { signingSecret: '', hostPattern: '^([^.]+)' },
      { signingSecret: SECRET },
      { signingSecret: SECRET, hostPattern: '^[^.]+' },
      { signingSecret: SECRET, hostPattern: '^(a)(b)' },
      { signingSecret: SECRET, hostPattern: '([' },
      { signingSecret: SECRET, hostField: 'custom_fields..host' },
      { signingSecret: SECRET, hostField: 'a b' },
    ]) {
      const r = secretDocumentSchema.safeParse(doc(bad));
      expect(r.success, JSON.stringify(bad)).toBe(false);
      expect(JSON.stringify(r.error?.issues.map((i) => i.message))).not.toContain(SECRET);
    }
  });
});
