import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Invoke the stand-in accepted, as the SDK sent it. */
export interface RecordedInvocation {
  fn: string;
  /** The `X-Amz-Invocation-Type` header (`Event` for asynchronous invokes). */
  type: string | undefined;
  payload: unknown;
}

export interface FakeLambdaInvoke {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_LAMBDA, or the client's `endpoint`. */
  readonly endpoint: string;
  readonly invocations: RecordedInvocation[];
  close(): Promise<void>;
}

/**
 * A small Lambda Invoke API on 127.0.0.1, as the real SDK client speaks it:
 * `POST /2015-03-31/functions/{name}/invocations` with the payload as the body;
 * an `X-Amz-Invocation-Type: Event` invoke is queued (recorded) and answered
 * 202 with an empty body, as Lambda does. Anything else is a 404 in Lambda's
 * error shape.
 */
export async function startFakeLambdaInvoke(): Promise<FakeLambdaInvoke> {
  const invocations: RecordedInvocation[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/2015-03-31\/functions\/([^/?]+)\/invocations/.exec(req.url ?? '');
      const type = req.headers['x-amz-invocation-type'] as string | undefined;
      if (req.method !== 'POST' || !m || type !== 'Event') {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
        res.end(JSON.stringify({ Type: 'User', message: 'not found' }));
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      invocations.push({ fn: decodeURIComponent(m[1]!), type, payload: text ? (JSON.parse(text) as unknown) : null });
      res.writeHead(202, { 'content-type': 'application/json', 'x-amzn-requestid': `req-${invocations.length}` }).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
