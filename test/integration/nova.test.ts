// The OpenStack core against the real Keystone + Nova lab (test/lab/start.sh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudConfig } from '../../src/config/schema.js';
import { createCloudClient, type CloudClient } from '../../src/openstack/cloud.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
const clients: CloudClient[] = [];

function client(cloud: CloudConfig, name = 'lab'): CloudClient {
  const c = createCloudClient(name, cloud, { http: { retries: 1, retryBaseDelayMs: 10 } });
  clients.push(c);
  return c;
}
const pinned = (cloud: CloudConfig, microversion: string): CloudConfig => ({ ...cloud, compute_api_version: microversion });

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  for (const host of lab.hosts.compute) await probe.reset(host);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

describe.each([
  { path: 'modern (2.53: lookup, PUT /os-services/{uuid})', microversion: undefined, host: () => lab.hosts.compute[0]!, request: 'PUT /os-services/{id}', expectedVersion: '2.53' },
  { path: 'legacy (2.11: the seed\'s PUT /os-services/force-down)', microversion: '2.11', host: () => lab.hosts.compute[1]!, request: 'PUT /os-services/force-down', expectedVersion: '2.11' },
])('$path', ({ microversion, host, request, expectedVersion }) => {
  const cloud = () => (microversion ? pinned(lab.clouds.admin, microversion) : lab.clouds.admin);

  it('discovers Nova 2.93 and picks this path', async () => {
    const res = await client(cloud()).nova.discover();
    expect(res).toMatchObject({ ok: true, value: { maxVersion: '2.93', microversion: expectedVersion } });
  });

  it('forces a host down and back up, as Nova itself then reports', async () => {
    const h = host();
    const { nova } = client(cloud());
    expect(await probe.service(h)).toMatchObject({ state: 'up', forced_down: false });

    const down = await nova.setForcedDown(h, true);
    expect(down).toMatchObject({ ok: true, value: { forcedDown: true, request, microversion: expectedVersion } });
    expect(await probe.service(h)).toMatchObject({ state: 'down', forced_down: true });

    const view = await nova.getService(h);
    expect(view).toMatchObject({ ok: true, value: { host: h, binary: 'nova-compute', state: 'down', forcedDown: true, status: 'enabled' } });

    const up = await nova.setForcedDown(h, false);
    expect(up).toMatchObject({ ok: true, value: { forcedDown: false } });
    expect(await probe.service(h)).toMatchObject({ state: 'up', forced_down: false });
  });

  it('is idempotent: forcing down twice succeeds twice', async () => {
    const h = host();
    const { nova } = client(cloud());
    try {
      expect((await nova.setForcedDown(h, true)).ok).toBe(true);
      expect((await nova.setForcedDown(h, true)).ok).toBe(true);
      expect(await probe.service(h)).toMatchObject({ forced_down: true });
    } finally {
      await probe.reset(h);
    }
  });

  it('HOST_NOT_FOUND for an unknown host, keeping Nova\'s answer (both paths look the host up first: the legacy PUT is sent only for a name Nova spells exactly)', async () => {
    const res = await client(cloud()).nova.setForcedDown('nosuchhost', true);
    expect(res).toMatchObject({ ok: false, failure: { code: 'HOST_NOT_FOUND', detail: '{"services": []}' } });
    if (microversion) {
      // What the legacy PUT itself would have answered (and a MySQL Nova might have matched case-insensitively).
      const raw = await probe.request('PUT', '/os-services/force-down', { binary: 'nova-compute', host: 'nosuchhost', forced_down: true }, microversion);
      expect(raw).toMatchObject({ status: 404 });
      expect(JSON.stringify(raw.body)).toContain("Host 'nosuchhost' is not mapped to any cell");
    }
  });

  it('NOT_A_COMPUTE_SERVICE for a controller that runs only nova-scheduler', async () => {
    const res = await client(cloud()).nova.setForcedDown(lab.hosts.scheduler, true);
    expect(res).toMatchObject({ ok: false, failure: { code: 'NOT_A_COMPUTE_SERVICE', message: `${lab.hosts.scheduler} runs nova-scheduler, not nova-compute` } });
  });

  it('NOT_A_COMPUTE_SERVICE when Nova itself refuses the nova-scheduler binary', async () => {
    const res = await client(cloud()).nova.setForcedDown(lab.hosts.scheduler, true, 'nova-scheduler');
    expect(res).toMatchObject({
      ok: false,
      failure: { code: 'NOT_A_COMPUTE_SERVICE', status: 400, detail: expect.stringContaining('Updating a nova-scheduler service is not supported') },
    });
  });

  it('NOVA_FORBIDDEN for a member-only user (Nova policy)', async () => {
    const res = await client(microversion ? pinned(lab.clouds.member, microversion) : lab.clouds.member).nova.setForcedDown(host(), true);
    expect(res).toMatchObject({ ok: false, failure: { code: 'NOVA_FORBIDDEN', status: 403, detail: expect.stringContaining('os_compute_api:os-services') } });
    expect(await probe.service(host())).toMatchObject({ forced_down: false });
  });

  it('EVACUATIONS_PENDING when unsetting a host whose evacuations are not cleaned up', async () => {
    const h = lab.hosts.evacuated;
    const { nova } = client(cloud());
    expect((await nova.setForcedDown(h, true)).ok).toBe(true);
    const res = await nova.setForcedDown(h, false);
    expect(res).toMatchObject({ ok: false, failure: { code: 'EVACUATIONS_PENDING', status: 400, detail: expect.stringContaining('evacuation migration records remain') } });
    expect(await probe.service(h)).toMatchObject({ forced_down: true, state: 'down' });
  });
});

describe('authentication', () => {
  it('authenticates with an application credential', async () => {
    const c = client(lab.clouds.appcred);
    const h = lab.hosts.compute[3]!;
    try {
      expect(await c.nova.setForcedDown(h, true)).toMatchObject({ ok: true, value: { forcedDown: true } });
      expect(await probe.service(h)).toMatchObject({ forced_down: true });
    } finally {
      await probe.reset(h);
    }
  });

  it('re-authenticates once when Nova answers 401 to a revoked token', async () => {
    const c = client(lab.clouds.admin);
    const h = lab.hosts.compute[3]!;
    // Revoke the session's token before Nova ever validated (and cached) it, as after a
    // Keystone-side revocation or a fernet key rotation: Nova's first answer is a 401.
    const stale = await c.session.getToken();
    expect(await probe.revoke(stale.value)).toBe(204);
    try {
      expect(await c.nova.setForcedDown(h, true)).toMatchObject({ ok: true });
      expect(c.session.authCount).toBe(2);
      expect((await c.session.getToken()).value).not.toBe(stale.value);
      expect(await probe.service(h)).toMatchObject({ forced_down: true });
    } finally {
      await probe.reset(h);
    }
  });

  it('re-authenticates when the cached token is about to expire, then reuses the new one', async () => {
    let skew = 0;
    const c = createCloudClient('lab', lab.clouds.admin, { now: () => Date.now() + skew });
    clients.push(c);
    const first = await c.session.getToken();
    skew = first.expiresAt - 60_000 - Date.now(); // one minute before expiry: inside the refresh margin
    const second = await c.session.getToken();
    expect(c.session.authCount).toBe(2);
    expect(second.value).not.toBe(first.value);
    skew = 0;
    expect((await c.nova.getService(lab.hosts.compute[3]!)).ok).toBe(true);
    expect(c.session.authCount).toBe(2);
  });

  it('AUTH_FAILED for a wrong password, and the password is not in the failure', async () => {
    const bad: CloudConfig = { ...lab.clouds.admin, auth: { ...lab.clouds.admin.auth, password: 'wrong-Pa55-zz' } };
    const res = await client(bad).nova.setForcedDown(lab.hosts.compute[0]!, true);
    expect(res).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', status: 401 } });
    expect(JSON.stringify(res)).not.toContain('wrong-Pa55-zz');
  });

  it('KEYSTONE_UNAVAILABLE when Keystone does not answer', async () => {
    const gone: CloudConfig = { ...lab.clouds.admin, auth: { ...lab.clouds.admin.auth, auth_url: 'http://127.0.0.1:9/v3' } };
    const res = await client(gone).nova.setForcedDown(lab.hosts.compute[0]!, true);
    expect(res).toMatchObject({ ok: false, failure: { code: 'KEYSTONE_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') } });
  });

  it('ENDPOINT_NOT_FOUND for a region the catalog does not have', async () => {
    const res = await client({ ...lab.clouds.admin, region_name: 'RegionNowhere' }).nova.getService(lab.hosts.compute[0]!);
    expect(res).toMatchObject({ ok: false, failure: { code: 'ENDPOINT_NOT_FOUND' } });
  });
});

describe('microversion limits', () => {
  it('NOVA_TOO_OLD for a pin above what this Nova supports, without touching the host', async () => {
    const res = await client(pinned(lab.clouds.admin, '2.94')).nova.setForcedDown(lab.hosts.compute[0]!, true);
    expect(res).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD', message: expect.stringContaining('2.11..2.93') } });
    expect(await probe.service(lab.hosts.compute[0]!)).toMatchObject({ forced_down: false });
  });

  it('Nova itself answers 406 above its maximum (what NOVA_TOO_OLD guards against)', async () => {
    const res = await probe.request('GET', '/os-services', undefined, '2.94');
    expect(res.status).toBe(406);
  });

  it('Nova refuses the seed path at 2.53 with 400 (why the client switches paths)', async () => {
    const res = await probe.request('PUT', '/os-services/force-down', { binary: 'nova-compute', host: lab.hosts.compute[0], forced_down: true }, '2.53');
    expect(res.status).toBe(400);
  });
});

describe('listing', () => {
  it('lists every seeded nova-compute service with Nova\'s state', async () => {
    const res = await client(lab.clouds.admin).nova.listComputeServices();
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.value.map((s) => s.host)).toEqual(expect.arrayContaining([...lab.hosts.compute, lab.hosts.evacuated]));
    expect(res.value.every((s) => s.binary === 'nova-compute')).toBe(true);
    expect(res.value.find((s) => s.host === lab.hosts.compute[0])).toMatchObject({ state: 'up', forcedDown: false });
  });
});
