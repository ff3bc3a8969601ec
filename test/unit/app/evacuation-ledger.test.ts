// The store's evacuation ledger (src/app/evacuation-ledger.ts) under runEvacuation, with the real
// OpenStack client against the fake Keystone + Nova (test/fakes/fake-openstack.ts, real HTTP). Evacuate
// POSTs are counted at the fake, as Nova would see them. Run over the memory and the SQLite store.
import { afterEach, describe, expect, it } from 'vitest';
import { planEvacuation, runEvacuation, type EvacuationOptions, type EvacuationPlan } from '../../../src/app/evacuate.js';
import { storeLedger } from '../../../src/app/evacuation-ledger.js';
import type { RequestStore } from '../../../src/app/store-port.js';
import { cloudSchema } from '../../../src/config/schema.js';
import { newEvacuation } from '../../../src/domain/evacuation.js';
import { createCloudClient, type CloudClient } from '../../../src/openstack/cloud.js';
import { createSqliteStore } from '../../../src/store/sqlite.js';
import { startFakeOpenStack, type FakeOpenStack } from '../../fakes/fake-openstack.js';
import { createMemoryStore } from '../../fakes/memory-store.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const REQUEST = 'req-evac-ledger';

async function setup(n: number, extra: { host: string; name: string; vm_state?: string }[] = []) {
  const fake = await startFakeOpenStack({ hosts: ['src1', 'dst1'], servers: [...Array.from({ length: n }, (_, i) => ({ host: 'src1', name: `vm${i}` })), ...extra] });
  const cloud = cloudSchema.parse({
    auth: { auth_url: fake.authUrl, username: 'admin', password: 'ledger-test-pass', project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' },
    region_name: 'RegionOne',
  });
  const client: CloudClient = createCloudClient('test', cloud, { http: { retries: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 2 } });
  cleanups.push(() => fake.close(), () => client.close());
  fake.service('src1')!.forced_down = true;
  const planned = await planEvacuation(client.servers, client.nova, undefined, { host: 'src1', scope: 'all' });
  if (!planned.ok) throw new Error(`plan: ${planned.failure.message}`);
  return { fake, client, plan: planned.value };
}

const postsFor = (fake: FakeOpenStack, id: string) => fake.calls().filter((c) => c.method === 'POST' && c.path === `/v2.1/servers/${id}/action`).length;

/** Options whose sleep plays Nova's conductor: every evacuation in progress at the fake ends `done`. */
function options(fake: FakeOpenStack): EvacuationOptions {
  const clock = { now: 1_000_000 };
  return {
    concurrency: 3,
    timeoutMs: 30 * 60_000,
    pollMs: 5_000,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
      for (const m of fake.migrations()) if (m.status === 'accepted') fake.setMigrationStatus(m.id, 'done');
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

async function createLedger(store: RequestStore, plan: EvacuationPlan) {
  const res = await store.createEvacuation(
    newEvacuation({ id: 'evac-1', requestId: REQUEST, cloud: 'test', host: plan.host, scope: plan.scope, by: 'U0ALICE', at: new Date().toISOString() }, plan.instances),
  );
  expect(res.created).toBe(true);
}

const states = async (store: RequestStore) =>
  Object.fromEntries(Object.entries((await store.getEvacuation(REQUEST))?.instances ?? {}).map(([id, e]) => [id, e.state]));

const stores: [string, () => RequestStore][] = [
  ['memory', () => createMemoryStore()],
  [
    'sqlite',
    () => {
      const s = createSqliteStore({ path: ':memory:' });
      cleanups.push(() => s.close());
      return s;
    },
  ],
];

describe.each(stores)('storeLedger over the %s store', (_name, makeStore) => {
  it('two runs at once (two approvers, a worker retry) send exactly one evacuate per instance', async () => {
    const { fake, client, plan } = await setup(6);
    const store = makeStore();
    await createLedger(store, plan);
    const [a, b] = await Promise.all([
      runEvacuation(client.servers, plan, { ...options(fake), ledger: storeLedger(store, REQUEST) }),
      runEvacuation(client.servers, plan, { ...options(fake), ledger: storeLedger(store, REQUEST) }),
    ]);
    for (const i of plan.instances) expect(postsFor(fake, i.id)).toBe(1);
    expect(fake.migrations()).toHaveLength(6);
    // Each instance was sent by one run and followed (not sent) by the other; both saw every one end.
    for (const i of plan.instances) {
      const mine = [a, b].map((r) => r.results.find((x) => x.instance.id === i.id)!);
      expect(mine.filter((r) => r.acceptedEarlier === true)).toHaveLength(1);
      expect(mine.map((r) => r.result)).toEqual(['done', 'done']);
    }
    expect(Object.values(await states(store))).toEqual(Array(6).fill('done'));
  });

  it('a third run after the evacuation ended sends nothing', async () => {
    const { fake, client, plan } = await setup(3);
    const store = makeStore();
    await createLedger(store, plan);
    await runEvacuation(client.servers, plan, { ...options(fake), ledger: storeLedger(store, REQUEST) });
    const again = await runEvacuation(client.servers, plan, { ...options(fake), ledger: storeLedger(store, REQUEST) });
    for (const i of plan.instances) expect(postsFor(fake, i.id)).toBe(1);
    expect(again.results.every((r) => r.acceptedEarlier === true && r.result === 'done')).toBe(true);
  });

  it('resumes a crashed run: an accepted and a sending instance are followed, not resent; the planned one is sent once', async () => {
    const { fake, client, plan } = await setup(3);
    const store = makeStore();
    await createLedger(store, plan);
    const [accepted, sending, planned] = plan.instances.map((i) => i.id) as [string, string, string];
    // The crashed worker: claimed and sent two evacuates; recorded one's acceptance, died before recording the other's.
    for (const id of [accepted, sending]) {
      expect((await store.claimInstance(REQUEST, id, 'planned', 'sending')).ok).toBe(true);
      expect((await client.servers.evacuate(id)).ok).toBe(true);
    }
    await store.updateInstance(REQUEST, accepted, ['sending'], { state: 'accepted', at: new Date().toISOString() });

    const report = await runEvacuation(client.servers, plan, { ...options(fake), ledger: storeLedger(store, REQUEST) });
    expect(postsFor(fake, accepted)).toBe(1);
    expect(postsFor(fake, sending)).toBe(1);
    expect(postsFor(fake, planned)).toBe(1);
    expect(fake.migrations()).toHaveLength(3);
    const byId = (id: string) => report.results.find((r) => r.instance.id === id)!;
    expect(byId(accepted)).toMatchObject({ result: 'done', acceptedEarlier: true });
    expect(byId(sending)).toMatchObject({ result: 'done', acceptedEarlier: true });
    expect(byId(planned).acceptedEarlier).toBeUndefined();
    expect(report.summary.allDone).toBe(true);
    expect(await states(store)).toEqual({ [accepted]: 'done', [sending]: 'done', [planned]: 'done' });
  });

  it("records a refusal with Nova's own words (a PAUSED instance's 409), as the thread shows them", async () => {
    const { fake, client, plan } = await setup(1, [{ host: 'src1', name: 'paused', vm_state: 'paused' }]);
    const store = makeStore();
    await createLedger(store, plan);
    await runEvacuation(client.servers, plan, { ...options(fake), ledger: storeLedger(store, REQUEST) });
    const paused = plan.instances.find((i) => i.name === 'paused')!;
    const entry = (await store.getEvacuation(REQUEST))!.instances[paused.id];
    expect(entry).toMatchObject({ state: 'refused', code: 'INSTANCE_STATE_CONFLICT' });
    expect(entry!.message).toBe(`Nova will not evacuate the instance while its state is paused (Nova said: Cannot 'evacuate' instance ${paused.id} while it is in vm_state paused)`);
    expect(postsFor(fake, paused.id)).toBe(1);
  });

  it('never sends an instance the ledger does not name', async () => {
    const { fake, client, plan } = await setup(2);
    const store = makeStore();
    await createLedger(store, { ...plan, instances: plan.instances.slice(0, 1) });
    const extra = plan.instances[1]!;
    await runEvacuation(client.servers, plan, { ...options(fake), timeoutMs: 60_000, ledger: storeLedger(store, REQUEST) });
    expect(postsFor(fake, plan.instances[0]!.id)).toBe(1);
    expect(postsFor(fake, extra.id)).toBe(0);
  });
});
