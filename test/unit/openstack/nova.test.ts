import { describe, expect, it } from 'vitest';
import { cloudSchema } from '../../../src/config/schema.js';
import type { HttpRequest } from '../../../src/openstack/http.js';
import { TransportError } from '../../../src/openstack/http.js';
import { createKeystoneSession } from '../../../src/openstack/keystone.js';
import { chooseApi, classifyNovaError, compareMicroversions, createNovaClient, versionRootOf } from '../../../src/openstack/nova.js';
import { COMPUTE_URL, createFakeHttp, keystoneRoute, versionRoute, type Route } from '../../fakes/http-client.js';

const UUID = '5a8f3c5e-0d6b-4c57-9c0e-2f2d4f1b7a10';
const cloud = cloudSchema.parse({
  auth: { auth_url: 'http://keystone.test:5000/v3', application_credential_id: 'id', application_credential_secret: 's' },
  region_name: 'RegionOne',
});

const svc = (over: Record<string, unknown> = {}) => ({
  id: UUID, binary: 'nova-compute', host: 'compute1', zone: 'nova', status: 'enabled', state: 'up',
  forced_down: false, updated_at: '2026-11-25T14:00:00.000000', disabled_reason: null, ...over,
});

function novaWith(max: string, ...routes: Route[]) {
  const http = createFakeHttp(keystoneRoute({ now: Date.now }), versionRoute(max), ...routes);
  const session = createKeystoneSession(cloud, { http });
  return { http, nova: createNovaClient({ session, http }), novaRequests: () => http.requests.filter((r) => !r.url.includes('/v3/')) };
}

const path = (r: HttpRequest) => `${r.method} ${r.url.replace(COMPUTE_URL, '')}`;
const listRoute = (services: unknown[]): Route => (req) =>
  req.method === 'GET' && req.url.startsWith(`${COMPUTE_URL}/os-services?`) ? { status: 200, body: { services } } : undefined;

describe('microversions', () => {
  it('compares numerically, not lexically', () => {
    expect(compareMicroversions('2.9', '2.11')).toBeLessThan(0);
    expect(compareMicroversions('2.53', '2.53')).toBe(0);
    expect(compareMicroversions('2.93', '2.53')).toBeGreaterThan(0);
  });
  it('chooses the UUID path from 2.53, the seed path from 2.11, and refuses older Novas', () => {
    expect(chooseApi('2.93')).toEqual({ ok: true, value: { path: 'modern', microversion: '2.53', maxVersion: '2.93' } });
    expect(chooseApi('2.52')).toEqual({ ok: true, value: { path: 'legacy', microversion: '2.11', maxVersion: '2.52' } });
    expect(chooseApi('2.11')).toMatchObject({ ok: true, value: { path: 'legacy' } });
    expect(chooseApi('2.10')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
    expect(chooseApi('')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
  });
  it('honours a pin inside 2.11..max', () => {
    expect(chooseApi('2.93', '2.11')).toMatchObject({ ok: true, value: { path: 'legacy', microversion: '2.11' } });
    expect(chooseApi('2.93', '2.60')).toMatchObject({ ok: true, value: { path: 'modern', microversion: '2.60' } });
    expect(chooseApi('2.93', '2.94')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
    expect(chooseApi('2.93', '2.10')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
  });
  it('finds the version document above a project id in the catalog URL', () => {
    expect(versionRootOf('http://n:8774/v2.1')).toBe('http://n:8774/v2.1/');
    expect(versionRootOf('http://n:8774/v2.1/5e3c2a')).toBe('http://n:8774/v2.1/');
    expect(versionRootOf('https://cloud/compute/v2.1/5e3c2a')).toBe('https://cloud/compute/v2.1/');
  });
});

describe('Nova error classification', () => {
  const res = (status: number, message: string) => ({ status, body: { x: { code: status, message } }, text: '' });
  it.each([
    [404, "Host 'nosuch' is not mapped to any cell", 'HOST_NOT_FOUND'],
    [400, 'Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.', 'NOT_A_COMPUTE_SERVICE'],
    [403, "Policy doesn't allow os_compute_api:os-services:update to be performed.", 'NOVA_FORBIDDEN'],
    [400, 'Unable to force up host compute6 as `done` evacuation migration records remain associated with the host.', 'EVACUATIONS_PENDING'],
    [406, 'Version 2.94 is not supported by the API.', 'NOVA_TOO_OLD'],
    [400, "Invalid input for field/attribute forced_down.", 'NOVA_REJECTED'],
    [500, 'Unexpected API Error.', 'NOVA_UNAVAILABLE'],
  ])('HTTP %i "%s" → %s, keeping Nova\'s words', (status, message, code) => {
    expect(classifyNovaError(res(status, message), 'PUT /x')).toMatchObject({ code, detail: message, status, request: 'PUT /x' });
  });
});

describe('Nova client', () => {
  it('at 2.93 looks the service up once, then forces down with a single PUT by UUID', async () => {
    const { nova, novaRequests } = novaWith(
      '2.93',
      listRoute([svc()]),
      (req) => (req.method === 'PUT' && req.url === `${COMPUTE_URL}/os-services/${UUID}` ? { status: 200, body: { service: svc({ forced_down: (req.json as { forced_down: boolean }).forced_down, state: 'down' }) } } : undefined),
    );
    const first = await nova.setForcedDown('compute1', true);
    expect(first).toMatchObject({ ok: true, value: { forcedDown: true, request: 'PUT /os-services/{id}', microversion: '2.53', service: { host: 'compute1', state: 'down' } } });
    const second = await nova.setForcedDown('compute1', false);
    expect(second).toMatchObject({ ok: true, value: { forcedDown: false } });
    // The lookup runs alongside the version document on the first call; after that, one PUT per call.
    expect(novaRequests().slice(0, 2).map(path).sort()).toEqual(['GET /', 'GET /os-services?binary=nova-compute&host=compute1']);
    expect(novaRequests().slice(2).map(path)).toEqual([`PUT /os-services/${UUID}`, `PUT /os-services/${UUID}`]);
    const put = novaRequests()[2]!;
    expect(put.headers).toMatchObject({ 'openstack-api-version': 'compute 2.53', 'x-openstack-nova-api-version': '2.53' });
    expect(put.json).toEqual({ forced_down: true });
  });

  it('re-looks up a cached UUID that Nova no longer knows (service record re-created)', async () => {
    const NEW = '11111111-2222-3333-4444-555555555555';
    let currentId = UUID;
    const { nova, novaRequests } = novaWith(
      '2.93',
      (req) => (req.method === 'GET' && req.url.includes('/os-services?') ? { status: 200, body: { services: [svc({ id: currentId })] } } : undefined),
      (req) => {
        if (req.method !== 'PUT') return undefined;
        return req.url.endsWith(currentId)
          ? { status: 200, body: { service: svc({ id: currentId, forced_down: true }) } }
          : { status: 404, body: { itemNotFound: { code: 404, message: `Service ${UUID} could not be found.` } } };
      },
    );
    expect((await nova.getService('compute1')).ok).toBe(true); // caches UUID
    currentId = NEW; // nova-compute's service record was deleted and re-created
    expect(await nova.setForcedDown('compute1', true)).toMatchObject({ ok: true, value: { service: { id: NEW } } });
    expect(novaRequests().slice(2).map(path)).toEqual([`PUT /os-services/${UUID}`, 'GET /os-services?binary=nova-compute&host=compute1', `PUT /os-services/${NEW}`]);
  });

  it('at 2.52 uses the seed path with binary, host and forced_down', async () => {
    const { nova, novaRequests } = novaWith('2.52', listRoute([svc({ host: 'compute2' })]), (req) =>
      req.method === 'PUT' ? { status: 200, body: { service: { host: 'compute2', binary: 'nova-compute', forced_down: true } } } : undefined,
    );
    const res = await nova.setForcedDown('compute2', true);
    expect(res).toMatchObject({ ok: true, value: { request: 'PUT /os-services/force-down', microversion: '2.11', forcedDown: true } });
    const put = novaRequests().at(-1)!;
    expect(path(put)).toBe('PUT /os-services/force-down');
    expect(put.json).toEqual({ binary: 'nova-compute', host: 'compute2', forced_down: true });
  });

  it('on a Nova below 2.53 drops the lookup it started alongside discovery and takes the seed path', async () => {
    const { nova, novaRequests } = novaWith(
      '2.52',
      (req) =>
        req.method === 'GET' && req.headers?.['openstack-api-version'] === 'compute 2.53'
          ? { status: 406, body: { computeFault: { code: 406, message: 'Version 2.53 is not supported by the API.' } } }
          : undefined,
      listRoute([svc({ host: 'compute2' })]),
      (req) => (req.method === 'PUT' ? { status: 200, body: { service: { host: 'compute2', binary: 'nova-compute', forced_down: true } } } : undefined),
    );
    expect(await nova.setForcedDown('compute2', true)).toMatchObject({ ok: true, value: { request: 'PUT /os-services/force-down' } });
    expect(novaRequests().map(path).at(-1)).toBe('PUT /os-services/force-down');
  });

  it('at 2.52 sends only a name Nova lists exactly: a MySQL Nova listing rt1 for host=RT1 gets no PUT (HOST_NOT_FOUND); the check is once per host', async () => {
    // MySQL's default collation: the host filter matches whatever the case.
    const { nova, novaRequests } = novaWith(
      '2.52',
      (req) =>
        req.method === 'GET' && req.url.includes('/os-services?') && new URL(req.url).searchParams.get('host')?.toLowerCase() === 'rt1'
          ? { status: 200, body: { services: [svc({ host: 'rt1' })] } }
          : undefined,
      (req) => (req.method === 'PUT' ? { status: 200, body: { service: { host: 'rt1', binary: 'nova-compute', forced_down: true } } } : undefined),
    );
    expect(await nova.setForcedDown('RT1', true)).toMatchObject({ ok: false, failure: { code: 'HOST_NOT_FOUND', message: 'Nova has no nova-compute service on a host named RT1' } });
    expect(novaRequests().filter((r) => r.method === 'PUT')).toEqual([]);

    expect(await nova.setForcedDown('rt1', true)).toMatchObject({ ok: true, value: { request: 'PUT /os-services/force-down' } });
    expect(await nova.setForcedDown('rt1', false)).toMatchObject({ ok: true });
    const calls = novaRequests().map(path).filter((p) => p.includes('host=rt1') || p.startsWith('PUT'));
    expect(calls).toEqual(['GET /os-services?binary=nova-compute&host=rt1', 'PUT /os-services/force-down', 'PUT /os-services/force-down']);
    expect(novaRequests().filter((r) => r.method === 'PUT').map((r) => (r.json as { host: string }).host)).toEqual(['rt1', 'rt1']);
  });

  it('at 2.93 a mis-cased host is HOST_NOT_FOUND too (the lookup filters exactly), and no PUT is sent', async () => {
    const { nova, novaRequests } = novaWith('2.93', listRoute([svc({ host: 'rt1' })]));
    expect(await nova.setForcedDown('RT1', true)).toMatchObject({ ok: false, failure: { code: 'HOST_NOT_FOUND' } });
    expect(await nova.getService('Rt1')).toMatchObject({ ok: false, failure: { code: 'HOST_NOT_FOUND' } });
    expect(novaRequests().filter((r) => r.method === 'PUT')).toEqual([]);
  });

  it('tells an unknown host from a host without nova-compute', async () => {
    const { nova } = novaWith('2.93', (req) => {
      if (req.method !== 'GET' || !req.url.includes('/os-services?')) return undefined;
      const q = new URL(req.url).searchParams;
      const host = q.get('host');
      const services = host === 'controller1' && !q.get('binary') ? [svc({ host: 'controller1', binary: 'nova-scheduler' })] : [];
      return { status: 200, body: { services } };
    });
    expect(await nova.setForcedDown('nosuch', true)).toMatchObject({ ok: false, failure: { code: 'HOST_NOT_FOUND' } });
    expect(await nova.setForcedDown('controller1', true)).toMatchObject({
      ok: false,
      failure: { code: 'NOT_A_COMPUTE_SERVICE', message: 'controller1 runs nova-scheduler, not nova-compute' },
    });
  });

  it('re-authenticates exactly once when Nova answers 401', async () => {
    let unauthorized = 0;
    const { nova, http } = novaWith('2.93', listRoute([svc()]), (req) => {
      if (req.method !== 'PUT') return undefined;
      if (req.headers?.['x-auth-token'] === 'tok-1') {
        unauthorized++;
        return { status: 401, body: { error: { message: 'The request you have made requires authentication.' } } };
      }
      return { status: 200, body: { service: svc({ forced_down: true }) } };
    });
    expect(await nova.setForcedDown('compute1', true)).toMatchObject({ ok: true });
    expect(unauthorized).toBe(1);
    expect(http.requests.filter((r) => r.url.endsWith('/auth/tokens'))).toHaveLength(2);
  });

  it('gives up with AUTH_FAILED when a fresh token is refused too', async () => {
    const { nova, http } = novaWith('2.93', listRoute([svc()]), (req) => (req.method === 'PUT' ? { status: 401, body: {} } : undefined));
    expect(await nova.setForcedDown('compute1', true)).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', status: 401 } });
    expect(http.requests.filter((r) => r.url.endsWith('/auth/tokens'))).toHaveLength(2);
  });

  it('turns transport failures into NOVA_UNAVAILABLE, and does not cache a failed discovery', async () => {
    let down = true;
    const http = createFakeHttp(
      keystoneRoute({ now: Date.now }),
      (req) => (down && req.url === `${COMPUTE_URL}/` ? new TransportError('GET http://nova.test:8774/v2.1/: ECONNREFUSED after 3 attempts', 3) : undefined),
      versionRoute('2.93'),
      listRoute([svc()]),
    );
    const nova = createNovaClient({ session: createKeystoneSession(cloud, { http }), http });
    expect(await nova.getService('compute1')).toMatchObject({ ok: false, failure: { code: 'NOVA_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') } });
    down = false;
    expect(await nova.getService('compute1')).toMatchObject({ ok: true, value: { host: 'compute1', state: 'up' } });
  });

  it('maps a Keystone outage to KEYSTONE_UNAVAILABLE without calling Nova', async () => {
    const http = createFakeHttp(() => new TransportError('POST http://keystone.test:5000/v3/auth/tokens: ECONNREFUSED after 3 attempts', 3));
    const nova = createNovaClient({ session: createKeystoneSession(cloud, { http }), http });
    expect(await nova.setForcedDown('compute1', true)).toMatchObject({ ok: false, failure: { code: 'KEYSTONE_UNAVAILABLE' } });
    expect(http.requests).toHaveLength(1);
  });

  it('keeps host names out of the path: they travel as encoded query values', async () => {
    const { nova, novaRequests } = novaWith('2.93', listRoute([]));
    await nova.getService('a&binary=nova-scheduler');
    const lookup = novaRequests().map((r) => new URL(r.url)).find((u) => u.search !== '')!;
    expect(lookup.pathname).toBe('/v2.1/os-services');
    expect(lookup.searchParams.get('host')).toBe('a&binary=nova-scheduler');
    expect(lookup.searchParams.getAll('binary')).toEqual(['nova-compute']);
  });
});
