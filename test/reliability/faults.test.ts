// Fault injection (issue 6): a fault-injecting proxy of the suite between force-down's OpenStack
// client and the REAL Keystone + Nova lab. Attempts are counted where the upstream would see them.
// Hosts: the lab's fault1..fault4 only (other suites use the other hosts at the same time).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudConfig } from '../../src/config/schema.js';
import { createCloudClient, type CloudClient } from '../../src/openstack/cloud.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { until } from '../integration/wait.js';
import { createAppHarness, through, type AppHarness } from './harness.js';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let os: FaultyOpenStack;
let slack: FakeSlackApi;
const clients: CloudClient[] = [];
const harnesses: AppHarness[] = [];

const PUT_BY_ID = /\/os-services\/[0-9a-f-]{36}$/;
const PUT_LEGACY = /\/os-services\/force-down$/;
const TOKENS = /\/v3\/auth\/tokens$/;
const ANY = /./;

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  os = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  slack = await startFakeSlackApi();
  for (const h of lab.hosts.fault) await probe.reset(h);
});

afterEach(async () => {
  os.clearFaults();
  for (const h of harnesses.splice(0)) {
    // Whatever happened, no request may be left in `executing`.
    expect(await h.store.listByState('executing')).toEqual([]);
    await h.close();
  }
  await Promise.all(clients.splice(0).map((c) => c.close()));
  os.reset();
  slack.reset();
  for (const h of lab.hosts.fault) await probe.reset(h);
});

afterAll(async () => {
  await os?.close();
  await slack?.close();
});

/**
 * A cloud client through the proxies with deterministic backoff: `random()`
 * is ~1, so the waits are the full caps (200 ms, then 400 ms).
 */
function client(opts: { pin?: string; headersTimeoutMs?: number } = {}): CloudClient {
  const cloud: CloudConfig = { ...through(lab.clouds.admin, os.authUrl), ...(opts.pin ? { compute_api_version: opts.pin } : {}) };
  const c = createCloudClient('lab', cloud, {
    http: { retries: 2, retryBaseDelayMs: 200, retryMaxDelayMs: 2_000, headersTimeoutMs: opts.headersTimeoutMs ?? 5_000 },
    httpDeps: { random: () => 0.999_999 },
  });
  clients.push(c);
  return c;
}

/** Gaps between consecutive matching calls at a proxy, in ms. */
function gaps(calls: { at: number }[]): number[] {
  return calls.slice(1).map((c, i) => c.at - calls[i]!.at);
}

const puts = () => os.nova.calls().filter((c) => c.method === 'PUT');

/**
 * Until the client has looked the host up once (token, microversion and UUID cached): a client
 * with a short timeout may time out on a busy machine, so this waits on the lookup having
 * worked, not on one attempt.
 */
async function warm(nova: CloudClient['nova'], host: string): Promise<void> {
  await until(`a lookup of ${host} through the proxy`, async () => (await nova.getService(host)).ok);
}

describe('the OpenStack client through the fault proxy: bounded retries with backoff', () => {
  it.each([502, 503, 504])('HTTP %i twice on the PUT: two retries with growing backoff, the third attempt lands', async (status) => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client();
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, times: 2, fault: { kind: 'status', status } });

    const res = await nova.setForcedDown(host, true);

    expect(res).toMatchObject({ ok: true, value: { forcedDown: true } });
    expect(puts()).toHaveLength(3);
    expect(puts().map((c) => c.forwarded)).toEqual([false, false, true]);
    const [first, second] = gaps(puts());
    expect(first).toBeGreaterThanOrEqual(195); // base 200 ms (full jitter at its cap)
    expect(second).toBeGreaterThanOrEqual(395); // doubled
    expect(await probe.service(host)).toMatchObject({ forced_down: true });
  });

  it('keeps answering 503: NOVA_UNAVAILABLE after exactly 3 attempts, Nova untouched', async () => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client();
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'status', status: 503 } });

    const res = await nova.setForcedDown(host, true);

    expect(res).toMatchObject({ ok: false, failure: { code: 'NOVA_UNAVAILABLE', status: 503, request: 'PUT /os-services/{id}' } });
    expect(puts()).toHaveLength(3);
    expect(os.nova.count('PUT', ANY, { forwarded: true })).toBe(0);
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
  });

  it('honours Retry-After on a 503', async () => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client();
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, times: 1, fault: { kind: 'status', status: 503, headers: { 'retry-after': '1' } } });

    expect(await nova.setForcedDown(host, true)).toMatchObject({ ok: true });
    expect(puts()).toHaveLength(2);
    expect(gaps(puts())[0]).toBeGreaterThanOrEqual(990);
  });

  it('does not retry a 500 (not a gateway error): one attempt, NOVA_UNAVAILABLE', async () => {
    const { nova } = client();
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'status', status: 500 } });
    expect(await nova.setForcedDown(lab.hosts.fault[0]!, true)).toMatchObject({ ok: false, failure: { code: 'NOVA_UNAVAILABLE', status: 500 } });
    expect(puts()).toHaveLength(1);
  });

  it('a connection reset on the PUT: retried on a new connection, and it lands', async () => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client();
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, times: 1, fault: { kind: 'reset' } });

    expect(await nova.setForcedDown(host, true)).toMatchObject({ ok: true, value: { forcedDown: true } });
    expect(puts()).toHaveLength(2);
    expect(await probe.service(host)).toMatchObject({ forced_down: true });
  });

  it('a delay under the timeout costs time, not an attempt', async () => {
    // 400 ms against a 10 s timeout: far under it even when Nova itself is slow on a busy machine.
    const { nova } = client({ headersTimeoutMs: 10_000 });
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'delay', ms: 400 } });
    expect(await nova.setForcedDown(lab.hosts.fault[0]!, true)).toMatchObject({ ok: true });
    expect(puts()).toHaveLength(1);
  });

  it('hangs past the headers timeout every time: NOVA_UNAVAILABLE after 3 bounded attempts', async () => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client({ headersTimeoutMs: 300 });
    // Token, version and UUID cached, so that only the PUT is left to hang. With a 300 ms timeout a
    // busy Keystone or Nova may time the warm-up out: repeat it until it has worked.
    await warm(nova, host);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'hang' } });

    const started = performance.now();
    const res = await nova.setForcedDown(host, true);
    const took = performance.now() - started;

    expect(res).toMatchObject({ ok: false, failure: { code: 'NOVA_UNAVAILABLE', request: 'PUT /os-services/{id}' } });
    if (!res.ok) expect(res.failure.message).toMatch(/after 3 attempts/);
    expect(puts()).toHaveLength(3);
    // 3 × 300 ms timeouts + 200 + 400 ms backoff at least; the configured timeouts act, not the defaults
    // (3 × 10 s headers timeouts would take 30 s or more): a bound far from both, never a figure.
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(30_000);
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
  });

  it.each([
    ['503', { kind: 'status', status: 503 }],
    ['a connection reset', { kind: 'reset' }],
  ] as const)('Keystone answering %s every time: KEYSTONE_UNAVAILABLE after 3 attempts, nothing sent to Nova', async (_, fault) => {
    const { nova } = client();
    os.keystone.inject({ method: 'POST', path: TOKENS, fault });

    const res = await nova.setForcedDown(lab.hosts.fault[0]!, true);

    expect(res).toMatchObject({ ok: false, failure: { code: 'KEYSTONE_UNAVAILABLE', request: 'POST /v3/auth/tokens' } });
    expect(os.keystone.count('POST', TOKENS)).toBe(3);
    expect(os.nova.calls()).toEqual([]);
  });

  it('Nova 401 on the cached token (revoked): exactly one re-authentication, then the PUT lands', async () => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client();
    await nova.getService(host); // the token is cached now
    expect(os.keystone.count('POST', TOKENS)).toBe(1);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, times: 1, fault: { kind: 'status', status: 401 } });

    expect(await nova.setForcedDown(host, true)).toMatchObject({ ok: true, value: { forcedDown: true } });
    expect(os.keystone.count('POST', TOKENS)).toBe(2);
    expect(puts()).toHaveLength(2);
    expect(puts()[0]!.headers['x-auth-token']).not.toBe(puts()[1]!.headers['x-auth-token']);
  });

  it('Nova 401 again after the re-authentication: AUTH_FAILED, no loop', async () => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client();
    await nova.getService(host);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'status', status: 401 } });

    expect(await nova.setForcedDown(host, true)).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', status: 401 } });
    expect(puts()).toHaveLength(2);
    expect(os.keystone.count('POST', TOKENS)).toBe(2);
  });

  it('Keystone refusing the credentials on re-authentication (rotated): AUTH_FAILED', async () => {
    const host = lab.hosts.fault[0]!;
    const { nova } = client();
    await nova.getService(host);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, times: 1, fault: { kind: 'status', status: 401 } });
    os.keystone.inject({ method: 'POST', path: TOKENS, fault: { kind: 'status', status: 401 } });

    expect(await nova.setForcedDown(host, true)).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', status: 401, request: 'POST /v3/auth/tokens' } });
    expect(puts()).toHaveLength(1);
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
  });

  it.each([
    { path: 'modern (PUT /os-services/{uuid})', pin: undefined, put: PUT_BY_ID, host: 0 },
    { path: "legacy (the seed's PUT /os-services/force-down)", pin: '2.11', put: PUT_LEGACY, host: 1 },
  ])('$path: a PUT Nova applied but whose answer was lost (502) is retried harmlessly: OK, forced_down once', async ({ pin, put, host: i }) => {
    const host = lab.hosts.fault[i]!;
    const { nova } = client(pin ? { pin } : {});
    os.nova.inject({ method: 'PUT', path: put, times: 1, fault: { kind: 'forward-then-status', status: 502 } });

    const res = await nova.setForcedDown(host, true);

    expect(res).toMatchObject({ ok: true, value: { forcedDown: true } });
    // Both PUTs reached Nova: the first was applied (its answer lost), the retry found it done.
    expect(puts().map((c) => [c.forwarded, c.upstreamStatus, c.clientStatus])).toEqual([
      [true, 200, 502],
      [true, 200, 200],
    ]);
    expect(await probe.service(host)).toMatchObject({ forced_down: true, state: 'down' });
  });
});

describe('through the app layer (composed runtime, fake Slack): a plain outcome on the card, never stuck in executing', () => {
  function app(): AppHarness {
    const h = createAppHarness({ slack, cloud: through(lab.clouds.admin, os.authUrl) });
    harnesses.push(h);
    return h;
  }

  it('Nova keeps answering 503: the request fails with NOVA_UNAVAILABLE in plain words; a new confirmation retries it', async () => {
    const host = lab.hosts.fault[2]!;
    const h = app();
    const opened = await h.open(host);
    expect(h.cardText(opened)).toContain(`Force down ${host}`);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'status', status: 503 } });

    const failed = await h.confirmAndExecute(opened.id);

    expect(failed).toMatchObject({ state: 'failed', outcome: { code: 'NOVA_UNAVAILABLE', status: 503 } });
    expect(puts()).toHaveLength(3); // bounded: 1 + 2 retries
    const text = h.cardText(failed);
    expect(text).toContain(`❌ Nova's API did not answer (HTTP 503); *${host}* is not forced down`);
    expect(text).toContain(`${host} is NOT marked down yet`);
    expect(h.buttons(failed)).toEqual(['Retry…', 'Cancel']);
    expect(h.thread(failed).at(-1)).toMatch(/failed to force down .* → \*NOVA_UNAVAILABLE\* \(HTTP 503\)/);
    expect(await probe.service(host)).toMatchObject({ forced_down: false });

    // Nova is back: Retry… (a new confirmation) runs it again.
    os.clearFaults();
    const retried = await h.confirmAndExecute(opened.id, 'U0APPROVE2');
    expect(retried).toMatchObject({ state: 'succeeded', outcome: { code: 'OK' } });
    expect(retried.history.map((e) => e.state)).toEqual(['pending', 'approved', 'executing', 'failed', 'approved', 'executing', 'succeeded']);
    expect(h.cardText(retried)).toContain(`✅ *${host}* is forced down in Nova`);
    expect(await probe.service(host)).toMatchObject({ forced_down: true });
  });

  it('Keystone unreachable: KEYSTONE_UNAVAILABLE, and Nova is never called', async () => {
    const host = lab.hosts.fault[2]!;
    const h = app();
    os.keystone.inject({ method: 'POST', path: TOKENS, fault: { kind: 'reset' } });
    const opened = await h.open(host);
    expect(h.cardText(opened)).toContain('Keystone did not answer'); // the card's view of Nova says why it is missing

    const failed = await h.confirmAndExecute(opened.id);

    expect(failed).toMatchObject({ state: 'failed', outcome: { code: 'KEYSTONE_UNAVAILABLE' } });
    expect(h.cardText(failed)).toContain(`❌ Keystone did not answer; *${host}* is not forced down`);
    expect(h.cardText(failed)).toContain('Nova was not called');
    expect(os.nova.calls()).toEqual([]);
  });

  it('token revoked, then the credentials refused on re-authentication: AUTH_FAILED', async () => {
    const host = lab.hosts.fault[2]!;
    const h = app();
    const opened = await h.open(host); // the card's lookup cached a token
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'status', status: 401 } });
    os.keystone.inject({ method: 'POST', path: TOKENS, fault: { kind: 'status', status: 401 } });

    const failed = await h.confirmAndExecute(opened.id);

    expect(failed).toMatchObject({ state: 'failed', outcome: { code: 'AUTH_FAILED', status: 401 } });
    expect(h.cardText(failed)).toContain(`❌ Keystone refused force-down's credentials in *lab*; *${host}* is not forced down`);
    expect(h.cardText(failed)).toContain('update the secret');
    expect(os.nova.count('PUT', ANY, { forwarded: true })).toBe(0);
  });

  it('Nova hangs past the timeout on every attempt: failed with NOVA_UNAVAILABLE, not left executing', async () => {
    const host = lab.hosts.fault[2]!;
    const h = app();
    // The composed runtime's cloud client has the production timeouts (10 s per attempt):
    // swap in one with a 300 ms headers timeout, same code, so the test takes seconds.
    const fast = client({ headersTimeoutMs: 300 });
    h.deps.nova = (cloud) => (cloud === 'lab' ? fast.nova : undefined);
    await warm(fast.nova, host); // token, version and UUID cached (the card's lookup could time out on a busy machine)
    const opened = await h.open(host);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: { kind: 'hang' } });

    const failed = await h.confirmAndExecute(opened.id);

    expect(failed).toMatchObject({ state: 'failed', outcome: { code: 'NOVA_UNAVAILABLE' } });
    expect(puts()).toHaveLength(3);
    expect(h.cardText(failed)).toContain(`❌ Nova's API did not answer; *${host}* is not forced down`);
  });

  it('a PUT Nova applied whose answer was lost: one success, one card, forced_down true', async () => {
    const host = lab.hosts.fault[2]!;
    const h = app();
    const opened = await h.open(host);
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, times: 1, fault: { kind: 'forward-then-status', status: 502 } });

    const done = await h.confirmAndExecute(opened.id);

    expect(done).toMatchObject({ state: 'succeeded', outcome: { code: 'OK' } });
    expect(done.history.filter((e) => e.state === 'executing')).toHaveLength(1);
    expect(os.nova.count('PUT', PUT_BY_ID, { forwarded: true })).toBe(2);
    expect(h.cardText(done)).toContain(`✅ *${host}* is forced down in Nova`);
    expect(slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === undefined)).toHaveLength(1);
    expect(await probe.service(host)).toMatchObject({ forced_down: true });
  });
});
