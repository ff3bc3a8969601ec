// Evacuating a host (src/app/evacuate.ts) with the real OpenStack client against the fake Keystone +
// Nova (test/fakes/fake-openstack.ts, real HTTP, Nova's evacuate rules per microversion). The test
// plays Nova's conductor from the evacuation's sleep: the fake clock moves only when it sleeps.
import { afterEach, describe, expect, it } from 'vitest';
import { evacuateHost, planEvacuation, type EvacuationInput, type EvacuationOptions, type EvacuationProgress } from '../../../src/app/evacuate.js';
import type { BmcGateway } from '../../../src/app/bmc-port.js';
import { cloudSchema } from '../../../src/config/schema.js';
import { fail, succeed } from '../../../src/domain/failure.js';
import { createCloudClient, type CloudClient } from '../../../src/openstack/cloud.js';
import { startFakeOpenStack, type FakeOpenStack, type FakeOpenStackOptions, type FakeServerInput } from '../../fakes/fake-openstack.js';

const opened: { fake: FakeOpenStack; client: CloudClient }[] = [];
afterEach(async () => {
  for (const { fake, client } of opened.splice(0)) {
    await client.close();
    await fake.close();
  }
});

async function setup(servers: FakeServerInput[], fakeOpts: FakeOpenStackOptions = {}) {
  const fake = await startFakeOpenStack({ hosts: ['src1', 'dst1', 'dst2'], servers, ...fakeOpts });
  const cloud = cloudSchema.parse({
    auth: { auth_url: fake.authUrl, username: 'admin', password: 'evacuate-test-pass', project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' },
    region_name: 'RegionOne',
  });
  const client = createCloudClient('test', cloud, { http: { retries: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 2 } });
  opened.push({ fake, client });
  return { fake, client };
}

const vms = (n: number, extra: Partial<FakeServerInput> = {}) => Array.from({ length: n }, (_, i) => ({ host: 'src1', name: `vm${i}`, ...extra }));
const forceDown = (fake: FakeOpenStack, host = 'src1') => void (fake.service(host)!.forced_down = true);
const evacuatePosts = (fake: FakeOpenStack) => fake.calls().filter((c) => c.method === 'POST' && /\/servers\/[^/]+\/action$/.test(c.path));
const postsFor = (fake: FakeOpenStack, id: string) => evacuatePosts(fake).filter((c) => c.path === `/v2.1/servers/${id}/action`).length;
const accepted = (fake: FakeOpenStack) => fake.migrations().filter((m) => m.status === 'accepted');

interface Conductor {
  /** Most evacuations in progress at the fake (migrations `accepted`), seen at any poll. */
  maxInProgress: number;
  progress: EvacuationProgress[];
  opts: EvacuationOptions;
}

/**
 * Options whose sleep plays the conductor: once `limit` evacuations are in progress (or every
 * instance has been sent), it ends the oldest with `end(instanceId)` (`done` by default; undefined: never).
 */
function conductor(fake: FakeOpenStack, total: number, o: { concurrency: number; end?: (instanceId: string) => string | undefined; timeoutMs?: number }): Conductor {
  const clock = { now: 1_000_000 };
  const c: Conductor = {
    maxInProgress: 0,
    progress: [],
    opts: {
      concurrency: o.concurrency,
      timeoutMs: o.timeoutMs ?? 30 * 60_000,
      pollMs: 5_000,
      now: () => clock.now,
      sleep: async (ms) => {
        clock.now += ms;
        const pending = accepted(fake);
        c.maxInProgress = Math.max(c.maxInProgress, pending.length);
        if (pending.length >= o.concurrency || evacuatePosts(fake).length >= total) {
          const endOf = (id: string) => (o.end ? o.end(id) : 'done');
          const oldest = pending.find((m) => endOf(m.instance_uuid) !== undefined);
          if (oldest) fake.setMigrationStatus(oldest.id, endOf(oldest.instance_uuid)!);
        }
        await new Promise((resolve) => setImmediate(resolve));
      },
      onProgress: (p) => void c.progress.push(p),
    },
  };
  return c;
}

const ALL: EvacuationInput = { host: 'src1', scope: 'all' };

describe('evacuateHost', () => {
  it('evacuates every instance once, never more than the concurrency in progress, and follows each to done', async () => {
    const { fake, client } = await setup(vms(7));
    forceDown(fake);
    const c = conductor(fake, 7, { concurrency: 3 });
    const res = await evacuateHost(client.servers, client.nova, undefined, ALL, c.opts);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.value.summary).toEqual({ total: 7, done: 7, failed: 0, timeout: 0, refused: 0, unfinished: 0, allDone: true });
    expect(res.value.results.map((r) => r.instance.name)).toEqual(['vm0', 'vm1', 'vm2', 'vm3', 'vm4', 'vm5', 'vm6']);
    // Exactly once each, and one migration each at Nova.
    const posts = evacuatePosts(fake);
    expect(posts).toHaveLength(7);
    for (const r of res.value.results) expect(postsFor(fake, r.instance.id)).toBe(1);
    expect(fake.migrations()).toHaveLength(7);
    // The limit was reached and never passed.
    expect(c.maxInProgress).toBe(3);
    // The body Nova's 2.68 wants: no onSharedStorage, no force, no host (Nova's scheduler chooses).
    for (const p of posts) {
      expect(p.body).toEqual({ evacuate: {} });
      expect(p.microversion).toBe('2.68');
    }
    const kinds = (name: string) => c.progress.filter((p) => p.instance.name === name).map((p) => p.kind);
    expect(kinds('vm4')).toEqual(['sent', 'accepted', 'done']);
  });

  it('sends an instance Nova lists twice only once', async () => {
    const { fake, client } = await setup(vms(3));
    forceDown(fake);
    const servers = {
      ...client.servers,
      listServersOnHost: async (host: string) => {
        const r = await client.servers.listServersOnHost(host);
        return r.ok ? succeed([...r.value, r.value[0]!, r.value[1]!]) : r;
      },
    };
    const c = conductor(fake, 3, { concurrency: 5 });
    const res = await evacuateHost(servers, client.nova, undefined, ALL, c.opts);
    expect(res.ok && res.value.summary).toMatchObject({ total: 3, done: 3, allDone: true });
    expect(evacuatePosts(fake)).toHaveLength(3);
    for (const s of fake.migrations()) expect(postsFor(fake, s.instance_uuid)).toBe(1);
  });

  it('reports an instance Nova refuses (PAUSED: 409) or fails to answer for, without sending it again', async () => {
    const { fake, client } = await setup([...vms(2), { host: 'src1', name: 'paused', vm_state: 'paused' }, { host: 'src1', name: 'lost' }]);
    forceDown(fake);
    const list = await client.servers.listServersOnHost('src1');
    const lostId = list.ok ? list.value.find((i) => i.name === 'lost')!.id : '';
    fake.failNext('POST', new RegExp(`/servers/${lostId}/action$`), 503, 'Service Unavailable');
    const c = conductor(fake, 4, { concurrency: 2 });
    const res = await evacuateHost(client.servers, client.nova, undefined, ALL, c.opts);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.value.summary).toMatchObject({ total: 4, done: 2, refused: 2, allDone: false });
    const paused = res.value.results.find((r) => r.instance.name === 'paused')!;
    expect(paused).toMatchObject({ result: 'refused', failure: { code: 'INSTANCE_STATE_CONFLICT', status: 409 } });
    expect(paused.failure!.message).toMatch(/will not evacuate the instance while its state is paused/);
    expect(paused.failure!.detail).toMatch(/vm_state paused/);
    const lostResult = res.value.results.find((r) => r.instance.name === 'lost')!;
    expect(lostResult).toMatchObject({ result: 'refused', failure: { code: 'NOVA_UNAVAILABLE' } });
    expect(postsFor(fake, paused.instance.id)).toBe(1);
    expect(postsFor(fake, lostId)).toBe(1);
    expect(c.progress.filter((p) => p.kind === 'error').map((p) => p.instance.name).sort()).toEqual(['lost', 'paused']);
  });

  it('follows an evacuation Nova accepted though its answer was lost, without sending it again', async () => {
    const { fake, client } = await setup(vms(2));
    forceDown(fake);
    const servers = {
      ...client.servers,
      evacuate: async (id: string, target?: string) => {
        const r = await client.servers.evacuate(id, target);
        return r.ok ? fail({ code: 'NOVA_UNAVAILABLE' as const, message: 'the answer was lost' }) : r;
      },
    };
    const c = conductor(fake, 2, { concurrency: 2 });
    const res = await evacuateHost(servers, client.nova, undefined, ALL, c.opts);
    expect(res.ok && res.value.summary).toMatchObject({ done: 2, allDone: true });
    expect(evacuatePosts(fake)).toHaveLength(2);
  });

  it('ends a migration that errors as failed, and one that never ends as timed out, each sent once', async () => {
    const { fake, client } = await setup(vms(3));
    forceDown(fake);
    const list = await client.servers.listServersOnHost('src1');
    const [, second, third] = list.ok ? list.value : [];
    const c = conductor(fake, 3, { concurrency: 3, timeoutMs: 60_000, end: (id) => (id === second!.id ? 'error' : id === third!.id ? undefined : 'done') });
    const res = await evacuateHost(client.servers, client.nova, undefined, ALL, c.opts);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.value.summary).toEqual({ total: 3, done: 1, failed: 1, timeout: 1, refused: 0, unfinished: 0, allDone: false });
    expect(res.value.results[1]).toMatchObject({ result: 'failed', failure: { code: 'EVACUATION_FAILED' }, migration: { status: 'error', phase: 'failed' } });
    expect(res.value.results[2]).toMatchObject({ result: 'timeout', failure: { code: 'EVACUATION_TIMEOUT' }, migration: { status: 'accepted' } });
    expect(res.value.results[2]!.failure!.message).toMatch(/did not end within 1 min \(migration status accepted\)/);
    expect(evacuatePosts(fake)).toHaveLength(3);
  });

  it('evacuates only the HA-marked instances with ha-only, to the chosen target', async () => {
    const { fake, client } = await setup([{ host: 'src1', name: 'ha', metadata: { HA_Enabled: 'True' } }, { host: 'src1', name: 'plain' }]);
    forceDown(fake);
    const c = conductor(fake, 1, { concurrency: 5 });
    const res = await evacuateHost(client.servers, client.nova, undefined, { host: 'src1', scope: 'ha-only', target: 'dst2' }, c.opts);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.value.plan.listed).toHaveLength(2);
    expect(res.value.results.map((r) => [r.instance.name, r.result, r.migration?.destCompute])).toEqual([['ha', 'done', 'dst2']]);
    expect(evacuatePosts(fake).map((p) => p.body)).toEqual([{ evacuate: { host: 'dst2' } }]);
  });

  it('follows, and does not send, an instance the ledger says was accepted earlier; records the rest', async () => {
    const { fake, client } = await setup(vms(2));
    forceDown(fake);
    const list = await client.servers.listServersOnHost('src1');
    const [first] = list.ok ? list.value : [];
    expect((await client.servers.evacuate(first!.id)).ok).toBe(true); // an earlier run's
    fake.reset();
    const recorded: string[] = [];
    const c = conductor(fake, 1, { concurrency: 2 });
    const res = await evacuateHost(client.servers, client.nova, undefined, ALL, {
      ...c.opts,
      ledger: { alreadyAccepted: (id) => id === first!.id, record: (id, o) => void recorded.push(`${id === first!.id ? 'first' : 'second'} ${o}`) },
    });
    expect(res.ok && res.value.summary).toMatchObject({ done: 2, allDone: true });
    expect(res.ok && res.value.results[0]).toMatchObject({ acceptedEarlier: true, result: 'done' });
    expect(postsFor(fake, first!.id)).toBe(0);
    expect(evacuatePosts(fake)).toHaveLength(1);
    expect(recorded.sort()).toEqual(['first done', 'second accepted', 'second done', 'second sending']);
  });
});

describe('planEvacuation refuses before anything is sent', () => {
  const onBmc = (powerState: string): Pick<BmcGateway, 'readPower'> => ({ readPower: async () => succeed({ powerState, readAt: 1, system: '/redfish/v1/Systems/1' }) });

  it.each([
    ['a host Nova has up', {}, false, undefined, 'HOST_STILL_IN_USE'],
    ['a host whose BMC reads On', {}, true, onBmc('On'), 'BMC_SAYS_ON'],
    ['the host itself as target', { target: 'src1' }, true, undefined, 'TARGET_SAME_HOST'],
    ['an unknown target', { target: 'nowhere' }, true, undefined, 'TARGET_NOT_FOUND'],
    ['a forced-down target', { target: 'dst1' }, true, undefined, 'TARGET_NOT_FOUND'],
  ] as const)('%s', async (_, input, down, bmc, code) => {
    const { fake, client } = await setup(vms(2));
    if (down) forceDown(fake);
    if ('target' in input && input.target === 'dst1') forceDown(fake, 'dst1');
    const res = await planEvacuation(client.servers, client.nova, bmc, { ...ALL, ...input });
    expect(res).toMatchObject({ ok: false, failure: { code } });
    expect(!res.ok && res.failure.message).toMatch(/nothing was sent/);
    expect(evacuatePosts(fake)).toHaveLength(0);
  });

  it('a Nova below 2.14 (NOVA_TOO_OLD)', async () => {
    const { fake, client } = await setup(vms(1), { maxVersion: '2.12' });
    forceDown(fake);
    const res = await planEvacuation(client.servers, client.nova, undefined, ALL);
    expect(res).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
    expect(evacuatePosts(fake)).toHaveLength(0);
  });

  it('goes on when the BMC reads Off, or cannot be read (noted in the plan)', async () => {
    const { fake, client } = await setup(vms(1));
    forceDown(fake);
    const off = await planEvacuation(client.servers, client.nova, onBmc('Off'), ALL);
    expect(off.ok && off.value.bmc).toMatchObject({ reading: { powerState: 'Off' } });
    const dead = await planEvacuation(client.servers, client.nova, { readPower: async () => fail({ code: 'BMC_UNREACHABLE', message: 'timed out' }) }, ALL);
    expect(dead.ok && dead.value.bmc).toMatchObject({ unreadable: { code: 'BMC_UNREACHABLE' } });
    expect(dead.ok && dead.value.instances).toHaveLength(1);
  });
});
