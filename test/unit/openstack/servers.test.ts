import { afterEach, describe, expect, it } from 'vitest';
import { cloudSchema } from '../../../src/config/schema.js';
import { createHttpClient, type HttpClient } from '../../../src/openstack/http.js';
import { createKeystoneSession } from '../../../src/openstack/keystone.js';
import { classifyEvacuateError, createServersClient, type ServersOptions } from '../../../src/openstack/servers.js';
import { startFakeOpenStack, type FakeOpenStack, type FakeOpenStackOptions } from '../../fakes/fake-openstack.js';
import { COMPUTE_URL, createFakeHttp, keystoneRoute, versionRoute } from '../../fakes/http-client.js';

/** The servers client against the fake Keystone + Nova on 127.0.0.1 (real HTTP, Nova's wire shapes). */
const opened: { fake: FakeOpenStack; http: HttpClient }[] = [];
afterEach(async () => {
  for (const { fake, http } of opened.splice(0)) {
    await http.close();
    await fake.close();
  }
});

async function setup(fakeOpts: FakeOpenStackOptions = {}, clientOpts: Partial<ServersOptions> = {}) {
  const fake = await startFakeOpenStack({ hosts: ['src1', 'dst1', 'dst2'], ...fakeOpts });
  const http = createHttpClient({ retries: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
  opened.push({ fake, http });
  const cloud = cloudSchema.parse({
    auth: { auth_url: fake.authUrl, username: 'admin', password: 'servers-test-pass', project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' },
    region_name: 'RegionOne',
  });
  const session = createKeystoneSession(cloud, { http });
  const client = createServersClient({ session, http, ...clientOpts });
  const nova = () => fake.calls().filter((c) => c.path.startsWith('/v2.1/'));
  return { fake, client, nova };
}

const forceDown = async (fake: FakeOpenStack, host: string) => {
  // As the force-down path leaves it: the source's nova-compute forced down.
  fake.service(host)!.forced_down = true;
};

describe('listServersOnHost', () => {
  it('reads every page exactly once, with host, all_tenants, limit and the marker Nova linked', async () => {
    const servers = Array.from({ length: 7 }, (_, i) => ({ host: 'src1', name: `vm${i}`, ...(i % 3 === 0 ? { metadata: { HA_Enabled: 'True' } } : {}) }));
    const { client, nova } = await setup({ servers: [...servers, { host: 'dst1', name: 'elsewhere' }] }, { pageSize: 3 });
    const res = await client.listServersOnHost('src1');
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.value.map((i) => i.name)).toEqual(['vm0', 'vm1', 'vm2', 'vm3', 'vm4', 'vm5', 'vm6']);
    expect(res.value.filter((i) => i.ha).map((i) => i.name)).toEqual(['vm0', 'vm3', 'vm6']);
    expect(res.value[0]).toMatchObject({ status: 'ACTIVE', vmState: 'active', taskState: null, host: 'src1' });
    const pages = nova().filter((c) => c.path === '/v2.1/servers/detail');
    expect(pages).toHaveLength(3);
    const queries = pages.map((c) => new URLSearchParams(c.query));
    for (const q of queries) expect(q.get('host')).toBe('src1');
    for (const q of queries) expect(q.get('all_tenants')).toBe('1');
    for (const q of queries) expect(q.get('limit')).toBe('3');
    expect(queries.map((q) => q.get('marker'))).toEqual([null, res.value[2]!.id, res.value[5]!.id]);
  });

  it('ends on an empty page after a full one (Nova links a next page whenever a page is full)', async () => {
    const { client, nova } = await setup({ servers: Array.from({ length: 6 }, () => ({ host: 'src1' })) }, { pageSize: 3 });
    const res = await client.listServersOnHost('src1');
    expect(res).toMatchObject({ ok: true });
    expect(res.ok && res.value).toHaveLength(6);
    expect(nova().filter((c) => c.path === '/v2.1/servers/detail')).toHaveLength(3);
  });

  it("follows Nova's next links when its max_limit is below the client's page size", async () => {
    const { client, nova } = await setup({ maxLimit: 2, servers: Array.from({ length: 5 }, () => ({ host: 'src1' })) }, { pageSize: 1000 });
    const res = await client.listServersOnHost('src1');
    expect(res.ok && res.value).toHaveLength(5);
    expect(nova().filter((c) => c.path === '/v2.1/servers/detail')).toHaveLength(3);
  });

  it('says "no instances" with an empty list, in one call', async () => {
    const { client, nova } = await setup({ servers: [{ host: 'dst1' }] });
    expect(await client.listServersOnHost('src1')).toEqual({ ok: true, value: [] });
    expect(nova().filter((c) => c.path === '/v2.1/servers/detail')).toHaveLength(1);
  });

  it('stops at its bound with TOO_MANY_INSTANCES, reading no further', async () => {
    const { client, nova } = await setup({ servers: Array.from({ length: 12 }, () => ({ host: 'src1' })) }, { pageSize: 4, maxInstances: 5 });
    const res = await client.listServersOnHost('src1');
    expect(res).toMatchObject({ ok: false, failure: { code: 'TOO_MANY_INSTANCES', message: expect.stringContaining('5') } });
    expect(nova().filter((c) => c.path === '/v2.1/servers/detail')).toHaveLength(2);
  });

  it('lists at the capped microversion 2.68 on a 2.93 Nova, and at 2.1 on a 2.1-only Nova', async () => {
    const modern = await setup({ servers: [{ host: 'src1' }] });
    expect((await modern.client.listServersOnHost('src1')).ok).toBe(true);
    expect(modern.nova().find((c) => c.path === '/v2.1/servers/detail')?.microversion).toBe('2.68');
    const old = await setup({ maxVersion: '2.1', servers: [{ host: 'src1' }] });
    expect(await old.client.listServersOnHost('src1')).toMatchObject({ ok: true, value: [{ status: 'ACTIVE' }] });
    expect(old.nova().find((c) => c.path === '/v2.1/servers/detail')?.microversion).toBe('2.1');
  });

  it('says NOVA_FORBIDDEN in words when the policy refuses all_tenants', async () => {
    const { fake, client } = await setup();
    fake.failNext('GET', /servers\/detail/, 403, 'Policy does not allow os_compute_api:servers:detail:get_all_tenants to be performed.');
    expect(await client.listServersOnHost('src1')).toMatchObject({
      ok: false,
      failure: { code: 'NOVA_FORBIDDEN', status: 403, detail: expect.stringContaining('get_all_tenants'), message: expect.stringContaining('policy') },
    });
  });
});

describe("an instance's fault (why a failed evacuation failed)", () => {
  it("reads Nova's fault of a failed rebuild; none for a healthy instance; an unknown instance is a failure as data, not a throw", async () => {
    const { fake, client } = await setup({ servers: [{ id: 'i-ok', host: 'src1' }, { id: 'i-bad', host: 'src1' }] });
    fake.service('src1')!.forced_down = true;
    expect((await client.evacuate('i-bad')).ok).toBe(true);
    const m = fake.migrations().find((x) => x.instance_uuid === 'i-bad')!;
    fake.setMigrationStatus(m.id, 'error', 'No valid host was found. There are not enough hosts available.');
    expect(await client.instanceFault('i-bad')).toEqual({ ok: true, value: 'No valid host was found. There are not enough hosts available.' });
    expect(await client.instanceFault('i-ok')).toEqual({ ok: true, value: undefined });
    const missing = await client.instanceFault('i-gone');
    expect(missing.ok).toBe(false);
  });
});

describe('evacuate: the microversion matrix', () => {
  it('a 2.1-only Nova: NOVA_TOO_OLD, and no evacuate is sent', async () => {
    const { fake, client, nova } = await setup({ maxVersion: '2.1', servers: [{ id: 'i-1', host: 'src1' }] });
    await forceDown(fake, 'src1');
    expect(await client.evacuate('i-1')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
    expect(nova().filter((c) => c.method === 'POST')).toEqual([]);
    expect(fake.migrations()).toEqual([]);
  });

  it.each([
    ['2.14', '2.14'],
    ['2.28', '2.28'],
    ['2.29', '2.29'],
    ['2.67', '2.67'],
    ['2.68', '2.68'],
    ['2.93', '2.68'],
  ])('a Nova whose maximum is %s: evacuates at %s with {} or {host}, never force', async (max, used) => {
    const { fake, client, nova } = await setup({ maxVersion: max, servers: [{ id: 'i-1', host: 'src1' }, { id: 'i-2', host: 'src1' }] });
    await forceDown(fake, 'src1');
    expect(await client.evacuate('i-1')).toMatchObject({ ok: true, value: { serverId: 'i-1', microversion: used, body: { evacuate: {} }, status: 200 } });
    expect(await client.evacuate('i-2', 'dst1')).toMatchObject({ ok: true, value: { body: { evacuate: { host: 'dst1' } } } });
    const posts = nova().filter((c) => c.method === 'POST');
    expect(posts.map((c) => [c.path, c.microversion, c.body])).toEqual([
      ['/v2.1/servers/i-1/action', used, { evacuate: {} }],
      ['/v2.1/servers/i-2/action', used, { evacuate: { host: 'dst1' } }],
    ]);
    expect(fake.migrations().map((m) => [m.instance_uuid, m.status, m.dest_compute])).toEqual([
      ['i-1', 'accepted', null],
      ['i-2', 'accepted', 'dst1'],
    ]);
    expect(fake.server('i-1')?.task_state).toBe('rebuilding');
  });

  it('honours a pinned compute_api_version as a ceiling, and refuses a pin below 2.14', async () => {
    const pinned = await setup({ servers: [{ id: 'i-1', host: 'src1' }] }, { microversion: '2.53' });
    await forceDown(pinned.fake, 'src1');
    expect(await pinned.client.evacuate('i-1')).toMatchObject({ ok: true, value: { microversion: '2.53' } });
    const low = await setup({ servers: [{ id: 'i-1', host: 'src1' }] }, { microversion: '2.11' });
    await forceDown(low.fake, 'src1');
    expect(await low.client.evacuate('i-1')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD', message: expect.stringContaining('pinned') } });
    expect(low.nova().filter((c) => c.method === 'POST')).toEqual([]);
  });

  it("the fake holds Nova's schema: force refused from 2.68, onSharedStorage required below 2.14 (what the client never sends)", async () => {
    const { fake } = await setup({ servers: [{ id: 'i-1', host: 'src1' }] });
    await forceDown(fake, 'src1');
    const token = await fetch(`${fake.authUrl}/auth/tokens`, { method: 'POST', body: '{}' }).then((r) => r.headers.get('x-subject-token')!);
    const post = (v: string, body: unknown) =>
      fetch(fake.authUrl.replace('/v3', '/v2.1/servers/i-1/action'), {
        method: 'POST',
        headers: { 'x-auth-token': token, 'openstack-api-version': `compute ${v}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    expect(await post('2.68', { evacuate: { force: false } })).toMatchObject({ status: 400, text: expect.stringContaining("'force' was unexpected") });
    expect(await post('2.13', { evacuate: {} })).toMatchObject({ status: 400, text: expect.stringContaining("'onSharedStorage' is a required property") });
    expect(await post('2.14', { evacuate: { onSharedStorage: true } })).toMatchObject({ status: 400, text: expect.stringContaining("'onSharedStorage' was unexpected") });
    expect(await post('2.94', { evacuate: {} })).toMatchObject({ status: 406 });
    expect(fake.migrations()).toEqual([]);
  });
});

describe('evacuate: errors in plain words', () => {
  it("400 still in use: HOST_STILL_IN_USE when the source's nova-compute is not forced down", async () => {
    const { fake, client } = await setup({ servers: [{ id: 'i-1', host: 'src1' }] });
    expect(await client.evacuate('i-1')).toMatchObject({
      ok: false,
      failure: { code: 'HOST_STILL_IN_USE', status: 400, detail: 'Compute service of src1 is still in use.', request: 'POST /servers/{id}/action' },
    });
    expect(fake.migrations()).toEqual([]);
  });

  it('404 for an unknown target: TARGET_NOT_FOUND; 404 for an unknown instance: INSTANCE_NOT_FOUND', async () => {
    const { fake, client } = await setup({ servers: [{ id: 'i-1', host: 'src1' }] });
    await forceDown(fake, 'src1');
    expect(await client.evacuate('i-1', 'nosuch')).toMatchObject({ ok: false, failure: { code: 'TARGET_NOT_FOUND', status: 404, detail: 'Compute host nosuch not found.', message: expect.stringContaining('nosuch') } });
    expect(await client.evacuate('i-gone')).toMatchObject({ ok: false, failure: { code: 'INSTANCE_NOT_FOUND', status: 404 } });
  });

  it('400 same host: TARGET_SAME_HOST', async () => {
    const { fake, client } = await setup({ servers: [{ id: 'i-1', host: 'src1' }] });
    await forceDown(fake, 'src1');
    expect(await client.evacuate('i-1', 'src1')).toMatchObject({ ok: false, failure: { code: 'TARGET_SAME_HOST', status: 400, detail: "The target host can't be the same one." } });
  });

  it('409 task state (older Novas) and 409 vm_state: INSTANCE_STATE_CONFLICT, saying which state', async () => {
    const { fake, client } = await setup({ evacuateChecksTaskState: true, servers: [{ id: 'i-1', host: 'src1', task_state: 'rebuilding' }, { id: 'i-2', host: 'src1', vm_state: 'paused' }] });
    await forceDown(fake, 'src1');
    expect(await client.evacuate('i-1')).toMatchObject({
      ok: false,
      failure: { code: 'INSTANCE_STATE_CONFLICT', status: 409, message: 'Nova will not evacuate the instance while its task state is rebuilding', detail: expect.stringContaining('task_state rebuilding') },
    });
    expect(await client.evacuate('i-2')).toMatchObject({ ok: false, failure: { code: 'INSTANCE_STATE_CONFLICT', message: 'Nova will not evacuate the instance while its state is paused' } });
  });

  it('sends each evacuate once: a Zed Nova accepts a second one while rebuilding, so the client never resends on its own', async () => {
    const { fake, client, nova } = await setup({ servers: [{ id: 'i-1', host: 'src1' }] });
    await forceDown(fake, 'src1');
    fake.failNext('POST', /\/servers\/i-1\/action$/, 503, 'Service Unavailable');
    const lost = await client.evacuate('i-1');
    expect(lost).toMatchObject({ ok: false, failure: { code: 'NOVA_UNAVAILABLE', status: 503, message: expect.stringContaining('migration records') } });
    expect(nova().filter((c) => c.method === 'POST')).toHaveLength(1);
    // What the caller must guard against: Nova itself does not refuse the repeat.
    expect(await client.evacuate('i-1')).toMatchObject({ ok: true });
    expect(await client.evacuate('i-1')).toMatchObject({ ok: true });
    expect(fake.migrations()).toHaveLength(2);
  });

  it('500: NOVA_UNAVAILABLE with Nova\'s words kept', async () => {
    const { fake, client } = await setup({ servers: [{ id: 'i-1', host: 'src1' }] });
    await forceDown(fake, 'src1');
    fake.failNext('POST', /\/action$/, 500, 'Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/');
    expect(await client.evacuate('i-1')).toMatchObject({ ok: false, failure: { code: 'NOVA_UNAVAILABLE', status: 500, detail: expect.stringContaining('Unexpected API Error') } });
  });

  it('re-authenticates once on a 401 and evacuates once', async () => {
    const { fake, client, nova } = await setup({ servers: [{ id: 'i-1', host: 'src1' }] });
    await forceDown(fake, 'src1');
    fake.failNext('POST', /\/action$/, 401, 'The request you have made requires authentication.');
    expect(await client.evacuate('i-1')).toMatchObject({ ok: true });
    expect(nova().filter((c) => c.method === 'POST')).toHaveLength(2);
    expect(fake.migrations()).toHaveLength(1);
    expect(fake.count('POST', '/v3/auth/tokens')).toBe(2);
  });

  it.each([
    [409, "Cannot 'evacuate' instance x while it is in task_state rebuilding", undefined, 'INSTANCE_STATE_CONFLICT'],
    [400, 'Compute service of c1 is still in use.', undefined, 'HOST_STILL_IN_USE'],
    [400, "The target host can't be the same one.", 'c1', 'TARGET_SAME_HOST'],
    [404, 'Compute host c9 not found.', 'c9', 'TARGET_NOT_FOUND'],
    [404, 'Instance x could not be found.', 'c9', 'INSTANCE_NOT_FOUND'],
    [404, 'Instance x could not be found.', undefined, 'INSTANCE_NOT_FOUND'],
    [400, 'No valid host was found. There are not enough hosts available.', undefined, 'NO_VALID_HOST'],
    [403, "Policy doesn't allow os_compute_api:os-evacuate to be performed.", undefined, 'NOVA_FORBIDDEN'],
    [400, "Invalid input for field/attribute evacuate. Additional properties are not allowed ('force' was unexpected)", undefined, 'NOVA_REJECTED'],
    [500, 'Unexpected API Error.', undefined, 'NOVA_UNAVAILABLE'],
  ])('classifies HTTP %i "%s" (target %s) as %s, keeping Nova\'s words', (status, message, target, code) => {
    const f = classifyEvacuateError({ status, body: { x: { code: status, message } }, text: '' }, target);
    expect(f).toMatchObject({ code, status, detail: message });
    expect(f.message).not.toContain(message);
  });
});

describe('evacuationMigrations', () => {
  it("follows an evacuation from accepted to done through Nova's migration record", async () => {
    const { fake, client, nova } = await setup({ servers: [{ id: 'i-1', host: 'src1' }, { id: 'i-2', host: 'src1' }] });
    await forceDown(fake, 'src1');
    expect((await client.evacuate('i-1', 'dst1')).ok).toBe(true);
    expect((await client.evacuate('i-2')).ok).toBe(true);
    expect(await client.evacuationMigrations('i-1')).toMatchObject({
      ok: true,
      value: [{ instanceId: 'i-1', status: 'accepted', phase: 'in-progress', sourceCompute: 'src1', destCompute: 'dst1' }],
    });
    const q = new URLSearchParams(nova().find((c) => c.path === '/v2.1/os-migrations')!.query);
    expect(Object.fromEntries(q)).toEqual({ instance_uuid: 'i-1', migration_type: 'evacuation' });
    fake.setMigrationStatus(1, 'done');
    fake.setMigrationStatus(2, 'error');
    expect(await client.evacuationMigrations('i-1')).toMatchObject({ ok: true, value: [{ status: 'done', phase: 'done' }] });
    expect(await client.evacuationMigrations('i-2')).toMatchObject({ ok: true, value: [{ status: 'error', phase: 'failed' }] });
  });

  it('gives the newest record first, whatever order Nova lists them in (below 2.59: oldest first)', async () => {
    for (const max of ['2.58', '2.93']) {
      const { fake, client } = await setup({ maxVersion: max, servers: [{ id: 'i-1', host: 'src1' }] });
      await forceDown(fake, 'src1');
      await client.evacuate('i-1');
      fake.setMigrationStatus(1, 'failed');
      await client.evacuate('i-1');
      const res = await client.evacuationMigrations('i-1');
      expect(res.ok && res.value.map((m) => [m.id, m.phase])).toEqual([
        ['2', 'in-progress'],
        ['1', 'failed'],
      ]);
    }
  });

  it('keeps only evacuations of the instance when Nova shows the type (from 2.23), and trusts its filter below', async () => {
    const mig = (id: number, instance: string, type?: string) => ({
      id, instance_uuid: instance, status: 'done', source_compute: 'src1', dest_compute: 'dst1', created_at: `2026-01-0${id}T00:00:00.000000`, updated_at: null, ...(type ? { migration_type: type } : {}),
    });
    const answer = [mig(1, 'i-1', 'evacuation'), mig(2, 'i-1', 'live-migration'), mig(3, 'i-other', 'evacuation')];
    const http = createFakeHttp(keystoneRoute({ now: Date.now }), versionRoute('2.93'), (req) =>
      req.url.startsWith(`${COMPUTE_URL}/os-migrations?`) ? { status: 200, body: { migrations: answer } } : undefined,
    );
    const cloud = cloudSchema.parse({ auth: { auth_url: 'http://keystone.test:5000/v3', application_credential_id: 'id', application_credential_secret: 's' }, region_name: 'RegionOne' });
    const client = createServersClient({ session: createKeystoneSession(cloud, { http }), http });
    const typed = await client.evacuationMigrations('i-1');
    expect(typed.ok && typed.value.map((m) => m.id)).toEqual(['1']);
    // Below 2.23 the records carry no type: Nova's own filter is all there is.
    const untyped = [mig(1, 'i-1'), mig(2, 'i-1'), mig(3, 'i-other')];
    const oldHttp = createFakeHttp(keystoneRoute({ now: Date.now }), versionRoute('2.22'), (req) =>
      req.url.startsWith(`${COMPUTE_URL}/os-migrations?`) ? { status: 200, body: { migrations: untyped } } : undefined,
    );
    const old = createServersClient({ session: createKeystoneSession(cloud, { http: oldHttp }), http: oldHttp });
    const res = await old.evacuationMigrations('i-1');
    expect(res.ok && res.value.map((m) => m.id)).toEqual(['2', '1']);
    expect(oldHttp.requests.find((r) => r.url.includes('/os-migrations?'))?.headers).toMatchObject({ 'openstack-api-version': 'compute 2.22' });
  });

  it('an unreadable answer is a failure in words, not an exception', async () => {
    const http = createFakeHttp(keystoneRoute({ now: Date.now }), versionRoute('2.93'), (req) =>
      req.url.startsWith(`${COMPUTE_URL}/os-migrations?`) ? { status: 200, body: { migrations: 'nope' } } : undefined,
    );
    const cloud = cloudSchema.parse({ auth: { auth_url: 'http://keystone.test:5000/v3', application_credential_id: 'id', application_credential_secret: 's' }, region_name: 'RegionOne' });
    const client = createServersClient({ session: createKeystoneSession(cloud, { http }), http });
    expect(await client.evacuationMigrations('i-1')).toMatchObject({ ok: false, failure: { code: 'NOVA_REJECTED', request: 'GET /os-migrations' } });
  });
});
