import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small reverse proxy on 127.0.0.1 that forwards every request to one
 * upstream origin and records what passed through, so a test can count calls
 * where the upstream sees them (e.g. how many `PUT /os-services/…` reached
 * Nova), not where the code under test thinks it made them.
 *
 * Bodies are buffered (OpenStack API bodies are small), which lets
 * `rewriteResponse` edit an answer; `content-length` is recomputed.
 */

export interface ProxiedRequest {
  method: string;
  /** Path without the query string, e.g. `/v2.1/os-services/9b1c…`. */
  path: string;
  /** Upstream HTTP status (0 when the upstream could not be reached). */
  status: number;
}

export interface CountingProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every forwarded request, in arrival order. */
  requests(): ProxiedRequest[];
  /** How many requests with `method` had a path matching `path` (a RegExp, or an exact path). */
  count(method: string, path: RegExp | string): number;
  /** Forgets the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export interface CountingProxyOptions {
  /** Upstream origin, e.g. `http://127.0.0.1:8774` (any path in it is ignored: request paths are kept as sent). */
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

export async function startCountingProxy(opts: CountingProxyOptions): Promise<CountingProxy> {
  const target = new URL(opts.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const seen: ProxiedRequest[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const rawPath = req.url ?? '/';
      const path = rawPath.split('?')[0]!;
      const entry: ProxiedRequest = { method, path, status: 0 };
      seen.push(entry);
      const body = Buffer.concat(chunks);
      const headers = forwardable(req.headers);
      // Ask for an uncompressed answer, so that rewriteResponse sees plain text.
      delete headers['accept-encoding'];
      const upstream = httpRequest(
        {
          agent,
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method,
          path: rawPath,
          headers: { ...headers, host: target.host, ...(body.length > 0 || !['GET', 'HEAD'].includes(method) ? { 'content-length': String(body.length) } : {}) },
        },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            entry.status = up.statusCode ?? 0;
            let out: Buffer = Buffer.concat(parts);
            out = opts.rewriteResponse?.({ method, path }, { status: entry.status, body: out }) ?? out;
            res.writeHead(entry.status, { ...forwardable(up.headers), 'content-length': String(out.length) });
            res.end(method === 'HEAD' ? undefined : out);
          });
          up.on('error', () => res.destroy());
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('counting proxy: upstream unreachable');
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...seen],
    count: (method, path) => seen.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))).length,
    reset: () => void (seen.length = 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

/**
 * A Keystone proxy's response rewrite: Nova's origin in a new token's catalog
 * (`POST /v3/auth/tokens`) becomes the Nova proxy's, so the client under test
 * reaches Nova through it. Shared with test/fakes/fault-proxy.ts.
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

/** Keystone and Nova, each behind a counting proxy. */
export interface OpenStackProxy {
  /** Give this to the code under test as `auth.auth_url`: Keystone through its proxy. */
  readonly authUrl: string;
  readonly keystone: CountingProxy;
  /** What reached Nova. */
  readonly nova: CountingProxy;
  close(): Promise<void>;
}

/**
 * Puts Keystone and Nova behind counting proxies. force-down finds Nova in the
 * token's service catalog (there is no endpoint override in a cloud's config),
 * so the Keystone proxy rewrites Nova's URLs in `POST /v3/auth/tokens` answers
 * to point at the Nova proxy; everything else passes through untouched.
 *
 * @param keystone Keystone's v3 URL, e.g. `http://127.0.0.1:5000/v3`
 * @param nova Nova's URL as the catalog lists it, e.g. `http://127.0.0.1:8774/v2.1`
 */
export async function startOpenStackProxy(opts: { keystone: string; nova: string }): Promise<OpenStackProxy> {
  const novaOrigin = new URL(opts.nova).origin;
  const nova = await startCountingProxy({ target: novaOrigin });
  const keystone = await startCountingProxy({
    target: new URL(opts.keystone).origin,
    rewriteResponse: catalogRewrite(novaOrigin, nova.url),
  });
  return {
    authUrl: proxiedAuthUrl(keystone.url, opts.keystone),
    keystone,
    nova,
    close: async () => {
      await Promise.all([keystone.close(), nova.close()]);
    },
  };
}
