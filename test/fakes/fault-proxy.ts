import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fault-injecting reverse proxy on 127.0.0.1, for the reliability suite:
 * it sits between the code under test and one upstream (the lab's Keystone or
 * Nova), forwards what no rule matches, and applies the first matching rule's
 * fault to what one does. Every request is recorded where the upstream would
 * see it, so a test counts attempts (retries) and what actually reached the
 * upstream (`forwarded`), not what the client believes it sent.
 *
 * With no rule it is a plain counting proxy (the suites that only count what
 * reached Nova use it so).
 *
 * Faults:
 * - `delay`: wait, then forward.
 * - `reset`: TCP RST, nothing forwarded, no answer (a crashed load balancer).
 * - `status`: answer with an HTTP status (502/503/504, 401…), nothing forwarded.
 * - `hang`: never answer, nothing forwarded (past the client's timeout).
 * - `forward-then-status`: forward (the upstream applies it), then answer the
 *   client with a status instead of the upstream's answer (lost response).
 * - `forward-then-hang`: forward, then never answer the client.
 *
 * Bodies are buffered (OpenStack API bodies are small) so `rewriteResponse`
 * can edit an answer; `content-length` is recomputed.
 */

export type Fault =
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' }
  | { kind: 'status'; status: number; body?: string | Record<string, unknown>; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'forward-then-status'; status: number; body?: string | Record<string, unknown>; headers?: Record<string, string> }
  | { kind: 'forward-then-hang' };

export interface FaultRule {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Path (without query) to match: a RegExp, or an exact path (any when omitted). */
  path?: RegExp | string;
  /** How many matching requests get the fault; then the rule is spent (default: all of them). */
  times?: number;
  fault: Fault;
}

export interface ProxiedCall {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string, without `?` ('' when none). */
  query: string;
  /** Request headers as received (lower-case names). */
  headers: IncomingHttpHeaders;
  /** The request body as received. */
  body: string;
  /** `performance.now()` when the request had arrived in full. */
  at: number;
  /** The fault applied, if a rule matched. */
  fault?: Fault['kind'];
  /** Whether the request reached the upstream. */
  forwarded: boolean;
  /** The upstream's status (0 when not forwarded or unreachable). */
  upstreamStatus: number;
  /** What the client was answered (0 for reset, hang, or not yet). */
  clientStatus: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Adds a rule (rules are tried in the order added). Returns a function that removes it. */
  inject(rule: FaultRule): () => void;
  /** Removes every rule. Hung requests stay hung until `releaseHung` or `close`. */
  clearFaults(): void;
  /** Every request, in arrival order. */
  calls(): ProxiedCall[];
  /** Requests with `method` whose path matches `path`; `forwarded: true` counts only those that reached the upstream. */
  count(method: string, path: RegExp | string, opts?: { forwarded?: boolean }): number;
  /** Resolves with the first request (already seen or coming) matching; rejects after `timeoutMs`. */
  waitFor(method: string, path: RegExp | string, timeoutMs?: number): Promise<ProxiedCall>;
  /** Forgets the recorded requests. */
  reset(): void;
  /** Destroys the connections of hung requests (the client sees a closed socket). */
  releaseHung(): void;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Upstream origin, e.g. `http://127.0.0.1:8774` (request paths are kept as sent). */
  target: string;
  /** May replace an upstream answer's body (return undefined to keep it). */
  rewriteResponse?: (req: { method: string; path: string }, res: { status: number; body: Buffer }) => Buffer | undefined;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones we recompute.
const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'host']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !DROP.has(k)) out[k] = v;
  return out;
}

const matches = (path: RegExp | string | undefined, value: string) => path === undefined || (typeof path === 'string' ? path === value : path.test(value));

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const rules: { rule: FaultRule; left: number }[] = [];
  const seen: ProxiedCall[] = [];
  const hung = new Set<Socket>();
  const waiters = new Set<(call: ProxiedCall) => void>();

  function pick(method: string, path: string): Fault | undefined {
    for (const r of rules) {
      if (r.left > 0 && matches(r.rule.path, path) && (r.rule.method === undefined || r.rule.method === method)) {
        r.left--;
        return r.rule.fault;
      }
    }
    return undefined;
  }

  function answer(res: ServerResponse, call: ProxiedCall, status: number, body: string | Record<string, unknown> | undefined, headers: Record<string, string> = {}) {
    const text = body === undefined ? JSON.stringify({ error: { code: status, message: `fault proxy: injected HTTP ${status}` } }) : typeof body === 'string' ? body : JSON.stringify(body);
    call.clientStatus = status;
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  function hang(req: IncomingMessage) {
    hung.add(req.socket);
    req.socket.once('close', () => hung.delete(req.socket));
  }

  function forward(req: IncomingMessage, res: ServerResponse, call: ProxiedCall, body: Buffer, after?: Fault) {
    const headers = forwardable(req.headers);
    delete headers['accept-encoding']; // plain answers, so that rewriteResponse sees text
    call.forwarded = true;
    const upstream = httpRequest(
      {
        agent,
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: call.method,
        path: req.url ?? '/',
        headers: { ...headers, host: target.host, ...(body.length > 0 || !['GET', 'HEAD'].includes(call.method) ? { 'content-length': String(body.length) } : {}) },
      },
      (up) => {
        const parts: Buffer[] = [];
        up.on('data', (c: Buffer) => parts.push(c));
        up.on('end', () => {
          call.upstreamStatus = up.statusCode ?? 0;
          if (after?.kind === 'forward-then-status') return answer(res, call, after.status, after.body, after.headers);
          if (after?.kind === 'forward-then-hang') return hang(req);
          let out: Buffer = Buffer.concat(parts);
          out = opts.rewriteResponse?.({ method: call.method, path: call.path }, { status: call.upstreamStatus, body: out }) ?? out;
          call.clientStatus = call.upstreamStatus;
          res.writeHead(call.upstreamStatus, { ...forwardable(up.headers), 'content-length': String(out.length) });
          res.end(call.method === 'HEAD' ? undefined : out);
        });
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) answer(res, call, 502, 'fault proxy: upstream unreachable');
      else res.destroy();
    });
    upstream.end(body);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const [path = '/', query = ''] = (req.url ?? '/').split('?');
      const body = Buffer.concat(chunks);
      const fault = pick(method, path);
      const call: ProxiedCall = {
        method,
        path,
        query,
        headers: req.headers,
        body: body.toString('utf8'),
        at: performance.now(),
        ...(fault ? { fault: fault.kind } : {}),
        forwarded: false,
        upstreamStatus: 0,
        clientStatus: 0,
      };
      seen.push(call);
      for (const w of [...waiters]) w(call);
      switch (fault?.kind) {
        case undefined:
          return forward(req, res, call, body);
        case 'delay':
          return void setTimeout(() => forward(req, res, call, body), fault.ms);
        case 'reset':
          return void req.socket.resetAndDestroy();
        case 'status':
          return answer(res, call, fault.status, fault.body, fault.headers);
        case 'hang':
          return hang(req);
        case 'forward-then-status':
        case 'forward-then-hang':
          return forward(req, res, call, body, fault);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const select = (method: string, path: RegExp | string) => (c: ProxiedCall) => c.method === method && matches(path, c.path);

  return {
    url: `http://127.0.0.1:${port}`,
    inject(rule) {
      const entry = { rule, left: rule.times ?? Number.POSITIVE_INFINITY };
      rules.push(entry);
      return () => {
        const i = rules.indexOf(entry);
        if (i >= 0) rules.splice(i, 1);
      };
    },
    clearFaults: () => void (rules.length = 0),
    calls: () => [...seen],
    count: (method, path, o) => seen.filter((c) => select(method, path)(c) && (o?.forwarded === undefined || c.forwarded === o.forwarded)).length,
    waitFor(method, path, timeoutMs = 10_000) {
      const found = seen.find(select(method, path));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (c: ProxiedCall) => {
          if (!select(method, path)(c)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(c);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`fault proxy: no ${method} ${String(path)} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    reset: () => void (seen.length = 0),
    releaseHung() {
      for (const s of hung) s.destroy();
      hung.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of hung) s.destroy();
        hung.clear();
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

/**
 * A Keystone proxy's response rewrite: Nova's origin in a new token's catalog
 * (`POST /v3/auth/tokens`) becomes the Nova proxy's, so the client under test
 * reaches Nova through it.
 */
export function catalogRewrite(novaOrigin: string, novaProxyUrl: string) {
  return (req: { method: string; path: string }, res: { status: number; body: Buffer }): Buffer | undefined =>
    req.method === 'POST' && /\/auth\/tokens$/.test(req.path) && res.status < 300
      ? Buffer.from(res.body.toString('utf8').replaceAll(novaOrigin, novaProxyUrl), 'utf8')
      : undefined;
}

/** Keystone's URL (with its path, e.g. /v3) through the proxy at `proxyUrl`. */
export function proxiedAuthUrl(proxyUrl: string, keystone: string): string {
  return `${proxyUrl}${new URL(keystone).pathname.replace(/\/+$/, '')}`;
}

/** Keystone and Nova, each behind a fault proxy. */
export interface FaultyOpenStack {
  /** Give this to the code under test as `auth.auth_url`: Keystone through its proxy. */
  readonly authUrl: string;
  readonly keystone: FaultProxy;
  /** Between the code under test and Nova. */
  readonly nova: FaultProxy;
  /** Removes every rule on both proxies and releases hung requests. */
  clearFaults(): void;
  /** Forgets both proxies' records. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Puts Keystone and Nova behind fault proxies. force-down finds Nova in the
 * token's catalog (a cloud has no endpoint override), so the Keystone proxy
 * rewrites Nova's URLs in `POST /v3/auth/tokens` answers to point at the Nova
 * proxy; everything else passes through untouched.
 *
 * @param keystone Keystone's v3 URL, e.g. `http://127.0.0.1:5000/v3`
 * @param nova Nova's URL as the catalog lists it, e.g. `http://127.0.0.1:8774/v2.1`
 */
export async function startFaultyOpenStack(opts: { keystone: string; nova: string }): Promise<FaultyOpenStack> {
  const novaOrigin = new URL(opts.nova).origin;
  const nova = await startFaultProxy({ target: novaOrigin });
  const keystone = await startFaultProxy({
    target: new URL(opts.keystone).origin,
    rewriteResponse: catalogRewrite(novaOrigin, nova.url),
  });
  return {
    authUrl: proxiedAuthUrl(keystone.url, opts.keystone),
    keystone,
    nova,
    clearFaults() {
      for (const p of [keystone, nova]) {
        p.clearFaults();
        p.releaseHung();
      }
    },
    reset() {
      keystone.reset();
      nova.reset();
    },
    close: async () => {
      await Promise.all([keystone.close(), nova.close()]);
    },
  };
}
