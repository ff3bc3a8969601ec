// The lab serves evacuation: the instances seeded on evac1..evac4 (test/lab/seed_instances.py),
// listed by host like Masakari lists them, and Nova's real evacuate path (nova-api 26 with the
// Neutron stand-in), with the tests playing the conductor (test/integration/evacuation.ts).
// Hosts: evac1..evac4 only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeEvacuations, evacuationMigrations, finishEvacuation, instanceRow, instancesOn, resetEvacuations, seeded } from './evacuation.js';
import { createNovaProbe, loadLab, type Lab, type SeededInstance } from './lab.js';

const EVACUATE_MICROVERSION = '2.93'; // Nova 26's maximum (2.68+: no `force`)

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;

async function cleanUp(): Promise<void> {
  // Migrations first: Nova refuses to force a host up while a `done` evacuation away from it remains.
  for (const host of lab.hosts.evac) {
    await resetEvacuations(lab, host);
    await probe.reset(host);
  }
}

beforeAll(async () => {
  lab = loadLab();
  if (lab.hosts.evac.length < 4 || Object.keys(lab.instances).length < 4) {
    throw new Error('this lab predates the evacuation hosts evac1..evac4: restart it (npm run lab:stop && npm run lab:start)');
  }
  probe = createNovaProbe(lab);
  await cleanUp();
});
afterAll(async () => {
  if (lab && probe) await cleanUp();
});

const evacuate = (id: string, body: Record<string, unknown> = {}) => probe.request('POST', `/servers/${id}/action`, { evacuate: body }, EVACUATE_MICROVERSION);
const server = async (id: string) => (await probe.request('GET', `/servers/${id}`, undefined, EVACUATE_MICROVERSION)).body.server;
const migrations = async (id: string) =>
  (await probe.request('GET', `/os-migrations?instance_uuid=${id}&migration_type=evacuation`, undefined, EVACUATE_MICROVERSION)).body.migrations as any[];

/** Every server Nova lists on `host` (admin, all tenants), following `next` links page by page. */
async function listByHost(host: string, limit: number): Promise<{ ids: string[]; pages: number; servers: any[] }> {
  const servers: any[] = [];
  let pages = 0;
  let marker: string | undefined;
  for (;;) {
    const res = await probe.request('GET', `/servers/detail?all_tenants=1&host=${host}&limit=${limit}${marker ? `&marker=${marker}` : ''}`);
    expect(res.status).toBe(200);
    pages++;
    const page = res.body.servers as any[];
    servers.push(...page);
    const next = (res.body.servers_links as { rel: string }[] | undefined)?.some((l) => l.rel === 'next');
    if (!next || page.length === 0) break;
    marker = page[page.length - 1].id;
    if (pages > 100) throw new Error('no end to the pages');
  }
  return { ids: servers.map((s) => s.id), pages, servers };
}

describe('the seeded instances', () => {
  it('are listed by host (admin, all tenants), page by page with limit and marker: exactly the seeded ids, in their seeded states', async () => {
    const expected = seeded(lab, 'evac1');
    const { ids, pages, servers } = await listByHost('evac1', 2);
    expect(pages).toBe(3);
    expect(ids).toHaveLength(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected.map((i) => i.id)));
    for (const i of expected) {
      const s = servers.find((x) => x.id === i.id);
      expect(s).toMatchObject({ name: i.name, status: i.status, 'OS-EXT-SRV-ATTR:host': 'evac1', tenant_id: lab.evacOwner?.project_id });
      expect(s.metadata.HA_Enabled === 'True').toBe(i.ha);
    }
    expect(expected.map((i) => i.status).sort()).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ERROR', 'SHUTOFF']);
    expect(expected.filter((i) => i.ha)).toHaveLength(2);
  });

  it('evac3 has 60, across pages', async () => {
    const { ids, pages } = await listByHost('evac3', 25);
    expect(pages).toBe(3);
    expect(ids).toHaveLength(60);
    expect(new Set(ids)).toEqual(new Set(seeded(lab, 'evac3').map((i) => i.id)));
  });
});

describe('Nova\'s evacuate, the lab playing the conductor', () => {
  it('refuses while the host\'s nova-compute is up: 400 "still in use", nothing recorded', async () => {
    const [first] = seeded(lab, 'evac1');
    expect(await probe.service('evac1')).toMatchObject({ state: 'up', forced_down: false });
    const res = await evacuate(first!.id);
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toBe('Compute service of evac1 is still in use.');
    expect(await migrations(first!.id)).toEqual([]);
    expect(await instanceRow(lab, first!.id)).toMatchObject({ host: 'evac1', taskState: null });
  });

  it('accepts once the host is forced down (a migration `accepted`, task state `rebuilding`), accepts a second time too, and a finished evacuation moves the instance', async () => {
    const [one, two] = seeded(lab, 'evac2') as [SeededInstance, SeededInstance];
    expect((await probe.setForcedDown('evac2', true)).status).toBe(200);

    const res = await evacuate(one.id);
    expect(res.status).toBe(200);
    let migs = await migrations(one.id);
    expect(migs).toHaveLength(1);
    expect(migs[0]).toMatchObject({ migration_type: 'evacuation', status: 'accepted', source_compute: 'evac2', dest_compute: null, instance_uuid: one.id });
    expect(await server(one.id)).toMatchObject({ status: 'REBUILD', 'OS-EXT-STS:task_state': 'rebuilding', 'OS-EXT-SRV-ATTR:host': 'evac2' });
    const actions = (await probe.request('GET', `/servers/${one.id}/os-instance-actions`, undefined, EVACUATE_MICROVERSION)).body.instanceActions;
    expect(actions.map((a: any) => a.action)).toEqual(['evacuate']);

    // Measured: Nova 26 does not refuse a second evacuate of an instance already `rebuilding`
    // (evacuate checks the vm_state only): 200 and a second `accepted` migration. Exactly-once is
    // the caller's to keep.
    const again = await evacuate(one.id);
    expect(again.status).toBe(200);
    migs = await migrations(one.id);
    expect(migs.map((m) => m.status)).toEqual(['accepted', 'accepted']);

    // The conductor and the destination's compute, played: the newest migration `done`, the instance on evac1.
    const done = await finishEvacuation(lab, one.id, { status: 'done', dest: 'evac1' });
    expect(done.instance).toMatchObject({ host: 'evac1', node: 'evac1', taskState: null, vmState: 'active' });
    migs = await migrations(one.id);
    expect(migs.map((m) => m.status).sort()).toEqual(['accepted', 'done']);
    expect(migs.find((m) => m.status === 'done')).toMatchObject({ source_compute: 'evac2', dest_compute: 'evac1' });
    expect(await server(one.id)).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:task_state': null, 'OS-EXT-SRV-ATTR:host': 'evac1' });
    expect((await instancesOn(lab, 'evac2')).map((i) => i.id)).not.toContain(one.id);
    const { ids } = await listByHost('evac2', 2);
    expect(new Set(ids)).toEqual(new Set(seeded(lab, 'evac2').slice(1).map((i) => i.id)));

    // A conductor that finds no host: migration `error`, the instance ERROR (with a fault) on evac2.
    expect((await evacuate(two.id)).status).toBe(200);
    const failed = await finishEvacuation(lab, two.id, { status: 'error' });
    expect(failed.migration).toMatchObject({ status: 'error', sourceCompute: 'evac2' });
    expect(await server(two.id)).toMatchObject({ status: 'ERROR', 'OS-EXT-STS:task_state': null, 'OS-EXT-SRV-ATTR:host': 'evac2', fault: { message: 'No valid host was found. ' } });

    // Nova refuses to force evac2 up while its `done` evacuation remains; once its nova-compute has
    // "restarted" (done -> completed), it agrees.
    const refused = await probe.request('PUT', `/os-services/${(await probe.service('evac2')).id}`, { forced_down: false });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('`done` evacuation migration records remain');
    expect(await completeEvacuations(lab, 'evac2')).toBe(1);
    expect((await probe.setForcedDown('evac2', false)).status).toBe(200);

    // Reset: as seeded.
    expect(await resetEvacuations(lab, 'evac2')).toBe(3);
    expect((await instancesOn(lab, 'evac2')).map((i) => i.id)).toEqual(seeded(lab, 'evac2').map((i) => i.id));
    expect(await migrations(one.id)).toEqual([]);
    expect(await evacuationMigrations(lab, two.id)).toEqual([]);
    expect(await server(one.id)).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:task_state': null, 'OS-EXT-SRV-ATTR:host': 'evac2' });
    expect(await server(two.id)).toMatchObject({ status: 'ACTIVE', 'OS-EXT-SRV-ATTR:host': 'evac2' });
    expect((await server(two.id)).fault).toBeUndefined();
  });

  it('evac4: a PAUSED instance is refused (409), one `rebooting` is accepted, a named destination is kept', async () => {
    const [plain, rebooting, paused] = seeded(lab, 'evac4');
    expect(rebooting).toMatchObject({ task_state: 'rebooting', status: 'REBOOT' });
    expect(paused).toMatchObject({ vm_state: 'paused', status: 'PAUSED' });
    expect((await probe.setForcedDown('evac4', true)).status).toBe(200);

    const refused = await evacuate(paused!.id);
    expect(refused.status).toBe(409);
    expect(refused.body.conflictingRequest.message).toContain("Cannot 'evacuate' instance");
    expect(await migrations(paused!.id)).toEqual([]);

    expect((await evacuate(rebooting!.id)).status).toBe(200);
    expect((await migrations(rebooting!.id))[0]).toMatchObject({ status: 'accepted' });

    expect((await evacuate(plain!.id, { host: 'evac3' })).status).toBe(200);
    expect((await migrations(plain!.id))[0]).toMatchObject({ status: 'accepted', source_compute: 'evac4', dest_compute: 'evac3' });
    expect((await evacuate(plain!.id, { host: 'nosuchhost' })).status).toBe(404);

    expect(await resetEvacuations(lab, 'evac4')).toBe(2);
    expect(await server(rebooting!.id)).toMatchObject({ status: 'REBOOT', 'OS-EXT-STS:task_state': 'rebooting' });
    expect((await probe.setForcedDown('evac4', false)).status).toBe(200);
  });
});
