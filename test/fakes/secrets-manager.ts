import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake saw, as the SDK sent it. */
export interface RecordedSecretsRequest {
  /** The `x-amz-target` header, e.g. `secretsmanager.GetSecretValue`. */
  target: string | undefined;
  contentType: string | undefined;
  secretId: string | undefined;
}

export interface FakeSecretsManager {
  /** `http://127.0.0.1:<port>` — pass as the client's `endpoint`. */
  readonly endpoint: string;
  readonly requests: RecordedSecretsRequest[];
  /** GetSecretValue requests for `secretId` (all ids when omitted). */
  fetches(secretId?: string): number;
  /** Creates or rotates a secret: later reads see the new value and a new VersionId. */
  setSecret(secretId: string, value: string): void;
  close(): Promise<void>;
}

const JSON_11 = 'application/x-amz-json-1.1';

/**
 * A small real Secrets Manager on 127.0.0.1 speaking the AWS JSON 1.1
 * protocol of GetSecretValue, so tests exercise the real SDK client
 * (serialization, signing, error parsing) against a local endpoint.
 */
export async function startFakeSecretsManager(initial: Record<string, string> = {}): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { value: string; version: number; created: number }>();
  const requests: RecordedSecretsRequest[] = [];

  function setSecret(secretId: string, value: string): void {
    const prev = secrets.get(secretId);
    secrets.set(secretId, { value, version: (prev?.version ?? 0) + 1, created: Date.now() / 1000 });
  }
  for (const [id, value] of Object.entries(initial)) setSecret(id, value);

  function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': JSON_11, ...headers });
    res.end(JSON.stringify(body));
  }

  function error(res: ServerResponse, type: string, message: string): void {
    reply(res, 400, { __type: type, message }, { 'x-amzn-errortype': type });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = req.headers['x-amz-target'] as string | undefined;
    let body: { SecretId?: unknown } = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: unknown };
    } catch {
      body = {};
    }
    const secretId = typeof body.SecretId === 'string' ? body.SecretId : undefined;
    requests.push({ target, contentType: req.headers['content-type'], secretId });

    if (req.method !== 'POST' || req.url !== '/' || target !== 'secretsmanager.GetSecretValue') {
      error(res, 'UnknownOperationException', `fake Secrets Manager: unsupported ${req.method} ${req.url} ${target ?? '(no target)'}`);
      return;
    }
    const secret = secretId === undefined ? undefined : secrets.get(secretId);
    if (secretId === undefined || secret === undefined) {
      error(res, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return;
    }
    reply(res, 200, {
      ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`,
      Name: secretId,
      SecretString: secret.value,
      VersionId: `00000000-0000-4000-8000-${String(secret.version).padStart(12, '0')}`,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.created,
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    fetches: (secretId) =>
      requests.filter((r) => r.target === 'secretsmanager.GetSecretValue' && (secretId === undefined || r.secretId === secretId)).length,
    setSecret,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
