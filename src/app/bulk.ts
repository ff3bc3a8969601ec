import { checkApprover, checkCanceller, isExpired, type Refusal } from '../domain/policy.js';
import type { FenceChoice } from '../domain/fencing.js';
import type { ForceDownRequest } from '../domain/request.js';
import { iso } from './outcomes.js';
import type { AppDeps } from './ports.js';
import { confirmRequest, REFRESH_GROUP_MAX_IDS } from './requests.js';

/**
 * Many hosts of one grouped card at once (a rack outage): **Confirm all
 * fenced…** and **Cancel all…**. Neither is a new kind of decision: each host
 * is still its own request, confirmed by `confirmRequest` (the same checks,
 * the same compare-and-set, one confirmation and one `execute` job per host,
 * and the worker's fence checks before its Nova call) or cancelled with the
 * same compare-and-set a single **Cancel** makes. Only what the api does per
 * click changes: one form for many hosts, one card render for many rows.
 */

/** A member the bulk action did not take, and why. */
export interface BulkRefused {
  id: string;
  refusal: Refusal;
  request?: ForceDownRequest;
}

export type BulkFormResult =
  | {
      kind: 'opened';
      /** The hosts this form confirms (sorted by host, at most `limit`), each with the form recorded. */
      requests: ForceDownRequest[];
      /** The form's single-use nonce, recorded on each of `requests`. */
      form: string;
      /** Pending hosts the approver may confirm that did not fit this form (the next page). */
      more: number;
    }
  | { kind: 'refused'; refusal: Refusal; request?: ForceDownRequest };

const byHost = (a: ForceDownRequest, b: ForceDownRequest) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function membersOf(deps: AppDeps, groupId: string): Promise<ForceDownRequest[] | undefined> {
  const group = await deps.store.getGroup(groupId);
  if (!group) return undefined;
  const members = await Promise.all([...new Set(group.members)].map((id) => deps.store.get(id)));
  return members.filter((r): r is ForceDownRequest => r?.group === groupId);
}

/**
 * **Confirm all fenced…** on grouped card `group`: the form (modal) for its
 * pending force-downs that `userId` may confirm, sorted by host, at most
 * `limit` of them (Slack's multi-select holds 100 options; the rest, `more`,
 * go in the next form, opened after these are confirmed). Records the form's
 * single-use nonce on each of them, as {@link openConfirmationForm} does for
 * one, only while it is still pending: the submission confirms exactly the
 * hosts the form was opened for, each once (the nonce is consumed by its
 * confirmation, and any other change of the request drops it). No Nova call.
 */
export async function openBulkConfirmation(
  deps: AppDeps,
  input: { group: string; userId: string; userGroups: ReadonlySet<string>; limit: number },
): Promise<BulkFormResult> {
  const members = await membersOf(deps, input.group);
  if (!members || members.length === 0) return { kind: 'refused', refusal: 'REQUEST_NOT_FOUND' };
  const now = deps.now();
  const waiting = members.filter((r) => r.action === 'force-down' && r.state === 'pending' && !isExpired(r, now)).sort(byHost);
  // A cloud force-down is not configured for (an alert's cloudLabel named it) cannot be confirmed: not offered.
  const pending = waiting.filter((r) => deps.nova(r.cloud) !== undefined);
  if (pending.length === 0) return waiting.length ? { kind: 'refused', refusal: 'UNKNOWN_CLOUD', request: waiting[0]! } : { kind: 'refused', refusal: 'ALREADY_HANDLED', request: members[0]! };
  // The approver check of each (the two-person rule may leave out requests this user opened).
  const allowed = pending.filter((r) => checkApprover(deps.policy, r, input.userId, input.userGroups) === undefined);
  if (allowed.length === 0) {
    const first = pending[0]!;
    return { kind: 'refused', refusal: checkApprover(deps.policy, first, input.userId, input.userGroups) ?? 'NOT_AUTHORIZED', request: first };
  }
  const page = allowed.slice(0, Math.max(1, input.limit));
  const form = deps.newId();
  const recorded = await Promise.all(page.map((r) => deps.store.recordForm(r.id, form, ['pending'])));
  const requests = recorded.flatMap((res) => (res.ok ? [res.request] : []));
  if (requests.length === 0) return { kind: 'refused', refusal: 'ALREADY_HANDLED', request: page[0]! };
  return { kind: 'opened', requests: requests.sort(byHost), form, more: allowed.length - page.length };
}

export interface BulkConfirmInput {
  group: string;
  /** The requests (hosts) the approver kept selected in the form. */
  ids: readonly string[];
  /** The form's nonce ({@link openBulkConfirmation}). */
  form: string;
  userId: string;
  userGroups: ReadonlySet<string>;
  method: FenceChoice;
  note?: string;
}

export interface BulkConfirmResult {
  /** Confirmed now, each with its own confirmation and its own `execute` job. */
  confirmed: ForceDownRequest[];
  refused: BulkRefused[];
}

/**
 * The **Confirm all fenced…** form's submission: each selected host is
 * confirmed exactly as a single confirmation would (`confirmRequest` with the
 * form's nonce: the approver check, expiry, the compare-and-set to `approved`
 * recording `{by, at, method, note}`, the `execute` job). A host not of this
 * group, or not in this form, is refused (its request never had the nonce); a
 * second submission of the same form finds every nonce consumed and confirms
 * nothing again.
 */
export async function confirmMany(deps: AppDeps, input: BulkConfirmInput): Promise<BulkConfirmResult> {
  const ids = [...new Set(input.ids)];
  const results = await Promise.all(
    ids.map(async (id): Promise<{ id: string; ok: true; request: ForceDownRequest } | ({ ok: false } & BulkRefused)> => {
      const request = await deps.store.get(id);
      if (!request || request.group !== input.group) return { ok: false, id, refusal: 'REQUEST_NOT_FOUND' };
      if (request.action !== 'force-down') return { ok: false, id, refusal: 'FORM_OUT_OF_DATE', request };
      const res = await confirmRequest(deps, {
        id,
        form: input.form,
        userId: input.userId,
        userGroups: input.userGroups,
        method: input.method,
        ...(input.note ? { note: input.note } : {}),
      });
      return res.kind === 'done' ? { id, ok: true, request: res.request } : { ok: false, id, refusal: res.refusal, ...(res.request ? { request: res.request } : {}) };
    }),
  );
  const confirmed = results.flatMap((r) => (r.ok ? [r.request] : []));
  const refused = results.flatMap((r): BulkRefused[] => (r.ok ? [] : [{ id: r.id, refusal: r.refusal, ...(r.request ? { request: r.request } : {}) }]));
  deps.log.info('group confirmed', { groupId: input.group, by: input.userId, confirmed: confirmed.length, refused: refused.length, method: input.method });
  return { confirmed, refused };
}

export interface CancelGroupResult {
  cancelled: ForceDownRequest[];
  /** Past their expiry: recorded expired instead, as a single Cancel would. */
  expired: ForceDownRequest[];
  refused: BulkRefused[];
}

/**
 * **Cancel all…** on grouped card `group` (a false alarm): every pending row
 * is cancelled, each by the compare-and-set a single **Cancel** makes (who
 * may: `checkCanceller`, per request), a row past its expiry is recorded
 * expired instead. Confirmed, running and finished rows are left as they
 * are. Nova is not called. The card is shown again once for all of them, with
 * one line in its thread naming the hosts (the `refresh-group` job).
 */
export async function cancelGroup(deps: AppDeps, input: { group: string; userId: string; userGroups: ReadonlySet<string> }): Promise<CancelGroupResult | { kind: 'refused'; refusal: Refusal }> {
  const members = await membersOf(deps, input.group);
  if (!members || members.length === 0) return { kind: 'refused', refusal: 'REQUEST_NOT_FOUND' };
  const now = deps.now();
  const at = iso(now);
  const outcome: CancelGroupResult = { cancelled: [], expired: [], refused: [] };
  await Promise.all(
    members
      .filter((r) => r.state === 'pending')
      .map(async (r) => {
        const refusal = checkCanceller(deps.policy, r, input.userId, input.userGroups);
        if (refusal) return void outcome.refused.push({ id: r.id, refusal, request: r });
        const expired = isExpired(r, now);
        const res = await deps.store.transition(r.id, ['pending'], expired ? 'expired' : 'cancelled', at, {}, expired ? undefined : input.userId);
        if (!res.ok) return void outcome.refused.push({ id: r.id, refusal: 'ALREADY_HANDLED', ...(res.current ? { request: res.current } : {}) });
        (expired ? outcome.expired : outcome.cancelled).push(res.request);
      }),
  );
  const changed = [...outcome.cancelled, ...outcome.expired].sort(byHost).map((r) => r.id);
  for (let i = 0; i < changed.length; i += REFRESH_GROUP_MAX_IDS) {
    await deps.enqueue({ kind: 'refresh-group', id: input.group, ids: changed.slice(i, i + REFRESH_GROUP_MAX_IDS) });
  }
  outcome.cancelled.sort(byHost);
  outcome.expired.sort(byHost);
  deps.log.info('group cancelled', { groupId: input.group, by: input.userId, cancelled: outcome.cancelled.length, expired: outcome.expired.length, refused: outcome.refused.length });
  return outcome;
}
