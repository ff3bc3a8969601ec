import type { HttpClient, HttpRequest, HttpResponse } from '../../src/openstack/http.js';

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;
export type Route = (req: HttpRequest) => Reply | undefined;

/**
 * A hand-written fake of the HttpClient port: routes answer requests,
 * every request is recorded. An Error reply is thrown as the transport would.
 */
export function createFakeHttp(...routes: Route[]): HttpClient & { requests: HttpRequest[]; closed: boolean } {
  const requests: HttpRequest[] = [];
  const fake = {
    requests,
    closed: false,
    async send(req: HttpRequest): Promise<HttpResponse> {
      requests.push(req);
      for (const route of routes) {
        const reply = route(req);
        if (reply === undefined) continue;
        if (reply instanceof Error) throw reply;
        const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
        return { status: reply.status, headers: reply.headers ?? {}, body: reply.body, text, attempts: 1 };
      }
      throw new Error(`fake http: no route for ${req.method} ${req.url}`);
    },
    async close() {
      fake.closed = true;
    },
  };
  return fake;
}

export const COMPUTE_URL = 'http://nova.test:8774/v2.1';

/** A Keystone that issues tok-1, tok-2, … valid for `lifetimeMs` from `now()`. */
export function keystoneRoute(opts: { now: () => number; lifetimeMs?: number; status?: number; catalog?: unknown[] } = { now: Date.now }): Route {
  let n = 0;
  return (req) => {
    if (!req.url.endsWith('/v3/auth/tokens')) return undefined;
    if (opts.status && opts.status !== 201) return { status: opts.status, body: { error: { code: opts.status, message: 'The request you have made requires authentication.' } } };
    n++;
    return {
      status: 201,
      headers: { 'x-subject-token': `tok-${n}` },
      body: {
        token: {
          expires_at: new Date(opts.now() + (opts.lifetimeMs ?? 3_600_000)).toISOString(),
          catalog: opts.catalog ?? [
            { type: 'identity', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: 'http://keystone.test/v3' }] },
            {
              type: 'compute',
              endpoints: [
                { interface: 'internal', region_id: 'RegionOne', url: 'http://nova-internal.test:8774/v2.1' },
                { interface: 'public', region_id: 'RegionTwo', url: 'http://nova-r2.test:8774/v2.1' },
                { interface: 'public', region_id: 'RegionOne', url: `${COMPUTE_URL}/` },
              ],
            },
          ],
        },
      },
    };
  };
}

export function versionRoute(max: string): Route {
  return (req) =>
    req.method === 'GET' && req.url === `${COMPUTE_URL}/`
      ? { status: 200, body: { version: { id: 'v2.1', status: 'CURRENT', version: max, min_version: '2.1' } } }
      : undefined;
}
