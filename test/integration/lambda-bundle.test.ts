// The Lambda path as deployed: the esbuild bundles (dist/functions/api.mjs and
// worker.mjs, with the modules cut from them stubbed) run in fresh node
// processes with the real AWS SDK clients against local endpoints that speak
// AWS's protocols (Secrets Manager fake, dynalite for DynamoDB, a recording
// Lambda Invoke endpoint), the real Nova + Keystone lab, and a fake Slack.
// It proves the bundle cuts (no express, OAuth installer or form-data) break
// nothing the api and worker functions run.
import { execFileSync, spawn } from 'node:child_process';
import { createActiveTable } from '../fakes/dynamo-table.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { build, type BuildOptions } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../fakes/slack-signature.js';
import { createDynamoStore, tableDefinition } from '../../src/store/dynamodb.js';
import { startFakeLambdaInvoke, type FakeLambdaInvoke, type RecordedInvocation } from '../fakes/lambda-invoke.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../fakes/secrets-manager.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { loadLab, type Lab } from './lab.js';
import { CHANNEL, slashCommand, user } from './slack-helpers.js';

const root = join(import.meta.dirname, '..', '..');
const SIGNING_SECRET = `bundle-signing-${randomBytes(12).toString('hex')}`;
const BOT_TOKEN = `xoxb-bundle-${randomBytes(12).toString('hex')}`;
const TABLE = 'force-down-bundle';
const AM_TOKEN = `am-bundle-${randomBytes(12).toString('hex')}`;
const REQUESTER = user('U0BUNDLE01');

let lab: Lab;
let sm: FakeSecretsManager;
let slack: FakeSlackApi;
let dynamo: ReturnType<typeof dynalite>;
let dynamoUrl: string;
let lambdaApi: FakeLambdaInvoke;
let lambdaUrl: string;
const invocations = (): RecordedInvocation[] => lambdaApi.invocations;

beforeAll(async () => {
  lab = loadLab();
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });
  sm = await startFakeSecretsManager({
    'force-down': JSON.stringify({ slack: { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN }, alerts: { alertmanager: { token: AM_TOKEN } }, clouds: { lab: lab.clouds.admin } }),
  });
  slack = await startFakeSlackApi();
  dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((ok) => dynamo.listen(0, '127.0.0.1', () => ok()));
  dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  await createActiveTable(new DynamoDBClient(awsClientConfig(dynamoUrl)), tableDefinition(TABLE));
  // Lambda's Invoke API: POST /2015-03-31/functions/{name}/invocations, 202 for InvocationType Event.
  lambdaApi = await startFakeLambdaInvoke();
  lambdaUrl = lambdaApi.endpoint;
}, 120_000);

afterAll(async () => {
  await sm?.close();
  await slack?.close();
  await new Promise<void>((ok) => (dynamo ? dynamo.close(() => ok()) : ok()));
  await lambdaApi?.close();
});

function awsClientConfig(endpoint: string) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDBUNDLETEST', secretAccessKey: 'bundle-test-secret' } };
}

/** Runs a bundled handler in a fresh node process (a cold start) over `events`, one after another. */
async function invoke(fn: 'api' | 'worker', events: unknown[]): Promise<{ results: unknown[]; logs: string }> {
  const script = `
    const { handler } = await import(${JSON.stringify(join(root, 'dist/functions', `${fn}.mjs`))});
    const events = JSON.parse(process.argv[1]);
    const results = [];
    for (const e of events) results.push(await handler(e) ?? null);
    process.stderr.write('\\n@@RESULTS@@' + JSON.stringify(results) + '\\n');`;
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script, JSON.stringify(events)], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
      AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
      AWS_ENDPOINT_URL_LAMBDA: lambdaUrl,
      FORCE_DOWN_SECRET_ID: 'force-down',
      FORCE_DOWN_TABLE: TABLE,
      FORCE_DOWN_WORKER_FUNCTION: 'force-down-worker',
      FORCE_DOWN_APPROVERS: 'U0APPROVE1',
      FORCE_DOWN_CHANNEL: CHANNEL.id,
      FORCE_DOWN_DEFAULT_CLOUD: 'lab',
      SLACK_API_URL: slack.apiUrl,
    },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  const marker = err.lastIndexOf('@@RESULTS@@');
  if (code !== 0 || marker < 0) throw new Error(`${fn} bundle exited ${code}:\n${err}\n${out}`);
  return { results: JSON.parse(err.slice(marker + '@@RESULTS@@'.length)) as unknown[], logs: out };
}

function slackEvent(body: string, opts: { signature?: string; timestamp?: number } = {}) {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    version: '2.0',
    rawPath: '/slack/events',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': opts.signature ?? signSlackRequest(SIGNING_SECRET, body, ts),
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestContext: { http: { method: 'POST', path: '/slack/events' } },
  };
}

describe('what the Lambda bundles leave out', () => {
  it("zod's locales index: neither bundle holds another language, and no code of ours reads zod's locales", async () => {
    const { lambdaOptions } = (await import(join(root, 'esbuild.config.mjs'))) as { lambdaOptions: BuildOptions };
    const { metafile } = await build({ ...lambdaOptions, logLevel: 'error', metafile: true, write: false, entryPoints: ['api', 'worker'].map((f) => join(root, 'functions', `${f}.ts`)), outdir: join(root, 'dist/unused') });
    const zodInputs = Object.keys(metafile.inputs).filter((i) => /node_modules\/zod\//.test(i));
    expect(zodInputs.some((i) => /\/locales\/en\.js$/.test(i))).toBe(true);
    expect(zodInputs.filter((i) => /\/locales\/(?!en\.js$)/.test(i))).toEqual([]);
    const ours = Object.keys(metafile.inputs).filter((i) => /^(src|functions)\/.*\.ts$/.test(i));
    for (const file of ours) expect(readFileSync(join(root, file), 'utf8'), file).not.toMatch(/\blocales\b/);
  });
});

describe('the bundled Lambda functions (real AWS SDK clients, local AWS endpoints, real Nova)', () => {
  it('api: /healthz, a forged signature refused, a slash command recorded and handed to the worker', async () => {
    const host = lab.hosts.compute[4]!;
    const body = new URLSearchParams(slashCommand({ text: host, user: REQUESTER, responseUrl: slack.responseUrl() })).toString();
    const health = { version: '2.0', rawPath: '/healthz', headers: {}, requestContext: { http: { method: 'GET', path: '/healthz' } } };
    const before = sm.fetches();
    const { results, logs } = await invoke('api', [health, slackEvent(body, { signature: `v0=${'0'.repeat(64)}` }), slackEvent(body)]);
    const [healthz, forged, slash] = results as { statusCode: number; body?: string }[];

    expect(healthz!.statusCode).toBe(200);
    expect(forged!.statusCode).toBe(401);
    expect(slash!.statusCode).toBe(200);
    // One cold start, one secret fetch for both Slack requests.
    expect(sm.fetches() - before).toBe(1);

    const store = createDynamoStore({ tableName: TABLE, client: new DynamoDBClient(awsClientConfig(dynamoUrl)) });
    const open = await store.findOpen('lab', host, 'force-down');
    expect(open).toMatchObject({ state: 'pending', requestedBy: REQUESTER.id, channel: CHANNEL.id });
    expect(invocations()).toEqual([{ fn: 'force-down-worker', type: 'Event', payload: { kind: 'show-card', id: open!.id } }]);
    expect(logs).not.toContain(SIGNING_SECRET);
    expect(logs).not.toContain(BOT_TOKEN);
    // Powertools' shapes, bundled: the request's log line and its EMF metric, tied by the correlation id.
    const lines = logs.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    const slashLine = lines.filter((l) => l.message === 'http request' && l.path === '/slack/events' && l.status === 200).at(-1);
    expect(slashLine).toMatchObject({ level: 'INFO', service: 'force-down', fn: 'api', correlationId: expect.any(String) });
    const opened = lines.find((l) => l.RequestsOpened === 1);
    expect(opened?._aws.CloudWatchMetrics).toEqual([{ Namespace: 'ForceDown', Dimensions: [['service', 'Stage', 'Action', 'Origin']], Metrics: [{ Name: 'RequestsOpened', Unit: 'Count' }] }]);
    expect(opened).toMatchObject({ service: 'force-down', Action: 'force-down', Origin: 'slash', correlationId: slashLine!.correlationId });
  });

  it('worker: the queued job posts the request card with Nova\'s view of the host', async () => {
    const job = invocations().at(-1)!.payload;
    const host = lab.hosts.compute[4]!;
    await invoke('worker', [job]);
    const post = slack.calls('chat.postMessage').find((c) => c.body.thread_ts === undefined);
    expect(post?.body.channel).toBe(CHANNEL.id);
    const text = JSON.stringify(post?.body.blocks);
    expect(text).toContain(host);
    // Nova's view, read from the real lab through the bundled undici client.
    expect(text).toContain("Nova's view");
    expect(text).toContain('*State*\\n`up`');
    expect(text).toContain('Confirm fenced');
  });

  it('api + worker: an Alertmanager webhook is recorded, handed over as a show-group job, and the worker posts its card', async () => {
    const host = lab.hosts.alert[3]!;
    const body = JSON.stringify({
      version: '4', status: 'firing', receiver: 'force-down', groupKey: '{}:{alertname="HostDown"}', truncatedAlerts: 0, externalURL: 'http://am.example:9093',
      groupLabels: {}, commonLabels: {}, commonAnnotations: {},
      alerts: [{ status: 'firing', labels: { alertname: 'HostDown', host }, annotations: { summary: `${host} is down` }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom.example/graph', fingerprint: 'f00d' }],
    });
    const event = (token: string) => ({
      version: '2.0',
      rawPath: '/alerts/alertmanager',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/alerts/alertmanager' } },
    });
    const seen = invocations().length;
    // A malformed webhook is told why in zod's own English words: the bundles leave out zod's
    // locales index (every other language), and zod's English messages come without it.
    const malformed = { ...event(AM_TOKEN), body: JSON.stringify({ ...JSON.parse(body), alerts: 'none' }) };
    const { results } = await invoke('api', [event('not-the-token'), event(AM_TOKEN), malformed]);
    const answers = results as { statusCode: number; body: string }[];
    expect(answers.map((r) => r.statusCode)).toEqual([401, 200, 400]);
    expect(JSON.parse(answers[2]!.body).error).toMatch(/^alerts: Invalid input: expected array, received string$/);
    const jobs = invocations().slice(seen);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ fn: 'force-down-worker', type: 'Event', payload: { kind: 'show-group' } });

    const before = slack.calls('chat.postMessage').length;
    await invoke('worker', [jobs[0]!.payload]);
    const card = slack.calls('chat.postMessage').slice(before).find((c) => c.body.thread_ts === undefined);
    expect(JSON.stringify(card?.body.blocks)).toContain(`Force down ${host}`);
    expect(JSON.stringify(card?.body.blocks)).toContain('HostDown');
  });
});
