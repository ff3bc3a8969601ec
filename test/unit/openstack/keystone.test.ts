import { describe, expect, it } from 'vitest';
import { cloudSchema } from '../../../src/config/schema.js';
import { buildAuthRequest, createKeystoneSession, findComputeEndpoint, identityV3Url, TOKEN_REFRESH_MARGIN_MS } from '../../../src/openstack/keystone.js';
import { COMPUTE_URL, createFakeHttp, keystoneRoute } from '../../fakes/http-client.js';

const appCred = (over: Record<string, unknown> = {}) =>
  cloudSchema.parse({
    auth: { auth_url: 'http://keystone.test:5000', application_credential_id: 'ac-id', application_credential_secret: 'ac-secret' },
    region_name: 'RegionOne',
    ...over,
  });
const password = () =>
  cloudSchema.parse({
    auth: { auth_url: 'http://keystone.test:5000/v3/', username: 'admin', password: 'pw', project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' },
  });

describe('Keystone v3 session', () => {
  it('normalizes auth_url to its v3 root', () => {
    expect(identityV3Url('http://k:5000')).toBe('http://k:5000/v3');
    expect(identityV3Url('http://k:5000/v3/')).toBe('http://k:5000/v3');
    expect(identityV3Url('https://k/identity/v3')).toBe('https://k/identity/v3');
  });

  it('sends application credentials without a scope, and password auth scoped to the project', () => {
    expect(buildAuthRequest(appCred())).toEqual({
      auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac-id', secret: 'ac-secret' } } },
    });
    expect(buildAuthRequest(password())).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: 'pw' } } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    });
  });

  it('picks the compute endpoint by region and interface', () => {
    const catalog = [
      { type: 'compute', endpoints: [
        { interface: 'public', region_id: 'RegionTwo', url: 'http://r2/v2.1' },
        { interface: 'internal', region_id: 'RegionOne', url: 'http://r1-internal/v2.1' },
        { interface: 'public', region_id: 'RegionOne', url: 'http://r1/v2.1/' },
      ] },
    ];
    expect(findComputeEndpoint(catalog, appCred())).toBe('http://r1/v2.1');
    expect(findComputeEndpoint(catalog, appCred({ interface: 'internalURL' }))).toBe('http://r1-internal/v2.1');
    expect(findComputeEndpoint(catalog, appCred({ region_name: 'RegionThree' }))).toBeUndefined();
  });

  it('caches the token until shortly before expires_at, then re-authenticates', async () => {
    let now = 1_000_000;
    const http = createFakeHttp(keystoneRoute({ now: () => now, lifetimeMs: 3_600_000 }));
    const session = createKeystoneSession(appCred(), { http, now: () => now });
    const first = await session.getToken();
    expect(first).toMatchObject({ value: 'tok-1', computeUrl: COMPUTE_URL });
    now += 3_600_000 - TOKEN_REFRESH_MARGIN_MS - 1;
    expect((await session.getToken()).value).toBe('tok-1');
    now += 2;
    expect((await session.getToken()).value).toBe('tok-2');
    expect(session.authCount).toBe(2);
  });

  it('shares one authentication between concurrent callers', async () => {
    const http = createFakeHttp(keystoneRoute({ now: Date.now }));
    const session = createKeystoneSession(appCred(), { http });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => session.getToken()));
    expect(new Set(tokens.map((t) => t.value))).toEqual(new Set(['tok-1']));
    expect(http.requests).toHaveLength(1);
  });

  it('invalidate() drops only the token it was given', async () => {
    const http = createFakeHttp(keystoneRoute({ now: Date.now }));
    const session = createKeystoneSession(appCred(), { http });
    const t1 = await session.getToken();
    session.invalidate({ ...t1, value: 'someone-elses' });
    expect((await session.getToken()).value).toBe('tok-1');
    session.invalidate(t1);
    expect((await session.getToken()).value).toBe('tok-2');
  });

  it('reports AUTH_FAILED with Keystone\'s message and no secret', async () => {
    const http = createFakeHttp(keystoneRoute({ now: Date.now, status: 401 }));
    const session = createKeystoneSession(appCred(), { http });
    const err = await session.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: { code: 'AUTH_FAILED', status: 401, detail: 'The request you have made requires authentication.' } });
    expect(JSON.stringify((err as { failure: unknown }).failure)).not.toContain('ac-secret');
  });

  it('reports ENDPOINT_NOT_FOUND when the catalog lacks compute in the region', async () => {
    const http = createFakeHttp(keystoneRoute({ now: Date.now }));
    const session = createKeystoneSession(appCred({ region_name: 'Nowhere' }), { http });
    await expect(session.getToken()).rejects.toMatchObject({ failure: { code: 'ENDPOINT_NOT_FOUND', message: expect.stringContaining('Nowhere') } });
  });
});
