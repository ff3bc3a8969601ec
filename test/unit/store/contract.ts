import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockKey, type ForceDownRequest, type RequestState } from '../../../src/domain/request.js';
import { MAX_OPEN_FORMS, type RequestStore } from '../../../src/app/store-port.js';
import { newEvacuation, type Evacuation, type InstanceEntry, type InstanceEvacuationState } from '../../../src/domain/evacuation.js';
import { aFullRequest, aGroup, aRequest, at, T0 } from './builders.js';

/** One adapter under test, fresh for every test. */
export interface StoreFixture {
  store: RequestStore;
  /**
   * Writes only a lock entry for `key` naming `requestId`, as a crash leaves
   * it (between the lock write and the request write, or between a closing
   * transition and the lock release). Through the adapter's raw client or db.
   */
  plantLock(key: string, requestId: string): Promise<void>;
  dispose?(): Promise<void> | void;
}

const RACERS = 50;

/** Paths from pending to each state, as the use cases walk them. */
const PATHS: Record<'cancelled' | 'succeeded' | 'expired' | 'failed', RequestState[]> = {
  cancelled: ['cancelled'],
  expired: ['expired'],
  succeeded: ['approved', 'executing', 'succeeded'],
  failed: ['approved', 'executing', 'failed'],
};

/** The RequestStore contract (src/store/port.ts), run against every adapter. */
export function describeRequestStoreContract(name: string, makeFixture: () => Promise<StoreFixture> | StoreFixture): void {
  describe(`RequestStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: RequestStore;

    beforeEach(async () => {
      fixture = await makeFixture();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose?.();
    });

    /** Walks `id` from pending along `path`, asserting every step succeeds. */
    async function walk(id: string, path: RequestState[]): Promise<ForceDownRequest> {
      let state: RequestState = 'pending';
      let last: ForceDownRequest | undefined;
      for (const [i, to] of path.entries()) {
        const res = await store.transition(id, [state], to, at(i + 1), {}, 'U0WALKER');
        if (!res.ok) throw new Error(`walk ${state} -> ${to} failed: now ${res.current?.state}`);
        last = res.request;
        state = to;
      }
      if (!last) throw new Error('empty path');
      return last;
    }

    describe('create and get', () => {
      it.each([
        ['a minimal slash-command request', aRequest()],
        ['a cli request for unset', aRequest({ origin: { kind: 'cli', user: 'ops@bastion' }, action: 'unset', requestedBy: 'ops@bastion' })],
        ['an alert request with every optional field', aFullRequest()],
        ['an alert origin with only the required fields', aRequest({ origin: { kind: 'alert', source: 'doctor', fingerprint: 'fp-1' }, reason: 'x' })],
        ['an alert request seen several times', aFullRequest({ seen: { count: 3, lastAt: at(7) } })],
        ['a grouped request', aRequest({ group: 'grp-1' })],
        ['a request whose alert was resolved', aRequest({ alertResolvedAt: at(4) })],
      ])('round-trips %s', async (_label, request) => {
        const res = await store.create(request);
        expect(res).toEqual({ created: true, request });
        expect(await store.get(request.id)).toEqual(request);
      });

      it('keeps a novaResponse that is a plain string or number', async () => {
        const a = aFullRequest({ host: 'h1' });
        a.outcome = { code: 'OK', message: 'done', novaResponse: 'plain text' };
        const b = aFullRequest({ host: 'h2' });
        b.outcome = { code: 'OK', message: 'done', novaResponse: 42 };
        await store.create(a);
        await store.create(b);
        expect((await store.get(a.id))?.outcome?.novaResponse).toBe('plain text');
        expect((await store.get(b.id))?.outcome?.novaResponse).toBe(42);
      });

      it('returns undefined for an unknown id', async () => {
        expect(await store.get('req-nope')).toBeUndefined();
      });

      it('hands out copies: changing a returned request changes nothing stored', async () => {
        const request = aFullRequest();
        const created = await store.create(request);
        if (!created.created) throw new Error('not created');
        created.request.history.push({ state: 'succeeded', at: at(9) });
        request.history.push({ state: 'succeeded', at: at(9) });
        const got = await store.get(request.id);
        if (!got) throw new Error('missing');
        got.state = 'succeeded';
        expect(await store.get(request.id)).toEqual(aFullRequest({ id: request.id }));
      });
    });

    describe('one open request per (cloud, host, action)', () => {
      it('returns the open request instead of creating a second one, and writes nothing', async () => {
        const first = aRequest();
        await store.create(first);
        const second = aRequest({ reason: 'the alert fired again' });
        expect(await store.create(second)).toEqual({ created: false, existing: first });
        expect(await store.get(second.id)).toBeUndefined();
        expect((await store.listByState('pending')).map((r) => r.id)).toEqual([first.id]);
      });

      it.each([
        ['another action', { action: 'unset' as const }],
        ['another host', { host: 'compute2' }],
        ['another cloud', { cloud: 'prod-west' }],
      ])('creates a request for %s', async (_label, overrides) => {
        await store.create(aRequest());
        const other = aRequest(overrides);
        expect(await store.create(other)).toEqual({ created: true, request: other });
      });

      it.each(['cancelled', 'succeeded', 'expired'] as const)('frees the lock once the first request is %s', async (final) => {
        const first = aRequest();
        await store.create(first);
        await walk(first.id, PATHS[final]);
        const next = aRequest();
        expect(await store.create(next)).toEqual({ created: true, request: next });
        expect((await store.findOpen('prod-east', 'compute1', 'force-down'))?.id).toBe(next.id);
      });

      it('keeps the lock while the first request is failed (it can be retried)', async () => {
        const first = aRequest();
        await store.create(first);
        const failed = await walk(first.id, PATHS.failed);
        const next = aRequest();
        expect(await store.create(next)).toEqual({ created: false, existing: failed });
        expect(await store.get(next.id)).toBeUndefined();
      });
    });

    describe('stale locks', () => {
      it('takes over a lock whose request is missing (crash between the two writes)', async () => {
        const request = aRequest();
        await fixture.plantLock(lockKey(request), 'req-ghost');
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toBeUndefined();
        expect(await store.create(request)).toEqual({ created: true, request });
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual(request);
        expect(await store.get('req-ghost')).toBeUndefined();
      });

      it('takes over a lock still naming a closed request (crash before the lock release)', async () => {
        const old = aRequest();
        await store.create(old);
        await walk(old.id, PATHS.succeeded);
        await fixture.plantLock(lockKey(old), old.id);
        const next = aRequest();
        expect(await store.create(next)).toEqual({ created: true, request: next });
        expect((await store.get(old.id))?.state).toBe('succeeded');
      });

      it('takes over a lock naming a request of another (cloud, host, action)', async () => {
        const elsewhere = aRequest({ host: 'compute9' });
        await store.create(elsewhere);
        await fixture.plantLock(lockKey(aRequest()), elsewhere.id);
        const request = aRequest();
        expect(await store.create(request)).toEqual({ created: true, request });
        expect((await store.findOpen('prod-east', 'compute9', 'force-down'))?.id).toBe(elsewhere.id);
      });

      it('a request that lost its lock does not release the new holder\'s lock when it closes', async () => {
        const old = aRequest();
        await store.create(old);
        await fixture.plantLock(lockKey(old), 'req-ghost'); // old lost its lock (hand edit, or a takeover)
        const holder = aRequest();
        expect((await store.create(holder)).created).toBe(true);
        expect((await store.transition(old.id, ['pending'], 'cancelled', at(1))).ok).toBe(true);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual(holder);
        expect(await store.create(aRequest())).toEqual({ created: false, existing: holder });
      });
    });

    describe('transition', () => {
      it('moves from a named state, applies the patch and appends history with at and by', async () => {
        const request = aRequest();
        await store.create(request);
        const confirmation = { by: 'U0APPROVER', at: at(2), method: 'pdu' as const, note: 'outlet 12 off' };
        const res = await store.transition(request.id, ['pending', 'failed'], 'approved', at(2), { confirmation }, 'U0APPROVER');
        const expected: ForceDownRequest = {
          ...request,
          state: 'approved',
          updatedAt: at(2),
          confirmation,
          history: [...request.history, { state: 'approved', at: at(2), by: 'U0APPROVER' }],
        };
        expect(res).toEqual({ ok: true, request: expected });
        expect(await store.get(request.id)).toEqual(expected);
        // approved still holds the lock
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual(expected);
      });

      it('records a history entry without `by` when none is given', async () => {
        const request = aRequest();
        await store.create(request);
        const res = await store.transition(request.id, ['pending'], 'expired', at(31));
        if (!res.ok) throw new Error('transition failed');
        const last = res.request.history.at(-1);
        expect(last).toEqual({ state: 'expired', at: at(31) });
        expect(Object.keys(last ?? {})).not.toContain('by');
      });

      it('sets the outcome with a novaResponse object, and a later patch replaces it', async () => {
        const request = aRequest();
        await store.create(request);
        await walk(request.id, ['approved', 'executing']);
        const failure = { code: 'NOVA_UNAVAILABLE' as const, message: 'Nova did not answer', status: 503, novaResponse: { error: { code: 503 } } };
        const failed = await store.transition(request.id, ['executing'], 'failed', at(5), { outcome: failure });
        expect(failed.ok && failed.request.outcome).toEqual(failure);
        // retry: failed -> approved -> executing -> succeeded
        await store.transition(request.id, ['pending', 'failed'], 'approved', at(6), {}, 'U0APPROVER');
        await store.transition(request.id, ['approved'], 'executing', at(7));
        const ok = { code: 'OK' as const, message: 'forced down', microversion: '2.93', request: 'PUT /os-services/x', novaResponse: { service: { forced_down: true } } };
        const done = await store.transition(request.id, ['executing'], 'succeeded', at(8), { outcome: ok });
        expect(done.ok).toBe(true);
        const got = await store.get(request.id);
        expect(got?.outcome).toEqual(ok);
        expect(got?.history.map((h) => h.state)).toEqual(['pending', 'approved', 'executing', 'failed', 'approved', 'executing', 'succeeded']);
        expect(got?.updatedAt).toBe(at(8));
      });

      it('ignores patch fields that are undefined', async () => {
        const request = aRequest({ messageTs: '1.2' });
        await store.create(request);
        const res = await store.transition(request.id, ['pending'], 'cancelled', at(1), { messageTs: undefined }, 'U0X');
        expect(res.ok && res.request.messageTs).toBe('1.2');
      });

      it.each([
        ['cancelled', false],
        ['expired', false],
        ['approved', true],
      ] as const)('pending -> %s leaves the lock held: %s', async (to, held) => {
        const request = aRequest();
        await store.create(request);
        await store.transition(request.id, ['pending'], to, at(1));
        expect((await store.findOpen('prod-east', 'compute1', 'force-down'))?.id).toBe(held ? request.id : undefined);
      });

      it('releases the lock on executing -> succeeded, keeps it on executing -> failed', async () => {
        const a = aRequest();
        const b = aRequest({ host: 'compute2' });
        await store.create(a);
        await store.create(b);
        await walk(a.id, PATHS.succeeded);
        await walk(b.id, PATHS.failed);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toBeUndefined();
        expect((await store.findOpen('prod-east', 'compute2', 'force-down'))?.state).toBe('failed');
      });

      it('refuses from a state not named, returning the current request unchanged', async () => {
        const request = aRequest();
        await store.create(request);
        const approved = await walk(request.id, ['approved']);
        const res = await store.transition(request.id, ['pending'], 'cancelled', at(9), { messageTs: '9.9' }, 'U0LATE');
        expect(res).toEqual({ ok: false, current: approved });
        expect(await store.get(request.id)).toEqual(approved);
      });

      it('refuses with an empty from list', async () => {
        const request = aRequest();
        await store.create(request);
        expect(await store.transition(request.id, [], 'approved', at(1))).toEqual({ ok: false, current: request });
      });

      it('refuses an unknown id with current undefined, and creates nothing', async () => {
        expect(await store.transition('req-nope', ['pending'], 'approved', at(1))).toEqual({ ok: false, current: undefined });
        expect(await store.get('req-nope')).toBeUndefined();
        expect(await store.listByState('approved')).toEqual([]);
      });
    });

    describe('races', () => {
      it(`${RACERS} concurrent confirmations: exactly one wins`, async () => {
        const request = aRequest();
        await store.create(request);
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => store.transition(request.id, ['pending'], 'approved', at(1), { confirmation: { by: `U${i}`, at: at(1) } }, `U${i}`)),
        );
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        for (const r of results) if (!r.ok) expect(r.current?.state).toBe('approved');
        const got = await store.get(request.id);
        expect(got?.history).toHaveLength(2);
        expect(winners[0]?.ok && winners[0].request.confirmation?.by).toBe(got?.confirmation?.by);
      });

      it(`${RACERS} concurrent confirm-or-cancel clicks: exactly one wins`, async () => {
        const request = aRequest();
        await store.create(request);
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => store.transition(request.id, ['pending'], i % 2 ? 'approved' : 'cancelled', at(1), {}, `U${i}`)),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect((await store.get(request.id))?.history).toHaveLength(2);
      });

      it(`${RACERS} concurrent creates for one host: exactly one created, all others see it`, async () => {
        const requests = Array.from({ length: RACERS }, () => aRequest());
        const results = await Promise.all(requests.map((r) => store.create(r)));
        const created = results.flatMap((r) => (r.created ? [r.request] : []));
        expect(created).toHaveLength(1);
        const winner = created[0]?.id;
        for (const r of results) if (!r.created) expect(r.existing.id).toBe(winner);
        expect((await store.listByState('pending')).map((r) => r.id)).toEqual([winner]);
        expect((await store.findOpen('prod-east', 'compute1', 'force-down'))?.id).toBe(winner);
      });

      it(`${RACERS} concurrent creates over a stale lock: exactly one takes it over`, async () => {
        const old = aRequest();
        await store.create(old);
        await walk(old.id, PATHS.cancelled);
        await fixture.plantLock(lockKey(old), old.id);
        const results = await Promise.all(Array.from({ length: RACERS }, () => store.create(aRequest())));
        const created = results.flatMap((r) => (r.created ? [r.request] : []));
        expect(created).toHaveLength(1);
        for (const r of results) if (!r.created) expect(r.existing.id).toBe(created[0]?.id);
        expect((await store.listByState('pending')).map((r) => r.id)).toEqual([created[0]?.id]);
      });
    });

    describe('confirmation forms (recordForm, transition guard)', () => {
      const OPEN: RequestState[] = ['pending', 'failed'];

      it('recordForm adds forms in order while the state is one named, changing nothing else', async () => {
        const request = aRequest({ messageTs: '1.2' });
        await store.create(request);
        expect(await store.recordForm(request.id, 'form-a', OPEN)).toEqual({ ok: true, request: { ...request, openForms: ['form-a'] } });
        const res = await store.recordForm(request.id, 'form-b', OPEN);
        expect(res).toEqual({ ok: true, request: { ...request, openForms: ['form-a', 'form-b'] } });
        expect(await store.get(request.id)).toEqual({ ...request, openForms: ['form-a', 'form-b'] });
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual({ ...request, openForms: ['form-a', 'form-b'] });
      });

      it('recordForm refuses a state not named, and an unknown id (creating nothing)', async () => {
        const request = aRequest();
        await store.create(request);
        const approved = await walk(request.id, ['approved']);
        expect(await store.recordForm(request.id, 'form-a', OPEN)).toEqual({ ok: false, current: approved });
        expect(await store.get(request.id)).toEqual(approved);
        expect(await store.recordForm('req-nope', 'form-a', OPEN)).toEqual({ ok: false, current: undefined });
        expect(await store.get('req-nope')).toBeUndefined();
      });

      it(`at ${MAX_OPEN_FORMS} open forms the next one replaces them`, async () => {
        const request = aRequest();
        await store.create(request);
        for (let i = 0; i < MAX_OPEN_FORMS; i++) await store.recordForm(request.id, `form-${i}`, OPEN);
        expect((await store.get(request.id))?.openForms).toHaveLength(MAX_OPEN_FORMS);
        const res = await store.recordForm(request.id, 'form-newest', OPEN);
        expect(res.ok && res.request.openForms).toEqual(['form-newest']);
        expect((await store.get(request.id))?.openForms).toEqual(['form-newest']);
      });

      it('a guarded transition needs the form open, consumes it, and drops every open form', async () => {
        const request = aRequest();
        await store.create(request);
        await store.recordForm(request.id, 'form-a', OPEN);
        await store.recordForm(request.id, 'form-b', OPEN);
        const wrong = await store.transition(request.id, OPEN, 'approved', at(1), {}, 'U0X', { form: 'form-c' });
        expect(wrong).toEqual({ ok: false, current: { ...request, openForms: ['form-a', 'form-b'] } });
        const res = await store.transition(request.id, OPEN, 'approved', at(1), {}, 'U0X', { form: 'form-b' });
        expect(res.ok).toBe(true);
        expect(res.ok && res.request.openForms).toBeUndefined();
        const got = await store.get(request.id);
        expect(got?.state).toBe('approved');
        expect(got).not.toHaveProperty('openForms');
      });

      it('any transition drops the open forms: a form opened before a failure does not answer the failed request', async () => {
        const request = aRequest();
        await store.create(request);
        await store.recordForm(request.id, 'before', OPEN);
        await walk(request.id, PATHS.failed);
        const failed = await store.get(request.id);
        expect(failed).not.toHaveProperty('openForms');
        expect(await store.transition(request.id, OPEN, 'approved', at(9), {}, 'U0X', { form: 'before' })).toEqual({ ok: false, current: failed });
        // Retry…: a new form on the failed request works.
        expect((await store.recordForm(request.id, 'retry', OPEN)).ok).toBe(true);
        expect((await store.transition(request.id, OPEN, 'approved', at(10), {}, 'U0X', { form: 'retry' })).ok).toBe(true);
      });

      it(`${RACERS} concurrent submissions of one form: exactly one transition`, async () => {
        const request = aRequest();
        await store.create(request);
        await store.recordForm(request.id, 'form-a', OPEN);
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => store.transition(request.id, OPEN, 'approved', at(1), { confirmation: { by: `U${i}`, at: at(1) } }, `U${i}`, { form: 'form-a' })),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect((await store.get(request.id))?.history).toHaveLength(2);
      });

      it(`${RACERS} concurrent forms recorded: every one lands once (up to the cap)`, async () => {
        const request = aRequest();
        await store.create(request);
        const n = Math.min(RACERS, MAX_OPEN_FORMS);
        const results = await Promise.all(Array.from({ length: n }, (_, i) => store.recordForm(request.id, `form-${i}`, OPEN)));
        expect(results.every((r) => r.ok)).toBe(true);
        expect([...((await store.get(request.id))?.openForms ?? [])].sort()).toEqual(Array.from({ length: n }, (_, i) => `form-${i}`).sort());
      });
    });

    describe('setMessage', () => {
      it('records the card ts without changing the state; the last writer wins', async () => {
        const request = aRequest();
        await store.create(request);
        await store.setMessage(request.id, '1740823200.000100');
        expect(await store.get(request.id)).toEqual({ ...request, messageTs: '1740823200.000100' });
        await store.setMessage(request.id, '1740823299.000200');
        expect((await store.get(request.id))?.messageTs).toBe('1740823299.000200');
        expect((await store.findOpen('prod-east', 'compute1', 'force-down'))?.messageTs).toBe('1740823299.000200');
      });

      it('does nothing for an unknown id', async () => {
        await store.setMessage('req-nope', '1.1');
        expect(await store.get('req-nope')).toBeUndefined();
      });
    });

    describe('recordSeen', () => {
      const alertOrigin = { kind: 'alert' as const, source: 'alertmanager' as const, fingerprint: 'fp-1' };

      it('counts an absent seen as the creating alert: the first repeat makes it 2', async () => {
        const request = aRequest();
        await store.create(request);
        const expected = { ...request, seen: { count: 2, lastAt: at(5) } };
        expect(await store.recordSeen(request.id, at(5))).toEqual(expected);
        expect(await store.get(request.id)).toEqual(expected);
      });

      it('increments a stored count and moves lastAt forward', async () => {
        const request = aRequest({ origin: alertOrigin, seen: { count: 5, lastAt: at(1) } });
        await store.create(request);
        expect(await store.recordSeen(request.id, at(3))).toEqual({ ...request, seen: { count: 6, lastAt: at(3) } });
        expect(await store.recordSeen(request.id, at(4))).toEqual({ ...request, seen: { count: 7, lastAt: at(4) } });
        expect((await store.get(request.id))?.seen).toEqual({ count: 7, lastAt: at(4) });
      });

      it('never moves lastAt back: an older or equal delivery only counts', async () => {
        const request = aRequest({ origin: alertOrigin, seen: { count: 1, lastAt: at(0) } });
        await store.create(request);
        await store.recordSeen(request.id, at(10));
        expect((await store.recordSeen(request.id, at(4)))?.seen).toEqual({ count: 3, lastAt: at(10) });
        expect((await store.recordSeen(request.id, at(10)))?.seen).toEqual({ count: 4, lastAt: at(10) });
        expect((await store.get(request.id))?.seen).toEqual({ count: 4, lastAt: at(10) });
      });

      it('stores at normalized to toISOString form, so later still compares as later', async () => {
        const request = aRequest({ origin: alertOrigin, seen: { count: 1, lastAt: T0 } });
        await store.create(request);
        expect((await store.recordSeen(request.id, '2025-03-01T10:05:00Z'))?.seen).toEqual({ count: 2, lastAt: at(5) });
        expect((await store.recordSeen(request.id, '2025-03-01T11:06:00.000+01:00'))?.seen).toEqual({ count: 3, lastAt: at(6) });
        await expect(store.recordSeen(request.id, 'yesterday')).rejects.toThrow(RangeError);
        expect((await store.get(request.id))?.seen).toEqual({ count: 3, lastAt: at(6) });
      });

      it('changes nothing but seen, in an open state (the lock stays with it)', async () => {
        const request = aFullRequest({ seen: { count: 1, lastAt: T0 } }); // failed: still holds the lock
        await store.create(request);
        const expected = { ...request, seen: { count: 2, lastAt: at(20) } };
        expect(await store.recordSeen(request.id, at(20))).toEqual(expected);
        expect(await store.get(request.id)).toEqual(expected);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual(expected);
        expect(await store.listByState('failed')).toEqual([expected]);
      });

      it.each(['cancelled', 'succeeded', 'expired'] as const)('works on a %s request without reopening it', async (final) => {
        const request = aRequest({ origin: alertOrigin, seen: { count: 1, lastAt: T0 } });
        await store.create(request);
        const closed = await walk(request.id, PATHS[final]);
        const expected = { ...closed, seen: { count: 2, lastAt: at(20) } };
        expect(await store.recordSeen(request.id, at(20))).toEqual(expected);
        expect(await store.get(request.id)).toEqual(expected);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toBeUndefined();
        expect((await store.create(aRequest())).created).toBe(true);
      });

      it('is kept by later transitions', async () => {
        const request = aRequest({ origin: alertOrigin, seen: { count: 1, lastAt: T0 } });
        await store.create(request);
        await store.recordSeen(request.id, at(1));
        const res = await store.transition(request.id, ['pending'], 'approved', at(2), { messageTs: '1.1' }, 'U0APPROVER');
        expect(res.ok && res.request.seen).toEqual({ count: 2, lastAt: at(1) });
        expect((await store.get(request.id))?.seen).toEqual({ count: 2, lastAt: at(1) });
      });

      it('returns undefined for an unknown id, and creates nothing', async () => {
        expect(await store.recordSeen('req-nope', at(1))).toBeUndefined();
        expect(await store.get('req-nope')).toBeUndefined();
        expect(await store.listByState('pending')).toEqual([]);
      });

      it(`${RACERS} concurrent repeats, delivered out of order: count up by exactly ${RACERS}, lastAt the latest`, async () => {
        const request = aRequest({ origin: alertOrigin, seen: { count: 1, lastAt: T0 } });
        await store.create(request);
        // Minutes 1..RACERS in a scrambled order (7 is coprime with 50).
        const minutes = Array.from({ length: RACERS }, (_, i) => ((i * 7) % RACERS) + 1);
        const results = await Promise.all(minutes.map((m) => store.recordSeen(request.id, at(m))));
        const counts = results.map((r) => r?.seen?.count).sort((a, b) => (a ?? 0) - (b ?? 0));
        // Every caller saw its own increment.
        expect(counts).toEqual(Array.from({ length: RACERS }, (_, i) => i + 2));
        const got = await store.get(request.id);
        expect(got).toEqual({ ...request, seen: { count: RACERS + 1, lastAt: at(RACERS) } });
      });
    });

    describe('findOpen', () => {
      it('finds the open request by (cloud, host, action) only', async () => {
        const request = aRequest();
        await store.create(request);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual(request);
        expect(await store.findOpen('prod-east', 'compute1', 'unset')).toBeUndefined();
        expect(await store.findOpen('prod-east', 'compute2', 'force-down')).toBeUndefined();
        expect(await store.findOpen('prod-west', 'compute1', 'force-down')).toBeUndefined();
      });

      it.each(['cancelled', 'succeeded', 'expired'] as const)('finds nothing once the request is %s', async (final) => {
        const request = aRequest();
        await store.create(request);
        await walk(request.id, PATHS[final]);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toBeUndefined();
      });
    });

    describe("host case: one lock per host case-folded, and Nova's spelling (setNovaHost)", () => {
      it('RT1, Rt1 and rt1 share one lock: the later creates return the first, and findOpen finds it by any spelling', async () => {
        const first = aRequest({ host: 'RT1' });
        expect(await store.create(first)).toEqual({ created: true, request: first });
        for (const host of ['Rt1', 'rt1']) {
          const res = await store.create(aRequest({ host }));
          expect(res).toEqual({ created: false, existing: first });
        }
        for (const host of ['RT1', 'rT1', 'rt1']) expect(await store.findOpen('prod-east', host, 'force-down')).toEqual(first);
        expect(await store.listByState('pending')).toEqual([first]);
      });

      it(`${RACERS} concurrent creates for case variants of one host: exactly one created, all others see it`, async () => {
        const spellings = ['RT1', 'Rt1', 'rt1', 'rT1'];
        const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.create(aRequest({ host: spellings[i % spellings.length]! }))));
        const created = results.filter((r) => r.created);
        expect(created).toHaveLength(1);
        const winner = created[0]!.created ? created[0]!.request : undefined;
        for (const r of results) if (!r.created) expect(r.existing).toEqual(winner);
        expect(await store.listByState('pending')).toHaveLength(1);
      });

      it("records Nova's spelling while pending, keeping the asked-for one; nothing else changes and the lock stays with it", async () => {
        const request = aRequest({ host: 'RT1' });
        await store.create(request);
        const spelled = await store.setNovaHost(request.id, 'rt1');
        expect(spelled).toEqual({ ...request, host: 'rt1', requestedHost: 'RT1' });
        expect(await store.get(request.id)).toEqual(spelled);
        expect(await store.findOpen('prod-east', 'RT1', 'force-down')).toEqual(spelled);
        expect(await store.create(aRequest({ host: 'Rt1' }))).toEqual({ created: false, existing: spelled });
        // Closing it releases the lock for every spelling.
        await walk(request.id, PATHS.cancelled);
        expect(await store.findOpen('prod-east', 'rt1', 'force-down')).toBeUndefined();
        expect((await store.create(aRequest({ host: 'RT1' }))).created).toBe(true);
      });

      it('keeps the first asked-for spelling when called again; the same spelling changes nothing', async () => {
        const request = aRequest({ host: 'RT1' });
        await store.create(request);
        await store.setNovaHost(request.id, 'Rt1');
        expect(await store.setNovaHost(request.id, 'rt1')).toEqual({ ...request, host: 'rt1', requestedHost: 'RT1' });
        const same = aRequest({ host: 'compute1' });
        await store.create(same);
        expect(await store.setNovaHost(same.id, 'compute1')).toEqual(same);
        expect(await store.get(same.id)).toEqual(same);
      });

      it.each(['approved', 'failed', 'cancelled'] as const)('changes nothing once the request is %s (what was confirmed is not renamed)', async (state) => {
        const request = aRequest({ host: 'RT1' });
        await store.create(request);
        const walked = await walk(request.id, state === 'approved' ? ['approved'] : PATHS[state]);
        expect(await store.setNovaHost(request.id, 'rt1')).toEqual(walked);
        expect(await store.get(request.id)).toEqual(walked);
      });

      it('refuses another name with a RangeError, changing nothing; an unknown id is undefined and nothing is created', async () => {
        const request = aRequest({ host: 'RT1' });
        await store.create(request);
        await expect(store.setNovaHost(request.id, 'rt2')).rejects.toThrow(RangeError);
        expect(await store.get(request.id)).toEqual(request);
        expect(await store.setNovaHost('req-nope', 'rt1')).toBeUndefined();
        expect(await store.get('req-nope')).toBeUndefined();
      });

      it('requestedHost round-trips through create, transitions and listByState', async () => {
        const request = aRequest({ host: 'rt1', requestedHost: 'RT1' });
        await store.create(request);
        expect(await store.get(request.id)).toEqual(request);
        const approved = await walk(request.id, ['approved']);
        expect(approved).toMatchObject({ host: 'rt1', requestedHost: 'RT1' });
        expect(await store.listByState('approved')).toEqual([approved]);
      });

      it("a confirmation racing Nova's spelling: one consistent request either way", async () => {
        const request = aRequest({ host: 'RT1' });
        await store.create(request);
        const [, confirmed] = await Promise.all([
          store.setNovaHost(request.id, 'rt1'),
          store.transition(request.id, ['pending'], 'approved', at(1), { confirmation: { by: 'U0APPROVER', at: at(1), method: 'bmc' } }, 'U0APPROVER'),
        ]);
        expect(confirmed.ok).toBe(true);
        const got = await store.get(request.id);
        expect(got?.state).toBe('approved');
        expect(got?.confirmation?.by).toBe('U0APPROVER');
        if (got?.host === 'rt1') expect(got.requestedHost).toBe('RT1');
        else expect(got).not.toHaveProperty('requestedHost');
      });
    });

    describe('group and alertResolvedAt', () => {
      it('are kept through transitions, recordSeen, listByState and findOpen', async () => {
        const request = aRequest({ group: 'grp-1', alertResolvedAt: at(1) });
        await store.create(request);
        const approved = await walk(request.id, ['approved']);
        expect(approved).toMatchObject({ group: 'grp-1', alertResolvedAt: at(1) });
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual(approved);
        expect(await store.listByState('approved')).toEqual([approved]);
        const seen = await store.recordSeen(request.id, at(3));
        expect(seen).toEqual({ ...approved, seen: { count: 2, lastAt: at(3) } });
        const done = await store.transition(request.id, ['approved'], 'executing', at(4));
        expect(done.ok && done.request).toMatchObject({ group: 'grp-1', alertResolvedAt: at(1) });
      });

      it('are absent when never set (no undefined keys)', async () => {
        const request = aRequest();
        await store.create(request);
        const got = await store.get(request.id);
        expect(Object.keys(got ?? {})).not.toContain('group');
        expect(Object.keys(got ?? {})).not.toContain('alertResolvedAt');
      });
    });

    describe('markAlertResolved', () => {
      it('sets alertResolvedAt, normalized, and changes nothing else', async () => {
        const request = aRequest({ group: 'grp-1' });
        await store.create(request);
        const expected = { ...request, alertResolvedAt: at(5) };
        expect(await store.markAlertResolved(request.id, '2025-03-01T11:05:00+01:00')).toEqual(expected);
        expect(await store.get(request.id)).toEqual(expected);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toEqual(expected);
        expect(await store.listByState('pending')).toEqual([expected]);
      });

      it('the first resolution wins, later or earlier', async () => {
        const request = aRequest();
        await store.create(request);
        await store.markAlertResolved(request.id, at(5));
        expect((await store.markAlertResolved(request.id, at(9)))?.alertResolvedAt).toBe(at(5));
        expect((await store.markAlertResolved(request.id, at(1)))?.alertResolvedAt).toBe(at(5));
        expect(await store.get(request.id)).toEqual({ ...request, alertResolvedAt: at(5) });
      });

      it('keeps one created with the request', async () => {
        const request = aRequest({ alertResolvedAt: at(2) });
        await store.create(request);
        expect(await store.markAlertResolved(request.id, at(3))).toEqual(request);
      });

      it('refuses a timestamp that does not parse with a RangeError, changing nothing', async () => {
        const request = aRequest();
        await store.create(request);
        await expect(store.markAlertResolved(request.id, 'soon')).rejects.toThrow(RangeError);
        expect(await store.get(request.id)).toEqual(request);
      });

      it('returns undefined for an unknown id, and creates nothing', async () => {
        expect(await store.markAlertResolved('req-nope', at(1))).toBeUndefined();
        expect(await store.get('req-nope')).toBeUndefined();
        expect(await store.listByState('pending')).toEqual([]);
      });

      it.each(['cancelled', 'succeeded', 'expired'] as const)('works on a %s request without reopening it', async (final) => {
        const request = aRequest();
        await store.create(request);
        const closed = await walk(request.id, PATHS[final]);
        const expected = { ...closed, alertResolvedAt: at(20) };
        expect(await store.markAlertResolved(request.id, at(20))).toEqual(expected);
        expect(await store.get(request.id)).toEqual(expected);
        expect(await store.findOpen('prod-east', 'compute1', 'force-down')).toBeUndefined();
      });

      it('is kept by later transitions', async () => {
        const request = aRequest();
        await store.create(request);
        await store.markAlertResolved(request.id, at(1));
        const res = await store.transition(request.id, ['pending'], 'cancelled', at(2), {}, 'U0X');
        expect(res.ok && res.request.alertResolvedAt).toBe(at(1));
        expect((await store.get(request.id))?.alertResolvedAt).toBe(at(1));
      });

      it(`${RACERS} concurrent resolutions: one wins and every caller sees it`, async () => {
        const request = aRequest();
        await store.create(request);
        const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.markAlertResolved(request.id, at(i + 1))));
        const stored = (await store.get(request.id))?.alertResolvedAt;
        expect(Array.from({ length: RACERS }, (_, i) => at(i + 1))).toContain(stored);
        for (const r of results) expect(r).toEqual({ ...request, alertResolvedAt: stored });
      });
    });

    describe('markReminded', () => {
      it('records a period once: true the first time, false for that period again or an earlier one, true for a later one', async () => {
        const request = aRequest();
        await store.create(request);
        expect(await store.markReminded(request.id, 1)).toBe(true);
        expect(await store.markReminded(request.id, 1)).toBe(false);
        expect(await store.markReminded(request.id, 3)).toBe(true);
        expect(await store.markReminded(request.id, 2)).toBe(false);
        expect(await store.markReminded(request.id, 3)).toBe(false);
        expect(await store.markReminded(request.id, 4)).toBe(true);
      });

      it('changes nothing of the request, in any state, and its transitions keep the marker', async () => {
        const request = aRequest();
        await store.create(request);
        const done = await walk(request.id, PATHS.succeeded);
        expect(await store.markReminded(request.id, 1)).toBe(true);
        expect(await store.get(request.id)).toEqual(done);
        expect(await store.listByState('succeeded')).toEqual([done]);
        await store.setMessage(request.id, '1740823200.000999');
        expect(await store.markReminded(request.id, 1)).toBe(false);
      });

      it('is per request', async () => {
        const a = aRequest({ id: 'req-a' });
        const b = aRequest({ id: 'req-b', host: 'compute2' });
        await store.create(a);
        await store.create(b);
        expect(await store.markReminded('req-a', 1)).toBe(true);
        expect(await store.markReminded('req-b', 1)).toBe(true);
      });

      it('an unknown id: false, and nothing is created', async () => {
        expect(await store.markReminded('req-nope', 1)).toBe(false);
        expect(await store.get('req-nope')).toBeUndefined();
      });

      it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses period %s with a RangeError', async (period) => {
        const request = aRequest();
        await store.create(request);
        await expect(store.markReminded(request.id, period)).rejects.toThrow(RangeError);
        expect(await store.markReminded(request.id, 1)).toBe(true);
      });

      it(`${RACERS} concurrent sweeps for one period: exactly one reminds`, async () => {
        const request = aRequest();
        await store.create(request);
        const results = await Promise.all(Array.from({ length: RACERS }, () => store.markReminded(request.id, 2)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const next = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.markReminded(request.id, 2 + (i % 2))));
        expect(next.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('groups', () => {
      it('createGroup then getGroup round-trips the group; an unknown id is undefined', async () => {
        const group = aGroup({ members: ['req-a', 'req-b'], messages: ['1740823200.000100'] });
        await store.createGroup(group);
        expect(await store.getGroup(group.id)).toEqual(group);
        const empty = aGroup({ channel: 'C0OTHER', title: '' });
        await store.createGroup(empty);
        expect(await store.getGroup(empty.id)).toEqual(empty);
        expect(await store.getGroup('grp-nope')).toBeUndefined();
      });

      it('hands out copies', async () => {
        const group = aGroup({ members: ['req-a'] });
        await store.createGroup(group);
        group.members.push('req-mutated');
        const got = await store.getGroup(group.id);
        got?.members.push('req-mutated-too');
        expect((await store.getGroup(group.id))?.members).toEqual(['req-a']);
      });

      it('refuses an id that exists with DUPLICATE_ID, keeping the first group', async () => {
        const group = aGroup({ members: ['req-a'] });
        await store.createGroup(group);
        await expect(store.createGroup(aGroup({ id: group.id, title: 'other', createdAt: at(5) }))).rejects.toMatchObject({
          name: 'StoreError',
          code: 'DUPLICATE_ID',
        });
        expect(await store.getGroup(group.id)).toEqual(group);
        expect(await store.findRecentGroup('C0ONCALL', T0)).toEqual(group);
      });

      it('refuses a group whose createdAt does not parse with a RangeError', async () => {
        const group = aGroup({ createdAt: 'now' });
        await expect(store.createGroup(group)).rejects.toThrow(RangeError);
        expect(await store.getGroup(group.id)).toBeUndefined();
      });

      it('addToGroup appends in order, each id once, and returns the group', async () => {
        const group = aGroup({ members: ['req-a'] });
        await store.createGroup(group);
        expect(await store.addToGroup(group.id, ['req-b', 'req-c'])).toEqual({ ...group, members: ['req-a', 'req-b', 'req-c'] });
        // Ids already present, and repeats within one call, are skipped.
        expect(await store.addToGroup(group.id, ['req-c', 'req-d', 'req-a', 'req-d', 'req-e'])).toEqual({
          ...group,
          members: ['req-a', 'req-b', 'req-c', 'req-d', 'req-e'],
        });
        expect(await store.addToGroup(group.id, ['req-b'])).toEqual({ ...group, members: ['req-a', 'req-b', 'req-c', 'req-d', 'req-e'] });
        expect(await store.addToGroup(group.id, [])).toEqual({ ...group, members: ['req-a', 'req-b', 'req-c', 'req-d', 'req-e'] });
        expect((await store.getGroup(group.id))?.members).toEqual(['req-a', 'req-b', 'req-c', 'req-d', 'req-e']);
      });

      it('addToGroup returns undefined for an unknown group, and creates nothing', async () => {
        expect(await store.addToGroup('grp-nope', ['req-a'])).toBeUndefined();
        expect(await store.addToGroup('grp-nope', [])).toBeUndefined();
        expect(await store.getGroup('grp-nope')).toBeUndefined();
      });

      it('20 concurrent single-id appends all land, each once', async () => {
        const group = aGroup({ members: ['req-first'] });
        await store.createGroup(group);
        const ids = Array.from({ length: 20 }, (_, i) => `req-${i}`);
        const results = await Promise.all(ids.map((id) => store.addToGroup(group.id, [id])));
        for (const [i, r] of results.entries()) expect(r?.members).toContain(ids[i]);
        const members = (await store.getGroup(group.id))?.members ?? [];
        expect(members).toHaveLength(21);
        expect(members[0]).toBe('req-first');
        expect([...members].sort()).toEqual(['req-first', ...ids].sort());
      });

      it('concurrent overlapping appends: the union, each id once, each call in its own order', async () => {
        const group = aGroup();
        await store.createGroup(group);
        const calls = Array.from({ length: 10 }, (_, i) => [`req-${i}`, `req-${i + 1}`, 'req-shared']);
        await Promise.all(calls.map((ids) => store.addToGroup(group.id, ids)));
        const members = (await store.getGroup(group.id))?.members ?? [];
        expect([...members].sort()).toEqual([...Array.from({ length: 11 }, (_, i) => `req-${i}`), 'req-shared'].sort());
        expect(new Set(members).size).toBe(members.length);
      });

      it('setGroupMessages records the page messages; the last writer wins; members are untouched', async () => {
        const group = aGroup({ members: ['req-a'] });
        await store.createGroup(group);
        await store.setGroupMessages(group.id, ['1.1']);
        expect(await store.getGroup(group.id)).toEqual({ ...group, messages: ['1.1'] });
        await store.setGroupMessages(group.id, ['1.1', '2.2']);
        await store.addToGroup(group.id, ['req-b']);
        expect(await store.getGroup(group.id)).toEqual({ ...group, members: ['req-a', 'req-b'], messages: ['1.1', '2.2'] });
        await store.setGroupMessages(group.id, ['3.3']);
        expect((await store.getGroup(group.id))?.messages).toEqual(['3.3']);
        await store.setGroupMessages(group.id, []);
        expect((await store.getGroup(group.id))?.messages).toEqual([]);
      });

      it('setGroupMessages and addToGroup at once: neither undoes the other', async () => {
        const group = aGroup();
        await store.createGroup(group);
        await Promise.all([
          ...Array.from({ length: 10 }, (_, i) => store.addToGroup(group.id, [`req-${i}`])),
          store.setGroupMessages(group.id, ['9.9']),
        ]);
        const got = await store.getGroup(group.id);
        expect(got?.members).toHaveLength(10);
        expect(got?.messages).toEqual(['9.9']);
      });

      it('setGroupMessages does nothing for an unknown id', async () => {
        await store.setGroupMessages('grp-nope', ['1.1']);
        expect(await store.getGroup('grp-nope')).toBeUndefined();
      });
    });

    describe('findRecentGroup', () => {
      it('finds the newest group of the channel created at or after since', async () => {
        const older = aGroup({ createdAt: at(1) });
        const newer = aGroup({ createdAt: at(3) });
        await store.createGroup(older);
        await store.createGroup(newer);
        expect(await store.findRecentGroup('C0ONCALL', at(0))).toEqual(newer);
        expect(await store.findRecentGroup('C0ONCALL', at(3))).toEqual(newer); // at since counts
        expect(await store.findRecentGroup('C0ONCALL', '2025-03-01T11:03:00+01:00')).toEqual(newer);
        expect(await store.findRecentGroup('C0ONCALL', at(4))).toBeUndefined(); // the newest is too old: so is every other
      });

      it('goes by createdAt, not by the order the groups were written', async () => {
        const newer = aGroup({ createdAt: at(5) });
        const older = aGroup({ createdAt: at(2) });
        await store.createGroup(newer);
        await store.createGroup(older);
        expect(await store.findRecentGroup('C0ONCALL', at(0))).toEqual(newer);
        expect(await store.findRecentGroup('C0ONCALL', at(5))).toEqual(newer);
      });

      it("never returns another channel's group", async () => {
        const mine = aGroup({ createdAt: at(1) });
        const theirs = aGroup({ channel: 'C0OTHER', createdAt: at(9) });
        await store.createGroup(mine);
        await store.createGroup(theirs);
        expect(await store.findRecentGroup('C0ONCALL', at(0))).toEqual(mine);
        expect(await store.findRecentGroup('C0OTHER', at(0))).toEqual(theirs);
        expect(await store.findRecentGroup('C0NONE', at(0))).toBeUndefined();
        expect(await store.findRecentGroup('C0ONCALL', at(2))).toBeUndefined();
      });

      it('returns the group as it is now', async () => {
        const group = aGroup();
        await store.createGroup(group);
        await store.addToGroup(group.id, ['req-a']);
        await store.setGroupMessages(group.id, ['1.1']);
        expect(await store.findRecentGroup('C0ONCALL', T0)).toEqual({ ...group, members: ['req-a'], messages: ['1.1'] });
      });

      it('refuses a since that does not parse with a RangeError', async () => {
        await expect(store.findRecentGroup('C0ONCALL', 'recently')).rejects.toThrow(RangeError);
      });

      it('groups are not requests', async () => {
        await store.createGroup(aGroup());
        for (const state of ['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled', 'expired'] as const) {
          expect(await store.listByState(state)).toEqual([]);
        }
      });
    });

    describe('group keys, rows and hosts left out (findRecentGroup by key, reserveGroupSlots)', () => {
      it('a group round-trips its key, reserved rows and overflow', async () => {
        const group = aGroup({ members: ['req-a'], key: 'k-alertmanager-NodeDown', reserved: 1, overflow: 9_000 });
        await store.createGroup(group);
        expect(await store.getGroup(group.id)).toEqual(group);
      });

      it('findRecentGroup with a key finds only groups recorded with that key; without one, any group', async () => {
        const a = aGroup({ createdAt: at(1), key: 'k-a' });
        const b = aGroup({ createdAt: at(2), key: 'k-b' });
        const plain = aGroup({ createdAt: at(3) });
        for (const g of [a, b, plain]) await store.createGroup(g);
        expect(await store.findRecentGroup('C0ONCALL', at(0), 'k-a')).toEqual(a);
        expect(await store.findRecentGroup('C0ONCALL', at(0), 'k-b')).toEqual(b);
        expect(await store.findRecentGroup('C0ONCALL', at(0), 'k-none')).toBeUndefined();
        expect(await store.findRecentGroup('C0ONCALL', at(2), 'k-a')).toBeUndefined(); // too old
        expect(await store.findRecentGroup('C0OTHER', at(0), 'k-a')).toBeUndefined();
        expect(await store.findRecentGroup('C0ONCALL', at(0))).toEqual(plain);
        const newerA = aGroup({ createdAt: at(4), key: 'k-a' });
        await store.createGroup(newerA);
        expect(await store.findRecentGroup('C0ONCALL', at(0), 'k-a')).toEqual(newerA);
        expect(await store.findRecentGroup('C0ONCALL', at(0), 'k-b')).toEqual(b);
      });

      it('reserveGroupSlots grants up to the cap and the allowance, counts the rest as overflow, and changes nothing else', async () => {
        const group = aGroup({ members: ['req-a', 'req-b'], messages: ['1.1'], key: 'k' });
        await store.createGroup(group);
        // No `reserved` yet: the members count.
        expect(await store.reserveGroupSlots(group.id, 5, { max: 4 })).toEqual({ granted: 2, group: { ...group, reserved: 4, overflow: 3 } });
        expect(await store.reserveGroupSlots(group.id, 7, { max: 4 })).toEqual({ granted: 0, group: { ...group, reserved: 4, overflow: 10 } });
        expect(await store.reserveGroupSlots(group.id, 3, { max: 10, allowed: 1 })).toEqual({ granted: 1, group: { ...group, reserved: 5, overflow: 12 } });
        expect(await store.reserveGroupSlots(group.id, 0, { max: 10 })).toEqual({ granted: 0, group: { ...group, reserved: 5, overflow: 12 } });
        expect(await store.getGroup(group.id)).toEqual({ ...group, reserved: 5, overflow: 12 });
        await store.addToGroup(group.id, ['req-c']);
        expect((await store.getGroup(group.id))?.members).toEqual(['req-a', 'req-b', 'req-c']);
        expect(await store.reserveGroupSlots(group.id, 1, { max: 6 })).toMatchObject({ granted: 1, group: { reserved: 6, overflow: 12 } });
      });

      it('reserveGroupSlots returns undefined for an unknown group, and creates nothing', async () => {
        expect(await store.reserveGroupSlots('grp-nope', 3, { max: 10 })).toBeUndefined();
        expect(await store.getGroup('grp-nope')).toBeUndefined();
      });

      it('20 concurrent reservations of 10 rows on a 100-row group: exactly 100 granted, 100 counted as overflow', async () => {
        const group = aGroup({ reserved: 0 });
        await store.createGroup(group);
        const grants = await Promise.all(Array.from({ length: 20 }, () => store.reserveGroupSlots(group.id, 10, { max: 100 })));
        expect(grants.reduce((n, g) => n + (g?.granted ?? 0), 0)).toBe(100);
        expect(await store.getGroup(group.id)).toMatchObject({ reserved: 100, overflow: 100 });
      });
    });

    describe('takeQuota', () => {
      const until = at(2);

      it('takes up to the limit, then less, then nothing; each key counts on its own', async () => {
        expect(await store.takeQuota('alerts#generic#1', 30, 50, until)).toBe(30);
        expect(await store.takeQuota('alerts#generic#1', 30, 50, until)).toBe(20);
        expect(await store.takeQuota('alerts#generic#1', 1, 50, until)).toBe(0);
        expect(await store.takeQuota('alerts#generic#2', 10, 50, until)).toBe(10);
        expect(await store.takeQuota('alerts#alertmanager#1', 50, 50, until)).toBe(50);
        expect(await store.takeQuota('alerts#generic#2', 0, 50, until)).toBe(0);
        expect(await store.takeQuota('alerts#generic#2', 40, 50, until)).toBe(40);
      });

      it('50 concurrent takes of 3 under a limit of 100: exactly 100 taken', async () => {
        const taken = await Promise.all(Array.from({ length: 50 }, () => store.takeQuota('race', 3, 100, until)));
        expect(taken.reduce((a, b) => a + b, 0)).toBe(100);
        expect(await store.takeQuota('race', 1, 100, until)).toBe(0);
      });

      it('refuses an expiresAt that does not parse with a RangeError', async () => {
        await expect(store.takeQuota('k', 1, 10, 'soon')).rejects.toThrow(RangeError);
      });

      it('counters are not requests, groups or locks', async () => {
        await store.takeQuota('k', 1, 10, until);
        for (const state of ['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled', 'expired'] as const) {
          expect(await store.listByState(state)).toEqual([]);
        }
        expect(await store.findRecentGroup('C0ONCALL', T0)).toBeUndefined();
      });
    });

    describe('listByState', () => {
      it('lists every request in a state, whole', async () => {
        const a = aFullRequest({ state: 'pending', host: 'compute1' });
        const b = aRequest({ host: 'compute2' });
        const c = aRequest({ host: 'compute3' });
        for (const r of [a, b, c]) await store.create(r);
        const approved = await walk(b.id, ['approved']);
        const byId = (rs: ForceDownRequest[]) => [...rs].sort((x, y) => x.id.localeCompare(y.id));
        expect(byId(await store.listByState('pending'))).toEqual(byId([a, c]));
        expect(await store.listByState('approved')).toEqual([approved]);
        expect(await store.listByState('succeeded')).toEqual([]);
      });
    });

    describe('evacuation ledger', () => {
      const IDS = ['3f2b1c9e-0000-4000-8000-000000000001', '3f2b1c9e-0000-4000-8000-000000000002', '3f2b1c9e-0000-4000-8000-000000000003'];
      const anEvacuation = (over: Partial<Omit<Evacuation, 'instances'>> = {}): Evacuation =>
        newEvacuation(
          { id: 'evac-1', requestId: 'req-evac-1', cloud: 'prod-east', host: 'compute1', scope: 'all', by: 'U0ALICE', at: at(1), ...over },
          IDS.map((id, i) => ({ id, name: `vm${i}` })),
        );
      const [A, B, C] = IDS as [string, string, string];

      it('round-trips an evacuation, with or without a target', async () => {
        const ev = anEvacuation();
        expect(await store.createEvacuation(ev)).toEqual({ created: true, evacuation: ev });
        expect(await store.getEvacuation(ev.requestId)).toEqual(ev);
        const targeted = anEvacuation({ id: 'evac-2', requestId: 'req-evac-2', scope: 'ha-only', target: 'compute9' });
        await store.createEvacuation(targeted);
        expect(await store.getEvacuation('req-evac-2')).toEqual(targeted);
        expect(await store.getEvacuation('req-unknown')).toBeUndefined();
      });

      it(`${RACERS} concurrent creates for one request: exactly one is created, all return it`, async () => {
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => store.createEvacuation(anEvacuation({ id: `evac-${i}`, by: `U${i}` }))),
        );
        const created = results.filter((r) => r.created);
        expect(created).toHaveLength(1);
        const winner = created[0]!.evacuation;
        for (const r of results) expect(r.evacuation).toEqual(winner);
        expect(await store.getEvacuation('req-evac-1')).toEqual(winner);
      });

      it('a second create never replaces the first, even after claims', async () => {
        const ev = anEvacuation();
        await store.createEvacuation(ev);
        await store.claimInstance(ev.requestId, A, 'planned', 'sending', at(2));
        const again = await store.createEvacuation(anEvacuation({ id: 'evac-other', by: 'U0BOB' }));
        expect(again.created).toBe(false);
        expect(again.evacuation.id).toBe('evac-1');
        expect(again.evacuation.instances[A]?.state).toBe('sending');
      });

      it(`${RACERS} concurrent claims of one instance: exactly one wins, and no other instance changes`, async () => {
        const ev = anEvacuation();
        await store.createEvacuation(ev);
        const results = await Promise.all(Array.from({ length: RACERS }, () => store.claimInstance(ev.requestId, A, 'planned', 'sending', at(2))));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        for (const r of results.filter((r) => !r.ok)) {
          if (!r.ok) expect(r.current?.instances[A]?.state).toBe('sending');
        }
        const now = await store.getEvacuation(ev.requestId);
        expect(now?.instances[A]).toEqual({ name: 'vm0', state: 'sending', updatedAt: at(2) });
        expect(now?.instances[B]).toEqual(ev.instances[B]);
        expect(now?.instances[C]).toEqual(ev.instances[C]);
      });

      it('concurrent claims of different instances all land', async () => {
        const ev = anEvacuation();
        await store.createEvacuation(ev);
        const results = await Promise.all(IDS.map((id) => store.claimInstance(ev.requestId, id, 'planned', 'sending', at(2))));
        expect(results.every((r) => r.ok)).toBe(true);
        const now = await store.getEvacuation(ev.requestId);
        expect(Object.values(now?.instances ?? {}).map((e) => e.state)).toEqual(['sending', 'sending', 'sending']);
      });

      it('walks an instance planned → sending → accepted → done, keeping code, message and migration', async () => {
        const ev = anEvacuation();
        await store.createEvacuation(ev);
        expect((await store.claimInstance(ev.requestId, A, 'planned', 'sending', at(2))).ok).toBe(true);
        expect((await store.updateInstance(ev.requestId, A, ['sending'], { state: 'accepted', at: at(3), migration: 'mig-7' })).ok).toBe(true);
        const done = await store.updateInstance(ev.requestId, A, ['accepted'], { state: 'done', at: at(4) });
        expect(done.ok && done.evacuation.instances[A]).toEqual({ name: 'vm0', state: 'done', migration: 'mig-7', updatedAt: at(4) });
        const refused = await store.claimInstance(ev.requestId, B, 'planned', 'sending', at(2)).then(() =>
          store.updateInstance(ev.requestId, B, ['sending'], { state: 'refused', at: at(3), code: 'NOVA_REFUSED', message: 'Nova said 409' }),
        );
        expect(refused.ok && refused.evacuation.instances[B]).toEqual({ name: 'vm1', state: 'refused', code: 'NOVA_REFUSED', message: 'Nova said 409', updatedAt: at(3) });
        expect((await store.getEvacuation(ev.requestId))?.instances[A]?.state).toBe('done');
      });

      it.each([
        ['sending back to planned', ['sending'], 'planned', 'sending'],
        ['planned straight to accepted', ['planned'], 'accepted', 'planned'],
        ['planned straight to done', ['planned'], 'done', 'planned'],
        ['sending straight to done', ['sending'], 'done', 'sending'],
        ['a from-state the instance is not in', ['accepted'], 'done', 'sending'],
      ] as const)('refuses an illegal move: %s, changing nothing', async (_label, from, to, stateBefore) => {
        const ev = anEvacuation();
        await store.createEvacuation(ev);
        if (stateBefore === 'sending') await store.claimInstance(ev.requestId, A, 'planned', 'sending', at(2));
        const before = await store.getEvacuation(ev.requestId);
        const res = await store.updateInstance(ev.requestId, A, from, { state: to, at: at(5) });
        expect(res).toEqual({ ok: false, current: before });
        expect(await store.getEvacuation(ev.requestId)).toEqual(before);
      });

      it('refuses a claim of an instance already claimed, a finished one, an unknown instance or request', async () => {
        const ev = anEvacuation();
        await store.createEvacuation(ev);
        await store.claimInstance(ev.requestId, A, 'planned', 'sending', at(2));
        expect((await store.claimInstance(ev.requestId, A, 'planned', 'sending', at(3))).ok).toBe(false);
        await store.updateInstance(ev.requestId, A, ['sending'], { state: 'refused', at: at(3) });
        expect((await store.claimInstance(ev.requestId, A, 'planned', 'sending', at(4))).ok).toBe(false);
        expect(await store.claimInstance(ev.requestId, 'not-an-instance', 'planned', 'sending', at(4))).toEqual({ ok: false, current: await store.getEvacuation(ev.requestId) });
        expect(await store.claimInstance('req-unknown', A, 'planned', 'sending', at(4))).toEqual({ ok: false, current: undefined });
        expect(await store.getEvacuation('req-unknown')).toBeUndefined();
      });

      it('resume: after a crash, getEvacuation shows which instances were claimed or accepted', async () => {
        const ev = anEvacuation();
        await store.createEvacuation(ev);
        await store.claimInstance(ev.requestId, A, 'planned', 'sending', at(2));
        await store.updateInstance(ev.requestId, A, ['sending'], { state: 'accepted', at: at(3) });
        await store.claimInstance(ev.requestId, B, 'planned', 'sending', at(4));
        // The worker dies here; the next one reads the ledger.
        const now = await store.getEvacuation(ev.requestId);
        expect(Object.fromEntries(Object.entries(now?.instances ?? {}).map(([id, e]) => [id, e.state]))).toEqual({ [A]: 'accepted', [B]: 'sending', [C]: 'planned' });
      });

      describe('rounds (decideRound, retryEvacuation)', () => {
        const FIELDS = { id: 'evac-r', requestId: 'req-evac-r', cloud: 'prod-east', host: 'compute1', scope: 'all', by: 'U0ALICE', at: at(1) } as const;
        const idOf = (i: number) => `3f2b1c9e-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;
        /** A ledger as round 1 left it, checked: one entry per state given (entry i is `vm<i>`, id idOf(i)). */
        const aLedger = (states: readonly InstanceEvacuationState[], over: Partial<Omit<Evacuation, 'instances'>> = {}): Evacuation => ({
          ...newEvacuation({ ...FIELDS, target: 'compute9' }, []),
          checkedRound: 1,
          ...over,
          instances: Object.fromEntries(
            states.map((state, i): [string, InstanceEntry] => [
              idOf(i),
              {
                name: `vm${i}`,
                state,
                updatedAt: at(2),
                ...(['failed', 'refused', 'timeout'].includes(state) ? { code: 'EVACUATION_FAILED', message: `vm${i} did not move` } : {}),
                ...(['accepted', 'done', 'failed', 'timeout'].includes(state) ? { migration: `mig-${i}` } : {}),
              },
            ]),
          ),
        });
        const listed = [
          { id: IDS[0]!, name: 'vm0' },
          { id: IDS[1]!, name: 'vm1' },
          { id: IDS[0]!, name: 'vm0-again' },
        ];

        it('a passing decision on an empty ledger lists its instances as planned and checks the round', async () => {
          await store.createEvacuation(newEvacuation(FIELDS, []));
          const res = await store.decideRound(FIELDS.requestId, 1, { instances: listed }, at(2));
          const expected: Evacuation = {
            ...FIELDS,
            round: 1,
            checkedRound: 1,
            instances: { [A]: { name: 'vm0', state: 'planned', updatedAt: at(2) }, [B]: { name: 'vm1', state: 'planned', updatedAt: at(2) } },
          };
          expect(res).toEqual({ ok: true, evacuation: expected });
          expect(await store.getEvacuation(FIELDS.requestId)).toEqual(expected);
          // The instances can now be claimed, one by one.
          expect((await store.claimInstance(FIELDS.requestId, A, 'planned', 'sending', at(3))).ok).toBe(true);
        });

        it('a passing decision on a ledger with entries changes none of them', async () => {
          const ev = anEvacuation({ requestId: FIELDS.requestId });
          await store.createEvacuation(ev);
          const res = await store.decideRound(ev.requestId, 1, { instances: [{ id: 'someone-else', name: 'vmX' }] }, at(2));
          expect(res).toEqual({ ok: true, evacuation: { ...ev, checkedRound: 1 } });
          expect(await store.getEvacuation(ev.requestId)).toEqual({ ...ev, checkedRound: 1 });
        });

        it('a round is decided once: a second decision of it, or one for another round, is refused with the evacuation as it is', async () => {
          await store.createEvacuation(newEvacuation(FIELDS, []));
          await store.decideRound(FIELDS.requestId, 1, { instances: listed }, at(2));
          const decided = await store.getEvacuation(FIELDS.requestId);
          expect(await store.decideRound(FIELDS.requestId, 1, { instances: [{ id: C, name: 'vm2' }] }, at(3))).toEqual({ ok: false, current: decided });
          expect(await store.decideRound(FIELDS.requestId, 1, { refusal: { code: 'NOT_FORCED_DOWN', message: 'no' } }, at(3))).toEqual({ ok: false, current: decided });
          expect(await store.decideRound(FIELDS.requestId, 2, { instances: listed }, at(3))).toEqual({ ok: false, current: decided });
          expect(await store.getEvacuation(FIELDS.requestId)).toEqual(decided);
          expect(await store.decideRound('req-unknown', 1, { instances: listed }, at(3))).toEqual({ ok: false, current: undefined });
          expect(await store.getEvacuation('req-unknown')).toBeUndefined();
        });

        it('a decision for a round that is not the current one is refused, changing nothing', async () => {
          await store.createEvacuation(newEvacuation(FIELDS, []));
          const before = await store.getEvacuation(FIELDS.requestId);
          expect(await store.decideRound(FIELDS.requestId, 2, { instances: listed }, at(2))).toEqual({ ok: false, current: before });
          expect(await store.decideRound(FIELDS.requestId, 0, { refusal: { code: 'NOT_FORCED_DOWN', message: 'no' } }, at(2))).toEqual({ ok: false, current: before });
          expect(await store.getEvacuation(FIELDS.requestId)).toEqual(before);
        });

        it('a refusal is recorded with its round, lists nothing, and the round cannot then pass', async () => {
          await store.createEvacuation(newEvacuation(FIELDS, []));
          const res = await store.decideRound(FIELDS.requestId, 1, { refusal: { code: 'NOT_FORCED_DOWN', message: 'compute1 is not forced down' } }, at(2));
          const refused: Evacuation = { ...FIELDS, round: 1, instances: {}, refusal: { round: 1, code: 'NOT_FORCED_DOWN', message: 'compute1 is not forced down', at: at(2) } };
          expect(res).toEqual({ ok: true, evacuation: refused });
          expect(await store.getEvacuation(FIELDS.requestId)).toEqual(refused);
          expect(await store.decideRound(FIELDS.requestId, 1, { instances: listed }, at(3))).toEqual({ ok: false, current: refused });
        });

        it('a record written before rounds (no round) is in round 1', async () => {
          const { round: _r, ...old } = newEvacuation(FIELDS, []);
          await store.createEvacuation(old);
          const res = await store.decideRound(FIELDS.requestId, 1, { instances: listed }, at(2));
          expect(res.ok && res.evacuation.checkedRound).toBe(1);
          expect(res.ok && res.evacuation.round).toBeUndefined();
          expect((await store.decideRound(FIELDS.requestId, 1, { instances: listed }, at(3))).ok).toBe(false);
        });

        it(`${RACERS} concurrent decisions of one round: exactly one lands, the others see it`, async () => {
          await store.createEvacuation(newEvacuation(FIELDS, []));
          const results = await Promise.all(
            Array.from({ length: RACERS }, (_, i) =>
              store.decideRound(
                FIELDS.requestId,
                1,
                i % 3 === 0 ? { refusal: { code: 'NOT_FORCED_DOWN', message: `refused by ${i}` } } : { instances: [{ id: idOf(i), name: `vm${i}` }] },
                at(2),
              ),
            ),
          );
          const won = results.filter((r) => r.ok);
          expect(won).toHaveLength(1);
          const stored = await store.getEvacuation(FIELDS.requestId);
          expect(won[0]!.ok && won[0]!.evacuation).toEqual(stored);
          // One decision, whole: either a refusal and no instance, or the round checked with exactly one instance.
          if (stored?.refusal) expect([stored.checkedRound, Object.keys(stored.instances).length]).toEqual([undefined, 0]);
          else expect([stored?.checkedRound, Object.keys(stored?.instances ?? {}).length]).toEqual([1, 1]);
          for (const r of results) if (!r.ok) expect(r.current).toEqual(stored);
        });

        it('claims and updates of entries racing a decision are never lost', async () => {
          const ledgers = Array.from({ length: 20 }, (_, k) =>
            aLedger(['planned', 'accepted'], { id: `evac-race-${k}`, requestId: `req-race-${k}`, checkedRound: undefined }),
          );
          for (const ev of ledgers) await store.createEvacuation(ev);
          const runs = await Promise.all(
            ledgers.map(async (ev) => {
              const results = await Promise.all([
                store.claimInstance(ev.requestId, idOf(0), 'planned', 'sending', at(4)),
                store.updateInstance(ev.requestId, idOf(1), ['accepted'], { state: 'done', at: at(4) }),
                store.decideRound(ev.requestId, 1, { instances: [] }, at(5)),
              ]);
              return { ev, results };
            }),
          );
          for (const { ev, results } of runs) {
            expect(results.map((r) => r.ok)).toEqual([true, true, true]);
            expect(await store.getEvacuation(ev.requestId)).toEqual({
              ...ev,
              checkedRound: 1,
              instances: {
                [idOf(0)]: { ...ev.instances[idOf(0)], state: 'sending', updatedAt: at(4) },
                [idOf(1)]: { ...ev.instances[idOf(1)], state: 'done', updatedAt: at(4) },
              },
            });
          }
        });

        it('a retry sends failed and refused entries back to planned in the next round, replacing the target; timeout and done stay', async () => {
          const ev = aLedger(['failed', 'refused', 'timeout', 'done'], { refusal: undefined });
          await store.createEvacuation(ev);
          const res = await store.retryEvacuation(ev.requestId, 1, at(5), 'compute7');
          const { checkedRound: _c, ...rest } = ev;
          const expected: Evacuation = {
            ...rest,
            round: 2,
            target: 'compute7',
            instances: {
              ...ev.instances,
              [idOf(0)]: { name: 'vm0', state: 'planned', updatedAt: at(5) },
              [idOf(1)]: { name: 'vm1', state: 'planned', updatedAt: at(5) },
            },
          };
          expect(res).toEqual({ ok: true, evacuation: expected });
          expect(await store.getEvacuation(ev.requestId)).toEqual(expected);
          // The new round is undecided: its checks run again, and only then may its entries be claimed.
          const decided = await store.decideRound(ev.requestId, 2, { instances: [] }, at(6));
          expect(decided.ok && decided.evacuation.checkedRound).toBe(2);
        });

        it('a retry without a target removes the target (Nova chooses) and clears the last refusal', async () => {
          const ev = aLedger(['planned', 'planned', 'done'], { checkedRound: undefined, refusal: { round: 1, code: 'BMC_NOT_OFF', message: 'power is on', at: at(3) } });
          await store.createEvacuation(ev);
          const res = await store.retryEvacuation(ev.requestId, 1, at(5));
          expect(res.ok).toBe(true);
          const stored = await store.getEvacuation(ev.requestId);
          expect(res.ok && res.evacuation).toEqual(stored);
          expect(stored).not.toHaveProperty('target');
          expect(stored).not.toHaveProperty('refusal');
          expect(stored).not.toHaveProperty('checkedRound');
          expect(stored?.round).toBe(2);
          expect(stored?.instances[idOf(0)]).toEqual({ name: 'vm0', state: 'planned', updatedAt: at(5) });
          expect(stored?.instances[idOf(2)]).toEqual(ev.instances[idOf(2)]);
        });

        it('a round 1 refused before listing anything is retried as a whole', async () => {
          await store.createEvacuation(newEvacuation(FIELDS, []));
          await store.decideRound(FIELDS.requestId, 1, { refusal: { code: 'NOT_FORCED_DOWN', message: 'no' } }, at(2));
          const res = await store.retryEvacuation(FIELDS.requestId, 1, at(3), 'compute7');
          expect(res).toEqual({ ok: true, evacuation: { ...FIELDS, round: 2, target: 'compute7', instances: {} } });
          expect((await store.decideRound(FIELDS.requestId, 2, { instances: listed }, at(4))).ok).toBe(true);
          expect(Object.keys((await store.getEvacuation(FIELDS.requestId))?.instances ?? {})).toEqual([A, B]);
        });

        it.each(['sending', 'accepted'] as const)('a retry is refused while an instance is %s, changing nothing', async (state) => {
          const ev = aLedger(['failed', state, 'done']);
          await store.createEvacuation(ev);
          expect(await store.retryEvacuation(ev.requestId, 1, at(5), 'compute7')).toEqual({ ok: false, current: ev });
          expect(await store.getEvacuation(ev.requestId)).toEqual(ev);
        });

        it('a retry is refused for a stale round, with nothing to retry, or for an unknown request', async () => {
          const ev = aLedger(['failed', 'done']);
          await store.createEvacuation(ev);
          expect((await store.retryEvacuation(ev.requestId, 1, at(5))).ok).toBe(true);
          const now = await store.getEvacuation(ev.requestId);
          // The same form submitted again: round 1 is over.
          expect(await store.retryEvacuation(ev.requestId, 1, at(6))).toEqual({ ok: false, current: now });
          // Round 2 has nothing failed yet.
          expect(await store.retryEvacuation(ev.requestId, 2, at(6))).toEqual({ ok: false, current: now });
          expect(await store.getEvacuation(ev.requestId)).toEqual(now);
          const finished = aLedger(['done', 'timeout'], { requestId: 'req-evac-done' });
          await store.createEvacuation(finished);
          expect(await store.retryEvacuation('req-evac-done', 1, at(5))).toEqual({ ok: false, current: finished });
          expect(await store.retryEvacuation('req-unknown', 1, at(5))).toEqual({ ok: false, current: undefined });
          expect(await store.getEvacuation('req-unknown')).toBeUndefined();
        });

        it(`${RACERS} concurrent submissions of one retry: exactly one starts the next round`, async () => {
          const ev = aLedger(['failed', 'refused', 'done']);
          await store.createEvacuation(ev);
          const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => store.retryEvacuation(ev.requestId, 1, at(5), `compute${i}`)));
          const won = results.filter((r) => r.ok);
          expect(won).toHaveLength(1);
          const stored = await store.getEvacuation(ev.requestId);
          expect(won[0]!.ok && won[0]!.evacuation).toEqual(stored);
          expect(stored?.round).toBe(2);
          for (const r of results) if (!r.ok) expect(r.current).toEqual(stored);
        });

        it.each([
          ['a claim of an entry left planned', 'planned'],
          ['an accepted entry ending', 'accepted'],
        ] as const)('%s while a retry is submitted is never lost', async (_label, racing) => {
          // Per ledger: vm0 failed (retried), vm1 racing (a claim planned → sending, or an update
          // accepted → done, each legal whatever the round), vm2 done.
          const ledgers = Array.from({ length: 20 }, (_, k) => aLedger(['failed', racing, 'done'], { id: `evac-race-${k}`, requestId: `req-race-${k}` }));
          for (const ev of ledgers) await store.createEvacuation(ev);
          const runs = await Promise.all(
            ledgers.map(async (ev) => {
              const [retries, moved] = await Promise.all([
                Promise.all(Array.from({ length: 3 }, () => store.retryEvacuation(ev.requestId, 1, at(5), 'compute7'))),
                racing === 'planned'
                  ? store.claimInstance(ev.requestId, idOf(1), 'planned', 'sending', at(4))
                  : store.updateInstance(ev.requestId, idOf(1), ['accepted'], { state: 'done', at: at(4) }),
              ]);
              return { ev, retried: retries.filter((r) => r.ok).length, moved };
            }),
          );
          for (const { ev, retried, moved } of runs) {
            expect(moved.ok).toBe(true);
            expect(retried).toBeLessThanOrEqual(1);
            const stored = await store.getEvacuation(ev.requestId);
            // The move stays, whichever landed first.
            expect(stored?.instances[idOf(1)]).toEqual({ ...ev.instances[idOf(1)], state: racing === 'planned' ? 'sending' : 'done', updatedAt: at(4) });
            expect(stored?.instances[idOf(2)]).toEqual(ev.instances[idOf(2)]);
            // The retry landed whole or not at all.
            expect(stored?.round).toBe(retried === 1 ? 2 : 1);
            expect(stored?.instances[idOf(0)]).toEqual(retried === 1 ? { name: 'vm0', state: 'planned', updatedAt: at(5) } : ev.instances[idOf(0)]);
            expect(stored?.target).toBe(retried === 1 ? 'compute7' : 'compute9');
          }
        });

        it('a retry of many entries resets every failed one and keeps every ended one', async () => {
          const states = Array.from({ length: 320 }, (_, i): InstanceEvacuationState => (i % 16 === 0 ? 'done' : i % 2 ? 'failed' : 'refused'));
          const ev = aLedger(states);
          await store.createEvacuation(ev);
          const res = await store.retryEvacuation(ev.requestId, 1, at(5));
          expect(res.ok).toBe(true);
          const stored = await store.getEvacuation(ev.requestId);
          expect(res.ok && res.evacuation).toEqual(stored);
          states.forEach((state, i) =>
            expect(stored?.instances[idOf(i)]).toEqual(state === 'done' ? ev.instances[idOf(i)] : { name: `vm${i}`, state: 'planned', updatedAt: at(5) }),
          );
        });

        it('a retry of a refused round with many planned entries resets them all', async () => {
          const ev = aLedger(Array.from({ length: 150 }, () => 'planned' as const), {
            checkedRound: undefined,
            refusal: { round: 1, code: 'BMC_NOT_OFF', message: 'power is on', at: at(3) },
          });
          await store.createEvacuation(ev);
          const res = await store.retryEvacuation(ev.requestId, 1, at(5), 'compute7');
          expect(res.ok && res.evacuation.round).toBe(2);
          const stored = await store.getEvacuation(ev.requestId);
          expect(Object.values(stored?.instances ?? {}).every((e) => e.state === 'planned' && e.updatedAt === at(5))).toBe(true);
          expect(Object.keys(stored?.instances ?? {})).toHaveLength(150);
        });
      });

      it('evacuations are not requests or groups', async () => {
        await store.createEvacuation(anEvacuation({ requestId: 'req-evac-x' }));
        expect(await store.get('req-evac-x')).toBeUndefined();
        expect(await store.getGroup('req-evac-x')).toBeUndefined();
        for (const state of ['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled', 'expired'] as const) {
          expect(await store.listByState(state)).toEqual([]);
        }
      });
    });
  });
}
