// The Lambda runtime as the functions build it, over real clients: the AWS SDK's Secrets
// Manager and DynamoDB clients (pointed at the fake Secrets Manager and at dynalite through
// AWS_ENDPOINT_URL_*), Slack's WebClient and Bolt (at the fake Slack Web API), and the Nova
// client (at a Keystone that refuses the credentials). Counting fetches of the secret proves
// the caching and the re-reads that rotation relies on.
import { createServer, type Server } from 'node:http';
import { createActiveTable } from '../../fakes/dynamo-table.js';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MetricName, Metrics } from '../../../src/app/ports.js';
import { ConfigError } from '../../../src/config/schema.js';
import { createApiHandler, createLambdaRuntime, createWorkerHandler, SECRET_TTL_MS, type LambdaRuntimeOptions } from '../../../src/runtime/lambda.js';
import { createJsonLogger } from '../../../src/runtime/logger.js';
import { createRouter } from '../../../src/runtime/router.js';
import { ACTION_IDS } from '../../../src/slack/ids.js';
import { signSlackRequest } from '../../fakes/slack-signature.js';
import { createDynamoStore, tableDefinition } from '../../../src/store/dynamodb.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../../fakes/secrets-manager.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { blockActions, CHANNEL, payloadBody, slashCommand, user } from '../../integration/slack-helpers.js';
import { appCredCloud, SECRETS, secretDoc, tempDir } from '../config/builders.js';
import { aRequest } from '../store/builders.js';
import { fakeDateClock } from '../powertools.js';

const SECRET_ID = 'force-down/test';
const TABLE = 'force-down-test-requests';
const TOKEN_A = SECRETS.botToken;
const TOKEN_B = 'xoxb-SEKRET-bot-rotated';
const APPROVER = user('U0APPROVE1');

let sm: FakeSecretsManager;
let slack: FakeSlackApi;
let dynamo: Server;
let dynamoUrl: string;
/** A Keystone that refuses every authentication with 401, as it does for revoked credentials. */
let keystone: Server;
let keystoneUrl: string;
let keystoneAuths = 0;

beforeAll(async () => {
  sm = await startFakeSecretsManager();
  slack = await startFakeSlackApi();
  dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((ok) => dynamo.listen(0, '127.0.0.1', () => ok()));
  dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const admin = new DynamoDBClient({ endpoint: dynamoUrl, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
  await createActiveTable(admin, tableDefinition(TABLE));
  admin.destroy();
  keystone = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v3/auth/tokens') keystoneAuths++;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } }));
    });
  });
  await new Promise<void>((ok) => keystone.listen(0, '127.0.0.1', () => ok()));
  keystoneUrl = `http://127.0.0.1:${(keystone.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await sm?.close();
  await slack?.close();
  await new Promise<void>((ok) => (dynamo ? dynamo.close(() => ok()) : ok()));
  await new Promise<void>((ok) => (keystone ? keystone.close(() => ok()) : ok()));
});

beforeEach(() => {
  // Hermetic AWS settings: local endpoints, dummy credentials, no ~/.aws, no instance metadata.
  const nowhere = tempDir('force-down-aws-');
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', sm.endpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamoUrl);
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', 'http://127.0.0.1:9');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  vi.stubEnv('AWS_PROFILE', undefined);
  vi.stubEnv('AWS_ENDPOINT_URL', undefined);
  vi.stubEnv('AWS_CONFIG_FILE', join(nowhere, 'config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(nowhere, 'credentials'));
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  sm.setSecret(SECRET_ID, JSON.stringify(secretDoc({ clouds: { prod: appCredCloud({}, { auth_url: `${keystoneUrl}/v3` }) } })));
  sm.requests.length = 0;
  slack.reset();
  keystoneAuths = 0;
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

/** The functions' environment as serverless.yml sets it (empty stage parameters included). */
const lambdaEnv = () => ({
  FORCE_DOWN_SECRET_ID: SECRET_ID,
  FORCE_DOWN_TABLE: TABLE,
  FORCE_DOWN_WORKER_FUNCTION: 'force-down-test-worker',
  FORCE_DOWN_APPROVERS: APPROVER.id,
  FORCE_DOWN_CHANNEL: CHANNEL.id,
  FORCE_DOWN_ALLOWED_CHANNELS: '',
  // The secret has one cloud.
  FORCE_DOWN_DEFAULT_CLOUD: '',
  FORCE_DOWN_TWO_PERSON: 'false',
  FORCE_DOWN_REQUEST_TTL_MINUTES: '30',
  FORCE_DOWN_STAGE: 'test',
  SLACK_API_URL: slack.apiUrl,
});

function recordingMetrics() {
  const points: { name: MetricName; value: number; dimensions?: Record<string, string> }[] = [];
  const metrics: Metrics = {
    count: (name, dimensions, value = 1) => void points.push({ name, value, ...(dimensions ? { dimensions } : {}) }),
    timing: (name, ms, dimensions) => void points.push({ name, value: ms, ...(dimensions ? { dimensions } : {}) }),
  };
  return { metrics, points };
}

/**
 * A runtime with a controllable clock, logging JSON lines into `lines`. The secret's TTL is
 * Powertools' cache, on `Date.now()`: the clock moves a fake Date (ticking with real time).
 */
function setup(opts: LambdaRuntimeOptions = {}) {
  const clock = fakeDateClock();
  const lines: string[] = [];
  const log = createJsonLogger({ write: (l) => lines.push(l), base: { fn: 'test' } });
  const { metrics, points } = recordingMetrics();
  const runtime = createLambdaRuntime(lambdaEnv(), log, { now: () => clock.t, metrics, ...opts });
  return { runtime, clock, log, lines, points, logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLambdaRuntime: the secret, read once per TTL', () => {
  it('building it (the functions\' module load) calls nothing: no secret read, no Slack call', () => {
    setup();
    expect(sm.fetches()).toBe(0);
    expect(slack.calls()).toEqual([]);
  });

  it('the first get() reads the secret, then builds Bolt and the clients; still no Slack call', async () => {
    const { runtime } = setup();
    const rt = await runtime.get();
    expect(sm.fetches(SECRET_ID)).toBe(1);
    expect(rt.slack.signingSecret).toBe(SECRETS.signingSecret);
    // Bolt is built with an authorize function: no auth.test at init or later.
    expect(slack.calls()).toEqual([]);
  });

  it('many gets within the TTL, concurrent or not: one fetch, one runtime', async () => {
    const { runtime, clock } = setup();
    const first = await Promise.all(Array.from({ length: 10 }, () => runtime.get()));
    clock.t += SECRET_TTL_MS - 1_000; // within the TTL (the fake Date keeps ticking)
    const later = await runtime.get();
    expect(sm.fetches()).toBe(1);
    expect(new Set([...first, later]).size).toBe(1);
  });

  it('after the TTL it reads again; an unchanged secret keeps the runtime (warm tokens and caches), a rotated one replaces it', async () => {
    const { runtime, clock } = setup();
    const first = await runtime.get();
    clock.t += SECRET_TTL_MS + 1; // past the TTL
    expect(await runtime.get()).toBe(first);
    expect(sm.fetches()).toBe(2);

    sm.setSecret(SECRET_ID, JSON.stringify(secretDoc({ slack: { signingSecret: 'SEKRET-signing-rotated', botToken: TOKEN_B }, clouds: { prod: appCredCloud() } })));
    clock.t += SECRET_TTL_MS + 1; // past the TTL
    const rotated = await runtime.get();
    expect(sm.fetches()).toBe(3);
    expect(rotated).not.toBe(first);
    expect(rotated.slack.signingSecret).toBe('SEKRET-signing-rotated');
  });

  it('empty variables (stage parameters left empty) read as unset; missing Lambda settings are named', () => {
    expect(() => setup()).not.toThrow();
    const log = createJsonLogger({ write: () => undefined });
    const err = (() => {
      try {
        createLambdaRuntime({ ...lambdaEnv(), FORCE_DOWN_TABLE: '' }, log);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(['FORCE_DOWN_TABLE: missing']);
  });
});

describe('createLambdaRuntime: an auth failure forces one re-read of the secret', () => {
  it('several concurrent auth failures → exactly one fetch; more within the interval → none; after it → one more', async () => {
    const { runtime, clock } = setup({ authRefreshIntervalMs: 60_000 });
    await runtime.get();

    for (let i = 0; i < 5; i++) runtime.onAuthFailure(i % 2 ? 'slack' : 'openstack');
    await runtime.settled();
    expect(sm.fetches()).toBe(2);

    clock.t += 59_999;
    runtime.onAuthFailure('slack');
    await runtime.settled();
    expect(sm.fetches()).toBe(2);

    clock.t += 1;
    runtime.onAuthFailure('slack');
    await runtime.settled();
    expect(sm.fetches()).toBe(3);
  });

  it('the next get() waits for the re-read and uses the rotated secret, without waiting for the TTL', async () => {
    const { runtime } = setup();
    const before = await runtime.get();
    sm.setSecret(SECRET_ID, JSON.stringify(secretDoc({ slack: { signingSecret: SECRETS.signingSecret, botToken: TOKEN_B }, clouds: { prod: appCredCloud() } })));

    runtime.onAuthFailure('slack');
    const after = await runtime.get();

    expect(after).not.toBe(before);
    expect(sm.fetches()).toBe(2);
  });

  it('a re-read that fails is logged (without secrets) and the cached secret stays in use', async () => {
    const { runtime, logs, lines } = setup();
    const before = await runtime.get();
    sm.setSecret(SECRET_ID, '{"slack": not json');

    runtime.onAuthFailure('openstack');
    await runtime.settled();

    expect(await runtime.get()).toBe(before);
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'error', message: 're-reading the secret failed', error: 'ConfigError' }));
    expect(lines.join('\n')).not.toMatch(/SEKRET/);
  });

  it('Keystone refusing the credentials (AUTH_FAILED) triggers it, once for concurrent calls; Nova latency is measured', async () => {
    const { runtime, points } = setup();
    const { deps } = await runtime.get();

    const results = await Promise.all([deps.nova('prod')!.getService('compute1'), deps.nova('prod')!.listComputeServices()]);
    await runtime.settled();

    expect(results.map((r) => (r.ok ? 'ok' : r.failure.code))).toEqual(['AUTH_FAILED', 'AUTH_FAILED']);
    expect(keystoneAuths).toBeGreaterThanOrEqual(1);
    expect(sm.fetches()).toBe(2);
    const latency = points.filter((p) => p.name === 'NovaLatency');
    expect(latency.map((p) => p.dimensions?.Operation).sort()).toEqual(['getService', 'listComputeServices']);
    for (const p of latency) expect(p.value).toBeGreaterThan(0);
  });
});

describe('the worker handler', () => {
  it('Slack refusing a rotated token: the job fails and is logged, the secret is re-read before the handler returns, the retry uses the new token', async () => {
    const { runtime, logs, lines } = setup();
    const handler = createWorkerHandler({ runtime, log: createJsonLogger({ write: (l) => lines.push(l), base: { fn: 'worker' } }) });
    const store = createDynamoStore({ tableName: TABLE, client: new DynamoDBClient({}) });
    // A cloud no longer configured: its card is refreshed without any OpenStack call (no instances listed), so
    // only Slack's refusal asks for a re-read (this file's Keystone refuses everyone, which would ask too).
    const request = aRequest({ cloud: 'retired', host: `rot-${Date.now()}`, channel: CHANNEL.id, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await store.create(request);

    await handler({ kind: 'refresh-card', id: request.id }, { awsRequestId: 'aws-1' });
    expect(slack.calls('chat.postMessage').map((c) => c.token)).toEqual([TOKEN_A]);

    // Rotation: Slack revokes the old token, the secret holds the new one.
    slack.invalidateToken(TOKEN_A);
    sm.setSecret(SECRET_ID, JSON.stringify(secretDoc({ slack: { signingSecret: SECRETS.signingSecret, botToken: TOKEN_B }, clouds: { prod: appCredCloud() } })));

    await expect(handler({ kind: 'refresh-card', id: request.id }, { awsRequestId: 'aws-2' })).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    expect(sm.fetches()).toBe(2);
    expect(logs()).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'job failed', fn: 'worker', correlationId: request.id, job: 'refresh-card', awsRequestId: 'aws-2', slackError: 'invalid_auth' }),
    );

    // Lambda's retry of the job.
    await handler({ kind: 'refresh-card', id: request.id }, { awsRequestId: 'aws-3' });
    expect(slack.calls('chat.postMessage').map((c) => [c.token, c.error])).toEqual([
      [TOKEN_A, undefined],
      [TOKEN_A, 'invalid_auth'],
      [TOKEN_B, undefined],
    ]);
    expect(sm.fetches()).toBe(2);
    expect(lines.join('\n')).not.toMatch(/SEKRET/);
  });

  it('the schedule\'s sweep runs with Lambda\'s request id as correlation id; a malformed job is refused', async () => {
    const { runtime, lines } = setup();
    const handler = createWorkerHandler({ runtime, log: createJsonLogger({ write: (l) => lines.push(l) }) });
    await expect(handler({ kind: 'sweep' }, { awsRequestId: 'aws-sweep' })).resolves.toBeUndefined();
    await expect(handler({ kind: 'execute' })).rejects.toThrow();
  });
});

describe('the api handler', () => {
  function api(opts: LambdaRuntimeOptions = {}) {
    const s = setup(opts);
    const route = createRouter({ slack: async () => (await s.runtime.get()).slack, now: Date.now, log: s.log });
    return { ...s, handler: createApiHandler({ route, log: s.log, runtime: s.runtime }) };
  }
  const event = (body: string, requestId = 'apigw-1') => {
    const ts = Math.floor(Date.now() / 1000);
    return {
      version: '2.0',
      rawPath: '/slack/events',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(SECRETS.signingSecret, body, ts) },
      body,
      isBase64Encoded: false,
      requestContext: { requestId, http: { method: 'POST' } },
    } as never;
  };

  it('GET /healthz needs no secret; a signed slash command reads it once, Bolt answers, and no Slack API call is made', async () => {
    const { handler, logs } = api();
    const health = await handler({ version: '2.0', rawPath: '/healthz', headers: {}, requestContext: { requestId: 'apigw-0', http: { method: 'GET' } } } as never);
    expect(health.statusCode).toBe(200);
    expect(sm.fetches()).toBe(0);

    const body = new URLSearchParams(slashCommand({ text: 'help', user: APPROVER, responseUrl: slack.responseUrl() })).toString();
    const res = await handler(event(body, 'apigw-1'), { awsRequestId: 'aws-1' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('force-down');
    expect(sm.fetches()).toBe(1);
    expect(slack.calls()).toEqual([]);
    expect(logs().filter((l) => l.message === 'http request')).toEqual([
      expect.objectContaining({ correlationId: 'apigw-0', method: 'GET', path: '/healthz', status: 200 }),
      expect.objectContaining({ correlationId: 'apigw-1', awsRequestId: 'aws-1', method: 'POST', path: '/slack/events', status: 200 }),
    ]);
  });

  it('views.open refused by Slack (Bolt\'s own client) forces one re-read before the handler returns', async () => {
    const { handler, lines } = api();
    const store = createDynamoStore({ tableName: TABLE, client: new DynamoDBClient({}) });
    const request = aRequest({ cloud: 'prod', host: `modal-${Date.now()}`, channel: CHANNEL.id, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await store.create(request);
    slack.invalidateToken(TOKEN_A);

    const click = blockActions({ user: APPROVER, button: { action_id: ACTION_IDS.confirmFenced, value: request.id }, messageTs: '1.000001', responseUrl: slack.responseUrl() });
    const res = await handler(event(payloadBody(click)));

    expect(res.statusCode).toBe(200);
    expect(slack.calls('views.open').map((c) => c.error)).toEqual(['invalid_auth']);
    // One read at the first request, one forced by the refusal, done before the handler returned.
    expect(sm.fetches()).toBe(2);
    expect(lines.join('\n')).not.toMatch(/SEKRET/);
  });
});
