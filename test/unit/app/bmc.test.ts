// The BMC in the bot (issue 13): the worker's fence checks with the real Redfish
// client against the fake BMC (test/fakes/redfish.ts), the real Slack cards and
// notifier against the fake Slack Web API, the bench's fake Nova and memory store.
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { receiveAlerts, type AlertIntakeOptions } from '../../../src/app/alerts.js';
import type { BmcLookup } from '../../../src/app/bmc-port.js';
import type { AppDeps, BmcView, Job } from '../../../src/app/ports.js';
import { confirmRequest, openRequest } from '../../../src/app/requests.js';
import { runJob } from '../../../src/app/worker.js';
import type { HostAlert } from '../../../src/alerts/types.js';
import { createRedfishGateway } from '../../../src/bmc/redfish.js';
import type { FenceChoice } from '../../../src/domain/fencing.js';
import { AUTO_APPROVER, AUTO_BMC_NOTE, type ForceDownRequest } from '../../../src/domain/request.js';
import type { Outcome } from '../../../src/domain/failure.js';
import type { ComputeService } from '../../../src/domain/service.js';
import { createChannelPacer } from '../../../src/slack/pacer.js';
import { FAKE_BMC_CA, startFakeRedfish, type FakeRedfish, type FakeRedfishOptions } from '../../fakes/redfish.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { fakeNova, REQUESTER, setup, slash, svc } from './harness.js';

const CHANNEL = 'C_ONCALL';
const APPROVER = 'U_APPROVER';
const BMC_USER = 'bmc-unit-user';
const BMC_PASSWORD = 'bmc-unit-SEKRET-pw';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(async () => slack.close());
beforeEach(() => slack.reset());

const fakes: FakeRedfish[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

/** A fake BMC for compute7 (the real Redfish client talks to it over HTTPS). */
async function fakeBmc(opts: FakeRedfishOptions = {}): Promise<FakeRedfish> {
  const fake = await startFakeRedfish({ username: BMC_USER, password: BMC_PASSWORD, resetDelayMs: 30, host: 'compute7', ...opts });
  fakes.push(fake);
  return fake;
}

/** The lookup: compute7 has a BMC at `url`; any other host has none. */
function lookupFor(url: string): BmcLookup {
  return (cloud, host) =>
    cloud === 'prod' && host.toLowerCase() === 'compute7'
      ? createRedfishGateway({ host, url, auth: { username: BMC_USER, password: BMC_PASSWORD }, tls: { ca: FAKE_BMC_CA, insecure: false } }, { pollIntervalMs: 20, requestTimeoutMs: 3_000 })
      : undefined;
}

/** The bench with the real Slack side, compute1 (no BMC) and compute7 (with one, at `bmcUrl`). */
function bench(bmcUrl: string | undefined, over: Partial<AppDeps> = {}) {
  const nova = fakeNova({ compute1: svc('compute1'), compute7: svc('compute7') });
  const client = new WebClient('xoxb-unit-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const t = setup(
    {
      ...(bmcUrl ? { bmc: lookupFor(bmcUrl) } : {}),
      safety: { confirmationMaxAgeMs: 600_000, heartbeatWaitMs: 20_000, bmcPowerOffTimeoutMs: 5_000 },
      ...over,
    },
    { nova, slack: { client, pacer: createChannelPacer({ minIntervalMs: 1, burst: 50 }) } },
  );
  return t;
}

async function openAndShow(t: ReturnType<typeof bench>, host: string): Promise<string> {
  const opened = await openRequest(t.deps, slash({ host }));
  if (opened.kind !== 'opened') throw new Error(`not opened: ${opened.kind}`);
  await t.drain();
  return opened.request.id;
}

async function confirm(t: ReturnType<typeof bench>, id: string, method: FenceChoice): Promise<ForceDownRequest> {
  const res = await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method });
  if (res.kind !== 'done') throw new Error(`not confirmed: ${res.refusal}`);
  await t.drain();
  return (await t.deps.store.get(id))!;
}

/** Every text the fake Slack got (cards, updates, thread lines, modals). */
const everything = () => JSON.stringify(slack.calls());
/** The last version of the card (top-level message) as text and blocks. */
function lastCard(): string {
  const posts = [...slack.calls('chat.postMessage'), ...slack.calls('chat.update')].filter((c) => c.body.thread_ts === undefined);
  const c = posts.at(-1)!;
  return `${String(c.body.text)} ${JSON.stringify(c.body.blocks)}`;
}
const threadLines = () => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts !== undefined).map((c) => String(c.body.text));
const cardUpdates = () => slack.calls('chat.update').map((c) => JSON.stringify(c.body.blocks));

describe('the BMC on the card', () => {
  it('a host with a BMC: the card shows "BMC: power On" and the ⚠; a host without one has no BMC line', async () => {
    const fake = await fakeBmc();
    const t = bench(fake.url);
    await openAndShow(t, 'compute7');
    const card = lastCard();
    expect(card).toContain('*BMC*: power On · read ');
    expect(card).toContain("⚠ *compute7*'s BMC reports power On");
    await openAndShow(t, 'compute1');
    expect(lastCard()).not.toContain('BMC*:');
    expect(everything()).not.toContain(BMC_PASSWORD);
  });

  it('a BMC reading Off shows "power Off" and no ⚠; an unreachable BMC shows "BMC unreachable (reason)"', async () => {
    const fake = await fakeBmc();
    fake.setPowerState('1', 'Off');
    const t = bench(fake.url);
    await openAndShow(t, 'compute7');
    expect(lastCard()).toContain('*BMC*: power Off · read ');
    expect(lastCard()).not.toContain('⚠ *compute7*');

    const gone = await fakeBmc();
    const url = gone.url;
    await gone.close();
    const t2 = bench(url, { newId: () => `other-${Math.random()}` });
    await openAndShow(t2, 'compute7');
    expect(lastCard()).toContain('*BMC*: BMC unreachable (refused)');
  });
});

describe('Power off now via the BMC (Redfish)', () => {
  it('resets via Redfish, shows the power state while it works, calls Nova only once Off; the outcome and the audit record the evidence', async () => {
    const fake = await fakeBmc({ resetDelayMs: 100 });
    const t = bench(fake.url);
    const id = await openAndShow(t, 'compute7');
    const done = await confirm(t, id, 'power-off');

    expect(fake.resets()).toEqual([{ system: '1', resetType: 'ForceOff' }]);
    expect(t.nova.calls).toEqual([{ host: 'compute7', forcedDown: true }]);
    // The reset went out before Nova was asked: the BMC's last request precedes the PUT's record (Nova's fake records on call).
    expect(fake.powerState()).toBe('Off');
    expect(done.state).toBe('succeeded');
    expect(done.confirmation?.method).toBe('power-off');
    expect(done.outcome).toMatchObject({ code: 'OK', bmc: { powerState: 'Off', reset: { resetType: 'ForceOff' } } });
    const reset = done.outcome!.bmc!.reset!;
    expect(Date.parse(reset.offAt)).toBeGreaterThanOrEqual(Date.parse(reset.sentAt));

    // The card while it worked, then the outcome.
    expect(cardUpdates().some((b) => b.includes('⏳ powering *compute7* off via its BMC… (PowerState: On)'))).toBe(true);
    expect(lastCard()).toContain('is forced down in Nova');
    expect(lastCard()).toContain('*BMC*: power Off');
    // The thread: who asked, then the BMC's evidence.
    const lines = threadLines();

    expect(lines.some((l) => l.includes(`${APPROVER} asked force-down to power *compute7* off via its BMC (Redfish)`))).toBe(true);
    const outcome = lines.find((l) => l.includes('forced down ·'))!;
    expect(outcome).toContain(`BMC power-off via Redfish by ${APPROVER}: ForceOff sent at \``);
    expect(outcome).toContain('`Off` seen at `');
    expect(everything()).not.toContain(BMC_PASSWORD);
  });

  it('a BMC that never reports Off: BMC_POWER_OFF_TIMEOUT, Nova is not called', async () => {
    const fake = await fakeBmc({ mode: 'lie' });
    const t = bench(fake.url, { safety: { confirmationMaxAgeMs: 600_000, heartbeatWaitMs: 20_000, bmcPowerOffTimeoutMs: 300 } });
    const id = await openAndShow(t, 'compute7');
    const done = await confirm(t, id, 'power-off');
    expect(done).toMatchObject({ state: 'failed', outcome: { code: 'BMC_POWER_OFF_TIMEOUT' } });
    expect(t.nova.calls).toEqual([]);
  });
});

describe('"BMC power-off" (already done) on a host with a BMC', () => {
  it('the BMC reports power On: BMC_SAYS_ON, no reset, Nova not called; the card says so and offers Retry…', async () => {
    const fake = await fakeBmc();
    const t = bench(fake.url);
    const id = await openAndShow(t, 'compute7');
    const done = await confirm(t, id, 'bmc');
    expect(done).toMatchObject({ state: 'failed', outcome: { code: 'BMC_SAYS_ON', bmc: { powerState: 'On' } } });
    expect(t.nova.calls).toEqual([]);
    expect(fake.resets()).toEqual([]);
    const card = lastCard();
    expect(card).toContain('❌ *compute7* is not forced down: its BMC reports power On');
    expect(card).toContain('Retry…');
  });

  it('the BMC reports power Off: forced down at once (no heartbeat wait), the BMC reading recorded', async () => {
    const fake = await fakeBmc();
    fake.setPowerState('1', 'Off');
    const t = bench(fake.url);
    const id = await openAndShow(t, 'compute7');
    const before = t.now();
    const done = await confirm(t, id, 'bmc');
    expect(done).toMatchObject({ state: 'succeeded', outcome: { code: 'OK', bmc: { powerState: 'Off' } } });
    expect(t.now()).toBe(before); // the bench's clock moves only with the heartbeat watch's sleeps: none
    expect(threadLines().some((l) => l.includes('BMC read power Off at `'))).toBe(true);
  });

  it('the BMC is unreachable: BMC_UNREACHABLE, Nova not called; the retry modal offers every method', async () => {
    const gone = await fakeBmc();
    const url = gone.url;
    await gone.close();
    const t = bench(url);
    const id = await openAndShow(t, 'compute7');
    const done = await confirm(t, id, 'bmc');
    expect(done).toMatchObject({ state: 'failed', outcome: { code: 'BMC_UNREACHABLE' } });
    expect(t.nova.calls).toEqual([]);
    expect(lastCard()).toContain("*compute7*'s BMC did not answer usefully");
  });

  it('a host without a BMC is unchanged: the heartbeat watch decides, no BMC in the outcome', async () => {
    const fake = await fakeBmc();
    const t = bench(fake.url);
    const id = await openAndShow(t, 'compute1');
    const done = await confirm(t, id, 'bmc');
    expect(done.state).toBe('succeeded');
    expect(done.outcome?.bmc).toBeUndefined();
    expect(fake.requests).toEqual([]);
  });
});

describe('auto mode on the BMC (autoForceDown: "bmc-off")', () => {
  const opts = (over: Partial<AlertIntakeOptions> = {}): AlertIntakeOptions => ({
    source: 'alertmanager',
    channel: CHANNEL,
    autoForceDown: 'bmc-off',
    evidenceLabel: { name: 'fenced', value: 'true' },
    ...over,
  });
  const alert = (host: string, over: Partial<HostAlert> = {}): HostAlert => ({
    source: 'alertmanager',
    host,
    status: 'firing',
    fingerprint: `fp-${host}`,
    alertName: 'HostDown',
    summary: `${host} is down`,
    fencedEvidence: false,
    ...over,
  });
  const requestFor = async (t: ReturnType<typeof bench>, host: string) => (await t.deps.store.findOpen('prod', host, 'force-down')) ?? (await t.deps.store.listByState('succeeded')).find((r) => r.host === host);

  it('the BMC reports Off: forced down without a human, recorded as "auto: BMC reports power Off"', async () => {
    const fake = await fakeBmc();
    fake.setPowerState('1', 'Off');
    const t = bench(fake.url);
    const receipt = await receiveAlerts(t.deps, [alert('compute7')], opts());
    expect(receipt.bmcChecks).toBe(1);
    expect(t.jobs.some((j: Job) => j.kind === 'auto-bmc')).toBe(true);
    expect(fake.requests).toEqual([]); // the api never calls a BMC
    await t.drain();
    const r = await requestFor(t, 'compute7');
    expect(r).toMatchObject({ state: 'succeeded', confirmation: { by: AUTO_APPROVER, method: 'bmc', note: AUTO_BMC_NOTE }, outcome: { code: 'OK', bmc: { powerState: 'Off' } } });
    expect(t.nova.calls).toEqual([{ host: 'compute7', forcedDown: true }]);
    expect(everything()).toContain("*compute7*'s BMC reports power Off, so force-down acted on the alertmanager alert without a human confirmation");
  });

  it('the BMC reports On, or the host has no BMC: the card waits for a human, Nova is not called', async () => {
    const fake = await fakeBmc();
    const t = bench(fake.url);
    const receipt = await receiveAlerts(t.deps, [alert('compute7'), alert('compute1')], opts());
    expect(receipt.bmcChecks).toBe(1); // compute1 has no BMC: no job
    await t.drain();
    expect((await requestFor(t, 'compute7'))?.state).toBe('pending');
    expect((await requestFor(t, 'compute1'))?.state).toBe('pending');
    expect(t.nova.calls).toEqual([]);
    expect(fake.resets()).toEqual([]);
  });

  it('an alert card for one host shows its BMC line like a card of its own: power On and the ⚠ while it waits; then the outcome\'s evidence', async () => {
    const fake = await fakeBmc();
    const t = bench(fake.url);
    await receiveAlerts(t.deps, [alert('compute7')], opts());
    await t.drain();
    const r = await requestFor(t, 'compute7');
    expect(r?.state).toBe('pending');
    expect(r?.group).toBeDefined(); // an alert's request is a row of its group, shown as one host's card
    expect(lastCard()).toContain('*BMC*: power On · read ');
    expect(lastCard()).toContain("⚠ *compute7*'s BMC reports power On");

    // The approver has force-down power it off: the card shows the progress, then the evidence.
    const done = await confirm(t, r!.id, 'power-off');
    expect(done).toMatchObject({ state: 'succeeded', outcome: { code: 'OK', bmc: { powerState: 'Off' } } });
    expect(cardUpdates().some((b) => b.includes('⏳ powering *compute7* off via its BMC… (PowerState: On)'))).toBe(true);
    expect(lastCard()).toContain('*BMC*: power Off · read ');
    expect(everything()).not.toContain(BMC_PASSWORD);
  });

  it('`true` keeps its meaning: the evidence label, never a BMC read', async () => {
    const fake = await fakeBmc();
    fake.setPowerState('1', 'Off');
    const t = bench(fake.url);
    const receipt = await receiveAlerts(t.deps, [alert('compute7')], opts({ autoForceDown: true }));
    expect(receipt.auto).toBe(0);
    expect(t.jobs.some((j) => j.kind === 'auto-bmc')).toBe(false);
    await t.drain();
    expect((await requestFor(t, 'compute7'))?.state).toBe('pending');
  });
});

describe('/force-down status and the modal', () => {
  it('status includes the BMC reading for a host with a BMC, and none for a host without', async () => {
    const fake = await fakeBmc();
    const replies: { host: string; bmc?: BmcView }[] = [];
    const t = bench(fake.url);
    t.deps.notifier = {
      ...t.deps.notifier,
      async replyStatus(_url: string, _cloud: string, host: string, _result: Outcome<ComputeService>, bmc?: BmcView) {
        replies.push({ host, ...(bmc ? { bmc } : {}) });
      },
    };
    await runJob(t.deps, { kind: 'status', cloud: 'prod', host: 'compute7', responseUrl: 'https://hooks.slack.com/commands/T/1/x' });
    await runJob(t.deps, { kind: 'status', cloud: 'prod', host: 'compute1', responseUrl: 'https://hooks.slack.com/commands/T/1/x' });
    expect(replies[0]).toMatchObject({ host: 'compute7', bmc: { ok: true, powerState: 'On' } });
    expect(replies[1]).toEqual({ host: 'compute1' });
  });

  it('the check-modal job reads the BMC too and shows its power state in the modal, "Power off now" first', async () => {
    const fake = await fakeBmc();
    const t = bench(fake.url);
    const id = await openAndShow(t, 'compute7');
    await runJob(t.deps, { kind: 'check-modal', id, viewId: 'V1', form: 'nonce-1' });
    const update = slack.calls('views.update')[0]!;
    const view = JSON.stringify(update.body.view);
    expect(view).toContain('*BMC*: power On');
    const blocks = (update.body.view as { blocks: { block_id?: string; element?: { options?: { value: string; text: { text: string } }[] } }[] }).blocks;
    const options = blocks.find((b) => b.block_id === 'fence_method')!.element!.options!;
    expect(options[0]).toMatchObject({ value: 'power-off', text: { text: 'Power off now via the BMC (Redfish)' } });
    expect(options.map((o) => o.value)).toEqual(['power-off', 'bmc', 'pdu', 'network', 'dead', 'other']);
  });

  it('opening requests for hosts without a BMC never touches a BMC lookup that could call one', async () => {
    const t = bench(undefined);
    await openAndShow(t, 'compute1');
    expect(lastCard()).not.toContain('BMC*:');
    expect(REQUESTER).toBeTruthy();
  });
});
