// The expiry sweep over grouped cards (issue #11, finding 5): the members of a group that expire in one
// sweep are shown once for the group — one Nova list, one update per page, one thread line — not host by
// host. The real Slack cards and notifier against the fake Slack Web API, on the shared bench (harness.ts).
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REFRESH_GROUP_MAX_IDS, expireRequests, openRequest } from '../../../src/app/requests.js';
import { runJob } from '../../../src/app/worker.js';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { HOSTS_PER_MESSAGE } from '../../../src/slack/group-card.js';
import { fakeNova, setup as bench, svc } from './harness.js';
import { createChannelPacer } from '../../../src/slack/pacer.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';

const CHANNEL = 'C0ONCALL01';
const TTL_MS = 30 * 60_000;

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(async () => slack.close());
beforeEach(() => slack.reset());

function setup() {
  let seq = 0;
  // Nova finds every host the tests open (and lists them); the sweep must never change it.
  const nova = fakeNova({}, { anyHost: true, readOnly: 'the expiry sweep never changes Nova' });
  const client = new WebClient('xoxb-unit-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const t = bench(
    {
      policy: { approverUsers: new Set(['U0APPROVER']), approverGroups: new Set(), twoPerson: true },
      allowedChannels: new Set([CHANNEL]),
      ttlMs: TTL_MS,
      newId: () => `id-${String(++seq).padStart(4, '0')}`,
    },
    { nova, slack: { client, pacer: createChannelPacer({ minIntervalMs: 1, burst: 5 }) } },
  );
  const { deps, jobs, drain } = t;

  /** `n` hosts opened into one group and its card posted, as the alert intake does (one show-group job). */
  async function group(n: number, prefix = 'node', record = true): Promise<{ id: string; members: ForceDownRequest[] }> {
    const id = `grp-${++seq}`;
    const members: ForceDownRequest[] = [];
    for (let i = 0; i < n; i++) {
      const host = `${prefix}${String(i).padStart(3, '0')}`;
      nova.hosts[host] = svc(host);
      const res = await openRequest(
        deps,
        { host, action: 'force-down', origin: { kind: 'alert', source: 'alertmanager', fingerprint: `fp-${host}`, alertName: 'HostDown' }, requestedBy: 'alertmanager', channel: CHANNEL, group: id },
        { card: false },
      );
      if (res.kind !== 'opened') throw new Error(res.kind);
      members.push(res.request);
    }
    if (record) {
      await deps.store.createGroup({ id, channel: CHANNEL, title: 'HostDown', createdAt: members[0]!.createdAt, members: members.map((m) => m.id), messages: [] });
      await runJob(deps, { kind: 'show-group', id, joined: members.map((m) => m.id) });
    }
    return { id, members };
  }

  /** Nova's reads: service lists and single-host lookups. */
  const reads = {
    get lists() {
      return nova.reads.list;
    },
    get gets() {
      return nova.reads.get;
    },
  };
  return { deps, jobs, drain, nova: reads, group, advance: t.advance };
}

/** Slack calls made from now on. */
function since() {
  const mark = slack.calls().length;
  const calls = () => slack.calls().slice(mark).filter((c) => c.status === 200 && c.error === undefined);
  return {
    updates: () => calls().filter((c) => c.method === 'chat.update'),
    posts: () => calls().filter((c) => c.method === 'chat.postMessage'),
  };
}

const pageText = (ts: string) => JSON.stringify(slack.message(CHANNEL, ts)?.blocks);

describe('the expiry sweep over a grouped card', () => {
  it('expires a 200-host group in one refresh-group job: one Nova list, one update per page, one thread line; every row shows expired', async () => {
    const t = setup();
    const { id, members } = await t.group(200);
    const pages = Math.ceil(200 / HOSTS_PER_MESSAGE);
    const { messages } = (await t.deps.store.getGroup(id))!;
    expect(messages).toHaveLength(pages);
    for (const ts of messages) expect(pageText(ts)).not.toContain('expired at');

    t.advance(TTL_MS + 60_000);
    const lists = t.nova.lists;
    const after = since();
    expect(await expireRequests(t.deps)).toBe(200);
    // One job for the group, none per host.
    expect(t.jobs).toEqual([{ kind: 'refresh-group', id, ids: members.map((m) => m.id) }]);
    await t.drain();

    expect(t.nova.lists - lists).toBe(1);
    expect(t.nova.gets).toBe(0);
    expect(after.updates().map((c) => c.body.ts)).toEqual(messages);
    expect(after.posts()).toHaveLength(1);
    const [line] = after.posts();
    expect(line!.body.thread_ts).toBe(messages[0]);
    expect(String(line!.body.text)).toMatch(/the requests to force down 200 hosts expired unconfirmed · hosts: \*node000\*, \*node001\*/);
    expect(String(line!.body.text).length).toBeLessThanOrEqual(3000);
    // The final card: every row expired, every host still named.
    const text = messages.map(pageText).join('\n');
    for (const m of members) expect(text).toContain(m.host);
    expect(text.match(/expired at/g)).toHaveLength(200);
    for (const m of members) expect((await t.deps.store.get(m.id))!.state).toBe('expired');
  });

  it('only the pages holding expired rows, and the first, are updated', async () => {
    const t = setup();
    const { id, members } = await t.group(3 * HOSTS_PER_MESSAGE);
    const { messages } = (await t.deps.store.getGroup(id))!;
    // The last page's hosts were confirmed, so only page 2's rows (and the counts on page 1) change.
    for (const m of members.slice(0, 2 * HOSTS_PER_MESSAGE)) await t.deps.store.transition(m.id, ['pending'], 'cancelled', new Date(Date.UTC(2026, 10, 25, 14, 1)).toISOString(), {}, 'U0APPROVER');
    t.advance(TTL_MS + 60_000);
    const after = since();
    expect(await expireRequests(t.deps)).toBe(HOSTS_PER_MESSAGE);
    await t.drain();
    expect(after.updates().map((c) => c.body.ts)).toEqual([messages[0], messages[2]]);
    expect(after.posts()).toHaveLength(1);
    expect(String(after.posts()[0]!.body.text)).toContain(`${HOSTS_PER_MESSAGE} hosts expired unconfirmed`);
  });

  it('a line for a thousand hosts stays one message: as many names as fit, then how many more', async () => {
    const t = setup();
    const { id } = await t.group(1000, 'a-rather-long-compute-host-name-in-rack-');
    t.advance(TTL_MS + 60_000);
    const after = since();
    await expireRequests(t.deps);
    await t.drain();
    const [line] = after.posts();
    expect(after.posts()).toHaveLength(1);
    const text = String(line!.body.text);
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text).toContain('1000 hosts expired unconfirmed');
    const named = text.match(/\*a-rather-long-compute-host-name-in-rack-\d+\*/g)!.length;
    expect(text).toContain(` and ${1000 - named} more`);
    expect(after.updates()).toHaveLength((await t.deps.store.getGroup(id))!.messages.length);
  });

  it(`a group larger than ${REFRESH_GROUP_MAX_IDS} members is handed over in jobs of at most ${REFRESH_GROUP_MAX_IDS} ids (a Lambda job stays small)`, async () => {
    const t = setup();
    const { id, members } = await t.group(REFRESH_GROUP_MAX_IDS + 5, 'big', false);
    t.advance(TTL_MS + 60_000);
    await expireRequests(t.deps);
    expect(t.jobs.map((j) => (j.kind === 'refresh-group' ? [j.id, j.ids.length] : j.kind))).toEqual([
      [id, REFRESH_GROUP_MAX_IDS],
      [id, 5],
    ]);
    expect(t.jobs.flatMap((j) => (j.kind === 'refresh-group' ? j.ids : []))).toEqual(members.map((m) => m.id));
  });

  it('a request on a card of its own still gets its own refresh and thread line; two groups get one job each', async () => {
    const t = setup();
    const single = await openRequest(t.deps, { host: 'lonely1', action: 'force-down', origin: { kind: 'slash', userId: 'U0REQUEST', channelId: CHANNEL }, requestedBy: 'U0REQUEST', channel: CHANNEL });
    await t.drain();
    const a = await t.group(3, 'a');
    const b = await t.group(2, 'b');
    t.advance(TTL_MS + 60_000);
    expect(await expireRequests(t.deps)).toBe(6);
    expect(t.jobs.map((j) => [j.kind, 'id' in j ? j.id : ''])).toEqual([
      ['refresh-card', single.kind === 'opened' ? single.request.id : ''],
      ['refresh-group', a.id],
      ['refresh-group', b.id],
    ]);
    const after = since();
    await t.drain();
    // One line in each thread: the single card's, and one per group.
    const lines = after.posts().map((c) => c.body.thread_ts);
    expect(new Set(lines).size).toBe(3);
    expect(lines).toHaveLength(3);
  });

  it('members whose group was never recorded are each shown on a card of their own', async () => {
    const t = setup();
    const { id, members } = await t.group(2, 'orphan', false);
    t.advance(TTL_MS + 60_000);
    await expireRequests(t.deps);
    expect(t.jobs).toEqual([{ kind: 'refresh-group', id, ids: members.map((m) => m.id) }]);
    const after = since();
    await t.drain();
    // No card was ever posted (no ts): render posts each one's card.
    const cards = after.posts().filter((c) => c.body.thread_ts === undefined);
    expect(cards).toHaveLength(2);
    for (const [i, m] of members.entries()) expect(JSON.stringify(cards[i]!.body.blocks)).toContain(m.host);
  });
});
