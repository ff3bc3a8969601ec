// The use cases' metric hooks, through the real composition (composeRuntime with the EMF
// emitter, the real Slack notifier against the fake Slack Web API), down to the EMF lines
// CloudWatch would turn into metrics. Nova is the use cases' bench fake (test/unit/app/harness.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps, Job } from '../../../src/app/ports.js';
import { confirmRequest, openRequest } from '../../../src/app/requests.js';
import { runJob } from '../../../src/app/worker.js';
import { loadBotSettings } from '../../../src/config/env.js';
import { parseSecretDocument } from '../../../src/config/secret-document.js';
import { composeRuntime } from '../../../src/runtime/compose.js';
import { runWithLogContext } from '../../../src/runtime/logger.js';
import { createEmfMetrics } from '../../../src/runtime/metrics.js';
import { createMemoryStore } from '../../fakes/memory-store.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { appCredCloud, SECRETS } from '../config/builders.js';
import { fakeNova } from '../app/harness.js';
import { captureStdout } from '../powertools.js';

const CHANNEL = 'C0ONCALL01';
const APPROVER = 'U0APPROVE1';
const REQUESTER = 'U0REQUEST1';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(async () => {
  await slack?.close();
});

// Powertools' Metrics writes each EMF line to stdout, as Lambda wants it: the test reads them there.
const written = captureStdout();

function setup() {
  const from = written().length;
  const lines = () => written().slice(from).filter((l) => l.includes('"_aws"'));
  const jobs: Job[] = [];
  const settings = loadBotSettings({ FORCE_DOWN_SECRET_ID: 'unused', FORCE_DOWN_APPROVERS: APPROVER, FORCE_DOWN_CHANNEL: CHANNEL, SLACK_API_URL: slack.apiUrl });
  const secret = parseSecretDocument(JSON.stringify({ slack: { signingSecret: SECRETS.signingSecret, botToken: SECRETS.botToken }, clouds: { prod: appCredCloud() } }), 'test');
  const rt = composeRuntime({
    settings,
    secret,
    store: createMemoryStore(),
    enqueue: async (job) => void jobs.push(job),
    log: { info() {}, warn() {}, error() {} },
    metrics: createEmfMetrics({ dimensions: { Stage: 'test' } }),
  });
  // The bench's fake Nova (test/unit/app/harness.ts): it finds every host, and refuses to force compute2 down (403 on its policy).
  const nova = fakeNova({}, { anyHost: true, refuse: new Set(['compute2']) });
  // No servers list (the cards' Instances line is not this test's subject): the cloud's real one would ask keystone.example.
  const deps: AppDeps = { ...rt.deps, nova: (cloud) => (cloud === 'prod' ? nova.gateway : undefined), servers: () => undefined };
  const drain = async () => {
    while (jobs.length) await runJob(deps, jobs.shift()!);
  };
  /** What CloudWatch would extract: metric name, value, dimensions, and the correlation id the line carries. */
  const points = () =>
    lines().map((l) => {
      const line = JSON.parse(l);
      const directive = line._aws.CloudWatchMetrics[0];
      const name = directive.Metrics[0].Name as string;
      return { name, value: line[name], dimensions: Object.fromEntries((directive.Dimensions[0] as string[]).map((k) => [k, line[k]])), correlationId: line.correlationId };
    });
  return { deps, drain, points, close: rt.close };
}

async function forceDown(deps: AppDeps, drain: () => Promise<void>, host: string) {
  return runWithLogContext({ correlationId: `corr-${host}` }, async () => {
    const opened = await openRequest(deps, { host, action: 'force-down', origin: { kind: 'slash', userId: REQUESTER, channelId: CHANNEL }, requestedBy: REQUESTER, channel: CHANNEL });
    if (opened.kind !== 'opened') throw new Error(`not opened: ${opened.kind}`);
    await drain();
    const confirmed = await confirmRequest(deps, { id: opened.request.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    expect(confirmed.kind).toBe('done');
    await drain();
  });
}

describe('metrics of the use cases, as EMF lines', () => {
  it('requests opened, confirmations, and outcomes by code', async () => {
    const { deps, drain, points, close } = setup();

    await forceDown(deps, drain, 'compute1');
    await forceDown(deps, drain, 'compute2');
    await close();

    expect(points()).toEqual([
      { name: 'RequestsOpened', value: 1, dimensions: { service: 'force-down', Stage: 'test', Action: 'force-down', Origin: 'slash' }, correlationId: 'corr-compute1' },
      { name: 'Confirmations', value: 1, dimensions: { service: 'force-down', Stage: 'test', Action: 'force-down' }, correlationId: 'corr-compute1' },
      { name: 'Outcomes', value: 1, dimensions: { service: 'force-down', Stage: 'test', Action: 'force-down', Code: 'OK' }, correlationId: 'corr-compute1' },
      { name: 'RequestsOpened', value: 1, dimensions: { service: 'force-down', Stage: 'test', Action: 'force-down', Origin: 'slash' }, correlationId: 'corr-compute2' },
      { name: 'Confirmations', value: 1, dimensions: { service: 'force-down', Stage: 'test', Action: 'force-down' }, correlationId: 'corr-compute2' },
      { name: 'Outcomes', value: 1, dimensions: { service: 'force-down', Stage: 'test', Action: 'force-down', Code: 'NOVA_FORBIDDEN' }, correlationId: 'corr-compute2' },
    ]);
    // The cards went to Slack through the real notifier.
    expect(slack.calls('chat.postMessage').length).toBeGreaterThanOrEqual(2);
  }, 60_000); // the card updates go through the per-channel pacer (about one a second after a burst of five), as in production
});
