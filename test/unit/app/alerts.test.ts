// The alert use case (src/app/alerts.ts) over the memory store, with the real
// Slack cards and notifier (grouped cards, pacer) against the fake Slack Web API
// and the bench's fake Nova, which counts its calls (harness.ts).
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_MAX_HOSTS, receiveAlerts, type AlertIntakeOptions } from '../../../src/app/alerts.js';
import { confirmRequest, openRequest } from '../../../src/app/requests.js';
import { SHARED_LIST_TTL_MS } from '../../../src/app/service-list.js';
import { runJob } from '../../../src/app/worker.js';
import type { HostAlert } from '../../../src/alerts/types.js';
import { AUTO_APPROVER, type ForceDownRequest } from '../../../src/domain/request.js';
import type { ComputeService } from '../../../src/domain/service.js';
import { HOSTS_PER_MESSAGE } from '../../../src/slack/group-card.js';
import { ACTION_IDS } from '../../../src/slack/ids.js';
import { fakeNova, setup as bench, svc as benchHost } from './harness.js';
import { createChannelPacer, type ChannelPacer, type ScheduleOptions } from '../../../src/slack/pacer.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';

const CHANNEL = 'C0ONCALL01';
const APPROVER = 'U0APPROVER';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(async () => slack.close());
beforeEach(() => slack.reset());

/** A host that stopped reporting just now (the bench's clock): Nova counts it down. */
const svc = (host: string, over: Partial<ComputeService> = {}): ComputeService => benchHost(host, { updatedAt: '2026-11-25T14:00:00.000000', ...over });

function setup(hosts: ComputeService[] = [], pacer = createChannelPacer({ minIntervalMs: 1, burst: 5 })) {
  let seq = 0;
  const nova = fakeNova(hosts);
  const client = new WebClient('xoxb-unit-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const t = bench(
    {
      policy: { approverUsers: new Set([APPROVER]), approverGroups: new Set(), twoPerson: true },
      allowedChannels: new Set([CHANNEL]),
      newId: () => `id-${String(++seq).padStart(4, '0')}`,
    },
    { nova, slack: { client, pacer } },
  );
  const { deps } = t;
  const opts = (over: Partial<AlertIntakeOptions> = {}): AlertIntakeOptions => ({
    source: 'alertmanager',
    channel: CHANNEL,
    autoForceDown: false,
    evidenceLabel: { name: 'fenced', value: 'true' },
    ...over,
  });
  const all = async (): Promise<ForceDownRequest[]> =>
    (await Promise.all((['pending', 'approved', 'executing', 'succeeded', 'failed'] as const).map((s) => deps.store.listByState(s)))).flat();
  /** Nova's calls: lists, lookups, force-downs (`put`); `listDelayMs` slows its lists. */
  const novaCalls = {
    get list() {
      return nova.reads.list;
    },
    get get() {
      return nova.reads.get;
    },
    put: nova.calls,
    set listDelayMs(ms: number) {
      nova.listDelayMs = ms;
    },
  };
  return { deps, jobs: t.jobs, drain: t.drain, opts, all, novaCalls, table: new Map(Object.entries(nova.hosts)), logs: t.logs, advance: t.advance };
}

function alert(host: string, over: Partial<HostAlert> = {}): HostAlert {
  return { source: 'alertmanager', host, status: 'firing', fingerprint: `fp-${host}`, alertName: 'HostDown', summary: `${host} is down`, startsAt: '2026-11-25T13:59:00.000Z', fencedEvidence: false, ...over };
}

/** Limits above these tests' storms (the cap and the rate limit have tests of their own). */
const BIG = { groupMaxHosts: 1000, maxNewPerMinute: 10_000 } as const;

/** Top-level card messages (not thread replies) posted to the channel. */
const cards = () => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === undefined);
const blocksText = (c: { body: Record<string, unknown> }) => JSON.stringify(c.body.blocks);

describe('alerts → requests and grouped cards', () => {
  it('a 200-host storm in one webhook: one request each, one group, a handful of messages listing every host, zero Nova force-down calls', async () => {
    const t = setup();
    const hosts = Array.from({ length: 200 }, (_, i) => `rack7-node${String(i).padStart(3, '0')}`);
    const receipt = await receiveAlerts(t.deps, hosts.map((h) => alert(h)), t.opts(BIG));
    expect(receipt).toMatchObject({ opened: 200, repeats: 0, failed: 0, dropped: 0 });
    const requests = await t.all();
    expect(requests).toHaveLength(200);
    expect(new Set(requests.map((r) => r.group)).size).toBe(1);
    expect(t.jobs.filter((j) => j.kind === 'show-group')).toHaveLength(1);
    expect(t.jobs.filter((j) => j.kind === 'show-card')).toHaveLength(0);

    await t.drain();
    const posted = cards();
    expect(posted).toHaveLength(Math.ceil(200 / HOSTS_PER_MESSAGE));
    const text = posted.map(blocksText).join('\n');
    for (const h of hosts) expect(text).toContain(h);
    for (const c of posted) expect((c.body.blocks as unknown[]).length).toBeLessThanOrEqual(50);
    // One Nova service list for the whole card, no per-host lookups, no force-down.
    expect(t.novaCalls).toMatchObject({ list: 1, get: 0, put: [] });
    // Every request's card (and thread) is the group's first message; one thread line announces all 200.
    const firstTs = (await t.deps.store.getGroup(requests[0]!.group!))!.messages[0];
    for (const r of await t.all()) expect(r.messageTs).toBe(firstTs);
    const thread = slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === firstTs);
    expect(thread).toHaveLength(1);
    expect(String(thread[0]!.body.text)).toContain('200 hosts');
  });

  it('a repeated webhook (Alertmanager re-sends the whole group) opens nothing new: "seen N times" on the open requests, their pages updated', async () => {
    const t = setup([svc('compute1'), svc('compute2')]);
    await receiveAlerts(t.deps, [alert('compute1'), alert('compute2')], t.opts());
    await t.drain();
    t.advance(60_000);
    const again = await receiveAlerts(t.deps, [alert('compute1'), alert('compute2')], t.opts());
    expect(again).toMatchObject({ opened: 0, repeats: 2 });
    await t.drain();
    expect(await t.all()).toHaveLength(2);
    for (const r of await t.all()) expect(r.seen).toEqual({ count: 2, lastAt: '2026-11-25T14:01:00.000Z' });
    expect(cards()).toHaveLength(1);
    const updated = slack.calls('chat.update').at(-1)!;
    expect(blocksText(updated)).toContain('seen 2×');
  });

  it('one host alone gets the full single card (Nova view, Confirm and Cancel); a second host within the window joins it as a grouped card', async () => {
    const t = setup([svc('compute1'), svc('compute2')]);
    await receiveAlerts(t.deps, [alert('compute1')], t.opts({ groupWindowMs: 30_000 }));
    await t.drain();
    expect(cards()).toHaveLength(1);
    const single = blocksText(cards()[0]!);
    expect(single).toContain('Force down compute1');
    expect(single).toContain('cancel_request');

    t.advance(10_000);
    await receiveAlerts(t.deps, [alert('compute2')], t.opts({ groupWindowMs: 30_000 }));
    await t.drain();
    expect(cards()).toHaveLength(1); // no new message: the first one became the grouped card
    const grouped = blocksText(slack.calls('chat.update').at(-1)!);
    expect(grouped).toContain('2 hosts down');
    expect(grouped).toContain('compute1');
    expect(grouped).toContain('compute2');
    const [a, b] = await t.all();
    expect(a!.group).toBe(b!.group);

    t.advance(31_000);
    await receiveAlerts(t.deps, [alert('compute3')], t.opts({ groupWindowMs: 30_000 }));
    await t.drain();
    expect(cards()).toHaveLength(2); // past the window: a card of its own
  });

  it('a joiner\'s card job that runs before the creator\'s (two Lambdas at once) posts nothing and fails for a retry: never a second first page', async () => {
    const t = setup([svc('compute1'), svc('compute2')]);
    await receiveAlerts(t.deps, [alert('compute1')], t.opts());
    await receiveAlerts(t.deps, [alert('compute2')], t.opts());
    const [creator, joiner] = t.jobs.splice(0);
    expect(creator).toMatchObject({ kind: 'show-group' });
    expect(joiner).toMatchObject({ kind: 'show-group', id: (creator as { id: string }).id });
    await expect(runJob(t.deps, joiner!)).rejects.toMatchObject({ name: 'GroupNotPostedYet' });
    expect(cards()).toHaveLength(0);
    await runJob(t.deps, creator!);
    await runJob(t.deps, joiner!); // Lambda's retry
    expect(cards()).toHaveLength(1);
    const text = JSON.stringify(slack.message(CHANNEL, String((await t.deps.store.getGroup((creator as { id: string }).id))!.messages[0]))?.blocks);
    expect(text).toContain('compute1');
    expect(text).toContain('compute2');
  });

  it('hosts arriving one webhook each (Alertmanager grouped by instance) cost at most two card updates per host, not one per page', async () => {
    const t = setup();
    const n = 200;
    for (let i = 0; i < n; i++) {
      await receiveAlerts(t.deps, [alert(`node${String(i).padStart(3, '0')}`)], t.opts(BIG));
      await t.drain();
      t.advance(100);
    }
    expect(cards()).toHaveLength(Math.ceil(n / HOSTS_PER_MESSAGE));
    expect(slack.calls('chat.update').length).toBeLessThanOrEqual(2 * n);
    const group = (await t.all())[0]!.group!;
    const text = (await t.deps.store.getGroup(group))!.messages.map((ts) => JSON.stringify(slack.message(CHANNEL, ts)?.blocks)).join('\n');
    for (let i = 0; i < n; i++) expect(text).toContain(`node${String(i).padStart(3, '0')}`);
  });

  it('a request whose group was never recorded (a crash between the two writes) is still shown, on a card of its own', async () => {
    const t = setup([svc('compute1')]);
    const res = await openRequest(
      t.deps,
      { host: 'compute1', action: 'force-down', origin: { kind: 'alert', source: 'alertmanager', fingerprint: 'fp' }, requestedBy: 'alert:alertmanager', channel: CHANNEL, group: 'lost-group' },
      { card: false },
    );
    expect(res.kind).toBe('opened');
    t.advance(60_000);
    // The next alert for the host finds the open request without a card, and has it shown.
    await openRequest(t.deps, { host: 'compute1', action: 'force-down', origin: { kind: 'alert', source: 'alertmanager', fingerprint: 'fp' }, requestedBy: 'alert:alertmanager', channel: CHANNEL });
    await t.drain();
    expect(cards()).toHaveLength(1);
    expect(blocksText(cards()[0]!)).toContain('Force down compute1');
    expect((await t.all())[0]!.messageTs).toBeTruthy();
  });

  it('a grouped host confirmed on its own: one Nova call, its row shows ✅, the others stay pending', async () => {
    const t = setup([svc('compute1'), svc('compute2'), svc('compute3')]);
    await receiveAlerts(t.deps, ['compute1', 'compute2', 'compute3'].map((h) => alert(h)), t.opts());
    await t.drain();
    const target = (await t.all()).find((r) => r.host === 'compute2')!;
    const res = await confirmRequest(t.deps, { id: target.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    expect(res.kind).toBe('done');
    await t.drain();
    expect(t.novaCalls.put).toEqual([{ host: 'compute2', forcedDown: true }]);
    const last = blocksText(slack.calls('chat.update').at(-1)!);
    expect(last).toContain('forced down in Nova');
    expect(last).toMatch(/\*2\* pending/);
    expect((await t.deps.store.get(target.id))!.state).toBe('succeeded');
  });

  it('resolved while pending: the request is marked "alert resolved" and left for a human; Nova untouched', async () => {
    const t = setup([svc('compute1')]);
    await receiveAlerts(t.deps, [alert('compute1')], t.opts());
    await t.drain();
    t.advance(5_000);
    const r = await receiveAlerts(t.deps, [alert('compute1', { status: 'resolved' })], t.opts());
    expect(r).toMatchObject({ resolved: 1, recoveryChecks: 0 });
    await t.drain();
    const [req] = await t.all();
    expect(req).toMatchObject({ state: 'pending', alertResolvedAt: '2026-11-25T14:00:05.000Z' });
    expect(blocksText(slack.calls('chat.update').at(-1)!)).toContain('The alert resolved');
    expect(t.novaCalls.put).toEqual([]);
  });

  it('resolved for a host Nova has forced down: a recovery card offering Unset forced-down… (no Nova call); a host not forced down gets nothing', async () => {
    const t = setup([svc('compute1', { forcedDown: true }), svc('compute2')]);
    const r = await receiveAlerts(t.deps, [alert('compute1', { status: 'resolved' }), alert('compute2', { status: 'resolved' })], t.opts());
    expect(r).toMatchObject({ recoveryChecks: 2, opened: 0 });
    await t.drain();
    const open = await t.all();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ host: 'compute1', action: 'unset', state: 'pending' });
    expect(cards()).toHaveLength(1);
    expect(blocksText(cards()[0]!)).toContain('confirm_recovered');
    expect(t.novaCalls.put).toEqual([]);
  });

  it('auto mode goes through the heartbeat watch: a host still reporting to Nova is not forced down (HOST_STILL_REPORTING)', async () => {
    // compute1 reported 5 s after the alert's evidence was acted on: it is alive, whatever the label says.
    const t = setup([svc('compute1', { state: 'up', updatedAt: '2026-11-25T14:00:05.000000' })]);
    await receiveAlerts(t.deps, [alert('compute1', { fencedEvidence: true })], t.opts({ autoForceDown: true }));
    await t.drain();
    expect(t.novaCalls.put).toEqual([]);
    expect(await t.deps.store.findOpen('prod', 'compute1', 'force-down')).toMatchObject({ state: 'failed', outcome: { code: 'HOST_STILL_REPORTING' } });
  });

  it('auto mode forces down only hosts whose alert carries the evidence label, and only when the source opted in', async () => {
    const t = setup([svc('compute1'), svc('compute2'), svc('compute3')]);
    await receiveAlerts(t.deps, [alert('compute1', { fencedEvidence: true }), alert('compute2')], t.opts({ autoForceDown: true }));
    await t.drain();
    expect(t.novaCalls.put).toEqual([{ host: 'compute1', forcedDown: true }]);
    const byHost = new Map((await t.all()).map((r) => [r.host, r]));
    expect(byHost.get('compute1')).toMatchObject({ state: 'succeeded', confirmation: { by: AUTO_APPROVER, method: 'other' } });
    expect(byHost.get('compute2')).toMatchObject({ state: 'pending' });

    await receiveAlerts(t.deps, [alert('compute3', { fencedEvidence: true })], t.opts({ autoForceDown: false }));
    await t.drain();
    expect(t.novaCalls.put).toHaveLength(1);
    expect((await t.deps.store.findOpen('prod', 'compute3', 'force-down'))?.state).toBe('pending');
  });

  it('a Slack 429 while posting a storm delays the posts and loses none', async () => {
    const t = setup();
    const hosts = Array.from({ length: 100 }, (_, i) => `node${i}`);
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    await receiveAlerts(t.deps, hosts.map((h) => alert(h)), t.opts());
    await t.drain();
    const posted = cards().filter((c) => c.status === 200);
    expect(posted).toHaveLength(Math.ceil(100 / HOSTS_PER_MESSAGE));
    const text = posted.map(blocksText).join('\n');
    for (const h of hosts) expect(text).toContain(h);
  });
});

/** Every button of a message's blocks (row accessories and actions blocks). */
function buttons(blocks: unknown): { action_id: string; value?: string }[] {
  const out: { action_id: string; value?: string }[] = [];
  for (const b of (blocks ?? []) as { accessory?: { type: string; action_id: string; value?: string }; elements?: { type: string; action_id: string; value?: string }[] }[]) {
    if (b.accessory?.type === 'button') out.push(b.accessory);
    for (const e of b.elements ?? []) if (e.type === 'button') out.push(e);
  }
  return out;
}

const hostsNamed = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);

describe('alert floods (issue #11, finding 4): groups per source and alert name, a cap per card, a rate limit per source', () => {
  it("a flood under one alert name never takes in another alert's hosts: the real alert gets a card of its own, with its Confirm button", async () => {
    const t = setup([svc('compute1')]);
    // The attacker: 300 invented hosts from the generic source under the real alert's own name, and more under another name.
    const flood = await receiveAlerts(t.deps, hostsNamed('flood', 300).map((h) => alert(h, { source: 'generic', alertName: 'NodeDown' })), t.opts({ source: 'generic' }));
    expect(flood).toMatchObject({ opened: DEFAULT_GROUP_MAX_HOSTS, dropped: 300 - DEFAULT_GROUP_MAX_HOSTS, failed: 0 });
    const other = await receiveAlerts(t.deps, hostsNamed('noise', 20).map((h) => alert(h, { alertName: 'Noise' })), t.opts());
    expect(other).toMatchObject({ opened: 20, dropped: 0 });
    // The real alert, within the same grouping window.
    t.advance(2_000);
    const real = await receiveAlerts(t.deps, [alert('compute1', { alertName: 'NodeDown' })], t.opts());
    expect(real).toMatchObject({ opened: 1, dropped: 0 });
    await t.drain();

    const mine = (await t.deps.store.findOpen('prod', 'compute1', 'force-down'))!;
    const group = (await t.deps.store.getGroup(mine.group!))!;
    expect(group.members).toEqual([mine.id]);
    const card = slack.message(CHANNEL, mine.messageTs!)!;
    expect(JSON.stringify(card.blocks)).toContain('compute1');
    expect(JSON.stringify(card.blocks)).toContain('NodeDown');
    expect(JSON.stringify(card.blocks)).not.toMatch(/flood|noise/);
    expect(buttons(card.blocks)).toContainEqual(expect.objectContaining({ action_id: ACTION_IDS.confirmFenced, value: mine.id }));
    // Three cards: the flood's, the noise's, the real alert's.
    expect(new Set((await t.all()).map((r) => r.group)).size).toBe(3);
  });

  it('beyond the cap: no request, no row, no button; one summary line on the first page, counting every host left out', async () => {
    const t = setup();
    const first = await receiveAlerts(t.deps, hostsNamed('rack', 250).map((h) => alert(h)), t.opts());
    expect(first).toMatchObject({ opened: 100, dropped: 150 });
    await t.drain();
    const requests = await t.all();
    expect(requests).toHaveLength(100);
    const groupId = requests[0]!.group!;
    const pages = () => t.deps.store.getGroup(groupId).then((g) => g!.messages.map((ts) => slack.message(CHANNEL, ts)!));
    expect(await pages()).toHaveLength(Math.ceil(100 / HOSTS_PER_MESSAGE));
    // One Confirm fenced… per row (each row also has its Cancel; the card its Confirm all fenced… and Cancel all…).
    const rowButtons = (await pages()).flatMap((m) => buttons(m.blocks)).filter((b) => b.action_id === 'confirm_fenced');
    expect(rowButtons).toHaveLength(100);
    expect(new Set(rowButtons.map((b) => b.value))).toEqual(new Set(requests.map((r) => r.id)));
    const firstPage = () => pages().then((p) => JSON.stringify(p[0]!.blocks));
    expect(await firstPage()).toContain('and 150 more hosts: too many to act on one by one; check the alert source');

    // A second flood webhook for the full card: nothing recorded, the line counts them, a repeat still counts as a repeat.
    t.advance(5_000);
    const second = await receiveAlerts(t.deps, [...hostsNamed('more', 1000), 'rack00000'].map((h) => alert(h)), t.opts());
    expect(second).toMatchObject({ opened: 0, repeats: 1, dropped: 1000 });
    await t.drain();
    expect(await t.all()).toHaveLength(100);
    expect(await firstPage()).toContain('and 1,150 more hosts: too many to act on one by one; check the alert source');
    expect((await pages()).flatMap((m) => buttons(m.blocks)).filter((b) => b.action_id === 'confirm_fenced')).toHaveLength(100);
    expect(t.logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'alerts dropped: too many new hosts', source: 'alertmanager', dropped: 1000, overGroupCap: 1000, rateLimited: 0 }));
  });

  it('a flood against a full card costs one update per few seconds, not one per webhook; the line ends with every host left out', async () => {
    const t = setup();
    await receiveAlerts(t.deps, hostsNamed('full', 100).map((h) => alert(h)), t.opts());
    await t.drain();
    const before = { lists: t.novaCalls.list, updates: slack.calls('chat.update').length };
    for (let w = 0; w < 50; w++) {
      expect(await receiveAlerts(t.deps, hostsNamed(`wave${w}-`, 10).map((h) => alert(h)), t.opts())).toMatchObject({ opened: 0, dropped: 10 });
      t.advance(50); // 50 webhooks in 2.5 s
    }
    const refreshes = t.jobs.filter((j) => j.kind === 'show-group');
    expect(refreshes.length).toBeLessThanOrEqual(2);
    await t.drain();
    expect(t.novaCalls.list - before.lists).toBe(refreshes.length);
    expect(slack.calls('chat.update').length - before.updates).toBe(refreshes.length);
    const group = (await t.deps.store.getGroup((await t.all())[0]!.group!))!;
    expect(JSON.stringify(slack.message(CHANNEL, group.messages[0]!)!.blocks)).toContain('and 500 more hosts: too many to act on one by one; check the alert source');
  });

  it('webhooks racing for the last rows of one card never get more rows than the cap between them', async () => {
    const t = setup();
    await receiveAlerts(t.deps, hostsNamed('seed', 10).map((h) => alert(h)), t.opts());
    const racers = await Promise.all(Array.from({ length: 5 }, (_, i) => receiveAlerts(t.deps, hostsNamed(`race${i}-`, 50).map((h) => alert(h)), t.opts())));
    expect(racers.reduce((n, r) => n + r.opened, 0)).toBe(90);
    expect(racers.reduce((n, r) => n + (r.dropped ?? 0), 0)).toBe(160);
    const groups = new Set((await t.all()).map((r) => r.group));
    expect(groups.size).toBe(1);
    const group = (await t.deps.store.getGroup([...groups][0]!))!;
    expect(group.members).toHaveLength(100);
    expect(group.overflow).toBe(160);
  });

  it('a card alone with hosts left out is the grouped card (its summary line), not the single card', async () => {
    const t = setup();
    await receiveAlerts(t.deps, hostsNamed('one', 3).map((h) => alert(h)), t.opts({ groupMaxHosts: 1 }));
    await t.drain();
    const [only] = await t.all();
    const text = JSON.stringify(slack.message(CHANNEL, only!.messageTs!)!.blocks);
    expect(text).toContain('and 2 more hosts: too many to act on one by one; check the alert source');
    expect(text).toContain(only!.host);
  });

  it('a limit on new requests per source and minute: what it drops is counted in the answer and the log; other sources, repeats and the next minute are not limited', async () => {
    const t = setup();
    const o = (over: Partial<AlertIntakeOptions> = {}) => t.opts({ maxNewPerMinute: 50, groupMaxHosts: 1000, ...over });
    expect(await receiveAlerts(t.deps, hostsNamed('a', 30).map((h) => alert(h, { alertName: 'A' })), o())).toMatchObject({ opened: 30, dropped: 0 });
    const b = await receiveAlerts(t.deps, hostsNamed('b', 40).map((h) => alert(h, { alertName: 'B' })), o());
    expect(b).toMatchObject({ opened: 20, dropped: 20 });
    expect(t.logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'alerts dropped: too many new hosts', source: 'alertmanager', alertName: 'B', dropped: 20, rateLimited: 20, overGroupCap: 0, maxNewPerMinute: 50 }));
    // Another source has its own budget; repeats take none.
    expect(await receiveAlerts(t.deps, hostsNamed('c', 10).map((h) => alert(h, { source: 'generic', alertName: 'C' })), o({ source: 'generic' }))).toMatchObject({ opened: 10, dropped: 0 });
    expect(await receiveAlerts(t.deps, hostsNamed('a', 30).map((h) => alert(h, { alertName: 'A' })), o())).toMatchObject({ opened: 0, repeats: 30, dropped: 0 });
    expect(await receiveAlerts(t.deps, hostsNamed('x', 5).map((h) => alert(h, { alertName: 'X' })), o())).toMatchObject({ opened: 0, dropped: 5 });
    // The next minute: the hosts left out come in when their alert is sent again.
    t.advance(60_000);
    expect(await receiveAlerts(t.deps, hostsNamed('b', 40).map((h) => alert(h, { alertName: 'B' })), o())).toMatchObject({ opened: 20, repeats: 20, dropped: 0 });
    expect(await t.all()).toHaveLength(30 + 20 + 10 + 20);
  });

  it("a new card's first page is scheduled ahead of the channel's queue; continuation pages, updates and thread lines are not", async () => {
    const scheduled: { method: string; priority: boolean }[] = [];
    const inner = createChannelPacer({ minIntervalMs: 1, burst: 5 });
    const recording: ChannelPacer = {
      ...inner,
      schedule: <T>(channel: string, task: () => Promise<T>, options?: ScheduleOptions) =>
        inner.schedule(channel, async () => {
          const res = await task();
          const call = slack.calls().at(-1)!;
          scheduled.push({ method: call.body.thread_ts ? 'thread' : call.method, priority: options?.priority === true });
          return res;
        }, options),
    };
    const t = setup([], recording);
    await receiveAlerts(t.deps, hostsNamed('storm', 100).map((h) => alert(h)), t.opts());
    await t.drain();
    expect(scheduled).toEqual([
      { method: 'chat.postMessage', priority: true },
      ...Array.from({ length: Math.ceil(100 / HOSTS_PER_MESSAGE) - 1 }, () => ({ method: 'chat.postMessage', priority: false })),
      { method: 'thread', priority: false },
    ]);
    scheduled.length = 0;
    t.advance(1_000);
    await receiveAlerts(t.deps, [alert('late1')], t.opts());
    await t.drain();
    expect(scheduled.filter((c) => c.method === 'chat.update').every((c) => !c.priority)).toBe(true);
    expect(scheduled.filter((c) => c.method === 'chat.postMessage')).toEqual([]);

    // Fair among sources: another card from the same source soon after waits its turn; another source's goes ahead.
    scheduled.length = 0;
    await receiveAlerts(t.deps, [alert('other1', { alertName: 'Other' })], t.opts());
    await receiveAlerts(t.deps, [alert('grafana1', { source: 'grafana', alertName: 'Other' })], t.opts({ source: 'grafana' }));
    await t.drain();
    expect(scheduled.filter((c) => c.method === 'chat.postMessage')).toEqual([
      { method: 'chat.postMessage', priority: false },
      { method: 'chat.postMessage', priority: true },
    ]);
  });
});

describe('resolved webhooks share Nova lookups (issue #11, finding 7)', () => {
  it('200 resolved webhooks in a burst: one Nova service list, not 200; one recovery card for the host Nova has forced down', async () => {
    const t = setup([svc('compute9', { forcedDown: true }), svc('compute8')]);
    t.novaCalls.listDelayMs = 5; // the list is in flight while the others ask
    const hosts = [...Array.from({ length: 198 }, (_, i) => `quiet${i}`), 'compute8', 'compute9'];
    const receipts = await Promise.all(hosts.map((h) => receiveAlerts(t.deps, [alert(h, { status: 'resolved' })], t.opts())));
    expect(receipts.reduce((n, r) => n + r.recoveryChecks, 0)).toBe(200);
    const checks = t.jobs.splice(0).filter((j) => j.kind === 'alert-recovery');
    expect(checks).toHaveLength(200);
    // The worker runs them at once (Lambda's async invokes, the local queue).
    await Promise.all(checks.map((j) => runJob(t.deps, j)));
    await t.drain();
    expect(t.novaCalls.list).toBeLessThanOrEqual(2); // the recovery checks' one, and the recovery card's own render
    const open = await t.all();
    expect(open).toEqual([expect.objectContaining({ host: 'compute9', action: 'unset', state: 'pending' })]);
    expect(cards()).toHaveLength(1);
  });

  it('the shared list is used for a few seconds only: a resolved alert after that reads Nova again', async () => {
    const t = setup([svc('compute8')]);
    await receiveAlerts(t.deps, [alert('compute8', { status: 'resolved' })], t.opts());
    await t.drain();
    expect(t.novaCalls.list).toBe(1);
    t.advance(SHARED_LIST_TTL_MS - 1);
    await receiveAlerts(t.deps, [alert('compute8', { status: 'resolved' })], t.opts());
    await t.drain();
    expect(t.novaCalls.list).toBe(1);
    t.advance(2);
    t.table.get('compute8')!.forcedDown = true;
    await receiveAlerts(t.deps, [alert('compute8', { status: 'resolved' })], t.opts());
    await t.drain();
    expect(t.novaCalls.list).toBeGreaterThanOrEqual(2);
    expect(await t.all()).toEqual([expect.objectContaining({ host: 'compute8', action: 'unset' })]);
  });
});
