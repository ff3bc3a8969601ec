import { describe, expect, it } from 'vitest';
import { confirmRequest, openRequest } from '../../../src/app/requests.js';
import { forcedDownHosts } from '../../../src/app/reminders.js';
import { runJob } from '../../../src/app/worker.js';
import { fail } from '../../../src/domain/failure.js';
import type { NovaGateway } from '../../../src/app/ports.js';
import { APPROVER, fakeNova, setup, slash, svc } from './harness.js';

const HOUR = 3_600_000;

type Bench = ReturnType<typeof setup>;

/** Opens, confirms and runs a request through the use cases; returns its id. */
async function through(t: Bench, host: string, action: 'force-down' | 'unset' = 'force-down'): Promise<string> {
  const opened = await openRequest(t.deps, slash({ host, action }));
  if (opened.kind !== 'opened') throw new Error(`not opened: ${opened.kind}`);
  await t.drain();
  const confirmed = await confirmRequest(t.deps, { id: opened.request.id, userId: APPROVER, userGroups: new Set(), ...(action === 'force-down' ? { method: 'bmc' as const } : {}) });
  if (confirmed.kind !== 'done') throw new Error(`not confirmed: ${confirmed.kind}`);
  await t.drain();
  const done = await t.deps.store.get(opened.request.id);
  if (done?.state !== 'succeeded') throw new Error(`not succeeded: ${done?.state}`);
  return opened.request.id;
}

const sweep = (t: Bench) => runJob(t.deps, { kind: 'sweep' });

const bench = (hosts = ['compute1', 'compute2']) => setup({ remindEveryMs: 24 * HOUR }, { nova: fakeNova(hosts.map((h) => svc(h))) });

describe('reminders of hosts left forced down (the sweep)', () => {
  it('nothing before a period; then one reminder per period, in the card of the force-down, saying how long', async () => {
    const t = bench();
    const id = await through(t, 'compute1');
    const forcedAt = t.now();
    t.advance(23 * HOUR);
    await sweep(t);
    expect(t.reminders).toEqual([]);

    t.advance(HOUR);
    await sweep(t);
    expect(t.reminders).toEqual([{ id, host: 'compute1', forcedDownForMs: t.now() - forcedAt }]);
    expect(t.reminders[0]!.forcedDownForMs).toBe(24 * HOUR);

    // Sweeps every minute within the same period: no more.
    for (let i = 0; i < 5; i++) {
      t.advance(60_000);
      await sweep(t);
    }
    expect(t.reminders).toHaveLength(1);

    t.advance(24 * HOUR);
    await sweep(t);
    expect(t.reminders.map((r) => r.forcedDownForMs)).toEqual([24 * HOUR, 48 * HOUR + 5 * 60_000]);
  });

  it('two sweeps at once (two workers): one reminder', async () => {
    const t = bench();
    await through(t, 'compute1');
    t.advance(26 * HOUR);
    await Promise.all([sweep(t), sweep(t), sweep(t)]);
    expect(t.reminders).toHaveLength(1);
    expect(t.reminders[0]!.forcedDownForMs).toBe(26 * HOUR);
  });

  it('a host down for several periods while nobody swept gets one reminder, not one per missed period', async () => {
    const t = bench();
    await through(t, 'compute1');
    t.advance(24 * HOUR * 5 + HOUR);
    await sweep(t);
    await sweep(t);
    expect(t.reminders).toHaveLength(1);
  });

  it('a host unset through force-down is not reminded of; forced down again, its time starts anew', async () => {
    const t = bench();
    await through(t, 'compute1');
    t.advance(HOUR);
    await through(t, 'compute1', 'unset');
    t.advance(30 * HOUR);
    await sweep(t);
    expect(t.reminders).toEqual([]);

    const again = await through(t, 'compute1');
    t.advance(24 * HOUR);
    await sweep(t);
    expect(t.reminders).toEqual([{ id: again, host: 'compute1', forcedDownForMs: 24 * HOUR }]);
  });

  it("a host someone unset by hand in Nova is not nagged about; Nova's list is read once per cloud per sweep, and only when a reminder is due", async () => {
    const t = bench();
    await through(t, 'compute1');
    await through(t, 'compute2');
    const lists = t.nova.reads.list;
    t.advance(HOUR);
    await sweep(t);
    expect(t.nova.reads.list).toBe(lists); // nothing due: Nova not asked

    t.nova.hosts.compute2!.forcedDown = false; // `openstack compute service set --unset-force-down`, by hand
    t.advance(24 * HOUR);
    await sweep(t);
    expect(t.nova.reads.list).toBe(lists + 1);
    expect(t.reminders.map((r) => r.host)).toEqual(['compute1']);
  });

  it('when Nova cannot be read, our records decide (and say so in the log)', async () => {
    const nova = fakeNova([svc('compute1')]);
    const down: NovaGateway = { ...nova.gateway, listComputeServices: async () => fail({ code: 'NOVA_UNAVAILABLE', message: 'Nova is down' }) };
    let broken = false;
    const t = setup({ remindEveryMs: 24 * HOUR, nova: (c) => (c === 'prod' ? (broken ? down : nova.gateway) : undefined) }, { nova });
    await through(t, 'compute1');
    broken = true;
    t.advance(24 * HOUR);
    await sweep(t);
    expect(t.reminders.map((r) => r.host)).toEqual(['compute1']);
    expect(t.logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'reminders: Nova not read, reminding from our records', code: 'NOVA_UNAVAILABLE' }));
  });

  it('without FORCE_DOWN_REMIND_HOURS wired (remindEveryMs absent) the sweep reminds of nothing', async () => {
    const t = setup({}, { nova: fakeNova([svc('compute1')]) });
    await through(t, 'compute1');
    t.advance(100 * HOUR);
    await sweep(t);
    expect(t.reminders).toEqual([]);
  });

  it('forcedDownHosts: since the first force-down after the last unset, shown on the latest card; per cloud and host', async () => {
    const t = bench();
    const first = await through(t, 'compute1');
    const since = (await t.deps.store.get(first))!.history.at(-1)!.at;
    t.advance(HOUR);
    // A second force-down of the same host (Nova keeps it forced down): the time counts from the first.
    const second = await through(t, 'compute1');
    const hosts = await forcedDownHosts(t.deps);
    expect([...hosts.values()].map((h) => ({ host: h.host, since: new Date(h.since).toISOString(), id: h.request.id }))).toEqual([
      { host: 'compute1', since, id: second },
    ]);
    expect((await forcedDownHosts(t.deps, 'other')).size).toBe(0);
  });
});

describe('the list job', () => {
  it('hands the notifier Nova\'s list, the page asked for, and when our records say each host was forced down', async () => {
    const t = bench();
    await through(t, 'compute1');
    const forcedAt = t.now();
    t.advance(5 * HOUR);
    const replies: { cloud: string; page: number | undefined; since: [string, number][]; ok: boolean }[] = [];
    t.deps.notifier.replyList = async (_url, cloud, result, list) => void replies.push({ cloud, page: list?.page, since: [...(list?.forcedDownSince ?? [])], ok: result.ok });
    await runJob(t.deps, { kind: 'list', cloud: 'prod', responseUrl: 'https://hooks.slack.com/commands/T0/1/x', page: 3 });
    await runJob(t.deps, { kind: 'list', cloud: 'prod', responseUrl: 'https://hooks.slack.com/commands/T0/1/x' });
    expect(replies).toEqual([
      { cloud: 'prod', page: 3, since: [['compute1', forcedAt]], ok: true },
      { cloud: 'prod', page: 1, since: [['compute1', forcedAt]], ok: true },
    ]);
  });
});
