import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { jobSchema } from '../app/jobs.js';
import type { Job, Logger, Metrics } from '../app/ports.js';
import { runJob } from '../app/worker.js';
import { loadBotSettings } from '../config/env.js';
import { ConfigError, type SecretDocument } from '../config/schema.js';
import { createSecretsManagerSource, type SecretSource } from '../config/secrets-manager.js';
import { createDynamoStore } from '../store/dynamodb.js';
import type { AuthFailureSource } from './auth-failure.js';
import { composeRuntime, type Runtime } from './compose.js';
import { normalizeHeaders, type HttpRequest, type HttpResponse } from './http.js';
import { runWithLogContext } from './logger.js';
import { createEmfMetrics } from './metrics.js';

type Env = Record<string, string | undefined>;

/** How long the secret document is used before it is read again. */
export const SECRET_TTL_MS = 5 * 60_000;
/** At most one re-read of the secret per this interval is forced by refused credentials. */
export const AUTH_REFRESH_INTERVAL_MS = 60_000;

/** The part of Lambda's context the handlers use (tests may omit it). */
export interface InvocationContext {
  awsRequestId?: string;
}

export interface LambdaRuntimeOptions {
  /** The secret document's source. Default: Secrets Manager through Powertools' Parameters, `FORCE_DOWN_SECRET_ID`, cached for {@link SECRET_TTL_MS}. */
  secrets?: SecretSource;
  /** Default: CloudWatch EMF on stdout, dimension `Stage` from `FORCE_DOWN_STAGE`. */
  metrics?: Metrics;
  /** Default {@link AUTH_REFRESH_INTERVAL_MS}. */
  authRefreshIntervalMs?: number;
  /** The clock of the forced re-reads' interval (the secret's TTL is Powertools' cache, on `Date.now()`). */
  now?: () => number;
}

export interface LambdaRuntime {
  /** The runtime for the current secret document, built after the secret is read; rebuilt when it changes (rotation). */
  get(options?: { refresh?: boolean }): Promise<Runtime>;
  /**
   * Slack refused the bot token, or Keystone the credentials: re-read the
   * secret once (at most once per interval, however many failures are
   * reported), so a rotated secret is used without a redeploy. The next
   * `get()` waits for that read and rebuilds the runtime if the secret changed.
   */
  onAuthFailure(source: AuthFailureSource): void;
  /** Resolves when no forced re-read is in flight (a Lambda is frozen once its handler returns). */
  settled(): Promise<void>;
}

/**
 * What both Lambda functions build once per cold start: settings, the secret
 * source (Secrets Manager, cached with a TTL), DynamoDB, and the worker
 * invoker. Nothing here calls the network: the secret is read, and Bolt and
 * the Slack and Nova clients are built, on the first `get()`.
 */
export function createLambdaRuntime(env: Env, log: Logger, opts: LambdaRuntimeOptions = {}): LambdaRuntime {
  // CloudFormation cannot leave out a variable whose stage parameter is empty: treat "" as unset.
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const settings = loadBotSettings(vars);
  const missing = ['FORCE_DOWN_SECRET_ID', 'FORCE_DOWN_TABLE', 'FORCE_DOWN_WORKER_FUNCTION'].filter((k) => !vars[k]);
  if (missing.length) throw new ConfigError('the Lambda functions are not configured', missing.map((k) => `${k}: missing`));
  const now = opts.now ?? Date.now;
  const interval = opts.authRefreshIntervalMs ?? AUTH_REFRESH_INTERVAL_MS;
  const secrets = opts.secrets ?? createSecretsManagerSource({ secretId: vars.FORCE_DOWN_SECRET_ID!, ttlMs: SECRET_TTL_MS });
  const metrics = opts.metrics ?? createEmfMetrics({ dimensions: { Stage: vars.FORCE_DOWN_STAGE ?? 'default' } });
  const store = createDynamoStore({ tableName: vars.FORCE_DOWN_TABLE!, client: new DynamoDBClient({}) });
  const lambda = new LambdaClient({});
  const enqueue = async (job: Job) => {
    // InvocationType Event: Lambda queues the job, retries it, and sends it to the DLQ when it keeps failing.
    await lambda.send(new InvokeCommand({ FunctionName: vars.FORCE_DOWN_WORKER_FUNCTION!, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(job)) }));
  };
  let built: { doc: SecretDocument; runtime: Runtime } | undefined;
  let refreshing: Promise<void> | undefined;
  let lastForced = -Infinity;

  const runtime: LambdaRuntime = {
    async get(options) {
      if (refreshing) await refreshing;
      const doc = await secrets.get(options);
      if (built?.doc !== doc) {
        const previous = built?.runtime;
        built = { doc, runtime: composeRuntime({ settings, secret: doc, store, enqueue, log, metrics, onAuthFailure: runtime.onAuthFailure }) };
        void previous?.close();
      }
      return built.runtime;
    },
    onAuthFailure(source) {
      const t = now();
      if (t - lastForced < interval) return;
      lastForced = t;
      log.warn('credentials refused: re-reading the secret', { source, secretId: vars.FORCE_DOWN_SECRET_ID });
      const read: Promise<void> = secrets.get({ refresh: true }).then(
        (doc) => {
          if (doc === built?.doc) log.warn('the secret is unchanged: update it with working credentials', { source });
        },
        (err: unknown) => log.error('re-reading the secret failed', describeError(err)),
      );
      refreshing = read;
      void read.finally(() => {
        if (refreshing === read) refreshing = undefined;
      });
    },
    async settled() {
      while (refreshing) await refreshing;
    },
  };
  return runtime;
}

/** What may be logged of an error: its name and code, a ConfigError's message (it never quotes a value), Slack's error code. */
export function describeError(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { error: typeof err };
  const e = err as { name?: unknown; code?: unknown; message?: unknown; data?: { error?: unknown } };
  return {
    error: typeof e.name === 'string' ? e.name : 'Error',
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(err instanceof ConfigError ? { detail: err.message } : {}),
    ...(typeof e.data?.error === 'string' ? { slackError: e.data.error } : {}),
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

/**
 * The api function's handler: every log line of one HTTP request carries its
 * correlation id (API Gateway's request id, else Lambda's, else a new one),
 * and one line sums the request up (method, path, status, duration).
 */
export function createApiHandler(opts: { route: (req: HttpRequest) => Promise<HttpResponse>; log: Logger; runtime?: Pick<LambdaRuntime, 'settled'> }) {
  return async (event: APIGatewayProxyEventV2, context?: InvocationContext): Promise<APIGatewayProxyStructuredResultV2> => {
    const awsRequestId = context?.awsRequestId;
    const correlationId = event.requestContext?.requestId ?? awsRequestId ?? randomUUID();
    return runWithLogContext({ correlationId, ...(awsRequestId ? { awsRequestId } : {}) }, async () => {
      const req = fromApiGateway(event);
      const started = performance.now();
      const summary = { method: req.method, path: req.path };
      try {
        const res = await opts.route(req);
        opts.log.info('http request', { ...summary, status: res.status, ms: Math.round(performance.now() - started) });
        return toApiGateway(res);
      } catch (err) {
        opts.log.error('http request failed', { ...summary, ...describeError(err), ms: Math.round(performance.now() - started) });
        throw err;
      } finally {
        await opts.runtime?.settled();
      }
    });
  };
}

/**
 * The worker function's handler: one job, whose log lines carry the request
 * id as correlation id (Lambda's id for jobs without one). A failure is
 * logged and rethrown, so Lambda retries the job and finally sends it to the
 * DLQ; a refused credential has already forced a re-read of the secret, which
 * the retry then uses.
 */
export function createWorkerHandler(opts: { runtime: LambdaRuntime; log: Logger }) {
  return async (event: unknown, context?: InvocationContext): Promise<void> => {
    const awsRequestId = context?.awsRequestId;
    const job = jobSchema.parse(event);
    const correlationId = 'id' in job ? job.id : (awsRequestId ?? randomUUID());
    await runWithLogContext({ correlationId, job: job.kind, ...(awsRequestId ? { awsRequestId } : {}) }, async () => {
      try {
        await runJob((await opts.runtime.get()).deps, job);
      } catch (err) {
        opts.log.error('job failed', describeError(err));
        throw err;
      } finally {
        await opts.runtime.settled();
      }
    });
  };
}
