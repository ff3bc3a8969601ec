// A fake BMC speaking Redfish over HTTPS as real ones do (modelled on DMTF's public mockups and the
// sushy-tools emulator): the service root without auth, a Systems collection, PowerState, the
// ComputerSystem.Reset action with its allowable values, Reset answered 204 with an empty body and
// applied later, 501 + Base.1.0.GeneralError for an unsupported reset, Basic auth (401 with
// WWW-Authenticate) and an optional SessionService, 307 from a system's name to its id, a self-signed
// certificate, and failure modes (hang, lie, html). It records every request it sees.
//
// In-process: `const bmc = await startFakeRedfish({ systems: [{ id: '1', hostName: 'compute7' }] })`.
// Standalone: `node --import tsx test/fakes/redfish.ts --port 8443 --host compute7 [--sessions]
//   [--reset-delay-ms 3000] [--mode lie] [--username admin --password secret]`; it prints one JSON
//   line ({"url", "caFile", ...}) once listening. Control it over HTTP: GET /fake/state,
//   POST /fake/mode {"mode": "hang"}, POST /fake/power {"system": "1", "state": "On"}.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TLS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'redfish-tls');
/** The fake's self-signed certificate (CN localhost, SAN localhost + 127.0.0.1): the caCert that trusts it. */
export const FAKE_BMC_CA_FILE = join(TLS_DIR, 'bmc-cert.pem');
export const FAKE_BMC_CA = readFileSync(FAKE_BMC_CA_FILE, 'utf8');
/** Another self-signed certificate: a caCert that does NOT trust the fake (a TLS failure). */
export const OTHER_CA = readFileSync(join(TLS_DIR, 'other-cert.pem'), 'utf8');
const KEY = readFileSync(join(TLS_DIR, 'bmc-key.pem'), 'utf8');

/** sushy-tools' allowable reset types. */
export const SUSHY_RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn'];

export type FakeBmcMode =
  /** Answers as a BMC does. */
  | 'normal'
  /** Accepts connections and requests, and never answers. */
  | 'hang'
  /** Accepts every Reset (204) and never changes the power state. */
  | 'lie'
  /** Answers every request with a 200 HTML page (a login page, a captive proxy). */
  | 'html';

export interface FakeSystemOptions {
  /** The id in the system's path, /redfish/v1/Systems/<id> (sushy-tools uses a uuid). */
  id: string;
  /** `Name`; a GET of /redfish/v1/Systems/<Name> is redirected (307) to the id's path. */
  name?: string;
  /** `HostName` (left out when undefined). */
  hostName?: string;
  /** Default 'On'. */
  powerState?: string;
  /** `ResetType@Redfish.AllowableValues`; `null` leaves the annotation out. Default {@link SUSHY_RESET_TYPES}. */
  allowableResetTypes?: string[] | null;
  /** Reset types answered 501 even when advertised (a BMC that lists more than it does). */
  rejectResetTypes?: string[];
  /** Leave the Reset action out of the system. */
  noResetAction?: boolean;
  /** Serve the allowable values from an ActionInfo resource instead of inline (OpenBMC does). */
  actionInfo?: boolean;
}

export interface FakeRedfishOptions {
  /** Default: one system, id "1", Name "System", HostName from `host` when given. */
  systems?: FakeSystemOptions[];
  /** Shortcut for the default system's HostName. */
  host?: string;
  username?: string;
  password?: string;
  /** Offer a SessionService (sushy-tools has none: 404). Default false. */
  sessions?: boolean;
  /** Accept HTTP Basic (default true). */
  basic?: boolean;
  /** Delay between an accepted Reset and the new power state (default 3000 ms; real BMCs take 1-11 s). */
  resetDelayMs?: number;
  /** While a reset is pending the state reads PoweringOff/PoweringOn (default true). */
  transitional?: boolean;
  mode?: FakeBmcMode;
  /** Default 0 (any free port); 127.0.0.1. */
  port?: number;
  bind?: string;
  /** Answer the service root only with credentials (401 without), as a few BMCs do. */
  rootNeedsAuth?: boolean;
}

export interface SeenRequest {
  method: string;
  path: string;
  /** How the request authenticated: a valid token, valid Basic, invalid credentials, or none. */
  auth: 'token' | 'basic' | 'bad' | 'none';
  /** The parsed JSON body, with any Password replaced by "***". */
  body?: unknown;
  status: number;
}

export interface FakeRedfish {
  /** https://127.0.0.1:<port> */
  url: string;
  port: number;
  username: string;
  password: string;
  mode: FakeBmcMode;
  requests: SeenRequest[];
  /** Tokens of sessions created and not deleted. */
  openSessions(): string[];
  /** Sessions ever created. */
  sessionsCreated(): number;
  /** Every session token ever handed out (deleted ones too), for secret checks. */
  issuedTokens(): string[];
  powerState(id?: string): string;
  setPowerState(id: string, state: string): void;
  /** Resets received, in order (`{ system, resetType }`). */
  resets(): { system: string; resetType: string }[];
  close(): Promise<void>;
}

interface SystemState {
  opts: FakeSystemOptions;
  powerState: string;
  timer?: NodeJS.Timeout;
}

const SERVICE_ROOT = '/redfish/v1';

export async function startFakeRedfish(options: FakeRedfishOptions = {}): Promise<FakeRedfish> {
  const username = options.username ?? 'admin';
  const password = options.password ?? 'fake-bmc-password';
  const basicAllowed = options.basic ?? true;
  const delay = options.resetDelayMs ?? 3000;
  const transitional = options.transitional ?? true;
  const systemOpts: FakeSystemOptions[] = options.systems ?? [{ id: '1', name: 'System', ...(options.host ? { hostName: options.host } : {}) }];
  const systems = new Map<string, SystemState>(systemOpts.map((s) => [s.id, { opts: s, powerState: s.powerState ?? 'On' }]));
  const sessions = new Map<string, string>(); // token -> session id
  let sessionCount = 0;
  const issued: string[] = [];
  const resets: { system: string; resetType: string }[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();

  const fake: FakeRedfish = {
    url: '',
    port: 0,
    username,
    password,
    mode: options.mode ?? 'normal',
    requests: [],
    openSessions: () => [...sessions.keys()],
    sessionsCreated: () => sessionCount,
    issuedTokens: () => [...issued],
    powerState: (id = systemOpts[0]!.id) => systems.get(id)?.powerState ?? 'unknown',
    setPowerState: (id, state) => {
      const s = systems.get(id);
      if (s) s.powerState = state;
    },
    resets: () => [...resets],
    close: async () => {
      for (const s of systems.values()) clearTimeout(s.timer);
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function authOf(req: IncomingMessage): SeenRequest['auth'] {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string') return sessions.has(token) ? 'token' : 'bad';
    const h = req.headers.authorization;
    if (typeof h === 'string' && h.startsWith('Basic ')) {
      if (!basicAllowed) return 'bad';
      const [u, ...p] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
      return u === username && p.join(':') === password ? 'basic' : 'bad';
    }
    return 'none';
  }

  function systemDoc(s: SystemState): Record<string, unknown> {
    const id = s.opts.id;
    const path = `${SERVICE_ROOT}/Systems/${id}`;
    const reset: Record<string, unknown> = { target: `${path}/Actions/ComputerSystem.Reset` };
    const allowable = s.opts.allowableResetTypes === undefined ? SUSHY_RESET_TYPES : s.opts.allowableResetTypes;
    if (s.opts.actionInfo) reset['@Redfish.ActionInfo'] = `${path}/ResetActionInfo`;
    else if (allowable !== null) reset['ResetType@Redfish.AllowableValues'] = allowable;
    return {
      '@odata.type': '#ComputerSystem.v1_10_0.ComputerSystem',
      '@odata.id': path,
      '@odata.context': '/redfish/v1/$metadata#ComputerSystem.ComputerSystem',
      Id: id,
      Name: s.opts.name ?? 'System',
      ...(s.opts.hostName !== undefined ? { HostName: s.opts.hostName } : {}),
      UUID: id.length >= 32 ? id : '00000000-0000-0000-0000-000000000000',
      SystemType: 'Physical',
      Status: { State: 'Enabled', Health: 'OK' },
      PowerState: s.powerState,
      Boot: { BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideTarget: 'None' },
      ProcessorSummary: { Count: 2, Status: { State: 'Enabled', Health: 'OK' } },
      MemorySummary: { TotalSystemMemoryGiB: 256 },
      ...(s.opts.noResetAction ? {} : { Actions: { '#ComputerSystem.Reset': reset } }),
    };
  }

  function applyReset(s: SystemState, resetType: string): void {
    resets.push({ system: s.opts.id, resetType });
    if (fake.mode === 'lie') return;
    const target = (() => {
      switch (resetType) {
        case 'ForceOff':
        case 'GracefulShutdown':
          return 'Off';
        case 'On':
        case 'ForceOn':
        case 'ForceRestart':
        case 'GracefulRestart':
        case 'PowerCycle':
          return 'On';
        case 'PushPowerButton':
          return s.powerState === 'Off' ? 'On' : 'Off';
        default:
          return undefined;
      }
    })();
    if (target === undefined || target === s.powerState) return;
    clearTimeout(s.timer);
    if (transitional) s.powerState = target === 'Off' ? 'PoweringOff' : 'PoweringOn';
    s.timer = setTimeout(() => {
      if (fake.mode !== 'lie') s.powerState = target;
    }, delay);
    s.timer.unref();
  }

  const server = createHttpsServer({ key: KEY, cert: FAKE_BMC_CA }, (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      if (raw.length < 1 << 16) raw += c;
    });
    req.on('end', () => handle(req, res, raw));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname;
    const method = req.method ?? 'GET';
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const auth = authOf(req);
    const seen: SeenRequest = { method, path, auth, status: 0, ...(body !== undefined ? { body: redactBody(body) } : {}) };
    const send = (status: number, doc?: unknown, headers: Record<string, string> = {}) => {
      seen.status = status;
      fake.requests.push(seen);
      const text = doc === undefined ? '' : JSON.stringify(doc);
      res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8', 'odata-version': '4.0' } : {}), ...headers });
      res.end(text);
    };

    if (path.startsWith('/fake/')) return control(path, method, body, send);
    if (fake.mode === 'hang') {
      seen.status = -1;
      fake.requests.push(seen);
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (fake.mode === 'html') {
      seen.status = 200;
      fake.requests.push(seen);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><head><title>BMC Login</title></head><body><form>Login</form></body></html>');
      return;
    }
    const unauthorized = () =>
      send(401, generalError('Base.1.0.NoValidSession', 'There is no valid session established with the implementation.'), {
        'www-authenticate': 'Basic realm="fake BMC"',
      });

    if ((path === SERVICE_ROOT || path === '/redfish') && method === 'GET') {
      if (path === '/redfish') return send(200, { v1: '/redfish/v1/' });
      if (options.rootNeedsAuth && auth !== 'basic' && auth !== 'token') return unauthorized();
      return send(200, {
        '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot',
        '@odata.id': '/redfish/v1',
        Id: 'RedfishService',
        Name: 'Redfish Service',
        RedfishVersion: '1.8.0',
        UUID: '85775665-c110-4b85-8989-e6162170b3ec',
        Systems: { '@odata.id': '/redfish/v1/Systems' },
        Managers: { '@odata.id': '/redfish/v1/Managers' },
        ...(options.sessions ? { SessionService: { '@odata.id': '/redfish/v1/SessionService' }, Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } } } : {}),
      });
    }
    if (options.sessions && path === '/redfish/v1/SessionService/Sessions' && method === 'POST') {
      const b = body as { UserName?: unknown; Password?: unknown } | undefined;
      if (b?.UserName !== username || b?.Password !== password) {
        return send(401, generalError('Base.1.0.ResourceAtUriUnauthorized', 'While accessing the resource at /redfish/v1/SessionService/Sessions, the service received an authorization error.'));
      }
      const token = randomBytes(16).toString('hex');
      const id = randomUUID();
      sessions.set(token, id);
      issued.push(token);
      sessionCount++;
      const location = `/redfish/v1/SessionService/Sessions/${id}`;
      return send(201, { '@odata.id': location, Id: id, Name: 'User Session', UserName: username }, { 'x-auth-token': token, location });
    }
    // Everything else needs credentials.
    if (auth !== 'basic' && auth !== 'token') return unauthorized();

    if (options.sessions && path.startsWith('/redfish/v1/SessionService/Sessions/') && method === 'DELETE') {
      const id = path.split('/').pop();
      for (const [token, sid] of sessions) {
        if (sid === id) {
          sessions.delete(token);
          return send(204);
        }
      }
      return send(404, generalError('Base.1.0.ResourceMissingAtURI', 'The resource at the URI was not found.'));
    }
    if (path === '/redfish/v1/Systems' && method === 'GET') {
      return send(200, {
        '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
        '@odata.id': '/redfish/v1/Systems',
        Name: 'Computer System Collection',
        'Members@odata.count': systems.size,
        Members: [...systems.keys()].map((id) => ({ '@odata.id': `/redfish/v1/Systems/${id}` })),
      });
    }
    const m = /^\/redfish\/v1\/Systems\/([^/]+)(\/.*)?$/.exec(path);
    if (m) {
      const key = decodeURIComponent(m[1]!);
      const rest = m[2] ?? '';
      const s = systems.get(key);
      if (!s) {
        const byName = [...systems.values()].find((x) => x.opts.name === key);
        if (byName) return send(307, undefined, { location: `/redfish/v1/Systems/${byName.opts.id}${rest}` });
        return send(404, generalError('Base.1.0.ResourceMissingAtURI', `The resource at the URI ${path} was not found.`));
      }
      if (rest === '' && method === 'GET') return send(200, systemDoc(s));
      if (rest === '/ResetActionInfo' && method === 'GET' && s.opts.actionInfo) {
        return send(200, {
          '@odata.id': path,
          Id: 'ResetActionInfo',
          Parameters: [{ Name: 'ResetType', Required: true, DataType: 'String', AllowableValues: s.opts.allowableResetTypes ?? SUSHY_RESET_TYPES }],
        });
      }
      if (rest === '/Actions/ComputerSystem.Reset' && method === 'POST' && !s.opts.noResetAction) {
        const resetType = (body as { ResetType?: unknown } | undefined)?.ResetType;
        const allowable = s.opts.allowableResetTypes ?? SUSHY_RESET_TYPES;
        if (typeof resetType !== 'string' || !allowable.includes(resetType) || s.opts.rejectResetTypes?.includes(resetType)) {
          return send(501, generalError('Base.1.0.GeneralError', `The reset type ${String(resetType)} is not supported by this system.`));
        }
        applyReset(s, resetType);
        return send(204);
      }
      return send(405, generalError('Base.1.0.GeneralError', 'The method is not allowed.'));
    }
    return send(404, generalError('Base.1.0.ResourceMissingAtURI', `The resource at the URI ${path} was not found.`));
  }

  function control(path: string, method: string, body: unknown, send: (status: number, doc?: unknown) => void): void {
    const b = (body ?? {}) as Record<string, unknown>;
    if (path === '/fake/state' && method === 'GET') {
      return send(200, {
        mode: fake.mode,
        systems: Object.fromEntries([...systems].map(([id, s]) => [id, s.powerState])),
        openSessions: sessions.size,
        sessionsCreated: sessionCount,
        resets,
        requests: fake.requests,
      });
    }
    if (path === '/fake/mode' && method === 'POST' && ['normal', 'hang', 'lie', 'html'].includes(String(b.mode))) {
      fake.mode = b.mode as FakeBmcMode;
      return send(204);
    }
    if (path === '/fake/power' && method === 'POST' && typeof b.system === 'string' && typeof b.state === 'string') {
      fake.setPowerState(b.system, b.state);
      return send(204);
    }
    return send(400, { error: 'unknown control request' });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.bind ?? '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  fake.port = addr.port;
  fake.url = `https://127.0.0.1:${addr.port}`;
  return fake;
}

/** A Redfish error body, as DMTF's Base registry shapes it. */
function generalError(messageId: string, message: string) {
  return {
    error: {
      code: messageId,
      message,
      '@Message.ExtendedInfo': [{ '@odata.type': '#Message.v1_0_0.Message', MessageId: messageId, Message: message, Severity: 'Critical', Resolution: 'None' }],
    },
  };
}

function redactBody(body: unknown): unknown {
  if (body && typeof body === 'object' && 'Password' in body) return { ...(body as object), Password: '***' };
  return body;
}

// Standalone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const host = arg('host');
  const mode = arg('mode') as FakeBmcMode | undefined;
  const fake = await startFakeRedfish({
    port: Number(arg('port') ?? 0),
    ...(arg('bind') ? { bind: arg('bind')! } : {}),
    ...(host ? { host } : {}),
    ...(arg('username') ? { username: arg('username')! } : {}),
    ...(arg('password') ? { password: arg('password')! } : {}),
    ...(arg('reset-delay-ms') ? { resetDelayMs: Number(arg('reset-delay-ms')) } : {}),
    ...(arg('power') ? { systems: [{ id: '1', name: 'System', powerState: arg('power')!, ...(host ? { hostName: host } : {}) }] } : {}),
    ...(mode ? { mode } : {}),
    sessions: args.includes('--sessions'),
  });
  // Credentials are the fake's own test values; printed so a test runner can use them.
  console.log(JSON.stringify({ url: fake.url, port: fake.port, caFile: FAKE_BMC_CA_FILE, username: fake.username, password: fake.password }));
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
