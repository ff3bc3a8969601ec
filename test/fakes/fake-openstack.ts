import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small Keystone v3 + Nova os-services API on one 127.0.0.1 port, for the
 * tests and benchmarks that must not load the shared lab (fuzzing, load): it
 * issues tokens with a catalog pointing at itself, serves Nova's version
 * document (max 2.93), `GET /os-services`, `PUT /os-services/{uuid}` and the
 * legacy `PUT /os-services/force-down`, and counts every call. For
 * evacuation it also serves `GET /servers/detail` (host filter, `limit` and
 * `marker` pages capped at `maxLimit`, a `next` link on a full page), the
 * `evacuate` action with Nova's body schema and checks per microversion (and
 * 406 above `maxVersion`), and `GET /os-migrations` (filters; `migration_type`
 * shown from 2.23, `uuid` from 2.59). Every host
 * name it is asked about exists as an `up` nova-compute service (created on
 * first sight), so generated host names need no seeding.
 *
 * Answers have Nova's shapes, not its every rule: use the lab for behaviour.
 */
export interface FakeOpenStack {
  /** `http://127.0.0.1:<port>/v3`: the cloud's `auth.auth_url`. */
  readonly authUrl: string;
  /** Calls by method and path (without query), in arrival order; `at` is `performance.now()`, `host` the host a PUT changed. */
  calls(): FakeCall[];
  /** How many calls with `method` had a path matching `path`. */
  count(method: string, path: RegExp | string): number;
  /** Nova's record of a host (undefined if never seen). */
  service(host: string): { id: string; host: string; forced_down: boolean } | undefined;
  /** Adds an instance (a nova-compute service on its host too); returns its id. */
  addServer(server: FakeServerInput): string;
  /** Nova's record of an instance. */
  server(id: string): FakeServer | undefined;
  /** Every migration record, oldest first. */
  migrations(): FakeMigration[];
  /**
   * Moves a migration along (as the conductor and nova-compute would): `done`, `failed`, `error`, …;
   * with `fault`, a failed one leaves its instance in ERROR with that fault (e.g. "No valid host was found. ").
   */
  setMigrationStatus(id: number, status: string, fault?: string): void;
  /** The next call with `method` whose path matches `path` gets this answer instead (once). */
  failNext(method: string, path: RegExp, status: number, message: string): void;
  reset(): void;
  close(): Promise<void>;
}

/** One call to the fake; `body` is the parsed JSON body (POST, PUT), `microversion` the one the client asked for. */
export interface FakeCall {
  method: string;
  path: string;
  query: string;
  at: number;
  host?: string;
  body?: unknown;
  microversion?: string;
}

export interface FakeServerInput {
  id?: string;
  name?: string;
  host: string;
  /** `active` (default), `stopped`, `error`, `paused`, … */
  vm_state?: string;
  task_state?: string | null;
  metadata?: Record<string, string>;
}

export interface FakeServer {
  id: string;
  name: string;
  host: string;
  vm_state: string;
  task_state: string | null;
  metadata: Record<string, string>;
  /** Nova's record of the last failure (an instance in ERROR), shown by `GET /servers/{id}`. */
  fault?: { code: number; message: string; created: string };
}

export interface FakeMigration {
  id: number;
  uuid: string;
  instance_uuid: string;
  migration_type: string;
  status: string;
  source_compute: string;
  dest_compute: string | null;
  created_at: string;
  updated_at: string | null;
}

/**
 * `hosts`: only these nova-compute services exist, and the host filter
 * matches exactly (as on PostgreSQL or SQLite): a name asked about that is
 * not one of them is not created, and Nova does not know it.
 */
export interface FakeOpenStackOptions {
  hosts?: readonly string[];
  /** Nova's maximum microversion in its version document (default 2.93; `2.1` for a Nova from before microversions mattered). */
  maxVersion?: string;
  /** Nova's `[api] max_limit`: the most items a page holds, whatever the client's `limit` (default 1000). */
  maxLimit?: number;
  /** Instances to start with. */
  servers?: readonly FakeServerInput[];
  /**
   * Refuse to evacuate an instance with a task state (409 "… while it is in
   * task_state rebuilding"), as older Novas do. Off by default: Nova 26 (Zed)
   * accepts a second evacuate of an instance it is still rebuilding.
   */
  evacuateChecksTaskState?: boolean;
  /** Every answer comes this long after its request arrived (default 0): a real API's time per call, for benchmarks. */
  latencyMs?: number;
}

const VM_STATUS: Record<string, string> = { active: 'ACTIVE', stopped: 'SHUTOFF', error: 'ERROR', paused: 'PAUSED', suspended: 'SUSPENDED', building: 'BUILD', shelved_offloaded: 'SHELVED_OFFLOADED' };

function vnum(v: string): [number, number] {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return [a, b];
}
/** a < b for `X.Y` microversions. */
function below(a: string, b: string): boolean {
  const [am, an] = vnum(a);
  const [bm, bn] = vnum(b);
  return am < bm || (am === bm && an < bn);
}

/**
 * Nova's evacuate body schema at `v` (nova/api/openstack/compute/schemas/evacuate.py):
 * below 2.14 `onSharedStorage` is required; 2.29–2.67 also take `force`; 2.68 dropped it.
 */
function evacuateSchemaError(v: string, body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'Invalid input for field/attribute evacuate.';
  const keys = Object.keys(body);
  const extra = keys.find((k) => k !== 'evacuate');
  if (extra) return `Additional properties are not allowed ('${extra}' was unexpected)`;
  const ev = (body as { evacuate?: unknown }).evacuate;
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) return "Invalid input for field/attribute evacuate. Value: null. 'evacuate' is a required property";
  const allowed = new Set(['host', 'adminPass']);
  if (below(v, '2.14')) allowed.add('onSharedStorage');
  if (!below(v, '2.29') && below(v, '2.68')) allowed.add('force');
  const bad = Object.keys(ev).find((k) => !allowed.has(k));
  if (bad) return `Invalid input for field/attribute evacuate. Value: ${JSON.stringify(ev)}. Additional properties are not allowed ('${bad}' was unexpected)`;
  if (below(v, '2.14') && !('onSharedStorage' in ev)) return `Invalid input for field/attribute evacuate. Value: ${JSON.stringify(ev)}. 'onSharedStorage' is a required property`;
  const host = (ev as { host?: unknown }).host;
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) return `Invalid input for field/attribute host. Value: ${JSON.stringify(host)}.`;
  return undefined;
}

export async function startFakeOpenStack(opts: FakeOpenStackOptions = {}): Promise<FakeOpenStack> {
  const log: FakeCall[] = [];
  const maxVersion = opts.maxVersion ?? '2.93';
  const maxLimit = opts.maxLimit ?? 1000;
  const latencyMs = opts.latencyMs ?? 0;
  const servers = new Map<string, FakeServer>();
  const migrationList: FakeMigration[] = [];
  const faults: { method: string; path: RegExp; status: number; message: string }[] = [];
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
  const addServer = (input: FakeServerInput): string => {
    const id = input.id ?? randomUUID();
    servers.set(id, {
      id,
      name: input.name ?? `vm-${servers.size + 1}`,
      host: input.host,
      vm_state: input.vm_state ?? 'active',
      task_state: input.task_state ?? null,
      metadata: { ...(input.metadata ?? {}) },
    });
    serviceOf(input.host);
    return id;
  };
  for (const s of opts.servers ?? []) addServer(s);
  const serverView = (s: FakeServer) => ({
    id: s.id,
    name: s.name,
    status: s.task_state === 'rebuilding' ? 'REBUILD' : (VM_STATUS[s.vm_state] ?? s.vm_state.toUpperCase()),
    tenant_id: 'p1',
    user_id: 'u1',
    metadata: s.metadata,
    'OS-EXT-STS:vm_state': s.vm_state,
    'OS-EXT-STS:task_state': s.task_state,
    'OS-EXT-STS:power_state': s.vm_state === 'active' ? 1 : 4,
    'OS-EXT-SRV-ATTR:host': s.host,
    'OS-EXT-SRV-ATTR:hypervisor_hostname': s.host,
    links: [{ rel: 'self', href: `${base}/v2.1/servers/${s.id}` }],
    ...(s.fault ? { fault: s.fault } : {}),
  });
  const migrationView = (m: FakeMigration, v: string) => {
    const { uuid, migration_type, ...rest } = m;
    return { ...rest, ...(below(v, '2.23') ? {} : { migration_type }), ...(below(v, '2.59') ? {} : { uuid }) };
  };
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
    const entry: FakeCall = { method, path: url.pathname, query: url.search.slice(1), at: performance.now() };
    const asked = String(req.headers['openstack-api-version'] ?? '').replace(/^compute\s+/i, '') || String(req.headers['x-openstack-nova-api-version'] ?? '');
    if (asked) entry.microversion = asked;
    if (raw.length > 0) {
      try {
        entry.body = JSON.parse(raw);
      } catch {
        entry.body = raw;
      }
    }
    log.push(entry);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const fault = faults.findIndex((f) => f.method === method && f.path.test(url.pathname));
    if (fault !== -1) {
      const f = faults.splice(fault, 1)[0]!;
      return send(res, f.status, { [f.status === 404 ? 'itemNotFound' : f.status === 409 ? 'conflictingRequest' : f.status >= 500 ? 'computeFault' : 'badRequest']: { code: f.status, message: f.message } });
    }

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
      return send(res, 200, { version: { id: 'v2.1', status: 'CURRENT', version: maxVersion, min_version: '2.1' } });
    }
    if (!url.pathname.startsWith('/v2.1/')) return send(res, 404, { error: { message: 'not found' } });
    if (!tokens.has(String(req.headers['x-auth-token']))) return send(res, 401, { error: { code: 401, message: 'The request you have made requires authentication.' } });

    if (method === 'GET' && url.pathname === '/v2.1/os-services') {
      const host = url.searchParams.get('host');
      const list = host === null ? [...services.values()] : fixed ? [services.get(host)].filter((s) => s !== undefined) : [serviceOf(host)];
      return send(res, 200, { services: list.map(view) });
    }
    // The microversion the client asked for (2.1 when none; `latest` is the maximum).
    const v = asked === 'latest' ? maxVersion : asked || '2.1';
    if (below(v, '2.1') || below(maxVersion, v)) {
      return send(res, 406, { computeFault: { code: 406, message: `Version ${v} is not supported by the API. Minimum is 2.1 and maximum is ${maxVersion}.` } });
    }

    const one = method === 'GET' ? /^\/v2\.1\/servers\/([^/]+)$/.exec(url.pathname) : null;
    if (one && one[1] !== 'detail') {
      const server = servers.get(decodeURIComponent(one[1]!));
      if (!server) return send(res, 404, { itemNotFound: { code: 404, message: `Instance ${one[1]} could not be found.` } });
      return send(res, 200, { server: serverView(server) });
    }
    if (method === 'GET' && url.pathname === '/v2.1/servers/detail') {
      const host = url.searchParams.get('host');
      const all = [...servers.values()].filter((x) => host === null || x.host === host);
      const limit = Math.min(Number(url.searchParams.get('limit') ?? maxLimit), maxLimit);
      const marker = url.searchParams.get('marker');
      let start = 0;
      if (marker !== null) {
        const at = all.findIndex((x) => x.id === marker);
        if (at === -1) return send(res, 400, { badRequest: { code: 400, message: `marker [${marker}] not found` } });
        start = at + 1;
      }
      const page = all.slice(start, start + limit);
      const body: Record<string, unknown> = { servers: page.map(serverView) };
      if (page.length === limit && page.length > 0) {
        const next = new URLSearchParams(url.searchParams);
        next.set('limit', String(limit));
        next.set('marker', page.at(-1)!.id);
        body['servers_links'] = [{ rel: 'next', href: `${base}/v2.1/servers/detail?${next}` }];
      }
      return send(res, 200, body);
    }
    const action = /^\/v2\.1\/servers\/([^/]+)\/action$/.exec(url.pathname);
    if (method === 'POST' && action) {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 400, { badRequest: { code: 400, message: 'Malformed request body' } });
      }
      const schemaError = evacuateSchemaError(v, body);
      if (schemaError) return send(res, 400, { badRequest: { code: 400, message: schemaError } });
      const ev = (body as { evacuate: { host?: string; onSharedStorage?: unknown } }).evacuate;
      const id = decodeURIComponent(action[1]!);
      if (ev.host !== undefined && !services.has(ev.host)) return send(res, 404, { itemNotFound: { code: 404, message: `Compute host ${ev.host} not found.` } });
      const server = servers.get(id);
      if (!server) return send(res, 404, { itemNotFound: { code: 404, message: `Instance ${id} could not be found.` } });
      if (ev.host === server.host) return send(res, 400, { badRequest: { code: 400, message: "The target host can't be the same one." } });
      if (!['active', 'stopped', 'error'].includes(server.vm_state)) {
        return send(res, 409, { conflictingRequest: { code: 409, message: `Cannot 'evacuate' instance ${id} while it is in vm_state ${server.vm_state}` } });
      }
      if (opts.evacuateChecksTaskState && server.task_state !== null) {
        return send(res, 409, { conflictingRequest: { code: 409, message: `Cannot 'evacuate' instance ${id} while it is in task_state ${server.task_state}` } });
      }
      if (!serviceOf(server.host).forced_down) return send(res, 400, { badRequest: { code: 400, message: `Compute service of ${server.host} is still in use.` } });
      server.task_state = 'rebuilding';
      migrationList.push({
        id: migrationList.length + 1,
        uuid: randomUUID(),
        instance_uuid: id,
        migration_type: 'evacuation',
        status: 'accepted',
        source_compute: server.host,
        dest_compute: ev.host ?? null,
        created_at: new Date(Date.now() + migrationList.length).toISOString().replace('Z', '').replace(/(\.\d{3})$/, '$1000'),
        updated_at: null,
      });
      // Below 2.14 Nova answers with a generated admin password (unless on shared storage); from 2.14 with no body.
      if (below(v, '2.14')) return send(res, 200, ev.onSharedStorage === true || ev.onSharedStorage === 'True' ? {} : { adminPass: 'generated-password' });
      res.writeHead(200, { 'content-length': '0' });
      return res.end();
    }
    if (method === 'GET' && url.pathname === '/v2.1/os-migrations') {
      const q = url.searchParams;
      const list = migrationList
        .filter((m) => !q.has('instance_uuid') || m.instance_uuid === q.get('instance_uuid'))
        .filter((m) => !q.has('migration_type') || m.migration_type === q.get('migration_type'))
        .filter((m) => !q.has('status') || m.status === q.get('status'));
      // From 2.59 Nova sorts newest first.
      const ordered = below(v, '2.59') ? list : [...list].reverse();
      return send(res, 200, { migrations: ordered.map((m) => migrationView(m, v)) });
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
    addServer,
    server: (id) => servers.get(id),
    migrations: () => migrationList.map((m) => ({ ...m })),
    setMigrationStatus: (id, status, fault) => {
      const m = migrationList.find((x) => x.id === id);
      if (!m) throw new Error(`fake nova: no migration ${id}`);
      m.status = status;
      m.updated_at = new Date().toISOString().replace('Z', '');
      const server = servers.get(m.instance_uuid);
      if (server && ['done', 'completed', 'failed', 'error'].includes(status)) {
        server.task_state = null;
        if (status === 'done' || status === 'completed') server.host = m.dest_compute ?? server.host;
        if (fault !== undefined && (status === 'failed' || status === 'error')) {
          server.vm_state = 'error';
          server.fault = { code: 500, message: fault, created: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
        }
      }
    },
    failNext: (method, path, status, message) => void faults.push({ method, path, status, message }),
    reset: () => void (log.length = 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
