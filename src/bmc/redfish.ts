import { Agent, request } from 'undici';
import { z } from 'zod';
import type { BmcGateway, BmcLookup, PowerOffOptions, PowerOffResult } from '../app/bmc-port.js';
import type { Logger } from '../app/ports.js';
import { resolveBmcTarget, type BmcSection, type BmcTarget } from '../config/bmc.js';
import { fail, succeed, type BmcUnreachableReason, type Failure, type FailureCode, type Outcome } from '../domain/failure.js';
import { foldHost } from '../domain/host.js';
import { describePowerState, isGraceful, isOff, POWER_OFF_RESET_TYPES, strongestHardOff, type BmcReading, type PowerState } from '../domain/power.js';

/** Tunables and test seams of the Redfish client. All optional. */
export interface RedfishDeps {
  /** The clock readings and the power-off timeout go by (ms since the epoch). */
  now?: () => number;
  /** Waits between two power-state polls; resolves early (or rejects) when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** Each request's deadline, connect to last byte (default 10 s): a hanging BMC never hangs the worker. */
  requestTimeoutMs?: number;
  /** TCP + TLS connect timeout (default 5 s). */
  connectTimeoutMs?: number;
  /** Between two power-state reads while waiting for Off (default 1 s). */
  pollIntervalMs?: number;
}

const DEFAULTS = { requestTimeoutMs: 10_000, connectTimeoutMs: 5_000, pollIntervalMs: 1_000 };
/** A Redfish answer is small; a bigger one is not read past this. */
const MAX_BODY_BYTES = 1 << 20;
const MAX_REDIRECTS = 5;
/** Systems read to find the host's when the collection has several. */
const MAX_MEMBERS = 64;
const SERVICE_ROOT = '/redfish/v1';
const DEFAULT_SESSIONS = '/redfish/v1/SessionService/Sessions';

const odataRef = z.looseObject({ '@odata.id': z.string() });
const serviceRootSchema = z.looseObject({
  Systems: odataRef.optional().catch(undefined),
  SessionService: odataRef.optional().catch(undefined),
  Links: z.looseObject({ Sessions: odataRef.optional().catch(undefined) }).optional().catch(undefined),
});
const collectionSchema = z.looseObject({ Members: z.array(odataRef) });
const resetActionSchema = z.looseObject({
  target: z.string(),
  'ResetType@Redfish.AllowableValues': z.array(z.string()).optional().catch(undefined),
  '@Redfish.ActionInfo': z.string().optional().catch(undefined),
});
const systemActionsSchema = z.looseObject({ '#ComputerSystem.Reset': resetActionSchema });
const actionInfoSchema = z.looseObject({
  Parameters: z.array(z.looseObject({ Name: z.unknown(), AllowableValues: z.array(z.string()).optional().catch(undefined) })),
});
const errorBodySchema = z.looseObject({
  error: z.looseObject({
    message: z.string().optional().catch(undefined),
    '@Message.ExtendedInfo': z.array(z.looseObject({ Message: z.string().optional().catch(undefined) })).optional().catch(undefined),
  }),
});

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body when it is a JSON object. */
  json: Json | undefined;
  /** The body was not empty and not JSON (e.g. an HTML page). */
  notJson: boolean;
  /** The path finally answered (after same-origin redirects). */
  path: string;
}

/** A failure decided mid-conversation; caught once, at the top, and returned as data. */
class BmcFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * A Redfish client for one host's BMC. Every operation opens its own
 * connection pool, reads the service root (no auth), logs in with a session
 * when the service offers one (else HTTP Basic), works, deletes its session
 * and closes: nothing is kept between operations.
 */
export function createRedfishGateway(target: BmcTarget, deps: RedfishDeps = {}): BmcGateway {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const log = deps.logger;
  const requestTimeoutMs = deps.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  const connectTimeoutMs = deps.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const pollIntervalMs = deps.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
  const origin = new URL(target.url).origin;
  const who = `${target.host}'s BMC (${origin})`;
  /**
   * Removes the password and the session token from a text; with `username`,
   * the user name too (for the BMC's own words: our messages never name the
   * user, and a short one such as "root" would garble them).
   */
  const scrub = (text: string, token: string | undefined, username = false): string => {
    let out = text;
    const secrets = [target.auth.password, token, username && target.auth.username.length >= 3 ? target.auth.username : undefined];
    for (const s of secrets) if (s) out = out.split(s).join('***');
    return out;
  };

  const failure = (code: FailureCode, message: string, extra: Partial<Failure> = {}): BmcFailure =>
    new BmcFailure({ code, message: `${who}: ${message}`, ...extra });
  const unreachable = (reason: BmcUnreachableReason, message: string, extra: Partial<Failure> = {}) =>
    failure('BMC_UNREACHABLE', message, { reason, ...extra });

  /** One operation: a pool, a login, the work, a logout. */
  async function operation<T>(what: string, signal: AbortSignal | undefined, work: (c: Conversation) => Promise<T>): Promise<Outcome<T>> {
    const agent = new Agent({
      connect: {
        timeout: connectTimeoutMs,
        rejectUnauthorized: !target.tls.insecure,
        ...(target.tls.ca && !target.tls.insecure ? { ca: target.tls.ca } : {}),
      },
      headersTimeout: requestTimeoutMs,
      bodyTimeout: requestTimeoutMs,
      keepAliveTimeout: 5_000,
    });
    const c = new Conversation(agent, signal);
    try {
      return succeed(await work(c));
    } catch (err) {
      const f: Failure =
        err instanceof BmcFailure
          ? err.failure
          : { code: 'BMC_UNREACHABLE', reason: 'network', message: `${who}: ${what} failed unexpectedly (${err instanceof Error ? err.name : 'error'})` };
      return fail({ ...f, message: scrub(f.message, c.token), ...(f.detail !== undefined ? { detail: scrub(f.detail, c.token, true) } : {}) });
    } finally {
      await c.logout();
      await agent.destroy().catch(() => undefined);
    }
  }

  class Conversation {
    /** The session's token, once logged in with a session. */
    token: string | undefined;
    private sessionPath: string | undefined;
    private basic = false;

    constructor(
      private readonly agent: Agent,
      private readonly signal: AbortSignal | undefined,
    ) {}

    /** A path of the BMC's as a URL; a path (or a redirect) to another origin is refused: credentials go to the BMC only. */
    private urlOf(path: string, method: string): URL {
      let url: URL;
      try {
        url = new URL(path, origin);
      } catch {
        throw unreachable('not-redfish', `answered a link that is not a URL (${method})`);
      }
      if (url.origin !== origin) throw unreachable('not-redfish', `pointed ${method} to another origin (${url.origin}); not followed, the credentials go to the BMC only`);
      return url;
    }

    private authHeaders(): Record<string, string> {
      if (this.token !== undefined) return { 'x-auth-token': this.token };
      if (this.basic) return { authorization: `Basic ${Buffer.from(`${target.auth.username}:${target.auth.password}`).toString('base64')}` };
      return {};
    }

    /** One request, following same-origin redirects; network failures become BMC_UNREACHABLE. */
    async send(method: 'GET' | 'POST' | 'DELETE', path: string, opts: { json?: unknown; signal?: AbortSignal | null } = {}): Promise<Answer> {
      let url = this.urlOf(path, method);
      for (let hop = 0; ; hop++) {
        const signals = [AbortSignal.timeout(requestTimeoutMs)];
        const outer = opts.signal === undefined ? this.signal : opts.signal ?? undefined;
        if (outer) signals.push(outer);
        const headers: Record<string, string> = { accept: 'application/json', 'odata-version': '4.0', ...this.authHeaders() };
        let body: string | undefined;
        if (opts.json !== undefined) {
          body = JSON.stringify(opts.json);
          headers['content-type'] = 'application/json';
        }
        const request_ = `${method} ${url.pathname}`;
        let status: number;
        let resHeaders: Record<string, string | string[] | undefined>;
        let text: string;
        try {
          const res = await request(url, { method, headers, body, dispatcher: this.agent, signal: AbortSignal.any(signals) });
          status = res.statusCode;
          resHeaders = res.headers;
          text = await readCapped(res.body);
        } catch (err) {
          throw this.networkFailure(err, request_, outer);
        }
        if ([301, 302, 303, 307, 308].includes(status) && hop < MAX_REDIRECTS) {
          const location = header(resHeaders, 'location');
          // 301/302/303 turn a POST into a GET: only 307/308 keep the method and body.
          if (location && (method === 'GET' || status === 307 || status === 308)) {
            url = this.urlOf(new URL(location, url).href, method);
            continue;
          }
        }
        let json: Json | undefined;
        let notJson = false;
        if (text.trim().length > 0) {
          try {
            const parsed: unknown = JSON.parse(text);
            if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Json;
            else notJson = true;
          } catch {
            notJson = true;
          }
        }
        return { status, headers: resHeaders, json, notJson, path: url.pathname };
      }
    }

    private networkFailure(err: unknown, request_: string, outer: AbortSignal | undefined): BmcFailure {
      if (outer?.aborted) return unreachable('timeout', `stopped before it answered ${request_} (cancelled)`, { request: request_ });
      const { reason, words } = classifyNetworkError(err);
      const wordsByReason: Record<BmcUnreachableReason, string> = {
        timeout: `did not answer ${request_} within ${Math.round(requestTimeoutMs / 1000)} s`,
        tls: `TLS failed (${words}): give its CA as caCert, or set insecure: true`,
        refused: `refused the connection (${words})`,
        dns: `its name does not resolve (${words})`,
        network: `could not be reached (${words})`,
        'http-status': words,
        'not-redfish': words,
      };
      return unreachable(reason, wordsByReason[reason], { request: request_ });
    }

    /** A GET whose answer must be a Redfish JSON object (2xx); anything else is a failure. */
    async getJson(path: string, what: string, notFound?: () => BmcFailure): Promise<Answer & { json: Json }> {
      const a = await this.send('GET', path);
      this.check(a, `GET ${a.path}`, what, notFound);
      if (a.json === undefined) throw unreachable('not-redfish', `answered ${what} with ${a.notJson ? 'something that is not JSON (e.g. an HTML page)' : 'an empty body'}: not a Redfish answer; is the url its Redfish service?`, { request: `GET ${a.path}`, status: a.status });
      return a as Answer & { json: Json };
    }

    /** Throws for an answer that is not a success. */
    check(a: Answer, request_: string, what: string, notFound?: () => BmcFailure): void {
      if (a.status >= 200 && a.status < 300) return;
      const detail = bmcMessage(a.json);
      const extra = { status: a.status, request: request_, ...(detail ? { detail } : {}) };
      if (a.status === 401 || a.status === 403) throw failure('BMC_CONFIG', `refused the configured credentials for ${what} (HTTP ${a.status}); check username and password`, extra);
      if (a.status === 404 && notFound) throw notFound();
      if (a.status === 404 && a.notJson) throw unreachable('not-redfish', `has no Redfish ${what} (HTTP 404 with a page that is not Redfish); is the url its Redfish service?`, extra);
      throw unreachable('http-status', `answered ${what} with HTTP ${a.status}`, extra);
    }

    /** Logs in: a session when the service root offers one, else HTTP Basic (also when the session service is missing: 404/405/501). */
    async login(root: Json): Promise<void> {
      const r = serviceRootSchema.safeParse(root);
      const sessions = r.success ? (r.data.Links?.Sessions?.['@odata.id'] ?? (r.data.SessionService ? DEFAULT_SESSIONS : undefined)) : undefined;
      if (sessions === undefined) {
        this.basic = true;
        return;
      }
      const a = await this.send('POST', sessions, { json: { UserName: target.auth.username, Password: target.auth.password } });
      if ([404, 405, 501].includes(a.status)) {
        this.basic = true;
        return;
      }
      this.check(a, `POST ${a.path}`, 'the session login');
      const token = header(a.headers, 'x-auth-token');
      if (!token) {
        // A session service that hands out no token: Basic is what is left.
        this.basic = true;
        return;
      }
      this.token = token;
      const location = header(a.headers, 'location') ?? (typeof a.json?.['@odata.id'] === 'string' ? a.json['@odata.id'] : undefined);
      if (location) {
        try {
          this.sessionPath = this.urlOf(location, 'DELETE').pathname;
        } catch {
          log?.warn('bmc session has a foreign Location; not deleted', { host: target.host, bmc: origin });
        }
      }
    }

    /** Deletes the session (best effort, even when the operation was cancelled). Never throws. */
    async logout(): Promise<void> {
      if (this.token === undefined || this.sessionPath === undefined) return;
      const path = this.sessionPath;
      this.sessionPath = undefined;
      try {
        const a = await this.send('DELETE', path, { signal: null });
        if (a.status >= 300 && a.status !== 404) log?.warn('bmc session logout refused', { host: target.host, bmc: origin, status: a.status });
      } catch (err) {
        log?.warn('bmc session logout failed', { host: target.host, bmc: origin, reason: err instanceof BmcFailure ? err.failure.reason : 'error' });
      }
      this.token = undefined;
    }

    /** Service root, login, and the host's system document. */
    async openSystem(): Promise<{ path: string; doc: Json }> {
      let root = await this.send('GET', SERVICE_ROOT);
      if (root.status === 401 || root.status === 403) {
        // Some BMCs want credentials even for the service root: Basic, then read it again.
        this.basic = true;
        root = await this.send('GET', SERVICE_ROOT);
        this.check(root, `GET ${root.path}`, 'the service root');
        this.basic = false;
      }
      this.check(root, `GET ${root.path}`, 'the service root');
      if (root.json === undefined) {
        throw unreachable('not-redfish', `answered ${SERVICE_ROOT} with ${root.notJson ? 'something that is not JSON (e.g. an HTML page)' : 'an empty body'}: not a Redfish service; is the url the BMC's?`, { request: `GET ${root.path}`, status: root.status });
      }
      await this.login(root.json);
      if (target.system !== undefined) {
        const configured = target.system;
        const a = await this.getJson(configured, `system ${configured}`, () =>
          failure('BMC_CONFIG', `has no system ${configured} (HTTP 404); fix "system" in its BMC entry, or leave it out to choose from /redfish/v1/Systems`, { status: 404, request: `GET ${configured}` }),
        );
        return { path: a.path, doc: a.json };
      }
      const parsedRoot = serviceRootSchema.safeParse(root.json);
      const systemsPath = (parsedRoot.success ? parsedRoot.data.Systems?.['@odata.id'] : undefined) ?? `${SERVICE_ROOT}/Systems`;
      const coll = await this.getJson(systemsPath, 'the Systems collection');
      const members = collectionSchema.safeParse(coll.json);
      if (!members.success) throw unreachable('not-redfish', `answered ${systemsPath} without a Members list: not a Redfish collection`, { request: `GET ${coll.path}` });
      const ids = members.data.Members.map((m) => m['@odata.id']);
      if (ids.length === 0) throw failure('BMC_CONFIG', `lists no systems in ${systemsPath}`, { request: `GET ${coll.path}` });
      if (ids.length === 1) {
        const a = await this.getJson(ids[0]!, `system ${ids[0]}`);
        return { path: a.path, doc: a.json };
      }
      const host = foldHost(target.host);
      const seen: { path: string; doc: Json }[] = [];
      for (const id of ids.slice(0, MAX_MEMBERS)) {
        const a = await this.getJson(id, `system ${id}`);
        seen.push({ path: a.path, doc: a.json });
      }
      const matches = seen.filter((s) => [s.doc.HostName, s.doc.Name].some((n) => typeof n === 'string' && foldHost(n.trim()) === host));
      if (matches.length === 1) return matches[0]!;
      const choices = seen.map((s) => `${s.path} (Name ${quote(s.doc.Name)}, HostName ${quote(s.doc.HostName)})`).join('; ');
      const more = ids.length > MAX_MEMBERS ? ` and ${ids.length - MAX_MEMBERS} more` : '';
      throw failure(
        'BMC_CONFIG',
        matches.length === 0
          ? `has ${ids.length} systems and none has HostName or Name ${target.host}; set "system" in its BMC entry to one of: ${choices}${more}`
          : `has ${matches.length} systems whose HostName or Name is ${target.host}; set "system" in its BMC entry to one of: ${matches.map((s) => s.path).join(', ')}`,
        { request: `GET ${coll.path}` },
      );
    }

    /** Reads the system at `path` (a poll). */
    async readSystem(path: string): Promise<{ path: string; doc: Json }> {
      const a = await this.getJson(path, `system ${path}`);
      return { path: a.path, doc: a.json };
    }

    /** The reset types the system allows: inline, else from its ActionInfo, else `undefined` (Redfish: all). */
    async allowable(reset: z.infer<typeof resetActionSchema>): Promise<string[] | undefined> {
      const inline = reset['ResetType@Redfish.AllowableValues'];
      if (inline !== undefined) return inline;
      const info = reset['@Redfish.ActionInfo'];
      if (info === undefined) return undefined;
      const a = await this.send('GET', info);
      if (a.status < 200 || a.status >= 300 || a.json === undefined) return undefined;
      const parsed = actionInfoSchema.safeParse(a.json);
      return parsed.success ? parsed.data.Parameters.find((p) => p.Name === 'ResetType')?.AllowableValues : undefined;
    }
  }

  function readingOf(s: { path: string; doc: Json }): BmcReading {
    const id = s.doc['@odata.id'];
    // The system's own id when it is a plain Redfish path (it reaches Slack and logs), else the path read.
    const system = typeof id === 'string' && /^\/redfish\/v1\/[\x21-\x7e]{1,200}$/.test(id) ? stripSlash(id) : s.path;
    return { powerState: powerStateOf(s.doc.PowerState), readAt: now(), system };
  }

  const tell = (opts: PowerOffOptions, r: BmcReading) => {
    try {
      opts.onProgress?.(r.powerState, r);
    } catch {
      // Progress only.
    }
  };

  return {
    endpoint: origin,

    readPower(opts = {}) {
      return operation('reading the power state', opts.signal, async (c) => readingOf(await c.openSystem()));
    },

    powerOff(opts) {
      return operation('powering off', opts.signal, async (c): Promise<PowerOffResult> => {
        const system = await c.openSystem();
        const first = readingOf(system);
        tell(opts, first);
        if (isOff(first)) return { resetType: null, graceful: false, sentAt: null, offAt: first.readAt, reading: first };
        const actions = systemActionsSchema.safeParse(system.doc.Actions);
        if (!actions.success) throw failure('BMC_REJECTED', `system ${first.system} advertises no ComputerSystem.Reset action: force-down cannot power it off`, { request: `GET ${system.path}` });
        const reset = actions.data['#ComputerSystem.Reset'];
        const allowed = await c.allowable(reset);
        const resetType = strongestHardOff(allowed);
        if (resetType === undefined) {
          throw failure('BMC_REJECTED', `system ${first.system} allows none of ${POWER_OFF_RESET_TYPES.join(', ')} (it allows: ${(allowed ?? []).map((v) => quote(v)).join(', ') || 'nothing'})`, { request: `GET ${system.path}` });
        }
        if (resetType === 'PushPowerButton' && first.powerState !== 'On') {
          throw failure('BMC_REJECTED', `system ${first.system} allows only PushPowerButton to power off, which toggles power; not pressed while it reads ${describePowerState(first.powerState)}`, { request: `GET ${system.path}` });
        }
        const a = await c.send('POST', reset.target, { json: { ResetType: resetType } });
        const req = `POST ${a.path}`;
        if (a.status < 200 || a.status >= 300) {
          const detail = bmcMessage(a.json);
          const extra = { status: a.status, request: req, ...(detail ? { detail } : {}) };
          if (a.status === 401 || a.status === 403) throw failure('BMC_CONFIG', `refused the configured credentials for the reset (HTTP ${a.status})`, extra);
          if (a.status >= 502) throw unreachable('http-status', `answered the ${resetType} reset with HTTP ${a.status}; the host's power is unchanged as far as force-down knows`, extra);
          throw failure('BMC_REJECTED', `refused the ${resetType} reset with HTTP ${a.status}${a.status === 501 ? ' (Not Implemented)' : ''}; nothing else was tried`, extra);
        }
        const sentAt = now();
        log?.info('bmc reset sent', { host: target.host, bmc: origin, system: first.system, resetType, status: a.status });
        let last: BmcReading = first;
        let lastProblem: Failure | undefined;
        for (;;) {
          await sleep(Math.max(0, Math.min(pollIntervalMs, sentAt + opts.timeoutMs - now())), opts.signal);
          if (opts.signal?.aborted) throw unreachable('timeout', `stopped waiting for Off (cancelled); it last read ${describePowerState(last.powerState)}`, { request: req });
          try {
            last = readingOf(await c.readSystem(system.path));
            lastProblem = undefined;
            tell(opts, last);
            if (isOff(last)) {
              log?.info('bmc reports off', { host: target.host, bmc: origin, system: last.system, resetType, waitedMs: last.readAt - sentAt });
              return { resetType, graceful: isGraceful(resetType), sentAt, offAt: last.readAt, reading: last };
            }
          } catch (err) {
            // A BMC busy with the power change may miss a poll: keep polling until the deadline.
            if (!(err instanceof BmcFailure) || err.failure.code !== 'BMC_UNREACHABLE') throw err;
            lastProblem = err.failure;
          }
          if (now() - sentAt >= opts.timeoutMs) {
            const lastWords = lastProblem ? `its last poll failed: ${lastProblem.message.slice(who.length + 2)}` : `it last read ${describePowerState(last.powerState)}`;
            throw failure('BMC_POWER_OFF_TIMEOUT', `accepted ${resetType} but did not report Off within ${Math.round(opts.timeoutMs / 1000)} s; ${lastWords}`, { request: req });
          }
        }
      });
    },
  };
}

/**
 * The BMC lookup of the `bmc` section: a Redfish client for a host with a
 * BMC entry, `undefined` for a host without one.
 */
export function createBmcLookup(section: BmcSection | undefined, deps: RedfishDeps = {}): BmcLookup {
  return (cloud, host) => {
    const target = resolveBmcTarget(section, cloud, host);
    return target ? createRedfishGateway(target, deps) : undefined;
  };
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function powerStateOf(v: unknown): PowerState {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  return JSON.stringify(v).slice(0, 40);
}

/** A value from the BMC, for a message: quoted, printable ASCII, bounded. */
function quote(v: unknown): string {
  if (typeof v !== 'string') return 'none';
  return `"${v.replace(/[^\x20-\x7e]/g, '?').slice(0, 60)}"`;
}

/** The BMC's own words from a Redfish error body, bounded and printable (the audit's `detail`). */
function bmcMessage(json: Json | undefined): string | undefined {
  const e = errorBodySchema.safeParse(json);
  if (!e.success) return undefined;
  const parts = [e.data.error.message, ...(e.data.error['@Message.ExtendedInfo'] ?? []).map((m) => m.Message)].filter((m): m is string => !!m);
  if (parts.length === 0) return undefined;
  return parts.join(' ').replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

async function readCapped(body: AsyncIterable<Buffer | Uint8Array> & { destroy?: (err?: Error) => unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy?.();
      break;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

const TLS_CODE = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL/;

/** Which kind of network failure, and short words for it (codes and library messages: no bodies, no headers). */
export function classifyNetworkError(err: unknown): { reason: BmcUnreachableReason; words: string } {
  const chain: unknown[] = [];
  for (let e: unknown = err, i = 0; e instanceof Error && i < 4; e = e.cause, i++) chain.push(e);
  const codes = chain.map((e) => (e as { code?: unknown }).code).filter((c): c is string => typeof c === 'string');
  const names = chain.map((e) => (e as Error).name);
  const words = codes[0] ?? (err instanceof Error ? err.name : 'error');
  if (names.includes('TimeoutError') || codes.some((c) => /TIMEOUT|ETIMEDOUT/.test(c))) return { reason: 'timeout', words };
  if (codes.some((c) => TLS_CODE.test(c))) return { reason: 'tls', words: codes.find((c) => TLS_CODE.test(c))! };
  if (codes.includes('ECONNREFUSED')) return { reason: 'refused', words: 'ECONNREFUSED' };
  if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN')) return { reason: 'dns', words };
  return { reason: 'network', words };
}
