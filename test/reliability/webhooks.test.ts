// Alert webhooks under bad input (issue 6 for issue 4's routes), property-based with fast-check,
// through the real router (src/runtime/router.ts → src/runtime/alert-routes.ts), the parsers, the
// alert intake (src/app/alerts.ts) and the composed runtime (the same composition root as Lambda and
// `npm start`) over a memory store whose every write is counted, a fake Slack Web API and a fake
// Keystone + Nova that counts calls:
//
//   1. ≥ RUNS generated bodies per source, correctly authenticated: 400 naming a field or 200 exactly
//      as an independent oracle (webhook-bodies.ts) says, never a 5xx, nothing recorded for a 400,
//      the answer's counts as a model of the open requests predicts, no Nova call;
//   2. ≥ RUNS wrong tokens and ≥ RUNS forged Grafana signatures: 0 accepted, nothing recorded, no
//      credential in any log line;
//   3. auto mode: a Nova call only for a source with autoForceDown and an alert with the exact evidence label.
//
// A failure prints its seed: FUZZ_SEED=<seed> replays it; FUZZ_RUNS=<n> changes the counts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signGrafanaBody } from '../../src/alerts/auth.js';
import { runJob } from '../../src/app/worker.js';
import type { AlertSource } from '../../src/alerts/types.js';
import { checkHostName, foldHost } from '../../src/domain/host.js';
import type { HttpRequest, HttpResponse } from '../../src/runtime/http.js';
import { startFakeOpenStack, type FakeOpenStack } from '../fakes/fake-openstack.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { CHANNEL, createAppHarness, type AppHarness } from './harness.js';
import { chaos, expectedOf, mutationOf, shapeOf, SOURCES, TOP_FIELDS, type Expected } from './webhook-bodies.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });

/** One token per source (a token is never good for another source), mixed case so case changes matter. */
const TOKENS: Record<AlertSource, string> = {
  alertmanager: 'AmTok-7f3Q9x2LmZ4v8KdR1pWc6yHs',
  grafana: 'GfTok-2bN8s5TqV1xE7rJk3uYm9aLo',
  doctor: 'DrTok-9cK4w6PzH2nB8vQe5tXs1jRu',
  generic: 'GnTok-5hM1r7YdF3kC9xLw2qZp8eVa',
  // Not configured here: PagerDuty signs its bodies (pagerduty.test.ts fuzzes it).
  pagerduty: 'PdTok-unused-3fQ8wL2mZ7xK4vN9',
};
const HMAC_SECRET = 'grafana-hmac-Secret-4e8d1c7b9a2f';
const SECRETS = [...Object.values(TOKENS), HMAC_SECRET];
const PATH: Record<AlertSource, { method: string; path: string }> = {
  alertmanager: { method: 'POST', path: '/alerts/alertmanager' },
  grafana: { method: 'POST', path: '/alerts/grafana' },
  doctor: { method: 'PUT', path: '/events' },
  generic: { method: 'POST', path: '/alerts/generic' },
  pagerduty: { method: 'POST', path: '/alerts/pagerduty' },
};

let slack: FakeSlackApi;
let openstack: FakeOpenStack;
let cloud: Parameters<typeof createAppHarness>[0]['cloud'];
/** Every source configured, auto mode off, Grafana with its HMAC secret. */
let h: AppHarness;

const alertsConfig = (auto: boolean, extra: Partial<Record<AlertSource, object>> = {}) => ({
  alertmanager: { token: TOKENS.alertmanager, autoForceDown: auto, ...extra.alertmanager },
  grafana: { token: TOKENS.grafana, autoForceDown: auto, hmacSecret: HMAC_SECRET, ...extra.grafana },
  doctor: { token: TOKENS.doctor, autoForceDown: auto, ...extra.doctor },
  generic: { token: TOKENS.generic, autoForceDown: auto, ...extra.generic },
});

beforeAll(async () => {
  slack = await startFakeSlackApi();
  openstack = await startFakeOpenStack();
  cloud = { auth: { auth_url: openstack.authUrl, username: 'admin', password: 'webhook-fuzz-cloud-password', project_name: 'admin' }, region_name: 'RegionOne' } as never;
  // A short grouping window (default 30 s): ten thousand webhooks in 30 s would make one group of thousands,
  // whose copies in the memory store, not the code under test, would set the pace.
  h = createAppHarness({ slack, cloud, secretExtra: { alerts: alertsConfig(false) } as never, env: { FORCE_DOWN_GROUP_WINDOW_SECONDS: '1', FORCE_DOWN_GROUP_MAX_HOSTS: '5000', FORCE_DOWN_ALERT_MAX_NEW_PER_MINUTE: '100000' } });
});
afterAll(async () => {
  if (h) {
    // Nothing any input did was an unexpected failure.
    expect(h.log.entries().filter((e) => e.level === 'error')).toEqual([]);
    // No token, no HMAC secret, in any log line, whatever was sent.
    for (const line of h.log.lines) for (const s of SECRETS) expect(line).not.toContain(s);
    await h.close();
  }
  await slack?.close();
  await openstack?.close();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A request as the source sends it, with the right credentials (all the ways each source may send them). */
function authentic(source: AlertSource, body: string, how: number): HttpRequest {
  const token = TOKENS[source];
  const headers: Record<string, string> = { 'content-type': how % 7 === 6 ? 'text/plain' : 'application/json' };
  if (source === 'doctor' && how % 3 === 0) headers['x-auth-token'] = token;
  else if (source !== 'generic' && how % 4 === 1) headers.authorization = `Basic ${Buffer.from(`${source}:${token}`).toString('base64')}`;
  else headers.authorization = `Bearer ${token}`;
  if (source === 'grafana') {
    const ts = String(nowSeconds());
    const sig = signGrafanaBody(HMAC_SECRET, body, ts);
    headers['x-grafana-alerting-signature'] = how % 5 === 2 ? `sha256=${sig}` : how % 5 === 3 ? sig.toUpperCase() : sig;
    headers['x-grafana-alerting-signature-timestamp'] = ts;
  }
  // Doctor's own endpoint is PUT /events; POST /alerts/doctor is the same source.
  const at = source === 'doctor' && how % 5 === 4 ? { method: 'POST', path: '/alerts/doctor' } : PATH[source];
  return { ...at, headers, body };
}

/**
 * Runs a property. No shrinking: the store and the model carry state from one run to the next, so a
 * shrunk replay would not be the failure (FUZZ_SEED and the printed path replay it). A failure's
 * report has long runs of one character folded (a 200,000-character counterexample is unreadable).
 */
async function holds<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  const out = await fc.check(property, { numRuns, endOnFailure: true });
  if (!out.failed) return;
  const fold = (s: string) => s.replace(/(.)\1{40,}/gsu, (run, c: string) => `${c}⟨×${[...run].length}⟩`).slice(0, 6000);
  throw new Error(fold(`${fc.defaultReportMessage(out) ?? 'property failed'}\n${String(out.errorInstance)}`));
}

/** Store writes, requests, groups and queued jobs: "nothing recorded" is all four unchanged. */
const footprint = (x: AppHarness) => ({ writes: x.writes(), requests: x.state.requests.size, groups: x.state.groups.size, jobs: x.jobs.length });

// ---------------------------------------------------------------------------------------------
// 1. Bodies

/** Hosts (case-folded) with an open (pending) force-down request: the model the answers are checked against. */
const open = new Set<string>();
/** Every valid host a valid body has carried firing. */
const validFiring = new Set<string>();
const stats = { accepted: 0, rejected: 0, opened: 0, repeats: 0, resolved: 0, recoveryChecks: 0, skipped: 0, fieldNamed: 0 };

type Case = { raw: string; path?: string; baseValid?: boolean };
const caseOf = (source: AlertSource): fc.Arbitrary<Case> =>
  fc.oneof(
    { weight: 5, arbitrary: shapeOf(source).map((b) => ({ raw: JSON.stringify(b) })) },
    { weight: 4, arbitrary: mutationOf(shapeOf(source)).map((m) => ({ raw: JSON.stringify(m.body) ?? 'null', path: m.path, baseValid: expectedOf(source, JSON.parse(JSON.stringify(m.base) ?? 'null')).valid })) },
    { weight: 2, arbitrary: chaos.map((raw) => ({ raw })) },
  );

async function checkBody(source: AlertSource, c: Case, how: number): Promise<void> {
  let expected: Expected = { valid: false };
  try {
    expected = expectedOf(source, JSON.parse(c.raw));
  } catch {
    // not JSON: refused
  }
  const before = footprint(h);
  const seenBefore = h.created.length;
  let res: HttpResponse;
  try {
    res = await h.route(authentic(source, c.raw, how));
  } catch (err) {
    throw new Error(`the router threw on a ${source} body: ${String(err)}`);
  }
  const jobs = h.jobs.splice(0);
  expect(res.status).toBeLessThan(500);

  if (!expected.valid) {
    stats.rejected++;
    expect(res.status).toBe(400);
    expect(res.headers?.['content-type']).toBe('application/json');
    const { error } = JSON.parse(res.body) as { error?: unknown };
    expect(typeof error).toBe('string');
    // Names the body or a field of the source's shape, and never quotes a long value.
    expect(error).toMatch(TOP_FIELDS[source]);
    expect((error as string).length).toBeLessThan(600);
    if (c.path !== undefined && c.baseValid) {
      // One field changed in a valid body: the answer names that field (or one inside it).
      expect(error as string, `${c.path} changed`).toSatisfy((e: string) => e.startsWith(`${c.path}:`) || e.startsWith(`${c.path}.`) || c.path === 'body');
      stats.fieldNamed++;
    }
    expect(jobs).toEqual([]);
    expect(footprint(h)).toEqual({ ...before, jobs: 0 });
    return;
  }

  stats.accepted++;
  expect(res.status).toBe(200);
  // One alert per host, hosts being one whatever their case (requests are locked by the case-folded name; the
  // first spelling seen is kept, a firing alert replacing a resolved one); the counts follow from which hosts
  // already have an open request.
  const byHost = new Map<string, { host: string; status: 'firing' | 'resolved' }>();
  for (const a of expected.alerts) {
    const seen = byHost.get(foldHost(a.host));
    if (!seen || (seen.status === 'resolved' && a.status === 'firing')) byHost.set(foldHost(a.host), a);
  }
  const firing = [...byHost.values()].filter((a) => a.status === 'firing').map((a) => a.host);
  const resolved = [...byHost.values()].filter((a) => a.status === 'resolved').map((a) => a.host);
  const opened = firing.filter((host) => !open.has(foldHost(host)));
  const marked = resolved.filter((host) => open.has(foldHost(host)));
  const receipt = JSON.parse(res.body) as Record<string, unknown>;
  // Each ignored alert is listed with its reason (at most 100); the counts are below.
  expect(receipt.ignored).toHaveLength(Math.min(expected.skipped, 100));
  expect({ ...receipt, ignored: undefined }).toEqual({
    status: 'accepted',
    opened: opened.length,
    repeats: firing.length - opened.length,
    resolved: marked.length,
    recoveryChecks: resolved.length - marked.length,
    auto: 0,
    failed: 0,
    dropped: 0,
    skipped: expected.skipped,
  });
  stats.opened += opened.length;
  stats.repeats += firing.length - opened.length;
  stats.resolved += marked.length;
  stats.recoveryChecks += resolved.length - marked.length;
  stats.skipped += expected.skipped;
  for (const host of firing) {
    open.add(foldHost(host));
    validFiring.add(foldHost(host));
  }
  // What reached the store: one pending force-down request per newly firing host, valid host names only.
  const added = h.created.slice(seenBefore);
  expect(added.map((r) => r.host).sort()).toEqual([...opened].sort());
  for (const r of added) {
    expect(checkHostName(r.host)).toBeUndefined();
    expect(r).toMatchObject({ state: 'pending', action: 'force-down', channel: CHANNEL, requestedBy: `alert:${source}`, origin: { kind: 'alert', source } });
  }
  expect(h.state.requests.size).toBeLessThanOrEqual(validFiring.size);
  // Only cards and recovery checks are queued: never a Nova call (auto mode is off).
  for (const j of jobs) expect(['show-group', 'alert-recovery']).toContain(j.kind);
  const recovery = jobs.filter((j) => j.kind === 'alert-recovery').flatMap((j) => (j.kind === 'alert-recovery' ? j.alerts.map((a) => a.host) : []));
  expect(recovery.sort()).toEqual(resolved.filter((host) => !marked.includes(host)).sort());
  if (opened.length === 0 && firing.length === 0 && marked.length === 0) expect(footprint(h)).toEqual({ ...before, jobs: 0 });
}

describe(`alert webhooks: ${RUNS} generated bodies per source, correctly authenticated`, () => {
  for (const source of SOURCES) {
    it(`${source}: never a 5xx; a 400 naming the field (nothing recorded) for every invalid body, a 200 for every valid one with the counts the model predicts; 0 Nova calls`, async () => {
      const puts = openstack.count('PUT', /os-services/);
      const s0 = { ...stats };
      await holds(
        fc.asyncProperty(caseOf(source), fc.nat(), async (c, how) => checkBody(source, c, how)),
        RUNS,
      );
      const d = Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v - s0[k as keyof typeof stats]])) as typeof stats;
      // The generators reach every outcome in earnest.
      expect(d.accepted).toBeGreaterThan(RUNS / 5);
      expect(d.rejected).toBeGreaterThan(RUNS / 5);
      expect(d.fieldNamed).toBeGreaterThan(RUNS / 20);
      expect(d.opened).toBeGreaterThan(RUNS / 50);
      expect(d.repeats).toBeGreaterThan(RUNS / 50);
      expect(d.skipped).toBeGreaterThan(RUNS / 20);
      if (source !== 'doctor') expect(d.resolved + d.recoveryChecks).toBeGreaterThan(RUNS / 50);
      expect(openstack.count('PUT', /os-services/)).toBe(puts);
      expect([...h.state.requests.values()].every((r) => r.state === 'pending')).toBe(true);
      console.log(`webhook fuzz ${source}: ${RUNS} bodies: ${JSON.stringify(d)}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 2. Forgeries

/** A valid firing body for a fresh host: accepted, it would open a request (so an acceptance cannot hide). */
let forgedSeq = 0;
function firingBody(source: AlertSource): string {
  const host = `forged-${++forgedSeq}`;
  switch (source) {
    case 'alertmanager':
    case 'grafana':
      return JSON.stringify({ version: source === 'grafana' ? '1' : '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'HostDown', host, fenced: 'true' }, startsAt: new Date().toISOString() }] });
    case 'doctor':
      return JSON.stringify([{ time: '2026-11-25T14:03:10.123456', type: 'compute.host.down', details: { hostname: host, status: 'down', monitor: 'monitor_sample' } }]);
    case 'generic':
      return JSON.stringify({ host, status: 'firing', summary: 'forged' });
    case 'pagerduty':
      throw new Error('PagerDuty forgeries are in pagerduty.test.ts');
  }
}

/** The credential the server compares after trimming: a "forgery" that trims to the real token is the real token. */
const isReal = (given: string, source: AlertSource) => given.trim() === TOKENS[source];

type Forged = { headers: Record<string, string>; presented: string[]; what: string };
/** Flips the case of the letters at the chosen positions (at least one letter flips). */
const caseFlip = (t: string, picks: number[]) => {
  const letters = [...t].map((c, i) => (/[a-z]/i.test(c) ? i : -1)).filter((i) => i >= 0);
  const flip = new Set(picks.map((p) => letters[p % letters.length]!));
  return [...t].map((c, i) => (flip.has(i) ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
};
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Wrong credentials of every kind for `source`. */
const wrongAuth = (source: AlertSource): fc.Arbitrary<Forged> => {
  const token = TOKENS[source];
  const others = SOURCES.filter((s) => s !== source).map((s) => TOKENS[s]);
  const bearer = (t: string, what: string): Forged => ({ headers: { authorization: `Bearer ${t}` }, presented: [t], what });
  const candidates: fc.Arbitrary<Forged>[] = [
    // A guess, an old rotated token.
    fc.string({ minLength: 1, maxLength: 60 }).filter((t) => !isReal(t, source)).map((t) => bearer(t, 'another token')),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((t) => !isReal(t, source) && !/[\r\n]/.test(t)).map((t) => bearer(t, 'another token (any Unicode)')),
    // Another source's token (one token per source).
    fc.constantFrom(...others).map((t) => bearer(t, "another source's token")),
    // The real token, truncated, extended, or with its case changed.
    fc.nat({ max: token.length - 1 }).map((n) => bearer(token.slice(0, n), 'truncated')),
    fc.nat({ max: token.length - 1 }).map((n) => bearer(token.slice(n + 1), 'truncated at the front')),
    fc.tuple(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() !== '' && s.trim() === s && !/[\r\n]/.test(s)), fc.boolean()).map(([s, front]) => bearer(front ? `${s}${token}` : `${token}${s}`, 'extended')),
    fc.array(fc.nat(), { minLength: 1, maxLength: 5 }).map((picks) => bearer(caseFlip(token, picks), 'case changed')),
    fc.tuple(fc.nat({ max: token.length - 1 }), fc.integer({ min: 1, max: 25 })).map(([i, d]) => {
      const c = token.charCodeAt(i);
      return bearer(`${token.slice(0, i)}${String.fromCharCode(c + d)}${token.slice(i + 1)}`, 'one character changed');
    }),
    // Empty, blank, or no credentials at all.
    fc.constantFrom('', ' ', '\t', '   ', '\u00a0', '\u2003', '\ufeff').map((t) => ({ headers: { authorization: `Bearer ${t}` }, presented: [], what: 'blank bearer' })),
    fc.constantFrom<Forged>(
      { headers: {}, presented: [], what: 'no credentials' },
      { headers: { authorization: '' }, presented: [], what: 'empty Authorization' },
      { headers: { authorization: 'Bearer' }, presented: [], what: 'scheme alone' },
      { headers: { authorization: token }, presented: [token], what: 'token without a scheme' },
      { headers: { authorization: `Token ${token}` }, presented: [token], what: 'another scheme' },
      { headers: { authorization: `Bearer: ${token}` }, presented: [token], what: 'scheme with a colon' },
      { headers: { authorization: `Bearer ${token}\nX-Other: 1` }, presented: [token], what: 'header injection' },
      { headers: { authorization: `Digest username="x", response="${token}"` }, presented: [token], what: 'digest' },
      { headers: { authorization: `Bearer ${token.slice(0, 12)} ${token.slice(12)}` }, presented: [token.slice(0, 12)], what: 'split by a space' },
    ),
    // Basic auth: a wrong password, the token as user name, no colon, not base64.
    fc.tuple(fc.string({ maxLength: 12 }).filter((u) => !u.includes(':')), fc.string({ maxLength: 40 }).filter((p) => p !== token)).map(([u, p]) => ({ headers: { authorization: `Basic ${b64(`${u}:${p}`)}` }, presented: [p], what: 'basic, wrong password' })),
    fc.constantFrom<Forged>(
      { headers: { authorization: `Basic ${b64(`${token}:`)}` }, presented: [token], what: 'basic, token as user name' },
      { headers: { authorization: `Basic ${b64(token)}` }, presented: [token], what: 'basic without a colon' },
      { headers: { authorization: `Basic ${b64(`x:${token.slice(0, -1)}`)}` }, presented: [token.slice(0, -1)], what: 'basic, truncated token' },
      { headers: { authorization: `Basic ${b64(`x:${token}x`)}` }, presented: [token], what: 'basic, extended token' },
      { headers: { authorization: `Basic x:${token}` }, presented: [token], what: 'basic, not base64' },
      { headers: { authorization: `Basic ${b64(`x:${token}`).replace(/=+$/, '')}!` }, presented: [token], what: 'basic, corrupted base64' },
    ),
  ];
  if (source === 'doctor') {
    // Doctor's X-Auth-Token, wrong: the same variants as the bearer token's.
    candidates.push(
      fc.string({ minLength: 1, maxLength: 60 }).filter((t) => !isReal(t, source) && !/[\r\n]/.test(t)).map((t) => ({ headers: { 'x-auth-token': t }, presented: [t], what: 'x-auth-token, another token' })),
      fc.nat({ max: token.length - 1 }).map((n) => ({ headers: { 'x-auth-token': token.slice(0, n) }, presented: [token.slice(0, n)], what: 'x-auth-token, truncated' })),
      fc.array(fc.nat(), { minLength: 1, maxLength: 5 }).map((picks) => ({ headers: { 'x-auth-token': caseFlip(token, picks) }, presented: [], what: 'x-auth-token, case changed' })),
      fc.constantFrom(...others).map((t) => ({ headers: { 'x-auth-token': t }, presented: [t], what: "x-auth-token, another source's token" })),
      // A wrong bearer token is not rescued by a right X-Auth-Token: the Authorization header decides.
      fc.constant<Forged>({ headers: { authorization: `Bearer ${others[0]}`, 'x-auth-token': token }, presented: [others[0]!], what: 'wrong bearer, right x-auth-token' }),
    );
  } else {
    // The real token in X-Auth-Token: Doctor's header only.
    candidates.push(fc.constant<Forged>({ headers: { 'x-auth-token': token }, presented: [], what: 'x-auth-token on a source other than doctor' }));
  }
  return fc.oneof(...candidates);
};

async function checkRefused(req: HttpRequest, secretsOfThisSource: string[], presented: string[]): Promise<void> {
  const before = footprint(h);
  const lines = h.log.lines.length;
  const res = await h.route(req);
  expect(res).toMatchObject({ status: 401, body: '' });
  expect(footprint(h)).toEqual(before);
  // The rejection is logged (with a reason), without the real secret or what was presented.
  const written = h.log.lines.slice(lines);
  expect(written.length).toBeGreaterThan(0);
  for (const line of written) {
    for (const s of secretsOfThisSource) expect(line).not.toContain(s);
    for (const p of presented) if (p.trim().length >= 8) expect(line).not.toContain(p.trim());
  }
}

describe(`forgeries: ${RUNS} wrong tokens, ${RUNS} forged Grafana signatures`, () => {
  it(`${RUNS} wrong tokens (bearer, basic, X-Auth-Token, truncated, extended, case-changed, another source's, blank, none): 0 accepted, all 401 with an empty body, nothing recorded, no credential logged`, async () => {
    const counts = new Map<string, number>();
    await holds(
      fc.asyncProperty(
        fc.constantFrom(...SOURCES).chain((source) => fc.tuple(fc.constant(source), wrongAuth(source), fc.boolean())),
        async ([source, forged, validBody]) => {
          counts.set(forged.what, (counts.get(forged.what) ?? 0) + 1);
          // The body is valid (it would open a request) or not (a 400 would say so): a 401 either way, the body unread.
          const body = validBody ? firingBody(source) : '{"alerts": "nope"';
          const headers: Record<string, string> = { 'content-type': 'application/json', ...forged.headers };
          if (source === 'grafana') {
            // The HMAC signature is right: only the token is wrong.
            const ts = String(nowSeconds());
            headers['x-grafana-alerting-signature'] = signGrafanaBody(HMAC_SECRET, body, ts);
            headers['x-grafana-alerting-signature-timestamp'] = ts;
          }
          await checkRefused({ ...PATH[source], headers, body }, [TOKENS[source], HMAC_SECRET], forged.presented);
        },
      ),
      RUNS,
    );
    expect(h.jobs).toEqual([]);
    console.log(`wrong tokens: ${RUNS}: ${JSON.stringify(Object.fromEntries(counts))}`);
  });

  it('the right token at a path that is no source (or not quite one): 401; the wrong method: 405; nothing recorded', async () => {
    for (const path of ['/alerts/zabbix', '/alerts/', '/alerts', '/alerts/Alertmanager', '/alerts/alertmanager/', '/alerts/alertmanager/x', '/alerts/..%2Falertmanager', '/alerts/__proto__', '/alerts/constructor', '/alerts/toString', '/alerts/%61lertmanager']) {
      const before = footprint(h);
      const res = await h.route({ method: 'POST', path, headers: { authorization: `Bearer ${TOKENS.alertmanager}` }, body: firingBody('alertmanager') });
      expect(res, path).toMatchObject({ status: path === '/alerts' ? 404 : 401, body: path === '/alerts' ? expect.any(String) : '' });
      expect(footprint(h)).toEqual(before);
    }
    for (const [method, path] of [['GET', '/alerts/alertmanager'], ['PUT', '/alerts/alertmanager'], ['POST', '/events'], ['GET', '/events'], ['DELETE', '/alerts/generic']] as const) {
      const before = footprint(h);
      const res = await h.route({ method, path, headers: { authorization: `Bearer ${TOKENS.generic}`, 'x-auth-token': TOKENS.doctor }, body: firingBody('generic') });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(footprint(h)).toEqual(before);
    }
  });

  it(`${RUNS} forged, truncated, tampered, stale or future-dated Grafana signatures (with the right token): 0 accepted, nothing recorded, the HMAC secret never logged`, async () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    type Sig = { signature?: string; timestamp?: string; body?: (b: string) => string; what: string };
    const sign = (body: string, ts?: string, secret = HMAC_SECRET) => signGrafanaBody(secret, body, ts);
    const now = () => String(nowSeconds());
    const forgery: fc.Arbitrary<(body: string) => Sig> = fc.oneof(
      // Another secret (a guess, an old rotated one).
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s !== HMAC_SECRET).map((secret) => (body: string) => {
        const ts = now();
        return { signature: sign(body, ts, secret), timestamp: ts, what: 'another secret' };
      }),
      // Truncated, extended, one hex digit changed.
      fc.nat({ max: 63 }).map((keep) => (body: string) => {
        const ts = now();
        return { signature: sign(body, ts).slice(0, keep), timestamp: ts, what: 'truncated' };
      }),
      fc.stringMatching(/^[0-9a-f]{1,4}$/).map((more) => (body: string) => {
        const ts = now();
        return { signature: `${sign(body, ts)}${more}`, timestamp: ts, what: 'extended' };
      }),
      fc.tuple(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 15 })).map(([i, d]) => (body: string) => {
        const ts = now();
        const sig = sign(body, ts);
        return { signature: `${sig.slice(0, i)}${((parseInt(sig[i]!, 16) + d) % 16).toString(16)}${sig.slice(i + 1)}`, timestamp: ts, what: 'one digit changed' };
      }),
      // Random, or the right digest in another encoding or with another prefix.
      hex.map((x) => () => ({ signature: x, timestamp: now(), what: 'random hex' })),
      fc.constantFrom('sha1=', 'sha256:', 'v0=', 'sha512=', 'sha256==', 'hmac-sha256=').map((prefix) => (body: string) => {
        const ts = now();
        return { signature: `${prefix}${sign(body, ts)}`, timestamp: ts, what: 'another prefix' };
      }),
      fc.constant((body: string) => {
        const ts = now();
        return { signature: Buffer.from(sign(body, ts), 'hex').toString('base64'), timestamp: ts, what: 'base64 digest' };
      }),
      // The body changed after signing.
      fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.boolean()).map(([extra, swap]) => (body: string) => {
        const ts = now();
        return { signature: sign(body, ts), timestamp: ts, body: (b: string) => (swap ? b.replace('forged-', `forged-${extra}`) : `${b}${extra}`), what: 'body changed' };
      }),
      // Correctly signed but stale (more than 5 minutes old), or future-dated.
      fc.integer({ min: 302, max: 2_000_000_000 }).map((age) => (body: string) => {
        const ts = String(Math.max(0, nowSeconds() - age));
        return { signature: sign(body, ts), timestamp: ts, what: 'stale' };
      }),
      fc.integer({ min: 302, max: 5_000_000_000 }).map((ahead) => (body: string) => {
        const ts = String(nowSeconds() + ahead);
        return { signature: sign(body, ts), timestamp: ts, what: 'future' };
      }),
      // Signed over one time, sent with another (a replay with a fresh timestamp).
      fc.integer({ min: 1, max: 1_000_000 }).map((shift) => (body: string) => ({ signature: sign(body, String(nowSeconds() - shift)), timestamp: now(), what: 'timestamp swapped' })),
      // Signed with a timestamp but sent without it, or the other way round.
      fc.constant((body: string) => ({ signature: sign(body, now()), what: 'timestamp dropped' })),
      fc.constant((body: string) => ({ signature: sign(body), timestamp: now(), what: 'timestamp added' })),
      // Timestamps that are not plain Unix seconds, signed over as given.
      fc
        .oneof(fc.string({ minLength: 1, maxLength: 14 }).filter((t) => !/^\s*\d{1,12}\s*$/.test(t) && !/[\r\n]/.test(t)), fc.constantFrom('1e9', '0x65', '-1', '9999999999999', 'NaN', `${Date.now()}`, '1.5'))
        .map((ts) => (body: string) => ({ signature: sign(body, ts), timestamp: ts, what: 'malformed timestamp' })),
      // No signature at all.
      fc.constantFrom(
        () => ({ what: 'no signature' }),
        () => ({ signature: '', timestamp: now(), what: 'empty signature' }),
        () => ({ signature: ' ', timestamp: now(), what: 'blank signature' }),
      ),
    );
    const counts = new Map<string, number>();
    await holds(
      fc.asyncProperty(forgery, async (forge) => {
        const body = firingBody('grafana');
        const f = forge(body);
        counts.set(f.what, (counts.get(f.what) ?? 0) + 1);
        const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.grafana}` };
        if (f.signature !== undefined) headers['x-grafana-alerting-signature'] = f.signature;
        if (f.timestamp !== undefined) headers['x-grafana-alerting-signature-timestamp'] = f.timestamp;
        await checkRefused({ ...PATH.grafana, headers, body: f.body ? f.body(body) : body }, [HMAC_SECRET, TOKENS.grafana], []);
      }),
      RUNS,
    );
    console.log(`grafana signatures: ${RUNS}: ${JSON.stringify(Object.fromEntries(counts))}`);
    // The control: the same construction, signed right, is accepted.
    const body = firingBody('grafana');
    const ts = now();
    const ok = await h.route({ ...PATH.grafana, headers: { authorization: `Bearer ${TOKENS.grafana}`, 'x-grafana-alerting-signature': sign(body, ts), 'x-grafana-alerting-signature-timestamp': ts }, body });
    expect(ok.status).toBe(200);
    h.jobs.length = 0;
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Auto mode

describe('authorization in auto mode: a Nova call only for an opted-in source and an alert with the exact evidence label', () => {
  /** Auto mode on for every source; Grafana with its own evidence label. And the same with auto mode off. */
  const CUSTOM = { name: 'fencing', value: 'ipmi-off' };
  let on: AppHarness;
  let off: AppHarness;
  beforeAll(() => {
    on = createAppHarness({ slack, cloud, secretExtra: { alerts: alertsConfig(true, { grafana: { evidenceLabel: CUSTOM } }) } as never });
    off = createAppHarness({ slack, cloud, secretExtra: { alerts: alertsConfig(false) } as never });
  });
  afterAll(async () => {
    for (const x of [on, off]) {
      expect(x.log.entries().filter((e) => e.level === 'error')).toEqual([]);
      await x.close();
    }
  });

  /** Runs the queued jobs as the worker would, except the cards' (Slack only, paced at ~1 a second per channel). */
  async function work(x: AppHarness): Promise<void> {
    while (x.jobs.length > 0) {
      const pending = x.jobs.splice(0).filter((j) => j.kind !== 'show-group' && j.kind !== 'show-card');
      for (const j of pending) await runJob(x.deps, j);
    }
  }

  type Mark = { name: string; value: string; where: 'labels' | 'commonLabels' | 'annotations' | 'top' };
  const marks = fc.record<Mark>({
    name: fc.constantFrom('fenced', 'fencing', 'Fenced', 'fenced ', ' fenced', 'fenced_'),
    value: fc.constantFrom('true', 'ipmi-off', 'True', 'TRUE', 'true ', ' true', 'yes', '1', '', 'false', 'IPMI-OFF'),
    where: fc.constantFrom('labels', 'labels', 'labels', 'commonLabels', 'annotations', 'top'),
  });

  function body(source: AlertSource, host: string, status: 'firing' | 'resolved', mark: Mark | undefined): string {
    const labels: Record<string, string> = { alertname: 'HostDown', host };
    if (mark?.where === 'labels') labels[mark.name] = mark.value;
    const markAt = (where: Mark['where']) => (mark?.where === where ? { [mark.name]: mark.value } : {});
    switch (source) {
      case 'alertmanager':
      case 'grafana':
        return JSON.stringify({ ...markAt('top'), version: source === 'grafana' ? '1' : '4', status, commonLabels: markAt('commonLabels'), alerts: [{ status, labels, annotations: markAt('annotations'), startsAt: new Date().toISOString() }] });
      case 'doctor':
        return JSON.stringify([{ time: '2026-11-25T14:03:10.123456', type: 'compute.host.down', details: { hostname: host, status: 'down', ...markAt('labels') }, ...markAt('top') }]);
      case 'generic':
        return JSON.stringify({ ...markAt('top'), host, status, labels, ...(mark?.where === 'annotations' ? { annotations: markAt('annotations') } : {}) });
      case 'pagerduty':
        throw new Error('PagerDuty carries no evidence label');
    }
  }

  it('generated sources, modes, statuses and evidence labels (right, wrong value, wrong name, wrong place): PUTs at Nova exactly when allowed', async () => {
    let seq = 0;
    let forced = 0;
    let refused = 0;
    await holds(
      fc.asyncProperty(
        fc.constantFrom(...SOURCES),
        fc.boolean(),
        fc.constantFrom<'firing' | 'resolved'>('firing', 'firing', 'firing', 'resolved'),
        fc.oneof({ weight: 2, arbitrary: fc.constant('right' as const) }, { weight: 4, arbitrary: marks }, { weight: 1, arbitrary: fc.constant(undefined) }),
        async (source, auto, status, generated) => {
        // 'right': the source's own evidence label, in the alert's labels.
        const mark: Mark | undefined = generated === 'right' ? { ...(source === 'grafana' ? CUSTOM : { name: 'fenced', value: 'true' }), where: 'labels' } : generated;
        const x = auto ? on : off;
        const host = `auto-${++seq}`;
        const puts = openstack.count('PUT', /os-services/);
        const req = body(source, host, status, mark);
        const res = await x.route(authentic(source, req, seq));
        expect(res.status).toBe(200);
        await work(x);
        const wanted = source === 'grafana' ? CUSTOM : { name: 'fenced', value: 'true' };
        const evidence = mark !== undefined && mark.where === 'labels' && source !== 'doctor' && mark.name === wanted.name && mark.value === wanted.value;
        // Doctor reports only outages: every event fires.
        const firing = status === 'firing' || source === 'doctor';
        const allowed = auto && firing && evidence;
        expect(openstack.count('PUT', /os-services/) - puts, `${source} auto=${auto} ${status} ${JSON.stringify(mark)}`).toBe(allowed ? 1 : 0);
        expect(JSON.parse(res.body)).toMatchObject({ auto: allowed ? 1 : 0 });
        const request = [...x.state.requests.values()].find((r) => r.host === host);
        if (firing) expect(request?.state).toBe(allowed ? 'succeeded' : 'pending');
        else expect(request).toBeUndefined();
        if (allowed) {
          expect(openstack.service(host)?.forced_down).toBe(true);
          forced++;
        } else refused++;
        },
      ),
      600,
    );
    // Both outcomes happen in earnest (the control: auto mode does force down when it should).
    expect(forced).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(300);
    console.log(`auto mode: 600 cases, ${forced} forced down (auto mode, firing, the exact evidence label), ${refused} not`);
  });

  it('the evidence label with autoForceDown false, or with the wrong value: 0 Nova calls, the request left for a human', async () => {
    const puts = openstack.count('PUT', /os-services/);
    const cases: [AppHarness, AlertSource, string, string][] = [
      [off, 'alertmanager', 'fenced', 'true'],
      [off, 'generic', 'fenced', 'true'],
      [off, 'grafana', 'fenced', 'true'],
      [on, 'alertmanager', 'fenced', 'false'],
      [on, 'alertmanager', 'fenced', 'True'],
      [on, 'generic', 'fenced', 'yes'],
      [on, 'grafana', 'fenced', 'true'], // not Grafana's configured label
      [on, 'grafana', 'fencing', 'IPMI-OFF'],
    ];
    for (const [x, source, name, value] of cases) {
      const host = `manual-${source}-${name}-${value}-${x === on ? 'on' : 'off'}`.toLowerCase();
      const res = await x.route(authentic(source, body(source, host, 'firing', { name, value, where: 'labels' }), 0));
      expect(JSON.parse(res.body)).toMatchObject({ status: 'accepted', opened: 1, auto: 0 });
      await work(x);
      expect([...x.state.requests.values()].find((r) => r.host === host)?.state).toBe('pending');
    }
    expect(openstack.count('PUT', /os-services/)).toBe(puts);
  });
});
