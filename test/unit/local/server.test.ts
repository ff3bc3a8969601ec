// The local server's front door (issue #11: 1, 2): routing before reading, per-route body limits,
// a cap on bytes held across connections, a cap on connections, timeouts. Raw sockets on 127.0.0.1
// against the real Node server with small limits; the router is a stub.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type LocalHttpServer, type ServerLimits } from '../../../src/local/server.js';
import { json, type HttpRequest, type Preflight, type RequestHead } from '../../../src/runtime/http.js';
import { until } from '../../integration/wait.js';

const SMALL = 1024;
const BIG = 48 * 1024;

interface Peer {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server has closed the connection (or reset it). */
  closed: Promise<void>;
  isClosed(): boolean;
  status(): number | undefined;
}

function open(url: string): Promise<Peer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    let done = false;
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (data += c));
    socket.on('error', () => undefined); // a reset after the server's answer is one way of being closed
    const closed = new Promise<void>((r) => socket.once('close', () => ((done = true), r())));
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed,
        isClosed: () => done,
        status: () => {
          const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
          return m ? Number(m[1]) : undefined;
        },
      }),
    );
    socket.once('error', reject);
  });
}

const head = (method: string, path: string, headers: Record<string, string | number> = {}) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

// Real sockets on a busy machine: a deadline for the waits on events (until()), not an expected duration.
describe('the local server before and while reading a body', { timeout: 60_000 }, () => {
  let srv: LocalHttpServer | undefined;
  const peers: Peer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.socket.destroy();
    await srv?.close();
    srv = undefined;
  });

  async function start(limits: Partial<ServerLimits> = {}) {
    const handled: HttpRequest[] = [];
    const preflights: RequestHead[] = [];
    srv = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      limits: { maxConnections: 8, maxBufferedBytes: 64 * 1024, ...limits },
      preflight: async (h): Promise<Preflight> => {
        preflights.push(h);
        if (h.path === '/small') return { read: true, maxBodyBytes: SMALL };
        if (h.path === '/big') return { read: true, maxBodyBytes: BIG };
        if (h.path === '/secret') return { read: false, answer: { status: 401, body: '' } };
        return { read: false, answer: json(404, { error: 'not found' }) };
      },
      handle: async (req) => {
        handled.push(req);
        return json(200, { bytes: Buffer.byteLength(req.body) });
      },
      onError: () => undefined,
    });
    return { handled, preflights, url: srv.url };
  }

  async function peer(url: string) {
    const p = await open(url);
    peers.push(p);
    return p;
  }

  it('an unknown path is answered 404 at once, though its declared 10 MiB body never comes; the connection is closed', async () => {
    const t = await start();
    const p = await peer(t.url);
    p.socket.write(head('POST', '/nope', { 'content-length': 10 * 1024 * 1024 }));
    await p.closed;
    expect(p.status()).toBe(404);
    expect(p.received()).toMatch(/connection: close/i);
    expect(t.handled).toEqual([]);
    expect(srv!.stats().bufferedBytes).toBe(0);
  });

  it('a request the router refuses from its headers (no credentials) is answered without its body', async () => {
    const t = await start();
    const p = await peer(t.url);
    p.socket.write(head('POST', '/secret', { 'content-length': 500 }));
    await p.closed;
    expect(p.status()).toBe(401);
    expect(t.handled).toEqual([]);
  });

  it('a Content-Length over the route\'s limit: 413 before a byte of the body is read', async () => {
    const t = await start();
    const p = await peer(t.url);
    p.socket.write(head('POST', '/small', { 'content-length': SMALL + 1 }));
    await p.closed;
    expect(p.status()).toBe(413);
    expect(p.received()).toContain(`at most ${SMALL} bytes`);
    expect(t.handled).toEqual([]);
  });

  it('a body at the limit is read and handed over whole', async () => {
    const t = await start();
    const res = await fetch(`${t.url}/small`, { method: 'POST', body: 'x'.repeat(SMALL) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: SMALL });
    expect(t.handled).toHaveLength(1);
    await until('the body to be released', () => srv!.stats().bufferedBytes === 0);
  });

  it('a chunked body is counted as it arrives and cut at the limit: 413, the connection closed, nothing handled', async () => {
    const t = await start();
    const p = await peer(t.url);
    p.socket.write(head('POST', '/small', { 'transfer-encoding': 'chunked' }));
    let sent = 0;
    // One 256-byte chunk at a time until the server answers: the cut comes after the limit, not at the end.
    for (let i = 0; i < 64 && !p.isClosed() && p.received() === ''; i++) {
      await new Promise<void>((r) => p.socket.write(`100\r\n${'y'.repeat(256)}\r\n`, () => r()));
      sent += 256;
      await until('the chunk to be taken, or the answer', () => srv!.stats().bufferedBytes >= sent || p.received() !== '' || p.isClosed());
    }
    await p.closed;
    expect(p.status()).toBe(413);
    expect(sent).toBe(SMALL + 256); // cut by the first chunk past the limit
    expect(t.handled).toEqual([]);
    expect(srv!.stats().bufferedBytes).toBe(0);
  });

  it('bytes held across connections are capped: a declared body that cannot fit gets 503 at once, a chunk that would pass the cap 503; all released after', async () => {
    const t = await start({ maxBufferedBytes: 64 * 1024 });
    // Three uploads of 40 KiB declared (under /big's 48 KiB), each sending 20 KiB first: 60 KiB held.
    const uploads = await Promise.all([0, 1, 2].map(() => peer(t.url)));
    for (const u of uploads) u.socket.write(head('POST', '/big', { 'content-length': 40 * 1024 }));
    for (const u of uploads) {
      const before = srv!.stats().bufferedBytes;
      u.socket.write('z'.repeat(20 * 1024));
      await until('the first 20 KiB to be held', () => srv!.stats().bufferedBytes >= before + 20 * 1024);
    }
    expect(srv!.stats().bufferedBytes).toBe(60 * 1024);

    // A fourth declares 40 KiB: it cannot fit, so it is refused before reading.
    const late = await peer(t.url);
    late.socket.write(head('POST', '/big', { 'content-length': 40 * 1024 }));
    await late.closed;
    expect(late.status()).toBe(503);
    expect(late.received()).toMatch(/retry-after: 1/i);

    // The first one sends its next 20 KiB: over the cap, so it is answered 503 and its bytes let go.
    uploads[0]!.socket.write('z'.repeat(20 * 1024));
    await uploads[0]!.closed;
    expect(uploads[0]!.status()).toBe(503);
    expect(srv!.stats().bufferedBytes).toBeLessThanOrEqual(40 * 1024);

    // The second completes within the cap and is handled.
    uploads[1]!.socket.write('z'.repeat(20 * 1024));
    await until('the second upload to be answered', () => uploads[1]!.status());
    expect(uploads[1]!.status()).toBe(200);
    expect(t.handled.map((r) => r.body.length)).toEqual([40 * 1024]);

    uploads[2]!.socket.destroy();
    await until('every held byte to be released', () => srv!.stats().bufferedBytes === 0);
    expect(srv!.stats().bufferedBytes).toBe(0);
  });

  it('at the connection cap, a new connection closes the oldest idle one (headers never finished) and is served', async () => {
    const t = await start({ maxConnections: 8 });
    const idlers: Peer[] = [];
    for (let i = 0; i < 8; i++) {
      const p = await peer(t.url);
      p.socket.write('GET /small HTTP/1.1\r\nHost: x\r\n'); // never finished
      idlers.push(p);
    }
    await until('8 connections open', () => srv!.stats().connections === 8);
    const res = await fetch(`${t.url}/small`);
    expect(res.status).toBe(200);
    await idlers[0]!.closed;
    expect(idlers.slice(1).every((p) => !p.isClosed())).toBe(true);
    expect(srv!.stats().connections).toBeLessThanOrEqual(8);
  });

  it('at the cap with every connection inside a request, a new connection is closed at once', async () => {
    const t = await start({ maxConnections: 8 });
    const busy: Peer[] = [];
    for (let i = 0; i < 8; i++) {
      const p = await peer(t.url);
      p.socket.write(head('POST', '/big', { 'content-length': 1000 }));
      p.socket.write('a');
      busy.push(p);
    }
    await until('8 requests in progress', () => srv!.stats().connections === 8 && srv!.stats().idle === 0);
    const refused = await peer(t.url);
    refused.socket.write(head('GET', '/small'));
    await refused.closed;
    expect(refused.status()).toBeUndefined();
    expect(busy.every((p) => !p.isClosed())).toBe(true);
    // A request in progress still completes.
    busy[0]!.socket.write('b'.repeat(999));
    await until('the first busy request to be answered', () => busy[0]!.status());
    expect(busy[0]!.status()).toBe(200);
  });

  it('connections that never finish their headers, or never send a byte, or idle after a request, are closed by the server', async () => {
    const t = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300, checkIntervalMs: 100 });
    const partial = await peer(t.url);
    partial.socket.write('GET /small HTTP/1.1\r\nHost: x\r\n');
    const silent = await peer(t.url);
    const slowBody = await peer(t.url);
    slowBody.socket.write(head('POST', '/big', { 'content-length': 1000 }));
    const kept = await peer(t.url);
    kept.socket.write(head('GET', '/small'));
    await until('the kept-alive request to be answered', () => kept.status());
    await Promise.all([partial.closed, silent.closed, slowBody.closed, kept.closed]);
    expect(kept.status()).toBe(200);
    expect(t.handled.map((r) => r.path)).toEqual(['/small']);
    await until('no connection left', () => srv!.stats().connections === 0);
  });
});
