// Issue #11, 6: a submission confirms only the modal it answers. Each opened form (modal) carries a
// single-use nonce recorded on the request; the confirmation consumes it with the pending/failed →
// approved compare-and-set, and any state change drops the open ones.
import { describe, expect, it } from 'vitest';
import { confirmRequest, openConfirmationForm, openRequest } from '../../../src/app/requests.js';
import { MAX_OPEN_FORMS } from '../../../src/app/store-port.js';
import { APPROVER, REQUESTER, setup, slash } from './harness.js';

const OTHER_APPROVER = 'U_APPROVER2';

async function pending(t: ReturnType<typeof setup>, host = 'compute1') {
  const opened = await openRequest(t.deps, slash({ host }));
  if (opened.kind !== 'opened') throw new Error('not opened');
  await t.drain();
  return opened.request.id;
}

async function form(t: ReturnType<typeof setup>, id: string, userId = APPROVER): Promise<string> {
  const res = await openConfirmationForm(t.deps, { id, userId, userGroups: new Set() });
  if (res.kind !== 'opened') throw new Error(`form refused: ${res.refusal}`);
  return res.form;
}

const confirm = (t: ReturnType<typeof setup>, id: string, f: string | undefined, userId = APPROVER) =>
  confirmRequest(t.deps, { id, userId, userGroups: new Set(), method: 'bmc', ...(f !== undefined ? { form: f } : {}) });

describe('confirmation forms (single-use nonces)', () => {
  const twoApprovers = () => setup({ policy: { approverUsers: new Set([APPROVER, OTHER_APPROVER]), approverGroups: new Set(), twoPerson: true } });

  it('opening a form records a new nonce on the request; the confirmation consumes it; a replay is refused, Nova called once', async () => {
    const t = setup();
    const id = await pending(t);
    const f = await form(t, id);
    expect((await t.deps.store.get(id))?.openForms).toEqual([f]);
    expect(await confirm(t, id, f)).toMatchObject({ kind: 'done', request: { state: 'approved' } });
    expect((await t.deps.store.get(id))?.openForms).toBeUndefined();
    expect(await confirm(t, id, f)).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
    await t.drain();
    expect(t.nova.calls).toHaveLength(1);
    // After the request succeeded, too.
    expect(await confirm(t, id, f)).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
  });

  it('a replay after the request failed: refused, no second Nova call; Retry… opens a new form that works', async () => {
    const t = setup();
    const id = await pending(t);
    const f = await form(t, id);
    t.nova.failNext({ code: 'NOVA_UNAVAILABLE', message: 'down' });
    expect((await confirm(t, id, f)).kind).toBe('done');
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'failed' });
    expect(t.nova.calls).toHaveLength(1);

    expect(await confirm(t, id, f)).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
    await t.drain();
    expect(t.nova.calls).toHaveLength(1);
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'failed' });

    t.nova.failNext(undefined);
    const retry = await form(t, id);
    expect(retry).not.toBe(f);
    expect((await confirm(t, id, retry)).kind).toBe('done');
    await t.drain();
    expect(t.nova.calls).toHaveLength(2);
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'succeeded' });
  });

  it('two approvers with a form each: one wins; the other form is out of date, also after a failure', async () => {
    const t = twoApprovers();
    const id = await pending(t);
    const mine = await form(t, id, APPROVER);
    const theirs = await form(t, id, OTHER_APPROVER);
    t.nova.failNext({ code: 'NOVA_UNAVAILABLE', message: 'down' });
    expect((await confirm(t, id, mine, APPROVER)).kind).toBe('done');
    expect(await confirm(t, id, theirs, OTHER_APPROVER)).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
    await t.drain();
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'failed' });
    // The other approver's form was opened before the failure: it does not confirm the failed request.
    expect(await confirm(t, id, theirs, OTHER_APPROVER)).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
    expect(t.nova.calls).toHaveLength(1);
  });

  it('50 concurrent submissions of one form: one confirmation, 49 FORM_OUT_OF_DATE, one Nova call', async () => {
    const t = setup();
    const id = await pending(t);
    const f = await form(t, id);
    const results = await Promise.all(Array.from({ length: 50 }, () => confirm(t, id, f)));
    expect(results.filter((r) => r.kind === 'done')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'refused' && r.refusal === 'FORM_OUT_OF_DATE')).toHaveLength(49);
    await t.drain();
    expect(t.nova.calls).toHaveLength(1);
  });

  it('a form of another request, or an invented nonce, confirms nothing', async () => {
    const t = setup();
    const id = await pending(t);
    const other = await openRequest(t.deps, slash({ host: 'compute2' }));
    if (other.kind !== 'opened') throw new Error('not opened');
    const otherForm = await form(t, other.request.id);
    expect(await confirm(t, id, otherForm)).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
    expect(await confirm(t, id, 'invented')).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'pending' });
  });

  it('forms open only on a request that can be confirmed, by an approver', async () => {
    const t = setup();
    const id = await pending(t);
    expect(await openConfirmationForm(t.deps, { id, userId: 'U_RANDOM', userGroups: new Set() })).toMatchObject({ kind: 'refused', refusal: 'NOT_AUTHORIZED' });
    expect(await openConfirmationForm(t.deps, { id, userId: REQUESTER, userGroups: new Set(['S_ONCALL']) })).toMatchObject({ kind: 'refused', refusal: 'TWO_PERSON_RULE' });
    expect(await openConfirmationForm(t.deps, { id: 'nope', userId: APPROVER, userGroups: new Set() })).toMatchObject({ kind: 'refused', refusal: 'REQUEST_NOT_FOUND' });
    expect((await t.deps.store.get(id))?.openForms).toBeUndefined();
    expect((await confirm(t, id, await form(t, id))).kind).toBe('done');
    expect(await openConfirmationForm(t.deps, { id, userId: APPROVER, userGroups: new Set() })).toMatchObject({ kind: 'refused', refusal: 'ALREADY_HANDLED' });
    t.advance(31 * 60_000);
    const late = await pending(t, 'compute9');
    t.advance(31 * 60_000);
    expect(await openConfirmationForm(t.deps, { id: late, userId: APPROVER, userGroups: new Set() })).toMatchObject({ kind: 'refused', refusal: 'REQUEST_EXPIRED', request: { state: 'expired' } });
  });

  it(`at ${MAX_OPEN_FORMS} open forms the next replaces them: the newest form always works`, async () => {
    const t = setup();
    const id = await pending(t);
    const forms: string[] = [];
    for (let i = 0; i <= MAX_OPEN_FORMS; i++) forms.push(await form(t, id));
    expect((await t.deps.store.get(id))?.openForms).toEqual([forms.at(-1)]);
    expect(await confirm(t, id, forms[0])).toMatchObject({ kind: 'refused', refusal: 'FORM_OUT_OF_DATE' });
    expect((await confirm(t, id, forms.at(-1))).kind).toBe('done');
  });
});
