import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Job, Logger } from '../app/ports.js';
import { loadBotSettings } from '../config/env.js';
import { ConfigError, type SecretDocument } from '../config/schema.js';
import { createSecretsManagerSource } from '../config/secrets-manager.js';
import { createDynamoStore } from '../store/dynamodb.js';
import { composeRuntime, type Runtime } from './compose.js';
import { normalizeHeaders, type HttpRequest, type HttpResponse } from './http.js';

type Env = Record<string, string | undefined>;

/**
 * What both Lambda functions build once per cold start: settings, the secret
 * (Secrets Manager, cached with a TTL), DynamoDB, and the worker invoker.
 * The runtime is rebuilt when a fetch brings a new secret (rotation).
 */
export function createLambdaRuntime(env: Env, log: Logger) {
  const settings = loadBotSettings(env);
  const missing = ['FORCE_DOWN_SECRET_ID', 'FORCE_DOWN_TABLE', 'FORCE_DOWN_WORKER_FUNCTION'].filter((k) => !env[k]);
  if (missing.length) throw new ConfigError('the Lambda functions are not configured', missing.map((k) => `${k}: missing`));
  const secrets = createSecretsManagerSource({ secretId: env.FORCE_DOWN_SECRET_ID!, ttlMs: 5 * 60_000 });
  const store = createDynamoStore({ tableName: env.FORCE_DOWN_TABLE!, client: new DynamoDBClient({}) });
  const lambda = new LambdaClient({});
  const enqueue = async (job: Job) => {
    // InvocationType Event: Lambda queues the job, retries it, and sends it to the DLQ when it keeps failing.
    await lambda.send(new InvokeCommand({ FunctionName: env.FORCE_DOWN_WORKER_FUNCTION!, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(job)) }));
  };
  let built: { doc: SecretDocument; runtime: Runtime } | undefined;

  return {
    /** The runtime for the current secret document. `refresh` forces a re-fetch (after an auth failure). */
    async get(options?: { refresh?: boolean }): Promise<Runtime> {
      const doc = await secrets.get(options);
      if (built?.doc !== doc) {
        const previous = built?.runtime;
        built = { doc, runtime: composeRuntime({ settings, secret: doc, store, enqueue, log }) };
        void previous?.close();
      }
      return built.runtime;
    },
  };
}

/** API Gateway HTTP API (payload v2) → the router's request. */
export function fromApiGateway(event: APIGatewayProxyEventV2): HttpRequest {
  const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
  return { method: event.requestContext.http.method, path: event.rawPath, headers: normalizeHeaders(event.headers ?? {}), body };
}

export function toApiGateway(res: HttpResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: res.status, ...(res.headers ? { headers: res.headers } : {}), body: res.body };
}
