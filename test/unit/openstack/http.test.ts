import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient, TransportError } from '../../../src/openstack/http.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ url: string; hits: () => number; sockets: () => number }> {
  let n = 0;
  let sockets = 0;
  server = createServer((req, res) => handler(req, res, ++n));
  server.on('connection', () => sockets++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/x`, hits: () => n, sockets: () => sockets };
}

const delays: number[] = [];
const deps = { sleep: async (ms: number) => void delays.push(ms), random: () => 0.5 };

describe('HTTP client', () => {
  it('retries 502/503/504 with jittered exponential backoff, then succeeds', async () => {
    delays.length = 0;
    const s = await serve((_req, res, n) => {
      res.writeHead(n === 1 ? 503 : n === 2 ? 504 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ n }));
    });
    const http = createHttpClient({ retries: 2, retryBaseDelayMs: 100, retryMaxDelayMs: 1000 }, deps);
    const res = await http.send({ method: 'GET', url: s.url });
    expect(res).toMatchObject({ status: 200, body: { n: 3 }, attempts: 3 });
    expect(delays).toEqual([50, 100]); // random 0.5 × min(cap, 100·2^attempt)
    await http.close();
  });

  it('does not retry other errors (a 500 or a 400 is an answer)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(500);
      res.end('{"computeFault": {"message": "boom"}}');
    });
    const http = createHttpClient({ retries: 3 }, deps);
    expect(await http.send({ method: 'PUT', url: s.url, json: { a: 1 } })).toMatchObject({ status: 500, attempts: 1 });
    expect(s.hits()).toBe(1);
    await http.close();
  });

  it('gives up after the bounded retries with a TransportError naming the last status', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(502);
      res.end();
    });
    const http = createHttpClient({ retries: 2 }, deps);
    const err = await http.send({ method: 'GET', url: `${s.url}?token=secret` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ attempts: 3, lastStatus: 502 });
    expect((err as Error).message).toBe(`GET ${s.url}: HTTP 502 after 3 attempts`); // query (may hold secrets) dropped
    expect(s.hits()).toBe(3);
    await http.close();
  });

  it('sends a request marked retry: false once, even on a 503 (a lost answer says nothing of whether it arrived)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const http = createHttpClient({ retries: 3 }, deps);
    const err = await http.send({ method: 'POST', url: s.url, json: { evacuate: {} }, retry: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ attempts: 1, lastStatus: 503 });
    expect(s.hits()).toBe(1);
    await http.close();
  });

  it('honours Retry-After, capped by the maximum delay', async () => {
    delays.length = 0;
    const s = await serve((_req, res, n) => {
      res.writeHead(n === 1 ? 503 : 200, n === 1 ? { 'retry-after': '1' } : {});
      res.end();
    });
    const http = createHttpClient({ retries: 1, retryMaxDelayMs: 600 }, deps);
    await http.send({ method: 'GET', url: s.url });
    expect(delays).toEqual([600]);
    await http.close();
  });

  it('retries connection errors and reports them', async () => {
    const s = await serve(() => undefined);
    const url = s.url;
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const http = createHttpClient({ retries: 1 }, deps);
    await expect(http.send({ method: 'GET', url })).rejects.toThrow(/ECONNREFUSED.*after 2 attempts/);
    await http.close();
  });

  it('times out a server that never answers', async () => {
    await serve(() => undefined); // accepts, never responds
    const http = createHttpClient({ retries: 0, headersTimeoutMs: 200 }, deps);
    await expect(http.send({ method: 'GET', url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/` })).rejects.toThrow(/Headers Timeout|HeadersTimeout/i);
    await http.close();
  });

  it('keeps connections alive between requests', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200);
      res.end('{}');
    });
    const http = createHttpClient({}, deps);
    for (let i = 0; i < 10; i++) await http.send({ method: 'GET', url: s.url });
    // undici's pool may open a second socket while the first is being released; never one per request.
    expect(s.sockets()).toBeLessThanOrEqual(2);
    await http.close();
  });
});
