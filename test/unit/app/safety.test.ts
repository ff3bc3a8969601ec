import { describe, expect, it } from 'vitest';
import type { Job } from '../../../src/app/ports.js';
import { cancelRequest, confirmRequest, openRequest } from '../../../src/app/requests.js';
import { runJob } from '../../../src/app/worker.js';
import { succeed } from '../../../src/domain/failure.js';
import { LIFECYCLE, TRANSITIONS, type ForceDownRequest, type RequestState } from '../../../src/domain/request.js';

/** A state no edge leaves. */
const isTerminal = (state: RequestState) => TRANSITIONS[state].length === 0;
import { APPROVER, REQUESTER, setup, slash } from './harness.js';

const MIN = 60_000;
/** Nova's naive UTC timestamps, as os-services shows them. */
const novaTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000');

type Bench = ReturnType<typeof setup>;

async function openAndConfirm(t: Bench, over: Parameters<typeof slash>[0] = {}): Promise<string> {
  const opened = await openRequest(t.deps, slash(over));
  if (opened.kind !== 'opened') throw new Error(`not opened: ${opened.kind}`);
  await t.drain();
  const res = await confirmRequest(t.deps, { id: opened.request.id, userId: APPROVER, userGroups: new Set(), method: 'bmc' });
  expect(res.kind).toBe('done');
  return opened.request.id;
}

/** The bench with an execute job that cannot be enqueued (Lambda Invoke throttled, queue gone). */
function withLostExecuteJobs() {
  let lose = true;
  const t = setup();
  const enqueue = t.deps.enqueue;
  t.deps.enqueue = async (job: Job) => {
    if (lose && job.kind === 'execute') throw new Error('TooManyRequestsException');
    return enqueue(job);
  };
  return { ...t, heal: () => (lose = false) };
}

const sweep = (t: Bench) => runJob(t.deps, { kind: 'sweep' });

describe('a confirmed request never hangs', () => {
  it('reproduction: execute job lost, clock +2 h → the sweep fails it CONFIRMATION_STALE with Retry…, Nova not called; a retry then forces it down', async () => {
    const t = withLostExecuteJobs();
    const id = await openAndConfirm(t);
    await t.drain();
    expect((await t.deps.store.get(id))?.state).toBe('approved');

    t.advance(2 * 60 * MIN);
    await sweep(t);
    await t.drain();
    const failed = await t.deps.store.get(id);
    expect(failed).toMatchObject({ state: 'failed', outcome: { code: 'CONFIRMATION_STALE' } });
    expect(failed?.outcome?.message).toContain('never started');
    expect(t.nova.calls).toEqual([]);
    expect(t.renders.at(-1)).toMatchObject({ id, state: 'failed' });
    expect(t.audits.at(-1)).toMatchObject({ id, entry: { state: 'failed' } });

    // Past its TTL too: the next sweep expires it, and the host is free for a new request.
    await sweep(t);
    expect((await t.deps.store.get(id))?.state).toBe('expired');
    expect((await openRequest(t.deps, slash())).kind).toBe('opened');
  });

  it('within the TTL, the failed card\'s Retry… is a new confirmation, and this time the job runs', async () => {
    const t = withLostExecuteJobs();
    const id = await openAndConfirm(t);
    t.advance(15 * MIN);
    await sweep(t);
    expect((await t.deps.store.get(id))?.state).toBe('failed');
    t.heal();
    expect((await confirmRequest(t.deps, { id, userId: APPROVER, userGroups: new Set(), method: 'pdu' })).kind).toBe('done');
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'succeeded', confirmation: { method: 'pdu' } });
    expect(t.nova.calls).toEqual([{ host: 'compute1', forcedDown: true }]);
  });

  it('a job lost while the confirmation is fresh is enqueued again after the grace, and runs; before the grace the sweep leaves it alone', async () => {
    const t = withLostExecuteJobs();
    const id = await openAndConfirm(t);
    t.heal();
    t.advance(1 * MIN);
    await sweep(t);
    expect(t.jobs.filter((j) => j.kind === 'execute')).toEqual([]); // within the 2-minute grace
    t.advance(2 * MIN);
    await sweep(t);
    expect(t.jobs.filter((j) => j.kind === 'execute')).toEqual([{ kind: 'execute', id }]);
    // The card says it is confirmed but not started, with Cancel.
    expect(t.renders.at(-1)).toMatchObject({ id, state: 'approved' });
    await t.drain();
    expect((await t.deps.store.get(id))?.state).toBe('succeeded');
    expect(t.nova.calls).toHaveLength(1);
  });

  it('the sweep keeps trying while enqueueing fails, and fails the request once the confirmation is stale', async () => {
    const t = withLostExecuteJobs();
    const id = await openAndConfirm(t);
    for (let i = 0; i < 9; i++) {
      t.advance(MIN);
      await sweep(t);
      expect((await t.deps.store.get(id))?.state).toBe('approved');
    }
    t.advance(2 * MIN); // 11 min: over the 10-minute default
    await sweep(t);
    expect((await t.deps.store.get(id))?.state).toBe('failed');
    expect(t.nova.calls).toEqual([]);
  });

  it('the local bot\'s start-up settles the requests its predecessor confirmed at once, without waiting for the grace', async () => {
    const t = withLostExecuteJobs();
    const id = await openAndConfirm(t);
    t.heal();
    t.advance(5_000);
    const { recoverStuckApproved } = await import('../../../src/app/recovery.js');
    expect(await recoverStuckApproved(t.deps, { orphanedBefore: t.now() })).toEqual({ requeued: 1, failed: 0 });
    await t.drain();
    expect((await t.deps.store.get(id))?.state).toBe('succeeded');
  });
});

describe('cancelling a confirmed request before it runs', () => {
  it('an approver may cancel an approved request; the execute job that comes later does nothing', async () => {
    const t = withLostExecuteJobs();
    const id = await openAndConfirm(t);
    const res = await cancelRequest(t.deps, { id, userId: 'U_OTHER_APPROVER', userGroups: new Set(['S_ONCALL']) });
    expect(res).toMatchObject({ kind: 'done', request: { state: 'cancelled' } });
    await runJob(t.deps, { kind: 'execute', id });
    await t.drain();
    expect((await t.deps.store.get(id))?.state).toBe('cancelled');
    expect(t.nova.calls).toEqual([]);
    expect(t.renders.at(-1)).toMatchObject({ id, state: 'cancelled' });
  });

  it('the requester who is no approver may not take back an approver\'s confirmation (they may cancel while it is pending)', async () => {
    const t = withLostExecuteJobs();
    const id = await openAndConfirm(t);
    const res = await cancelRequest(t.deps, { id, userId: REQUESTER, userGroups: new Set() });
    expect(res).toMatchObject({ kind: 'refused', refusal: 'NOT_AUTHORIZED' });
    expect((await t.deps.store.get(id))?.state).toBe('approved');
  });

  it('cancel and execute racing: exactly one wins, and Nova is called only if execute won', async () => {
    for (let round = 0; round < 20; round++) {
      const t = withLostExecuteJobs();
      const id = await openAndConfirm(t, { host: 'compute1' });
      const [cancel] = await Promise.all([cancelRequest(t.deps, { id, userId: APPROVER, userGroups: new Set() }), runJob(t.deps, { kind: 'execute', id })]);
      const final = await t.deps.store.get(id);
      const history = final!.history.map((h) => h.state);
      if (cancel.kind === 'done') {
        expect(final?.state).toBe('cancelled');
        expect(history).not.toContain('executing');
        expect(t.nova.calls).toEqual([]);
      } else {
        expect(cancel).toMatchObject({ kind: 'refused', refusal: 'ALREADY_HANDLED' });
        expect(final?.state).toBe('succeeded');
        expect(t.nova.calls).toHaveLength(1);
      }
    }
  });
});

describe('no state without a way out (behaviour: the sweep alone moves every non-terminal state on)', () => {
  const nonTerminal = (Object.keys(LIFECYCLE) as RequestState[]).filter((s) => !isTerminal(s));

  it.each(nonTerminal)('%s → left behind for 2 h → the sweep moves it on', async (state) => {
    const t = setup();
    const at = new Date(t.now()).toISOString();
    const request: ForceDownRequest = {
      id: `stuck-${state}`,
      cloud: 'prod',
      host: 'compute1',
      binary: 'nova-compute',
      action: 'force-down',
      state,
      origin: { kind: 'slash', userId: REQUESTER, channelId: 'C_ONCALL' },
      requestedBy: REQUESTER,
      channel: 'C_ONCALL',
      messageTs: '1700000000.000001',
      ...(state !== 'pending' ? { confirmation: { by: APPROVER, at, method: 'bmc' as const } } : {}),
      createdAt: at,
      updatedAt: at,
      expiresAt: new Date(t.now() + 30 * MIN).toISOString(),
      history: [{ state: 'pending', at }, ...(state !== 'pending' ? [{ state: 'approved' as const, at }] : []), ...(state === 'executing' || state === 'failed' ? [{ state, at }] : [])],
    };
    expect((await t.deps.store.create(request)).created).toBe(true);
    t.advance(2 * 60 * MIN);
    await sweep(t);
    await t.drain();
    expect((await t.deps.store.get(request.id))?.state).not.toBe(state);
  });
});

describe('a stale confirmation is not acted on', () => {
  it('an execute job that starts 11 min after the confirmation refuses: CONFIRMATION_STALE, Retry…, Nova not called', async () => {
    const t = setup();
    const id = await openAndConfirm(t);
    t.advance(11 * MIN);
    await t.drain();
    const final = await t.deps.store.get(id);
    expect(final).toMatchObject({ state: 'failed', outcome: { code: 'CONFIRMATION_STALE', ageSeconds: 660 } });
    expect(final?.outcome?.message).toContain('started late');
    expect(t.nova.calls).toEqual([]);
  });

  it('FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS decides: 9 min is fine with the default, not with a 5-minute limit', async () => {
    for (const [maxMs, expected] of [
      [10 * MIN, 'succeeded'],
      [5 * MIN, 'failed'],
    ] as const) {
      const t = setup();
      t.deps.safety = { ...t.deps.safety, confirmationMaxAgeMs: maxMs };
      const id = await openAndConfirm(t);
      t.advance(9 * MIN);
      await t.drain();
      expect((await t.deps.store.get(id))?.state).toBe(expected);
    }
  });
});

describe('heartbeat watch: Nova\'s own evidence against the confirmation', () => {
  /** compute1's nova-compute keeps reporting: every read shows a heartbeat `everyMs` newer. */
  function keepReporting(t: Bench, everyMs = 10_000) {
    const host = t.nova.hosts.compute1!;
    host.state = 'up';
    host.updatedAt = novaTime(t.now() - 4_000);
    const get = t.nova.gateway.getService.bind(t.nova.gateway);
    let last = t.now() - 4_000;
    t.nova.gateway.getService = async (h, b) => {
      while (last + everyMs <= t.now()) last += everyMs;
      host.updatedAt = novaTime(last);
      return get(h, b);
    };
  }

  it('a host that keeps reporting is not forced down: HOST_STILL_REPORTING after the card said it was waiting', async () => {
    const t = setup();
    keepReporting(t);
    const id = await openAndConfirm(t);
    await t.drain();
    const final = await t.deps.store.get(id);
    expect(final).toMatchObject({ state: 'failed', outcome: { code: 'HOST_STILL_REPORTING' } });
    expect(final?.outcome?.ageSeconds).toBeLessThan(10);
    expect(t.nova.calls).toEqual([]);
    // The card showed the wait (executing with the heartbeat view), then the refusal.
    expect(t.renders.map((r) => r.state)).toEqual(['pending', 'executing', 'executing', 'failed']);
  });

  it('a heartbeat 5 s before the confirmation that stops: the worker waits the 20 s out, reading Nova again, then forces down', async () => {
    const t = setup();
    const host = t.nova.hosts.compute1!;
    Object.assign(host, { state: 'up', updatedAt: novaTime(t.now() - 5_000) });
    const reads: number[] = [];
    const get = t.nova.gateway.getService.bind(t.nova.gateway);
    t.nova.gateway.getService = async (h, b) => {
      reads.push(t.now());
      return get(h, b);
    };
    const start = t.now();
    const id = await openAndConfirm(t);
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'succeeded' });
    expect(t.nova.calls).toHaveLength(1);
    // Decided only once 20 s had passed since the heartbeat (15 s after the confirmation), after several reads.
    expect(Math.max(...reads)).toBeGreaterThanOrEqual(start + 15_000);
    expect(reads.length).toBeGreaterThan(3);
  });

  it('a heartbeat newer than the confirmation refuses at once (the job started after the host reported again)', async () => {
    const t = setup();
    const id = await openAndConfirm(t);
    t.advance(30_000);
    Object.assign(t.nova.hosts.compute1!, { state: 'up', updatedAt: novaTime(t.now() - 2_000) });
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'failed', outcome: { code: 'HOST_STILL_REPORTING' } });
    expect(t.nova.calls).toEqual([]);
  });

  it('a host Nova already counts down is forced down without waiting', async () => {
    const t = setup();
    const start = t.now();
    const id = await openAndConfirm(t);
    await t.drain();
    expect((await t.deps.store.get(id))?.state).toBe('succeeded');
    expect(t.now()).toBe(start); // no sleep
  });

  it('--unset is exempt: a recovered host reports, as expected', async () => {
    const t = setup();
    Object.assign(t.nova.hosts.compute1!, { forcedDown: true, state: 'down' });
    keepReporting(t);
    const id = await openAndConfirm(t, { action: 'unset' });
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'succeeded' });
    expect(t.nova.calls).toEqual([{ host: 'compute1', forcedDown: false }]);
  });

  it('the modal check reads Nova and updates the open modal with what it read', async () => {
    const t = setup();
    Object.assign(t.nova.hosts.compute1!, { state: 'up', updatedAt: novaTime(t.now() - 4_000) });
    const opened = await openRequest(t.deps, slash());
    if (opened.kind !== 'opened') throw new Error('not opened');
    await runJob(t.deps, { kind: 'check-modal', id: opened.request.id, viewId: 'V123' });
    expect(t.modals).toEqual([{ viewId: 'V123', id: opened.request.id, view: { service: expect.objectContaining({ host: 'compute1', state: 'up' }) } }]);
  });

  it('a Nova lookup that fails during the watch is the outcome; the PUT is not sent', async () => {
    const t = setup();
    Object.assign(t.nova.hosts.compute1!, { state: 'up', updatedAt: novaTime(t.now() - 4_000) });
    let reads = 0;
    const get = t.nova.gateway.getService.bind(t.nova.gateway);
    t.nova.gateway.getService = async (h, b) => (++reads > 2 ? { ok: false, failure: { code: 'NOVA_UNAVAILABLE', message: 'timeout' } } : get(h, b));
    const id = await openAndConfirm(t);
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'failed', outcome: { code: 'NOVA_UNAVAILABLE' } });
    expect(t.nova.calls).toEqual([]);
    void succeed;
  });
});
