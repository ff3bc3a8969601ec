import { describe, expect, it } from 'vitest';
import { cancelRequest, confirmRequest, expireRequests, openRequest } from '../../../src/app/requests.js';
import { runJob } from '../../../src/app/worker.js';
import { APPROVER, REQUESTER, setup, slash } from './harness.js';

describe('request lifecycle (use cases over the memory store)', () => {
  it('open → card with Nova\'s view → confirm → exactly one Nova call → succeeded card and audit', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    expect(opened).toMatchObject({ kind: 'opened', request: { state: 'pending', host: 'compute1', cloud: 'prod' } });
    expect(t.nova.calls).toEqual([]); // opening never calls Nova's force-down
    await t.drain();
    const id = opened.kind === 'opened' ? opened.request.id : '';
    expect((await t.deps.store.get(id))?.messageTs).toMatch(/^1700000000\./);

    const confirmed = await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc', note: 'ipmitool chassis power off' });
    expect(confirmed).toMatchObject({ kind: 'done', request: { state: 'approved', confirmation: { by: APPROVER, method: 'bmc' } } });
    await t.drain();

    expect(t.nova.calls).toEqual([{ host: 'compute1', forcedDown: true }]);
    const final = await t.deps.store.get(id);
    expect(final).toMatchObject({ state: 'succeeded', outcome: { code: 'OK', request: 'PUT /os-services/{id}', microversion: '2.53' } });
    expect(final?.history.map((h) => h.state)).toEqual(['pending', 'approved', 'executing', 'succeeded']);
    expect(t.renders.map((r) => r.state)).toEqual(['pending', 'executing', 'succeeded']);
    expect(t.audits.map((a) => a.entry.state)).toEqual(['pending', 'approved', 'succeeded']);
  });

  it('an overdue open request does not block a new one; a card never posted is posted again', async () => {
    const t = setup();
    const first = await openRequest(t.deps, slash());
    t.jobs.length = 0; // the show-card job was lost (crash before the worker ran)
    expect((await openRequest(t.deps, slash())).kind).toBe('exists');
    expect(t.jobs).toEqual([]); // too early to call it lost: its job may still be running
    t.advance(31_000);
    const again = await openRequest(t.deps, slash());
    expect(again.kind).toBe('exists');
    expect(t.jobs).toEqual([{ kind: 'show-card', id: first.kind === 'opened' ? first.request.id : '' }]);
    await t.drain();
    t.advance(31 * 60_000); // past the TTL, before any sweep
    const fresh = await openRequest(t.deps, slash());
    expect(fresh.kind).toBe('opened');
    expect((await t.deps.store.get(first.kind === 'opened' ? first.request.id : ''))?.state).toBe('expired');
  });

  it('a second /force-down for the same host points at the open request', async () => {
    const t = setup();
    const first = await openRequest(t.deps, slash());
    const second = await openRequest(t.deps, slash({ requestedBy: 'U_OTHER' }));
    expect(second).toMatchObject({ kind: 'exists', request: { id: first.kind === 'opened' ? first.request.id : 'x' } });
    expect((await openRequest(t.deps, slash({ action: 'unset' }))).kind).toBe('opened');
  });

  it('50 concurrent confirmations → one approval, one Nova call', async () => {
    const t = setup({ policy: { approverUsers: new Set(Array.from({ length: 50 }, (_, i) => `U${i}`)), approverGroups: new Set(), twoPerson: true } });
    const opened = await openRequest(t.deps, slash());
    const id = opened.kind === 'opened' ? opened.request.id : '';
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => confirmRequest(t.deps, { id, userId: `U${i}`, userGroups: new Set(), method: 'pdu' })));
    expect(results.filter((r) => r.kind === 'done')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'refused' && r.refusal === 'ALREADY_HANDLED')).toHaveLength(49);
    // Duplicate execute jobs (a Lambda async retry) still make one call.
    t.jobs.push({ kind: 'execute', id }, { kind: 'execute', id });
    await Promise.all([t.drain(), runJob(t.deps, { kind: 'execute', id })]);
    expect(t.nova.calls).toHaveLength(1);
  });

  it('refuses unauthorized users and the requester under the two-person rule; nothing changes', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    const id = opened.kind === 'opened' ? opened.request.id : '';
    expect(await confirmRequest(t.deps, { id, userId: 'U_RANDOM', userGroups: new Set() })).toMatchObject({ kind: 'refused', refusal: 'NOT_AUTHORIZED' });
    expect(await confirmRequest(t.deps, { id, userId: REQUESTER, userGroups: new Set(['S_ONCALL']) })).toMatchObject({ kind: 'refused', refusal: 'TWO_PERSON_RULE' });
    await t.drain();
    expect((await t.deps.store.get(id))?.state).toBe('pending');
    expect(t.nova.calls).toEqual([]);
    // A member of an approver group may approve.
    expect(await confirmRequest(t.deps, { id, userId: 'U_GROUPIE', userGroups: new Set(['S_ONCALL']), method: 'network' })).toMatchObject({ kind: 'done' });
  });

  it('an expired request cannot be confirmed, says so on its card, and never reaches Nova', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    const id = opened.kind === 'opened' ? opened.request.id : '';
    await t.drain();
    t.advance(30 * 60_000);
    expect(await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).toMatchObject({ kind: 'refused', refusal: 'REQUEST_EXPIRED' });
    await t.drain();
    expect(t.renders.at(-1)?.state).toBe('expired');
    expect(t.nova.calls).toEqual([]);
    // The lock is released: a new request may be opened.
    expect((await openRequest(t.deps, slash())).kind).toBe('opened');
  });

  it('the expiry sweep expires pending requests past their TTL only', async () => {
    const t = setup();
    await openRequest(t.deps, slash());
    t.advance(10 * 60_000);
    await openRequest(t.deps, slash({ host: 'compute2' }));
    t.advance(21 * 60_000);
    expect(await expireRequests(t.deps)).toBe(1);
  });

  it('a Nova refusal leaves the request failed with the code; a new confirmation retries it', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    const id = opened.kind === 'opened' ? opened.request.id : '';
    t.nova.failNext({ code: 'NOVA_FORBIDDEN', message: 'policy', detail: "Policy doesn't allow os_compute_api:os-services:update to be performed.", status: 403 });
    await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'failed', outcome: { code: 'NOVA_FORBIDDEN', status: 403 } });
    expect(t.renders.at(-1)?.state).toBe('failed');
    t.nova.failNext(undefined); // Nova works again
    expect(await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).toMatchObject({ kind: 'done' });
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'succeeded' });
    expect(t.nova.calls).toHaveLength(2);
  });

  it('an unexpected exception from Nova still ends in a failed card, not a stuck request', async () => {
    const t = setup();
    t.nova.gateway.setForcedDown = async () => {
      throw new TypeError('boom with secret-ish text');
    };
    const opened = await openRequest(t.deps, slash());
    const id = opened.kind === 'opened' ? opened.request.id : '';
    await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    await t.drain();
    const final = await t.deps.store.get(id);
    expect(final).toMatchObject({ state: 'failed', outcome: { code: 'NOVA_UNAVAILABLE' } });
    expect(JSON.stringify(final)).not.toContain('secret-ish');
  });

  it('cancel by the requester changes nothing in Nova; others may not cancel', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    const id = opened.kind === 'opened' ? opened.request.id : '';
    expect(await cancelRequest(t.deps, { id, userId: 'U_RANDOM', userGroups: new Set() })).toMatchObject({ kind: 'refused', refusal: 'NOT_AUTHORIZED' });
    expect(await cancelRequest(t.deps, { id, userId: REQUESTER, userGroups: new Set() })).toMatchObject({ kind: 'done', request: { state: 'cancelled' } });
    await t.drain();
    expect(t.renders.at(-1)?.state).toBe('cancelled');
    expect(await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' })).toMatchObject({ kind: 'refused', refusal: 'ALREADY_HANDLED' });
    expect(t.nova.calls).toEqual([]);
  });

  it('a cancel after the TTL records the request as expired, not cancelled', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    const id = opened.kind === 'opened' ? opened.request.id : '';
    t.advance(31 * 60_000);
    expect(await cancelRequest(t.deps, { id, userId: REQUESTER, userGroups: new Set() })).toMatchObject({ kind: 'refused', refusal: 'REQUEST_EXPIRED' });
    expect((await t.deps.store.get(id))?.state).toBe('expired');
  });

  it('refuses unknown clouds and channels that are not allowed, recording nothing', async () => {
    const t = setup();
    expect(await openRequest(t.deps, slash({ cloud: 'nope' }))).toEqual({ kind: 'refused', refusal: 'UNKNOWN_CLOUD' });
    expect(await openRequest(t.deps, slash({ channel: 'C_RANDOM' }))).toEqual({ kind: 'refused', refusal: 'CHANNEL_NOT_ALLOWED' });
    expect(await t.deps.store.findOpen('prod', 'compute1', 'force-down')).toBeUndefined();
    expect(t.jobs).toEqual([]);
  });

  it('a slow Slack (paced or retrying) never delays the Nova call: the "⏳" update runs alongside it, the outcome after it', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    await t.drain();
    const id = opened.kind === 'opened' ? opened.request.id : '';
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const render = t.deps.cards.request.bind(t.deps.cards);
    t.deps.cards.request = async (request, view) => {
      if (request.state === 'executing') await slow;
      order.push(`render ${request.state}`);
      return render(request, view);
    };
    let novaCalled!: () => void;
    const called = new Promise<void>((r) => (novaCalled = r));
    const put = t.nova.gateway.setForcedDown.bind(t.nova.gateway);
    t.nova.gateway.setForcedDown = async (...args) => {
      novaCalled();
      return put(...args);
    };
    await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    const running = t.drain();
    await called; // Nova is called while Slack still hangs (the "⏳" render has not finished)
    expect(order).toEqual([]);
    expect(t.nova.calls).toEqual([{ host: 'compute1', forcedDown: true }]);
    release();
    await running;
    expect(order).toEqual(['render executing', 'render succeeded']);
  });

  it('a retried execute job whose outcome is recorded but was never shown shows it, without a second Nova call', async () => {
    const t = setup();
    const opened = await openRequest(t.deps, slash());
    await t.drain();
    const id = opened.kind === 'opened' ? opened.request.id : '';
    await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
    const render = t.deps.cards.request.bind(t.deps.cards);
    t.deps.cards.request = async (request, view) => {
      if (request.state === 'succeeded') throw Object.assign(new Error('An API error occurred: internal_error'), { data: { error: 'internal_error' } });
      return render(request, view);
    };
    await expect(t.drain()).rejects.toThrow(/internal_error/);
    t.deps.cards.request = render;
    t.renders.length = 0;
    await runJob(t.deps, { kind: 'execute', id }); // Lambda's retry
    expect(t.nova.calls).toHaveLength(1);
    expect(t.renders.map((r) => r.state)).toEqual(['succeeded']);
  });

  it('unset: the mirror sets forced_down=false', async () => {
    const t = setup();
    t.nova.hosts.compute1!.forcedDown = true;
    const opened = await openRequest(t.deps, slash({ action: 'unset' }));
    const id = opened.kind === 'opened' ? opened.request.id : '';
    await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), note: 'nova-compute restarted' });
    await t.drain();
    expect(t.nova.calls).toEqual([{ host: 'compute1', forcedDown: false }]);
    expect(t.nova.hosts.compute1).toMatchObject({ forcedDown: false, state: 'up' });
  });
});
