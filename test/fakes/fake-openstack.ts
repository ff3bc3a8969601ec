import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small Keystone v3 + Nova os-services API on one 127.0.0.1 port, for the
 * tests and benchmarks that must not load the shared lab (fuzzing, load): it
 * issues tokens with a catalog pointing at itself, serves Nova's version
 * document (max 2.93), `GET /os-services`, `PUT /os-services/{uuid}` and the
 * legacy `PUT /os-services/force-down`, and counts every call. Every host
 * name it is asked about exists as an `up` nova-compute service (created on
 * first sight), so generated host names need no seeding.
 *
 * Answers have Nova's shapes, not its every rule: use the lab for behaviour.
 */
export interface FakeOpenStack {
  /** `http://127.0.0.1:<port>/v3`: the cloud's `auth.auth_url`. */
  readonly authUrl: string;
  /** Calls by method and path (without query), in arrival order; `at` is `performance.now()`, `host` the host a PUT changed. */
  calls(): { method: string; path: string; query: string; at: number; host?: string }[];
  /** How many calls with `method` had a path matching `path`. */
  count(method: string, path: RegExp | string): number;
  /** Nova's record of a host (undefined if never seen). */
  service(host: string): { id: string; host: string; forced_down: boolean } | undefined;
  reset(): void;
  close(): Promise<void>;
}

/**
 * `hosts`: only these nova-compute services exist, and the host filter
 * matches exactly (as on PostgreSQL or SQLite): a name asked about that is
 * not one of them is not created, and Nova does not know it.
 */
export async function startFakeOpenStack(opts: { hosts?: readonly string[] } = {}): Promise<FakeOpenStack> {
  const log: { method: string; path: string; query: string; at: number; host?: string }[] = [];
  const services = new Map<string, { id: string; host: string; forced_down: boolean }>();
  const byId = new Map<string, string>();
  const tokens = new Set<string>();
  let base = '';
  const fixed = opts.hosts !== undefined;

  const serviceOf = (host: string) => {
    let s = services.get(host);
    if (!s) {
      s = { id: randomUUID(), host, forced_down: false };
      services.set(host, s);
      byId.set(s.id, host);
    }
    return s;
  };
  for (const host of opts.hosts ?? []) serviceOf(host);
  const silentSince = new Date(Date.now() - 10 * 60_000).toISOString().replace('Z', '');
  const view = (s: { id: string; host: string; forced_down: boolean }) => ({
    id: s.id,
    binary: 'nova-compute',
    host: s.host,
    zone: 'nova',
    status: 'enabled',
    state: s.forced_down ? 'down' : 'up',
    // A host that stopped reporting ten minutes before the fake started (what a host to force down looks
    // like): a fresh updated_at would be a live nova-compute, which the heartbeat watch refuses.
    updated_at: silentSince,
    disabled_reason: null,
    forced_down: s.forced_down,
  });

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const entry: { method: string; path: string; query: string; at: number; host?: string } = { method, path: url.pathname, query: url.search.slice(1), at: performance.now() };
    log.push(entry);

    if (method === 'POST' && url.pathname === '/v3/auth/tokens') {
      const token = `fake-token-${randomUUID()}`;
      tokens.add(token);
      return send(
        res,
        201,
        {
          token: {
            expires_at: new Date(Date.now() + 3_600_000).toISOString(),
            catalog: [{ type: 'compute', endpoints: [{ interface: 'public', region_id: 'RegionOne', region: 'RegionOne', url: `${base}/v2.1` }] }],
          },
        },
        { 'x-subject-token': token },
      );
    }
    if (method === 'GET' && (url.pathname === '/v2.1/' || url.pathname === '/v2.1')) {
      return send(res, 200, { version: { id: 'v2.1', status: 'CURRENT', version: '2.93', min_version: '2.1' } });
    }
    if (!url.pathname.startsWith('/v2.1/')) return send(res, 404, { error: { message: 'not found' } });
    if (!tokens.has(String(req.headers['x-auth-token']))) return send(res, 401, { error: { code: 401, message: 'The request you have made requires authentication.' } });

    if (method === 'GET' && url.pathname === '/v2.1/os-services') {
      const host = url.searchParams.get('host');
      const list = host === null ? [...services.values()] : fixed ? [services.get(host)].filter((s) => s !== undefined) : [serviceOf(host)];
      return send(res, 200, { services: list.map(view) });
    }
    const put = /^\/v2\.1\/os-services\/([^/]+)$/.exec(url.pathname);
    if (method === 'PUT' && put) {
      let body: { forced_down?: unknown; host?: unknown } = {};
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return send(res, 400, { badRequest: { code: 400, message: 'Malformed request body' } });
      }
      if (typeof body.forced_down !== 'boolean') return send(res, 400, { badRequest: { code: 400, message: 'Invalid input' } });
      const id = decodeURIComponent(put[1]!);
      const host = id === 'force-down' ? (typeof body.host === 'string' ? body.host : undefined) : byId.get(id);
      if (!host || (fixed && !services.has(host))) return send(res, 404, { itemNotFound: { code: 404, message: `Service ${id} not found.` } });
      const s = serviceOf(host);
      s.forced_down = body.forced_down;
      entry.host = host;
      return send(res, 200, { service: view(s) });
    }
    return send(res, 404, { itemNotFound: { code: 404, message: 'not found' } });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    authUrl: `${base}/v3`,
    calls: () => [...log],
    count: (method, path) => log.filter((c) => c.method === method && (typeof path === 'string' ? c.path === path : path.test(c.path))).length,
    service: (host) => services.get(host),
    reset: () => void (log.length = 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
