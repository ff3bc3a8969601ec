import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalizeHeaders, type HttpRequest, type HttpResponse } from '../runtime/http.js';

const MAX_BODY = 1024 * 1024;

/** Serves the api router from a plain Node HTTP server (the local run; same handlers as Lambda). */
export async function startHttpServer(opts: {
  host: string;
  port: number;
  handle: (req: HttpRequest) => Promise<HttpResponse>;
  onError: (err: unknown) => void;
}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const url = new URL(req.url ?? '/', 'http://local');
      opts
        .handle({ method: req.method ?? 'GET', path: url.pathname, headers: normalizeHeaders(req.headers), body: Buffer.concat(chunks).toString('utf8') })
        .then((out) => {
          res.writeHead(out.status, out.headers);
          res.end(out.body);
        })
        .catch((err: unknown) => {
          opts.onError(err);
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"internal error"}');
        });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host}:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
