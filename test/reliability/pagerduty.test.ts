// PagerDuty v3 webhooks (issue 15) under the rules the other sources' webhooks keep (webhooks.test.ts),
// through the real router, the alert intake and the composed runtime over a memory store whose every write
// is counted and a fake Slack Web API:
//
//   1. signatures: good, rotated (two v1 values, only the second valid), our secret rotating (a list),
//      forged, stale (the body altered after signing): 401 with an empty body and nothing recorded, or accepted;
//   2. incident.triggered opens a request and its card, a redelivery of the same event is a repeat (no second
//      request), incident.resolved marks it resolved, any other event type is acknowledged and ignored;
//   3. ≥ RUNS forged signatures (fast-check): 0 accepted, nothing recorded, no secret in any log line;
//   4. generated bodies, correctly signed: a 400 naming a field or a 200, never a 5xx; nothing recorded for a 400.
//
// A failure prints its seed: FUZZ_SEED=<seed> replays it; FUZZ_RUNS=<n> changes the counts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPagerDutyBody } from '../../src/alerts/pagerduty.js';
import type { HttpRequest } from '../../src/runtime/http.js';
import { startFakeOpenStack, type FakeOpenStack } from '../fakes/fake-openstack.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { CHANNEL, createAppHarness, type AppHarness } from './harness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });

const SECRET = 'pd-Signing-Secret-7c1e9a4b2d8f';
/** Ours rotating: the new secret is configured next to the old one until PagerDuty signs with the new. */
const NEXT_SECRET = 'pd-Signing-Secret-next-3b5d7f9a';
const SECRETS = [SECRET, NEXT_SECRET];

let slack: FakeSlackApi;
let openstack: FakeOpenStack;
let h: AppHarness;

beforeAll(async () => {
  slack = await startFakeSlackApi();
  openstack = await startFakeOpenStack();
  const cloud = { auth: { auth_url: openstack.authUrl, username: 'admin', password: 'pagerduty-fuzz-cloud-password', project_name: 'admin' }, region_name: 'RegionOne' } as never;
  h = createAppHarness({
    slack,
    cloud,
    secretExtra: { alerts: { pagerduty: { signingSecret: SECRETS, hostField: 'custom_fields.host', hostPattern: '^\\[FIRING\\] NodeDown on ([^.\\s]+)' } } } as never,
    env: { FORCE_DOWN_GROUP_WINDOW_SECONDS: '1', FORCE_DOWN_GROUP_MAX_HOSTS: '5000', FORCE_DOWN_ALERT_MAX_NEW_PER_MINUTE: '100000' },
  });
});
afterAll(async () => {
  if (h) {
    expect(h.log.entries().filter((e) => e.level === 'error')).toEqual([]);
    for (const line of h.log.lines) for (const s of SECRETS) expect(line).not.toContain(s);
    await h.close();
  }
  await slack?.close();
  await openstack?.close();
});

const footprint = (x: AppHarness) => ({ writes: x.writes(), requests: x.state.requests.size, groups: x.state.groups.size, jobs: x.jobs.length });

let seq = 0;
/** A v3 event about an incident on `host` (in its title, PagerDuty's way of naming what is down). */
function event(type: string, host: string, incidentId: string, eventId = `01EVT${++seq}`): string {
  return JSON.stringify({
    event: {
      id: eventId,
      event_type: type,
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      agent: null,
      client: null,
      data: {
        id: incidentId,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/${incidentId}`,
        html_url: `https://acme.pagerduty.com/incidents/${incidentId}`,
        number: seq,
        status: type === 'incident.resolved' ? 'resolved' : 'triggered',
        incident_key: `key-${incidentId}`,
        created_at: '2026-11-25T14:03:10Z',
        title: `[FIRING] NodeDown on ${host}.dc1.example`,
        service: { id: 'PSVC1', summary: 'OpenStack compute', type: 'service_reference' },
        urgency: 'high',
      },
    },
  });
}

const post = (body: string, signature: string | undefined): HttpRequest => ({
  method: 'POST',
  path: '/alerts/pagerduty',
  headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-pagerduty-signature': signature }) },
  body,
});

async function refused(req: HttpRequest): Promise<void> {
  const before = footprint(h);
  const res = await h.route(req);
  expect(res).toMatchObject({ status: 401, body: '' });
  expect(footprint(h)).toEqual(before);
}

describe('PagerDuty signatures and events through the composed runtime', () => {
  it('good, rotated (two v1 values, only the second valid), ours rotating: accepted; forged, stale (body altered after signing), unsigned: 401, nothing recorded', async () => {
    const body = event('incident.triggered', 'pd-sig1', 'PINC0001');
    // Stale and forged first: nothing may be recorded before the good one.
    await refused(post(body.replace('pd-sig1', 'pd-sig9'), signPagerDutyBody(SECRET, body)));
    await refused(post(`${body}\n`, signPagerDutyBody(SECRET, body)));
    await refused(post(event('incident.triggered', 'pd-sig1', 'PINC0001'), signPagerDutyBody(SECRET, body)));
    await refused(post(body, signPagerDutyBody('a-guess', body)));
    await refused(post(body, `${signPagerDutyBody('old-one', body)},${signPagerDutyBody('other', body)}`));
    await refused(post(body, undefined));
    expect(h.created.filter((r) => r.host.startsWith('pd-sig'))).toEqual([]);

    const rotated = await h.route(post(body, `v1=${'0'.repeat(64)},${signPagerDutyBody(SECRET, body)}`));
    expect(rotated.status).toBe(200);
    expect(JSON.parse(rotated.body)).toMatchObject({ opened: 1 });
    const good = event('incident.triggered', 'pd-sig2', 'PINC0002');
    expect(JSON.parse((await h.route(post(good, signPagerDutyBody(SECRET, good)))).body)).toMatchObject({ opened: 1 });
    const ours = event('incident.triggered', 'pd-sig3', 'PINC0003');
    expect(JSON.parse((await h.route(post(ours, signPagerDutyBody(NEXT_SECRET, ours)))).body)).toMatchObject({ opened: 1 });
    expect(h.created.filter((r) => r.host.startsWith('pd-sig')).map((r) => r.host).sort()).toEqual(['pd-sig1', 'pd-sig2', 'pd-sig3']);
    await h.drain();
  });

  it('incident.triggered opens a request and its card; the same event again is a repeat; incident.resolved marks it resolved; other types are ignored', async () => {
    const triggered = event('incident.triggered', 'pd-life1', 'PLIFE01', 'EVT-LIFE-1');
    const first = await h.route(post(triggered, signPagerDutyBody(SECRET, triggered)));
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ status: 'accepted', opened: 1, repeats: 0 });
    await h.drain();
    const request = h.created.find((r) => r.host === 'pd-life1')!;
    expect(request).toMatchObject({ state: 'pending', action: 'force-down', channel: CHANNEL, origin: { kind: 'alert', source: 'pagerduty', fingerprint: 'pagerduty:PLIFE01' } });
    const stored = await h.store.get(request.id);
    expect(h.cardText(stored!)).toContain('pd-life1');
    expect(stored!.origin).toMatchObject({ link: 'https://acme.pagerduty.com/incidents/PLIFE01', summary: '[FIRING] NodeDown on pd-life1.dc1.example' });

    // PagerDuty redelivers (the same event id and body): no second request.
    const created = h.created.length;
    const again = await h.route(post(triggered, signPagerDutyBody(SECRET, triggered)));
    expect(JSON.parse(again.body)).toMatchObject({ opened: 0, repeats: 1 });
    expect(h.created.length).toBe(created);

    for (const type of ['incident.acknowledged', 'incident.annotated', 'incident.priority_updated', 'incident.reopened']) {
      const body = event(type, 'pd-life1', 'PLIFE01');
      const before = footprint(h);
      const res = await h.route(post(body, signPagerDutyBody(SECRET, body)));
      expect(res.status, type).toBe(200);
      expect(JSON.parse(res.body), type).toMatchObject({ opened: 0, repeats: 0, resolved: 0, skipped: 1, ignored: [{ reason: 'unsupported-event' }] });
      expect(footprint(h), type).toEqual(before);
    }

    const resolved = event('incident.resolved', 'pd-life1', 'PLIFE01');
    const res = await h.route(post(resolved, signPagerDutyBody(SECRET, resolved)));
    expect(JSON.parse(res.body)).toMatchObject({ opened: 0, resolved: 1 });
    expect((await h.store.get(request.id))!.alertResolvedAt).toEqual(expect.any(String));
    await h.drain();
  });

  it('the host from the incident\'s custom field when it has one; an IP address there is ignored with the reason', async () => {
    const withField = JSON.parse(event('incident.triggered', 'pd-title', 'PFIELD1')) as { event: { data: Record<string, unknown> } };
    withField.event.data.custom_fields = [{ name: 'host', value: 'pd-field1', type: 'field_value' }];
    const body = JSON.stringify(withField);
    expect(JSON.parse((await h.route(post(body, signPagerDutyBody(SECRET, body)))).body)).toMatchObject({ opened: 1 });
    expect(h.created.at(-1)!.host).toBe('pd-field1');
    withField.event.data.id = 'PFIELD2';
    withField.event.data.custom_fields = [{ name: 'host', value: '10.20.30.40:9100' }];
    const ip = JSON.stringify(withField);
    const before = footprint(h);
    const res = await h.route(post(ip, signPagerDutyBody(SECRET, ip)));
    expect(JSON.parse(res.body)).toMatchObject({ opened: 0, skipped: 1, ignored: [{ reason: 'ip-address' }] });
    expect(footprint(h).requests).toBe(before.requests);
    await h.drain();
  });
});

describe(`${RUNS} forged PagerDuty signatures`, () => {
  it(`${RUNS} forged, truncated, extended, re-encoded, stale or missing signatures: 0 accepted, all 401 with an empty body, nothing recorded, no secret logged`, async () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    const sign = (body: string, secret = SECRET) => signPagerDutyBody(secret, body).slice(3);
    type Forged = { signature?: string; body?: (b: string) => string; what: string };
    const forgery: fc.Arbitrary<(body: string) => Forged> = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !SECRETS.includes(s)).map((secret) => (body: string) => ({ signature: `v1=${sign(body, secret)}`, what: 'another secret' })),
      fc.nat({ max: 63 }).map((keep) => (body: string) => ({ signature: `v1=${sign(body).slice(0, keep)}`, what: 'truncated' })),
      fc.stringMatching(/^[0-9a-f]{1,4}$/).map((more) => (body: string) => ({ signature: `v1=${sign(body)}${more}`, what: 'extended' })),
      fc.tuple(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 15 })).map(([i, d]) => (body: string) => {
        const sig = sign(body);
        return { signature: `v1=${sig.slice(0, i)}${((parseInt(sig[i]!, 16) + d) % 16).toString(16)}${sig.slice(i + 1)}`, what: 'one digit changed' };
      }),
      fc.array(hex, { minLength: 1, maxLength: 5 }).map((xs) => () => ({ signature: xs.map((x) => `v1=${x}`).join(','), what: 'random v1 values' })),
      fc.constantFrom('v0=', 'v2=', 'V1:', 'sha256=', '', 'v1 =', 'v1==').map((prefix) => (body: string) => ({ signature: `${prefix}${sign(body)}`, what: 'another prefix' })),
      fc.constant((body: string) => ({ signature: `v1=${Buffer.from(sign(body), 'hex').toString('base64')}`, what: 'base64 digest' })),
      // The right signature for another body (stale: the body altered after signing, or another event's).
      fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.boolean()).map(([extra, swap]) => (body: string) => ({
        signature: `v1=${sign(body)}`,
        body: (b: string) => (swap ? b.replace('pd-forged-', `pd-forged-${extra}`) : `${b}${extra}`),
        what: 'body changed',
      })),
      fc.constant((body: string) => ({ signature: `v1=${sign(body.replace('incident.triggered', 'incident.annotated'))}`, what: 'another event\'s signature' })),
      fc.tuple(hex, fc.nat({ max: 3 })).map(([x, n]) => (body: string) => ({ signature: [...Array.from({ length: n }, () => `v1=${x}`), `v1=${sign(`${body} `)}`].join(','), what: 'rotated, none valid' })),
      fc.constantFrom(() => ({ what: 'no signature' }), () => ({ signature: '', what: 'empty' }), () => ({ signature: ' , ', what: 'blank values' })),
    );
    const counts = new Map<string, number>();
    let n = 0;
    const out = await fc.check(
      fc.asyncProperty(forgery, async (forge) => {
        const body = event('incident.triggered', `pd-forged-${++n}`, `PFORGE${n}`);
        const f = forge(body);
        counts.set(f.what, (counts.get(f.what) ?? 0) + 1);
        const lines = h.log.lines.length;
        await refused(post(f.body ? f.body(body) : body, f.signature));
        // Logged with a reason, never the secret.
        const written = h.log.lines.slice(lines);
        expect(written.length).toBeGreaterThan(0);
        for (const line of written) for (const s of SECRETS) expect(line).not.toContain(s);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    if (out.failed) throw new Error(`${fc.defaultReportMessage(out) ?? 'property failed'}\n${String(out.errorInstance)}`.slice(0, 6000));
    expect(h.created.filter((r) => r.host.startsWith('pd-forged'))).toEqual([]);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10_000 <= RUNS ? 10_000 : RUNS);
    console.log(`forged PagerDuty signatures: ${RUNS}: ${JSON.stringify(Object.fromEntries(counts))}`);
  });
});

describe('generated PagerDuty bodies, correctly signed', () => {
  it('never a 5xx; a 400 names the body or a field under event, and records nothing', async () => {
    const str = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', 'compute1', '10.0.0.1', '[FIRING] NodeDown on pd-gen1.dc1', 'x'.repeat(70_000)));
    const json = fc.jsonValue({ maxDepth: 3 });
    const field = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: json });
    const incident = fc.record(
      {
        id: field(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constant(''))),
        type: field(fc.constant('incident')),
        html_url: field(fc.constantFrom('https://acme.pagerduty.com/incidents/P1', 'javascript:alert(1)', '')),
        title: field(str),
        created_at: field(fc.constantFrom('2026-11-25T14:03:10Z', '2026-11-25 14:03', 'now')),
        custom_fields: field(fc.array(fc.record({ name: fc.constantFrom('host', 'region'), value: str }), { maxLength: 3 })),
        service: field(fc.record({ summary: str })),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      { weight: 6, arbitrary: fc.record({ event: fc.record({ id: field(fc.string({ minLength: 1, maxLength: 10 })), event_type: field(fc.constantFrom('incident.triggered', 'incident.resolved', 'incident.acknowledged', 'pagey.ping', '')), data: field(incident) }, { requiredKeys: [] }) }).map((b) => JSON.stringify(b)) },
      { weight: 1, arbitrary: json.map((j) => JSON.stringify(j)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    );
    const stats = { ok: 0, bad: 0 };
    const runs = Math.max(200, Math.floor(RUNS / 5));
    const out = await fc.check(
      fc.asyncProperty(body, async (raw) => {
        const before = footprint(h);
        const res = await h.route(post(raw, signPagerDutyBody(SECRET, raw)));
        expect(res.status === 200 || res.status === 400, `${res.status} ${res.body}`).toBe(true);
        if (res.status === 400) {
          stats.bad++;
          expect(JSON.parse(res.body).error).toMatch(/^(?:body|event)(?::|\.)/);
          expect(footprint(h)).toEqual(before);
        } else stats.ok++;
        h.jobs.splice(0);
      }),
      { numRuns: runs, endOnFailure: true },
    );
    if (out.failed) throw new Error(`${fc.defaultReportMessage(out) ?? 'property failed'}\n${String(out.errorInstance)}`.slice(0, 6000));
    expect(stats.ok).toBeGreaterThan(runs / 20);
    expect(stats.bad).toBeGreaterThan(runs / 20);
  });
});
