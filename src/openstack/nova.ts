import { COMPUTE_BINARY } from '../domain/host.js';
import { compareMicroversions } from '../domain/microversion.js';
import { fail, succeed, type Failure, type FailureCode, type Outcome } from '../domain/failure.js';
import { TransportError, type HttpClient, type HttpRequest, type HttpResponse } from './http.js';
import { OpenStackError, errorMessageOf, type KeystoneSession, type Token } from './keystone.js';

import type { ComputeService } from '../domain/service.js';

export type { ComputeService };

/** Which force-down API the client uses for a cloud, and at which microversion. */
export type ApiChoice =
  | { path: 'modern'; microversion: string; maxVersion: string }
  | { path: 'legacy'; microversion: string; maxVersion: string };

export interface ForceDownResult {
  service: ComputeService;
  forcedDown: boolean;
  /** e.g. `PUT /os-services/{id}` or `PUT /os-services/force-down`. */
  request: string;
  microversion: string;
  /** Nova's response body, for the audit record. */
  novaResponse: unknown;
}

/** The Nova operations force-down needs. Every method returns an Outcome; none throws for expected failures. */
export interface NovaClient {
  /** Reads the compute version document (once per client) and picks the force-down path. */
  discover(): Promise<Outcome<ApiChoice>>;
  getService(host: string, binary?: string): Promise<Outcome<ComputeService>>;
  listComputeServices(): Promise<Outcome<ComputeService[]>>;
  /** Sets (true) or unsets (false) forced_down on the host's service. Idempotent. */
  setForcedDown(host: string, forcedDown: boolean, binary?: string): Promise<Outcome<ForceDownResult>>;
}

export interface NovaOptions {
  session: KeystoneSession;
  http: HttpClient;
  /** Pins the microversion instead of discovering it (clouds.yaml `compute_api_version`). */
  microversion?: string;
}

/** First microversion with the seed's `PUT /os-services/force-down`. */
export const LEGACY_MIN = '2.11';
/** First microversion addressing services by UUID (`PUT /os-services/{uuid}`). */
export const MODERN_MIN = '2.53';

export { compareMicroversions };

/** Picks the path for a Nova whose maximum microversion is `max`, honouring a pin. */
export function chooseApi(max: string, pinned?: string): Outcome<ApiChoice> {
  const wanted = pinned ?? (compareMicroversions(max, MODERN_MIN) >= 0 ? MODERN_MIN : LEGACY_MIN);
  if (compareMicroversions(max, LEGACY_MIN) < 0) {
    return fail({
      code: 'NOVA_TOO_OLD',
      message: `Nova's maximum compute microversion is ${max || '2.0 (none)'}; force-down needs at least ${LEGACY_MIN}`,
    });
  }
  if (compareMicroversions(wanted, LEGACY_MIN) < 0 || compareMicroversions(wanted, max) > 0) {
    return fail({
      code: 'NOVA_TOO_OLD',
      message: `the pinned microversion ${wanted} is outside what force-down and this Nova support (${LEGACY_MIN}..${max})`,
    });
  }
  const path = compareMicroversions(wanted, MODERN_MIN) >= 0 ? 'modern' : 'legacy';
  return succeed({ path, microversion: wanted, maxVersion: max });
}

/** The version document lives at the versioned root: strip a trailing project id from the catalog URL. */
export function versionRootOf(computeUrl: string): string {
  const u = new URL(computeUrl);
  const m = /^(.*?\/v2(?:\.1)?)(?:\/|$)/.exec(u.pathname);
  return `${u.protocol}//${u.host}${m ? m[1] : u.pathname.replace(/\/+$/, '')}/`;
}

const EVACUATIONS_PENDING_RE = /evacuation migration records remain/i;
const NOT_COMPUTE_RE = /Updating a (\S+) service is not supported/i;

/** Turns a non-2xx Nova answer into a Failure. */
export function classifyNovaError(res: Pick<HttpResponse, 'status' | 'body' | 'text'>, request: string): Failure {
  const detail = errorMessageOf(res.body) ?? res.text.slice(0, 300);
  const base = { detail, status: res.status, request };
  const make = (code: FailureCode, message: string): Failure => ({ code, message, ...base });
  switch (res.status) {
    case 400:
      if (EVACUATIONS_PENDING_RE.test(detail)) {
        return make('EVACUATIONS_PENDING', 'Nova keeps the host forced down until its evacuated instances are cleaned up');
      }
      if (NOT_COMPUTE_RE.test(detail)) {
        return make('NOT_A_COMPUTE_SERVICE', `Nova only forces down nova-compute services (${NOT_COMPUTE_RE.exec(detail)?.[1]} refused)`);
      }
      return make('NOVA_REJECTED', `Nova rejected the request (HTTP 400)`);
    case 401:
      return make('AUTH_FAILED', 'Nova did not accept a fresh token from Keystone (HTTP 401)');
    case 403:
      return make('NOVA_FORBIDDEN', "Nova's policy does not allow these credentials to update services (os_compute_api:os-services:update)");
    case 404:
      return make('HOST_NOT_FOUND', 'Nova does not know this host');
    case 406:
      return make('NOVA_TOO_OLD', 'Nova does not support the requested compute microversion (HTTP 406)');
    default:
      if (res.status >= 500) return make('NOVA_UNAVAILABLE', `Nova answered HTTP ${res.status}`);
      return make('NOVA_REJECTED', `Nova rejected the request (HTTP ${res.status})`);
  }
}

interface RawService {
  id?: string | number;
  host?: string;
  binary?: string;
  state?: string;
  status?: string;
  forced_down?: boolean;
  updated_at?: string | null;
  disabled_reason?: string | null;
  zone?: string;
}

function toService(raw: RawService): ComputeService {
  return {
    ...(raw.id !== undefined ? { id: String(raw.id) } : {}),
    host: raw.host ?? '',
    binary: raw.binary ?? '',
    ...(raw.state !== undefined ? { state: raw.state } : {}),
    ...(raw.status !== undefined ? { status: raw.status } : {}),
    forcedDown: raw.forced_down === true,
    ...(raw.updated_at !== undefined ? { updatedAt: raw.updated_at } : {}),
    ...(raw.disabled_reason !== undefined ? { disabledReason: raw.disabled_reason } : {}),
    ...(raw.zone !== undefined ? { zone: raw.zone } : {}),
  };
}

export interface NovaRequest {
  method: HttpRequest['method'];
  /** Below the compute endpoint, with its query: `/servers/detail?host=x`. */
  path: string;
  /** Sent as both microversion headers; none when undefined. */
  microversion?: string | undefined;
  json?: unknown;
  /** How failures name the request: `POST /servers/{id}/action`. */
  request: string;
  /** `false`: never resend (HttpRequest.retry); the one re-authentication on a 401 still happens (Nova did not act on it). */
  retry?: boolean;
}

/**
 * One Nova request with the cloud's token and microversion headers. A 401 is
 * answered by exactly one re-authentication (the cached token may have been
 * revoked or expired early); the answer after it is returned as it is. A
 * request Nova did not answer throws OpenStackError NOVA_UNAVAILABLE.
 */
export async function sendToNova(session: KeystoneSession, http: HttpClient, req: NovaRequest): Promise<HttpResponse> {
  for (let reauth = 0; ; reauth++) {
    const token: Token = await session.getToken();
    const headers: Record<string, string> = { 'x-auth-token': token.value };
    if (req.microversion) {
      headers['openstack-api-version'] = `compute ${req.microversion}`;
      headers['x-openstack-nova-api-version'] = req.microversion;
    }
    let res: HttpResponse;
    try {
      res = await http.send({
        method: req.method,
        url: `${token.computeUrl}${req.path}`,
        headers,
        json: req.json,
        ...(req.retry === false ? { retry: false } : {}),
      });
    } catch (err) {
      if (err instanceof TransportError) {
        throw new OpenStackError(
          {
            code: 'NOVA_UNAVAILABLE',
            message: `Nova did not answer: ${err.message}`,
            request: req.request,
            ...(err.lastStatus ? { status: err.lastStatus } : {}),
          },
          { cause: err },
        );
      }
      throw err;
    }
    if (res.status === 401 && reauth === 0) {
      session.invalidate(token);
      continue;
    }
    return res;
  }
}

/**
 * Nova's maximum compute microversion, from its version document (public: sent
 * without a token, so Nova need not validate one with Keystone). `''` for a
 * Nova without microversions.
 */
export async function readMaxMicroversion(session: KeystoneSession, http: HttpClient): Promise<string> {
  const token = await session.getToken();
  let res: HttpResponse;
  try {
    res = await http.send({ method: 'GET', url: versionRootOf(token.computeUrl) });
  } catch (err) {
    if (err instanceof TransportError) {
      throw new OpenStackError({ code: 'NOVA_UNAVAILABLE', message: `Nova did not answer: ${err.message}`, request: 'GET /' }, { cause: err });
    }
    throw err;
  }
  if (res.status !== 200) throw new OpenStackError(classifyNovaError(res, 'GET /'));
  const body = res.body as { version?: { version?: string }; versions?: { id?: string; version?: string; status?: string }[] };
  return body?.version?.version ?? body?.versions?.find((v) => v.status === 'CURRENT')?.version ?? '';
}

/** Creates a Nova client for one cloud. Create one per cloud and keep it: it caches discovery and service ids. */
export function createNovaClient(opts: NovaOptions): NovaClient {
  const { session, http } = opts;
  let choice: Promise<ApiChoice> | undefined;
  /** `${binary}@${host}` → service UUID; saves the lookup GET on the hot path. */
  const serviceIds = new Map<string, string>();
  /**
   * `${binary}@${host}` that a lookup found under exactly that name: the only
   * names the legacy PUT sends. A MySQL Nova matches the legacy body's host
   * case-insensitively (its default collation), so `RT1` would force down
   * `rt1`, under a name Nova does not use; PostgreSQL and SQLite refuse it.
   * The lookup filters exactly, so every Nova gets the same answer.
   */
  const exactHosts = new Set<string>();

  async function call(
    method: 'GET' | 'PUT',
    path: string,
    microversion: string | undefined,
    json?: unknown,
  ): Promise<HttpResponse> {
    // Named as the other outcomes name it (`PUT /os-services/{id}`), whichever way the call fails.
    const request = `${method} ${path.split('?')[0]!.replace(/^\/os-services\/(?!force-down$)[^/]+$/, '/os-services/{id}')}`;
    return sendToNova(session, http, { method, path, microversion, json, request });
  }

  async function getJson(path: string, microversion: string | undefined): Promise<unknown> {
    const res = await call('GET', path, microversion);
    if (res.status !== 200) throw new OpenStackError(classifyNovaError(res, `GET ${path.split('?')[0]}`));
    return res.body;
  }

  async function discoverApi(): Promise<ApiChoice> {
    const picked = chooseApi(await readMaxMicroversion(session, http), opts.microversion);
    if (!picked.ok) throw new OpenStackError(picked.failure);
    return picked.value;
  }

  function api(): Promise<ApiChoice> {
    choice ??= discoverApi().catch((err: unknown) => {
      choice = undefined; // do not cache a failure: the next call tries again
      throw err;
    });
    return choice;
  }

  async function lookup(host: string, binary: string, microversion: string): Promise<ComputeService> {
    const query = new URLSearchParams({ binary, host }).toString();
    const body = (await getJson(`/os-services?${query}`, microversion)) as { services?: RawService[] };
    const found = (body.services ?? []).filter((s) => s.host === host && s.binary === binary).map(toService);
    if (found.length > 0) {
      const service = found[0]!;
      exactHosts.add(`${binary}@${host}`);
      if (service.id && compareMicroversions(microversion, MODERN_MIN) >= 0) serviceIds.set(`${binary}@${host}`, service.id);
      return service;
    }
    // Tell "no such host" from "host without nova-compute" (a controller, say): one more cheap read.
    const onHost = (await getJson(`/os-services?${new URLSearchParams({ host })}`, microversion)) as { services?: RawService[] };
    const others = (onHost.services ?? []).filter((s) => s.host === host).map((s) => s.binary);
    if (others.length > 0) {
      throw new OpenStackError({
        code: 'NOT_A_COMPUTE_SERVICE',
        message: `${host} runs ${others.join(', ')}, not ${binary}`,
        request: 'GET /os-services',
        status: 200,
      });
    }
    throw new OpenStackError({
      code: 'HOST_NOT_FOUND',
      message: `Nova has no ${binary} service on a host named ${host}`,
      detail: '{"services": []}',
      request: 'GET /os-services',
      status: 200,
    });
  }

  /**
   * The API choice and, on a client's first call, a service lookup started
   * alongside the version document at the microversion it will most likely pick
   * (the pin, or 2.53): a cold force-down costs one round trip less. The version
   * document still decides; a lookup made at another microversion is dropped.
   */
  async function apiWithLookup(host: string, binary: string): Promise<{ a: ApiChoice; prefetched?: Promise<ComputeService> }> {
    const guess = opts.microversion ?? MODERN_MIN;
    const speculate = choice === undefined && compareMicroversions(guess, MODERN_MIN) >= 0 && !serviceIds.has(`${binary}@${host}`);
    const pending = speculate ? lookup(host, binary, guess) : undefined;
    pending?.catch(() => undefined); // a dropped lookup's failure is not an error
    const a = await api();
    return pending && a.path === 'modern' && a.microversion === guess ? { a, prefetched: pending } : { a };
  }

  async function putModern(host: string, binary: string, forcedDown: boolean, a: ApiChoice, prefetched?: Promise<ComputeService>): Promise<ForceDownResult> {
    const key = `${binary}@${host}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const cachedId = serviceIds.get(key);
      const id = cachedId ?? (await (attempt === 0 && prefetched ? prefetched : lookup(host, binary, a.microversion))).id;
      if (!id) throw new OpenStackError({ code: 'NOVA_REJECTED', message: 'Nova listed the service without an id', request: 'GET /os-services' });
      const request = 'PUT /os-services/{id}';
      const res = await call('PUT', `/os-services/${encodeURIComponent(id)}`, a.microversion, { forced_down: forcedDown });
      if (res.status === 404 && cachedId) {
        // The service record was deleted and re-created (new UUID): look it up again, once.
        serviceIds.delete(key);
        continue;
      }
      if (res.status !== 200) throw new OpenStackError(classifyNovaError(res, request));
      const service = toService((res.body as { service?: RawService })?.service ?? { host, binary, forced_down: forcedDown });
      return { service, forcedDown: service.forcedDown, request, microversion: a.microversion, novaResponse: res.body };
    }
    throw new OpenStackError({ code: 'HOST_NOT_FOUND', message: `Nova has no ${binary} service on a host named ${host}`, request: 'PUT /os-services/{id}' });
  }

  async function putLegacy(host: string, binary: string, forcedDown: boolean, a: ApiChoice): Promise<ForceDownResult> {
    // Once per host and client: the name must be Nova's own spelling (HOST_NOT_FOUND otherwise, nothing sent).
    if (!exactHosts.has(`${binary}@${host}`)) await lookup(host, binary, a.microversion);
    const request = 'PUT /os-services/force-down';
    const res = await call('PUT', '/os-services/force-down', a.microversion, { binary, host, forced_down: forcedDown });
    if (res.status === 404) {
      // "Host 'x' is not mapped to any cell" is also what a controller without nova-compute gets:
      // the lookup says which of the two it is, with the same words as the modern path.
      const notFound = classifyNovaError(res, request);
      try {
        await lookup(host, binary, a.microversion);
      } catch (err) {
        if (err instanceof OpenStackError && err.failure.code === 'NOT_A_COMPUTE_SERVICE') {
          throw new OpenStackError({ ...notFound, code: 'NOT_A_COMPUTE_SERVICE', message: err.failure.message });
        }
      }
      throw new OpenStackError({ ...notFound, message: `Nova has no ${binary} service on a host named ${host}` });
    }
    if (res.status !== 200) throw new OpenStackError(classifyNovaError(res, request));
    const service = toService((res.body as { service?: RawService })?.service ?? { host, binary, forced_down: forcedDown });
    return { service, forcedDown: service.forcedDown, request, microversion: a.microversion, novaResponse: res.body };
  }

  return {
    discover: () => outcome(api),
    getService: (host, binary = COMPUTE_BINARY) =>
      outcome(async () => {
        const { a, prefetched } = await apiWithLookup(host, binary);
        return prefetched ?? lookup(host, binary, a.microversion);
      }),
    listComputeServices: () =>
      outcome(async () => {
        const body = (await getJson(`/os-services?binary=${COMPUTE_BINARY}`, (await api()).microversion)) as { services?: RawService[] };
        return (body.services ?? []).map(toService).sort((x, y) => x.host.localeCompare(y.host));
      }),
    setForcedDown: (host, forcedDown, binary = COMPUTE_BINARY) =>
      outcome(async () => {
        const { a, prefetched } = await apiWithLookup(host, binary);
        return a.path === 'modern' ? putModern(host, binary, forcedDown, a, prefetched) : putLegacy(host, binary, forcedDown, a);
      }),
  };
}

/** The public edge of the module: expected failures become data. */
export async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return succeed(await fn());
  } catch (err) {
    if (err instanceof OpenStackError) return fail(err.failure);
    throw err;
  }
}
