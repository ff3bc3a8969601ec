// The fence checks (src/app/fence.ts) with the real Redfish client against the fake BMC
// (test/fakes/redfish.ts) and the hand-written Nova fake: what decides that a force-down goes ahead.
import { afterEach, describe, expect, it } from 'vitest';
import { checkFence, type FenceCheckInput, type FenceCheckOptions, type FenceProgress } from '../../../src/app/fence.js';
import { createRedfishGateway } from '../../../src/bmc/redfish.js';
import type { Failure, Outcome } from '../../../src/domain/failure.js';
import { FAKE_BMC_CA, startFakeRedfish, type FakeRedfish, type FakeRedfishOptions } from '../../fakes/redfish.js';
import { fakeNova, svc } from './harness.js';

const USER = 'fence-test-user';
const PASSWORD = 'fence-test-SEKRET';
const fakes: FakeRedfish[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function bmcFor(opts: FakeRedfishOptions = {}) {
  const fake = await startFakeRedfish({ username: USER, password: PASSWORD, resetDelayMs: 50, host: 'compute7', ...opts });
  fakes.push(fake);
  const gateway = createRedfishGateway(
    { host: 'compute7', url: fake.url, auth: { username: USER, password: PASSWORD }, tls: { ca: FAKE_BMC_CA, insecure: false } },
    { pollIntervalMs: 20 },
  );
  return { fake, gateway };
}

/** A host Nova last heard from `ageMs` before `now`. */
function novaWith(now: number, ageMs: number) {
  const service = { ...svc('compute7'), state: 'up', updatedAt: new Date(now - ageMs).toISOString().replace('Z', '') };
  return fakeNova({ compute7: service });
}

function options(now: () => number, over: Partial<FenceCheckOptions> = {}) {
  const progress: FenceProgress[] = [];
  const sleeps: number[] = [];
  const opts: FenceCheckOptions = {
    heartbeatWaitMs: 20_000,
    powerOffTimeoutMs: 30_000,
    now,
    sleep: async (ms) => void sleeps.push(ms),
    onProgress: (p) => void progress.push(p),
    ...over,
  };
  return { opts, progress, sleeps };
}

const input = (over: Partial<FenceCheckInput> = {}): FenceCheckInput => ({ host: 'compute7', binary: 'nova-compute', method: 'bmc', confirmedAtMs: Date.now() - 1_000, ...over });

function failureOf<T>(o: Outcome<T>): Failure {
  if (o.ok) throw new Error(`expected a failure, got ${JSON.stringify(o.value)}`);
  return o.failure;
}

describe('checkFence', () => {
  it('power off now: resets via Redfish, waits for Off, then lets the force-down go ahead without the heartbeat wait', async () => {
    const { fake, gateway } = await bmcFor();
    const nova = novaWith(Date.now(), 5_000); // a heartbeat 5 s ago: the watch alone would wait
    const { opts, progress, sleeps } = options(Date.now);
    const res = await checkFence(nova.gateway, gateway, input({ method: 'power-off' }), opts);
    if (!res.ok) throw new Error(res.failure.message);
    expect(fake.resets()).toEqual([{ system: '1', resetType: 'ForceOff' }]);
    expect(fake.powerState()).toBe('Off');
    expect(res.value.bmc?.powerState).toBe('Off');
    expect(res.value.bmc?.reset?.resetType).toBe('ForceOff');
    expect(res.value.bmc!.reset!.offAt).toBeGreaterThanOrEqual(res.value.bmc!.reset!.sentAt);
    expect(sleeps).toEqual([]); // no heartbeat wait
    expect(progress.some((p) => p.kind === 'powering-off' && p.powerState === 'On')).toBe(true);
    expect(progress.some((p) => p.kind === 'heartbeat-wait')).toBe(false);
  });

  it('power off now: a heartbeat after the BMC read Off refuses (the BMC powered off another machine, or lies)', async () => {
    const { gateway } = await bmcFor();
    const nova = novaWith(Date.now(), 0);
    // Nova's record moves forward past the power-off: nova-compute still reports.
    const original = nova.gateway.getService.bind(nova.gateway);
    nova.gateway.getService = async (host, binary) => {
      const r = await original(host, binary);
      return r.ok ? { ok: true, value: { ...r.value, updatedAt: new Date(Date.now() + 60_000).toISOString().replace('Z', '') } } : r;
    };
    const { opts } = options(Date.now);
    expect(failureOf(await checkFence(nova.gateway, gateway, input({ method: 'power-off' }), opts)).code).toBe('HOST_STILL_REPORTING');
  });

  it('power off now without a BMC is a configuration failure, and nothing is sent', async () => {
    const nova = novaWith(Date.now(), 600_000);
    const { opts } = options(Date.now);
    expect(failureOf(await checkFence(nova.gateway, undefined, input({ method: 'power-off' }), opts)).code).toBe('BMC_CONFIG');
  });

  it('power off now: a BMC that accepts the reset and never reaches Off times out (BMC_POWER_OFF_TIMEOUT)', async () => {
    const { fake, gateway } = await bmcFor({ mode: 'lie' });
    const nova = novaWith(Date.now(), 600_000);
    const { opts } = options(Date.now, { powerOffTimeoutMs: 300 });
    expect(failureOf(await checkFence(nova.gateway, gateway, input({ method: 'power-off' }), opts)).code).toBe('BMC_POWER_OFF_TIMEOUT');
    expect(fake.powerState()).toBe('On');
  });

  it('"BMC power-off" (already done) with the BMC reading On: BMC_SAYS_ON, and no reset is sent', async () => {
    const { fake, gateway } = await bmcFor();
    const nova = novaWith(Date.now(), 600_000);
    const { opts } = options(Date.now);
    const f = failureOf(await checkFence(nova.gateway, gateway, input({ method: 'bmc' }), opts));
    expect(f.code).toBe('BMC_SAYS_ON');
    expect(f.message).toContain('power On');
    expect(fake.resets()).toEqual([]);
    expect(f.message).not.toContain(PASSWORD);
  });

  it('"BMC power-off" with the BMC reading Off: goes ahead at once, even with a recent heartbeat (evidence beats the wait)', async () => {
    const { fake, gateway } = await bmcFor();
    fake.setPowerState('1', 'Off');
    const now = Date.now();
    const nova = novaWith(now, 5_000);
    const { opts, sleeps } = options(Date.now);
    const res = await checkFence(nova.gateway, gateway, input({ method: 'bmc', confirmedAtMs: now }), opts);
    if (!res.ok) throw new Error(res.failure.message);
    expect(res.value.bmc?.powerState).toBe('Off');
    expect(res.value.waitedMs).toBe(0);
    expect(sleeps).toEqual([]);
  });

  it('"BMC power-off" with the BMC unreachable: BMC_UNREACHABLE (nobody could check the word)', async () => {
    const { fake, gateway } = await bmcFor();
    await fake.close();
    const nova = novaWith(Date.now(), 600_000);
    const { opts } = options(Date.now);
    expect(failureOf(await checkFence(nova.gateway, gateway, input({ method: 'bmc' }), opts)).code).toBe('BMC_UNREACHABLE');
  });

  it('another method (switch ports down) on a host whose BMC reads On: the heartbeat watch decides, the reading is kept', async () => {
    const { gateway } = await bmcFor();
    const nova = novaWith(Date.now(), 600_000);
    const { opts } = options(Date.now);
    const res = await checkFence(nova.gateway, gateway, input({ method: 'network' }), opts);
    if (!res.ok) throw new Error(res.failure.message);
    expect(res.value.bmc?.powerState).toBe('On');
  });

  it('a host without a BMC: the heartbeat watch as before (a recent heartbeat is waited on)', async () => {
    let clock = Date.now();
    const nova = novaWith(clock, 5_000);
    const { opts, progress } = options(() => clock, { sleep: async (ms) => void (clock += ms) });
    const res = await checkFence(nova.gateway, undefined, input({ method: 'pdu', confirmedAtMs: clock }), opts);
    if (!res.ok) throw new Error(res.failure.message);
    expect(res.value.bmc).toBeUndefined();
    expect(res.value.waitedMs).toBeGreaterThanOrEqual(15_000);
    expect(progress.map((p) => p.kind)).toEqual(['heartbeat-wait']);
  });
});
