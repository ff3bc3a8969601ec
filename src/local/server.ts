import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../app/ports.js';
import { normalizeHeaders, tooBusy, tooLarge, type HttpRequest, type HttpResponse, type Preflight, type RequestHead } from '../runtime/http.js';
import { DEFAULT_MAX_CONNECTIONS } from './limits.js';

/**
 * What one process lets the outside hold. On AWS, API Gateway stands in front
 * of the api function; locally this server is the front door, so it bounds
 * connections, time and buffered bytes itself (issue #11: 1, 2).
 */
export interface ServerLimits {
  /**
   * Inbound connections at once, well below the process's descriptor limit
   * (src/local/limits.ts), so that calls to Nova, Keystone and Slack always
   * get a descriptor. At the cap, a new connection closes the oldest idle one
   * (no request in progress: headers not finished, or kept alive between
   * requests); when every connection has a request in progress, the new one
   * is closed at once.
   */
  maxConnections: number;
  /** Request-body bytes held across all connections; a request that would go beyond gets 503 and is closed. */
  maxBufferedBytes: number;
  /** From a connection's first byte (or the end of its previous request) to its request's last header. */
  headersTimeoutMs: number;
  /** One whole request, headers and body. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** How often the header and request timeouts are checked. */
  checkIntervalMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxBufferedBytes: 32 * 1024 * 1024,
  // A webhook server's peers (Slack, Alertmanager, Grafana) send a small request at once.
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
};

/** How often, at most, the log says that connections were closed at the cap. */
const CAP_REPORT_INTERVAL_MS = 10_000;

export interface HttpServerOptions {
  host: string;
  port: number;
  /** The router, given the request with its body read. */
  handle: (req: HttpRequest) => Promise<HttpResponse>;
  /** The router's decision from the head alone: before a byte of the body is read. */
  preflight: (head: RequestHead) => Promise<Preflight>;
  onError: (err: unknown) => void;
  limits?: Partial<ServerLimits>;
  log?: Pick<Logger, 'warn'>;
}

export interface LocalHttpServer {
  url: string;
  server: Server;
  /** Connections open now, of which idle (no request in progress), and request-body bytes held. */
  stats(): { connections: number; idle: number; bufferedBytes: number };
  close(): Promise<void>;
}

/**
 * Serves the api router from a plain Node HTTP server (the local run; same
 * handlers as Lambda). Routes first: a request the router answers from its
 * head (unknown path or method, no credentials) is answered at once without
 * reading the body, and its connection closed. Otherwise the body is read up
 * to the route's limit (413 on a Content-Length over it before reading, or as
 * soon as a body without one passes it) and within the bytes all connections
 * may hold together (503).
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<LocalHttpServer> {
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...opts.limits };
  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  });
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;

  // Connections in the order they last became idle (oldest first), and how many requests each has in progress.
  const idle = new Set<Socket>();
  const active = new Map<Socket, number>();
  let bufferedBytes = 0;

  const capped = { evicted: 0, refused: 0, reporting: false };
  const reportCap = () => {
    if (capped.evicted + capped.refused === 0) return void (capped.reporting = false);
    opts.log?.warn('inbound connections at the cap', { cap: limits.maxConnections, closedIdle: capped.evicted, refused: capped.refused });
    capped.evicted = capped.refused = 0;
    capped.reporting = true;
    setTimeout(reportCap, CAP_REPORT_INTERVAL_MS).unref();
  };
  const atCap = (what: 'evicted' | 'refused') => {
    capped[what]++;
    if (!capped.reporting) reportCap();
  };

  server.on('connection', (socket: Socket) => {
    if (idle.size + active.size >= limits.maxConnections) {
      const oldest = idle.values().next().value;
      if (oldest) {
        idle.delete(oldest);
        oldest.destroy();
        atCap('evicted');
      } else {
        socket.destroy();
        atCap('refused');
        return;
      }
    }
    idle.add(socket);
    socket.once('close', () => {
      idle.delete(socket);
      active.delete(socket);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    idle.delete(socket);
    active.set(socket, (active.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = (active.get(socket) ?? 1) - 1;
      if (n > 0) return void active.set(socket, n);
      active.delete(socket);
      if (!socket.destroyed) idle.add(socket);
    });
    void serve(req, res);
  });

  function send(res: ServerResponse, out: HttpResponse, close = false): void {
    if (res.headersSent || res.destroyed) return;
    // `Connection: close`: Node closes the socket once the answer is out, and discards any body still coming.
    res.writeHead(out.status, { ...out.headers, ...(close ? { connection: 'close' } : {}) });
    res.end(out.body);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let head: RequestHead;
    let pre: Preflight;
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      head = { method: req.method ?? 'GET', path: url.pathname, headers: normalizeHeaders(req.headers) };
      pre = await opts.preflight(head);
    } catch (err) {
      opts.onError(err);
      return send(res, { status: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"internal error"}' }, true);
    }
    if (!pre.read) return send(res, pre.answer, true);
    const limit = pre.maxBodyBytes;
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (declared !== undefined && declared > limit) return send(res, tooLarge(limit), true);
    if (declared !== undefined && bufferedBytes + declared > limits.maxBufferedBytes) return send(res, tooBusy(), true);

    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0;
    let stopped = false;
    const release = () => {
      bufferedBytes -= held;
      held = 0;
    };
    res.once('close', release);
    const stop = (answer: HttpResponse) => {
      stopped = true;
      chunks.length = 0;
      release();
      send(res, answer, true);
    };
    req.on('data', (chunk: Buffer) => {
      if (stopped) return;
      size += chunk.length;
      if (size > limit) return stop(tooLarge(limit));
      if (bufferedBytes + chunk.length > limits.maxBufferedBytes) return stop(tooBusy());
      bufferedBytes += chunk.length;
      held += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (stopped) return;
      const body = Buffer.concat(chunks).toString('utf8');
      chunks.length = 0;
      opts
        .handle({ ...head, body })
        .then((out) => send(res, out))
        .catch((err: unknown) => {
          opts.onError(err);
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"internal error"}');
        });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host}:${port}`,
    server,
    stats: () => ({ connections: idle.size + active.size, idle: idle.size, bufferedBytes }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still in progress get a moment to finish; a slow upload does not hold the shutdown.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      }),
  };
}
