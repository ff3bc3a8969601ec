// Issue 15, "Many hosts at once": Confirm all fenced… and Cancel all… on a grouped card. Each host is
// still its own request: one confirmation and one execute job per host (exactly once, however often the
// form is submitted), Cancel all touches only pending rows and never Nova.
import { describe, expect, it } from 'vitest';
import { cancelGroup, confirmMany, openBulkConfirmation } from '../../../src/app/bulk.js';
import { openRequest } from '../../../src/app/requests.js';
import { runJob } from '../../../src/app/worker.js';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { APPROVER, fakeNova, setup } from './harness.js';

const OUTSIDER = 'U_OUTSIDER';
const LIMIT = 100;

function bench() {
  const nova = fakeNova({}, { anyHost: true });
  const t = setup({}, { nova });
  /** `n` pending force-downs from one alert, in group `id`, as the alert intake opens them. */
  async function group(n: number, id = 'grp-1', prefix = 'rack'): Promise<{ id: string; members: ForceDownRequest[] }> {
    const members: ForceDownRequest[] = [];
    for (let i = 0; i < n; i++) {
      const host = `${prefix}${String(i + 1).padStart(3, '0')}`;
      const res = await openRequest(
        t.deps,
        { host, action: 'force-down', origin: { kind: 'alert', source: 'alertmanager', fingerprint: `fp-${host}`, alertName: 'RackDown' }, requestedBy: 'alertmanager', channel: 'C_ONCALL', group: id },
        { card: false },
      );
      if (res.kind !== 'opened') throw new Error(res.kind);
      members.push(res.request);
    }
    await t.deps.store.createGroup({ id, channel: 'C_ONCALL', title: 'RackDown', createdAt: members[0]!.createdAt, members: members.map((m) => m.id), messages: ['1700000000.000001'] });
    return { id, members };
  }
  const open = async (id: string, userId = APPROVER) => {
    const res = await openBulkConfirmation(t.deps, { group: id, userId, userGroups: new Set(), limit: LIMIT });
    if (res.kind !== 'opened') throw new Error(`refused: ${res.refusal}`);
    return res;
  };
  const submit = (id: string, form: string, ids: readonly string[], userId = APPROVER) =>
    confirmMany(t.deps, { group: id, ids, form, userId, userGroups: new Set(), method: 'pdu', note: 'rack PDU A+B off' });
  const executeJobs = () => t.jobs.filter((j) => j.kind === 'execute');
  return { t, nova, group, open, submit, executeJobs };
}

describe('Confirm all fenced…', () => {
  it('12 pending hosts: one form lists all 12 (sorted); its submission records 12 confirmations and hands over 12 execute jobs; Nova is called by the worker, once per host', async () => {
    const { t, nova, group, open, submit, executeJobs } = bench();
    const { id, members } = await group(12);
    const form = await open(id);
    expect(form.requests.map((r) => r.host)).toEqual(members.map((m) => m.host));
    expect(form.more).toBe(0);
    expect(nova.calls).toHaveLength(0); // opening the form never calls Nova

    const res = await submit(id, form.form, form.requests.map((r) => r.id));
    expect(res.confirmed).toHaveLength(12);
    expect(res.refused).toEqual([]);
    for (const m of members) {
      const r = (await t.deps.store.get(m.id))!;
      expect(r.state).toBe('approved');
      expect(r.confirmation).toMatchObject({ by: APPROVER, method: 'pdu', note: 'rack PDU A+B off' });
      expect(r.history.filter((h) => h.state === 'approved')).toHaveLength(1);
    }
    expect(executeJobs().map((j) => (j as { id: string }).id).sort()).toEqual(members.map((m) => m.id).sort());

    // The worker: the same execute path as a single confirmation (heartbeat watch, Nova's PUT), once per host.
    for (const job of executeJobs()) await runJob(t.deps, job);
    expect(nova.calls.map((c) => c.host).sort()).toEqual(members.map((m) => m.host).sort());
    for (const m of members) expect((await t.deps.store.get(m.id))!.state).toBe('succeeded');
  });

  it('the approver may remove hosts: only the selected ones are confirmed; the others stay pending for a later form', async () => {
    const { t, group, open, submit, executeJobs } = bench();
    const { id, members } = await group(12);
    const form = await open(id);
    const kept = form.requests.slice(0, 10).map((r) => r.id);
    expect((await submit(id, form.form, kept)).confirmed).toHaveLength(10);
    expect(executeJobs()).toHaveLength(10);
    for (const m of members.slice(10)) expect((await t.deps.store.get(m.id))!.state).toBe('pending');
    const next = await open(id);
    expect(next.requests.map((r) => r.id)).toEqual(members.slice(10).map((m) => m.id));
  });

  it('a double submission (sequential, then concurrent) confirms each host once: one confirmation and one execute job per host', async () => {
    const { t, group, open, submit, executeJobs } = bench();
    const { id, members } = await group(12);
    const form = await open(id);
    const ids = form.requests.map((r) => r.id);
    const [a, b] = await Promise.all([submit(id, form.form, ids), submit(id, form.form, ids)]);
    expect(a.confirmed.length + b.confirmed.length).toBe(12);
    const again = await submit(id, form.form, ids);
    expect(again.confirmed).toEqual([]);
    expect(new Set(again.refused.map((r) => r.refusal))).toEqual(new Set(['FORM_OUT_OF_DATE']));
    expect(executeJobs()).toHaveLength(12);
    for (const m of members) expect((await t.deps.store.get(m.id))!.history.filter((h) => h.state === 'approved')).toHaveLength(1);
  });

  it('a non-approver can neither open the form nor submit an approver\'s: nothing confirmed, no job', async () => {
    const { t, group, open, submit, executeJobs } = bench();
    const { id, members } = await group(12);
    expect(await openBulkConfirmation(t.deps, { group: id, userId: OUTSIDER, userGroups: new Set(), limit: LIMIT })).toMatchObject({ kind: 'refused', refusal: 'NOT_AUTHORIZED' });
    const form = await open(id);
    const res = await submit(id, form.form, form.requests.map((r) => r.id), OUTSIDER);
    expect(res.confirmed).toEqual([]);
    expect(res.refused).toHaveLength(12);
    expect(new Set(res.refused.map((r) => r.refusal))).toEqual(new Set(['NOT_AUTHORIZED']));
    expect(executeJobs()).toEqual([]);
    for (const m of members) expect((await t.deps.store.get(m.id))!.state).toBe('pending');
  });

  it('a host the form was not opened for (another group\'s, or opened after it) is refused', async () => {
    const { t, group, open, submit, executeJobs } = bench();
    const { id } = await group(3, 'grp-a');
    const other = await group(2, 'grp-b', 'other');
    const form = await open(id);
    const res = await submit(id, form.form, [...form.requests.map((r) => r.id), ...other.members.map((m) => m.id), 'no-such-id']);
    expect(res.confirmed).toHaveLength(3);
    expect(res.refused.map((r) => r.refusal)).toEqual(['REQUEST_NOT_FOUND', 'REQUEST_NOT_FOUND', 'REQUEST_NOT_FOUND']);
    expect(executeJobs()).toHaveLength(3);
    for (const m of other.members) expect((await t.deps.store.get(m.id))!.state).toBe('pending');
  });

  it('150 pending hosts: the first form holds the first 100 by name and says 50 more; once those are confirmed, the next form holds the other 50', async () => {
    const { group, open, submit, executeJobs } = bench();
    const { id, members } = await group(150);
    const sorted = [...members].sort((a, b) => (a.host < b.host ? -1 : 1));
    const first = await open(id);
    expect(first.requests.map((r) => r.host)).toEqual(sorted.slice(0, 100).map((m) => m.host));
    expect(first.more).toBe(50);
    expect((await submit(id, first.form, first.requests.map((r) => r.id))).confirmed).toHaveLength(100);
    const second = await open(id);
    expect(second.requests.map((r) => r.host)).toEqual(sorted.slice(100).map((m) => m.host));
    expect(second.more).toBe(0);
    expect((await submit(id, second.form, second.requests.map((r) => r.id))).confirmed).toHaveLength(50);
    expect(executeJobs()).toHaveLength(150);
  });

  it('nothing pending: the form is refused ALREADY_HANDLED', async () => {
    const { t, group, open, submit } = bench();
    const { id } = await group(2);
    const form = await open(id);
    await submit(id, form.form, form.requests.map((r) => r.id));
    expect(await openBulkConfirmation(t.deps, { group: id, userId: APPROVER, userGroups: new Set(), limit: LIMIT })).toMatchObject({ kind: 'refused', refusal: 'ALREADY_HANDLED' });
  });
});

describe('Cancel all…', () => {
  it('cancels every pending row, leaves the confirmed ones as they are, calls Nova 0 times, and refreshes the card once for all of them', async () => {
    const { t, nova, group, open, submit } = bench();
    const { id, members } = await group(12);
    const form = await open(id);
    const confirmed = form.requests.slice(0, 2).map((r) => r.id);
    await submit(id, form.form, confirmed);
    t.jobs.length = 0;

    const res = await cancelGroup(t.deps, { group: id, userId: APPROVER, userGroups: new Set() });
    if ('kind' in res) throw new Error(res.refusal);
    expect(res.cancelled.map((r) => r.id).sort()).toEqual(members.slice(2).map((m) => m.id).sort());
    expect(res.refused).toEqual([]);
    for (const m of members) expect((await t.deps.store.get(m.id))!.state).toBe(confirmed.includes(m.id) ? 'approved' : 'cancelled');
    for (const m of members.slice(2)) expect((await t.deps.store.get(m.id))!.history.at(-1)).toMatchObject({ state: 'cancelled', by: APPROVER });
    // One refresh for the group, naming every cancelled row; no execute job, no Nova call.
    expect(t.jobs).toEqual([{ kind: 'refresh-group', id, ids: members.slice(2).map((m) => m.id) }]);
    expect(nova.calls).toEqual([]);
    // A second Cancel all finds nothing pending.
    const again = await cancelGroup(t.deps, { group: id, userId: APPROVER, userGroups: new Set() });
    expect(again).toMatchObject({ cancelled: [], expired: [] });
  });

  it('a user who may not cancel (not an approver, not the requester) cancels nothing', async () => {
    const { t, group } = bench();
    const { id, members } = await group(5);
    const res = await cancelGroup(t.deps, { group: id, userId: OUTSIDER, userGroups: new Set() });
    if ('kind' in res) throw new Error(res.refusal);
    expect(res.cancelled).toEqual([]);
    expect(res.refused.map((r) => r.refusal)).toEqual(Array(5).fill('NOT_AUTHORIZED'));
    for (const m of members) expect((await t.deps.store.get(m.id))!.state).toBe('pending');
    expect(t.jobs).toEqual([]);
  });

  it('rows past their expiry are recorded expired, not cancelled; an unknown group is refused', async () => {
    const { t, group } = bench();
    const { id, members } = await group(3);
    t.advance(31 * 60_000);
    const res = await cancelGroup(t.deps, { group: id, userId: APPROVER, userGroups: new Set() });
    if ('kind' in res) throw new Error(res.refusal);
    expect(res.expired).toHaveLength(3);
    for (const m of members) expect((await t.deps.store.get(m.id))!.state).toBe('expired');
    expect(await cancelGroup(t.deps, { group: 'nope', userId: APPROVER, userGroups: new Set() })).toEqual({ kind: 'refused', refusal: 'REQUEST_NOT_FOUND' });
  });
});
