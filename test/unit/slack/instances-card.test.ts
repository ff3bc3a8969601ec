// What is at stake on the card (issue 14): the instances Nova has on the host, by
// state and HA mark, on a card of one host in every state. The use cases and the
// real Slack cards against the fake Slack Web API, the bench's fake Nova and a
// fake servers list (harness.ts `fakeServers`).
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { receiveAlerts, type AlertIntakeOptions } from '../../../src/app/alerts.js';
import type { AppDeps } from '../../../src/app/ports.js';
import { recoverStuckApproved } from '../../../src/app/recovery.js';
import { cancelRequest, confirmRequest, expireRequests, openRequest } from '../../../src/app/requests.js';
import type { HostAlert } from '../../../src/alerts/types.js';
import { createSlackBot } from '../../../src/slack/bot.js';
import { createChannelPacer } from '../../../src/slack/pacer.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { APPROVER, fakeNova, fakeServers, instance, REQUESTER, setup, slash, svc } from '../app/harness.js';

const CHANNEL = 'C_ONCALL';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(async () => slack.close());
afterEach(() => slack.reset());

/** compute1: 36 instances, ACTIVE 31 · SHUTOFF 4 · ERROR 1, two marked HA. compute2..4: none. */
const COMPUTE1 = [
  ...Array.from({ length: 31 }, (_, i) => instance(`a${i}`, 'ACTIVE', i < 2)),
  ...Array.from({ length: 4 }, (_, i) => instance(`s${i}`, 'SHUTOFF')),
  instance('e0', 'ERROR'),
];
const STAKE = '*Instances*: 36 — ACTIVE 31 · SHUTOFF 4 · ERROR 1 · 2 marked HA';

function bench(servers = fakeServers({ compute1: COMPUTE1 }), over: Partial<AppDeps> = {}, nova = fakeNova({ compute1: svc('compute1'), compute2: svc('compute2'), compute3: svc('compute3') })) {
  const client = new WebClient('xoxb-unit-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const t = setup({ servers: servers.servers, ...over }, { nova, slack: { client, pacer: createChannelPacer({ minIntervalMs: 1, burst: 50 }) } });
  return { ...t, servers };
}

/** Every top-level card message (posts and updates, not thread lines), in order, as text and blocks. */
function cardVersions(): string[] {
  return slack
    .calls()
    .filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.thread_ts === undefined)
    .map((c) => `${String(c.body.text)} ${JSON.stringify(c.body.blocks)}`);
}
const lastCard = () => cardVersions().at(-1)!;
/** The Instances line of the last card (its block's mrkdwn), or undefined when it has none. */
function stakeLine(): string | undefined {
  const call = slack
    .calls()
    .filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.thread_ts === undefined)
    .at(-1)!;
  const blocks = call.body.blocks as { block_id?: string; elements?: { text: string }[] }[];
  return blocks.find((b) => b.block_id === 'instances')?.elements?.[0]?.text;
}

async function open(t: ReturnType<typeof bench>, host = 'compute1'): Promise<string> {
  const opened = await openRequest(t.deps, slash({ host }));
  if (opened.kind !== 'opened') throw new Error(`not opened: ${opened.kind}`);
  await t.drain();
  return opened.request.id;
}

async function confirm(t: ReturnType<typeof bench>, id: string): Promise<void> {
  const res = await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
  if (res.kind !== 'done') throw new Error(`not confirmed: ${res.refusal}`);
  await t.drain();
}

describe('the Instances line on a card of its own', () => {
  it('pending: the card shows how many instances, by state, and how many are marked HA', async () => {
    const t = bench();
    await open(t);
    expect(stakeLine()).toBe(STAKE);
    expect(lastCard()).toContain('waiting for a fence confirmation');
    expect(t.servers.calls).toEqual(['compute1']);
  });

  it('executing, then succeeded: the line stays on the progress card and on the outcome', async () => {
    const t = bench();
    const id = await open(t);
    const before = cardVersions().length;
    await confirm(t, id);
    expect((await t.deps.store.get(id))?.state).toBe('succeeded');
    const versions = cardVersions().slice(before);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(versions[0]).toContain('forcing down');
    for (const v of versions) expect(v).toContain(STAKE);
    expect(lastCard()).toContain('✅');
    expect(stakeLine()).toBe(STAKE);
  });

  it('failed (Nova refused): the ❌ card keeps the line', async () => {
    const t = bench(undefined, {}, fakeNova({ compute1: svc('compute1') }, { refuse: new Set(['compute1']) }));
    const id = await open(t);
    await confirm(t, id);
    expect((await t.deps.store.get(id))?.state).toBe('failed');
    expect(lastCard()).toContain('❌');
    expect(stakeLine()).toBe(STAKE);
  });

  it('cancelled and expired: the card still says what was on the host', async () => {
    const t = bench();
    const id = await open(t);
    const cancelled = await cancelRequest(t.deps, { id, userId: REQUESTER, userGroups: new Set() });
    expect(cancelled.kind).toBe('done');
    await t.drain();
    expect((await t.deps.store.get(id))?.state).toBe('cancelled');
    expect(stakeLine()).toBe(STAKE);

    slack.reset();
    const other = await open(t);
    t.advance(t.deps.ttlMs + 60_000);
    expect(await expireRequests(t.deps)).toBe(1);
    await t.drain();
    expect((await t.deps.store.get(other))?.state).toBe('expired');
    expect(stakeLine()).toBe(STAKE);
  });

  it('the sweep\'s redraws keep the line: a confirmed request whose job never started, then one whose confirmation went stale', async () => {
    const t = bench();
    const id = await open(t);
    const res = await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    expect(res.kind).toBe('done');
    t.jobs.length = 0; // the execute job is lost (a throttled Invoke, a dead local queue)
    slack.reset();
    t.advance(3 * 60_000);
    expect(await recoverStuckApproved(t.deps)).toEqual({ requeued: 1, failed: 0 });
    expect(stakeLine()).toBe(STAKE);

    t.jobs.length = 0; // lost again, until the confirmation is stale
    slack.reset();
    t.advance(t.deps.safety.confirmationMaxAgeMs);
    expect(await recoverStuckApproved(t.deps)).toEqual({ requeued: 0, failed: 1 });
    expect((await t.deps.store.get(id))?.state).toBe('failed');
    expect(stakeLine()).toBe(STAKE);
  });

  it('a host without instances says so; without a servers gateway there is no line at all', async () => {
    const t = bench();
    await open(t, 'compute2');
    expect(stakeLine()).toBe('*Instances*: none on compute2');

    slack.reset();
    const bare = bench(undefined, { servers: undefined });
    await open(bare);
    expect(lastCard()).toContain("Nova's view");
    expect(stakeLine()).toBeUndefined();
  });

  it("Nova's statuses are Nova's words: a hostile one is shown inert (no mention, link or formatting)", async () => {
    const hostile = [instance('x1', '<!channel> *PWNED* <https://evil.example|click>'), instance('x2', 'ACTIVE', true), instance('x3', '`code` _it_ ~s~')];
    const t = bench(fakeServers({ compute1: hostile }));
    await open(t);
    const line = stakeLine()!;
    expect(line).toMatch(/^\*Instances\*: 3 — ACTIVE 1 · /);
    expect(line).toContain('1 marked HA');
    expect(line).not.toContain('<!channel>');
    expect(line).not.toContain('<https://');
    expect(line).not.toContain('*PWNED*');
    expect(line).not.toContain('`code`');
    expect(line).not.toContain('_it_');
    expect(line).toContain('&lt;!channel&gt;');
  });

  it('a listing that fails is shown in words, and the card is posted with Nova\'s view and its buttons all the same', async () => {
    const servers = fakeServers({ compute1: COMPUTE1 });
    servers.fail({ code: 'NOVA_UNAVAILABLE', message: 'Nova did not answer listing the instances on compute1 (timeout)' });
    const t = bench(servers);
    await open(t);
    expect(stakeLine()).toBe('*Instances*: could not be listed (Nova did not answer listing the instances on compute1 (timeout))');
    const card = lastCard();
    expect(card).toContain("*Nova's view*");
    expect(card).toContain('Confirm fenced…');
  });

  it('a gateway that throws (a bug) is a listing failure on the card, not a lost card', async () => {
    const t = bench(undefined, {
      servers: () => ({
        ...fakeServers().gateway,
        listServersOnHost: async () => {
          throw new Error('boom');
        },
      }),
    });
    await open(t);
    expect(stakeLine()).toBe('*Instances*: could not be listed (the instances on compute1 could not be listed)');
    expect(lastCard()).toContain('Confirm fenced…');
  });

  it("the listing runs beside Nova's lookup, not after it", async () => {
    const servers = fakeServers({ compute1: COMPUTE1 });
    const release = servers.hold();
    const t = bench(servers);
    const opened = await openRequest(t.deps, slash());
    expect(opened.kind).toBe('opened');
    const shown = t.drain();
    // While the listing is held, Nova's lookup has been asked too (both in flight), and no card is posted yet.
    await until(() => servers.calls.length === 1 && t.nova.reads.get === 1);
    expect(cardVersions()).toHaveLength(0);
    release();
    await shown;
    expect(stakeLine()).toBe(STAKE);
  });
});

describe('grouped cards', () => {
  const alert = (host: string): HostAlert => ({ source: 'alertmanager', host, status: 'firing', fingerprint: `fp-${host}`, alertName: 'HostDown', summary: `${host} is down`, startsAt: '2026-11-25T13:59:00.000Z', fencedEvidence: false });
  const opts: AlertIntakeOptions = { source: 'alertmanager', channel: CHANNEL, autoForceDown: false, evidenceLabel: { name: 'fenced', value: 'true' } };

  it('a group shown as one host\'s card has the line; rows of a several-host card list no instances', async () => {
    const t = bench(fakeServers({ compute1: COMPUTE1, compute2: [instance('b1', 'ACTIVE', false, 'compute2')] }));
    await receiveAlerts(t.deps, [alert('compute1')], opts);
    await t.drain();
    expect(stakeLine()).toBe(STAKE);
    expect(t.servers.calls).toEqual(['compute1']);

    t.servers.calls.length = 0;
    await receiveAlerts(t.deps, [alert('compute2'), alert('compute3')], opts);
    await t.drain();
    expect(lastCard()).toContain('3 hosts down');
    expect(stakeLine()).toBeUndefined();
    expect(lastCard()).not.toContain('*Instances*');
    expect(t.servers.calls).toEqual([]);
  });

  it('a grouped host confirmed on its own (several-host card): the worker lists no instances for its progress or outcome', async () => {
    const t = bench();
    await receiveAlerts(t.deps, [alert('compute1'), alert('compute2')], opts);
    await t.drain();
    const [member] = (await t.deps.store.listByState('pending')).filter((r) => r.host === 'compute1');
    await confirm(t, member!.id);
    expect((await t.deps.store.get(member!.id))?.state).toBe('succeeded');
    expect(t.servers.calls).toEqual([]);
    expect(JSON.stringify(slack.calls())).not.toContain('*Instances*');
  });
});

describe('the api path', () => {
  it('a /force-down slash command is acknowledged without listing instances; only the worker lists them', async () => {
    const t = bench();
    const bot = createSlackBot({ botToken: 'xoxb-test', slackApiUrl: slack.apiUrl, deps: t.deps, groupsOf: async () => new Set(), onError: () => {} });
    const body = new URLSearchParams({
      team_id: 'T0FAKE0001',
      team_domain: 'fake',
      channel_id: CHANNEL,
      user_id: REQUESTER,
      command: '/force-down',
      text: 'compute1 --reason BMC shows it off',
      response_url: slack.responseUrl('cmd'),
      trigger_id: '1.2.3',
    }).toString();
    const res = await bot.handle({ rawPath: '/slack/events', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(res).toMatchObject({ statusCode: 200, body: '' });
    expect(await t.deps.store.listByState('pending')).toHaveLength(1);
    expect(t.servers.calls).toEqual([]);
    expect(t.jobs.map((j) => j.kind)).toEqual(['show-card']);
    await t.drain();
    expect(t.servers.calls).toEqual(['compute1']);
    expect(stakeLine()).toBe(STAKE);
  });
});

/** Waits for `cond` (the event loop turning), with a generous deadline. */
async function until(cond: () => boolean, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met before the deadline');
    await new Promise((r) => setImmediate(r));
  }
}
