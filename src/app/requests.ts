import { COMPUTE_BINARY, foldHost, novaSpellings } from '../domain/host.js';
import { checkApprover, checkCanceller, isExpired, type Refusal } from '../domain/policy.js';
import { fromStates, type Action, type BmcRecord, type Confirmation, type ForceDownRequest, type NovaOutcome, type Origin } from '../domain/request.js';
import type { FenceChoice } from '../domain/fencing.js';
import type { BmcReading, PowerState } from '../domain/power.js';
import type { BmcGateway } from './bmc-port.js';
import { checkFence, type BmcEvidence } from './fence.js';
import { cloudGone, errorName, iso, outcomeOf, viewOf } from './outcomes.js';
import type { AppDeps, BmcView, HostView, InstancesView } from './ports.js';
import { summarizeInstances } from '../domain/instance.js';

export type OpenResult =
  | { kind: 'opened'; request: ForceDownRequest }
  | { kind: 'exists'; request: ForceDownRequest }
  | { kind: 'refused'; refusal: Refusal };

export interface OpenInput {
  cloud?: string;
  host: string;
  binary?: string;
  action: Action;
  origin: Origin;
  requestedBy: string;
  channel: string;
  reason?: string;
  /** The grouped card the request joins (alerts); its card is then the group's. */
  group?: string;
  /**
   * An alert named the cloud (`cloudLabel`): a cloud force-down has no
   * gateway for is recorded anyway, so its card can say the cloud is not
   * configured (no Confirm; a confirmation is refused UNKNOWN_CLOUD).
   */
  cloudMayBeUnknown?: boolean;
}

/** A card not posted this long after its request was recorded is taken as lost, and posted again. */
export const CARD_OVERDUE_MS = 30_000;

/**
 * Opens a request (slash command or alert): records it, takes the host's lock
 * and hands the card to the worker. A second request for the same host and
 * action returns the open one instead. Never calls Nova.
 */
export async function openRequest(deps: AppDeps, input: OpenInput, opts: { card?: boolean } = {}): Promise<OpenResult> {
  const cloud = input.cloud ?? deps.defaultCloud;
  if (!deps.nova(cloud) && !input.cloudMayBeUnknown) return { kind: 'refused', refusal: 'UNKNOWN_CLOUD' };
  if (deps.allowedChannels.size > 0 && !deps.allowedChannels.has(input.channel)) return { kind: 'refused', refusal: 'CHANNEL_NOT_ALLOWED' };
  const now = deps.now();
  const request: ForceDownRequest = {
    id: deps.newId(),
    cloud,
    host: input.host,
    binary: input.binary ?? COMPUTE_BINARY,
    action: input.action,
    state: 'pending',
    origin: input.origin,
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.group ? { group: input.group } : {}),
    requestedBy: input.requestedBy,
    channel: input.channel,
    createdAt: iso(now),
    updatedAt: iso(now),
    expiresAt: iso(now + deps.ttlMs),
    history: [{ state: 'pending', at: iso(now), by: input.requestedBy }],
  };
  let res = await deps.store.create(request);
  if (!res.created && (await expireIfDue(deps, res.existing))) {
    // The open request was past its expiry (the sweep had not run yet): it is expired now; try again once.
    res = await deps.store.create(request);
  }
  if (!res.created) {
    // A request whose card was never posted (crash between recording and enqueueing): post it now.
    // Only once it is overdue: a fresh one's show-card job may still be running, and two would post two cards.
    if (!res.existing.messageTs && deps.now() - Date.parse(res.existing.createdAt) > CARD_OVERDUE_MS) {
      await deps.enqueue(res.existing.group ? { kind: 'show-group', id: res.existing.group, orphan: res.existing.id } : { kind: 'show-card', id: res.existing.id });
    }
    return { kind: 'exists', request: res.existing };
  }
  deps.log.info('request opened', { requestId: request.id, cloud, host: request.host, action: request.action });
  deps.metrics?.count('RequestsOpened', { Action: request.action, Origin: request.origin.kind });
  // A grouped request's card is the group's: the caller shows the group once for all its new members.
  if (opts.card !== false) await deps.enqueue({ kind: 'show-card', id: request.id });
  return { kind: 'opened', request };
}

export type DecisionResult = { kind: 'done'; request: ForceDownRequest } | { kind: 'refused'; refusal: Refusal; request?: ForceDownRequest };

export interface ConfirmInput {
  id: string;
  userId: string;
  /** The approver groups the user is a member of (looked up by the Slack adapter). */
  userGroups: ReadonlySet<string>;
  method?: FenceChoice;
  note?: string;
  /**
   * The confirmation form (modal) the confirmation was submitted in: its
   * single-use nonce, from {@link openConfirmationForm}. The Slack listener
   * always passes it (a submission without one is refused before this); the
   * confirmation then succeeds only while that form is open, and consumes it.
   */
  form?: string;
}

export type FormResult = { kind: 'opened'; request: ForceDownRequest; form: string } | { kind: 'refused'; refusal: Refusal; request?: ForceDownRequest };

/**
 * An approver opens the confirmation form (modal) of request `id`: **Confirm
 * fenced…**, **Confirm recovered…**, or **Retry…** on a failed request.
 * Checks what a confirmation would (expiry, state, approver), then records a
 * new single-use nonce on the request, only while it can still be confirmed
 * (pending or failed): the form carries it (`private_metadata`) and the
 * confirmation consumes it. Every new form has a new nonce, and any state
 * change drops the open ones (src/store/port.ts `recordForm`).
 */
export async function openConfirmationForm(deps: AppDeps, input: { id: string; userId: string; userGroups: ReadonlySet<string> }): Promise<FormResult> {
  const request = await deps.store.get(input.id);
  if (!request) return { kind: 'refused', refusal: 'REQUEST_NOT_FOUND' };
  const open = fromStates('approved').includes(request.state);
  if (request.state === 'expired' || (open && isExpired(request, deps.now()))) {
    // The sweep runs once a minute: a click in between marks the request expired at once,
    // so its card stops offering buttons that can only be refused.
    return { kind: 'refused', refusal: 'REQUEST_EXPIRED', request: (await expireIfDue(deps, request)) ?? request };
  }
  if (!open) return { kind: 'refused', refusal: 'ALREADY_HANDLED', request };
  // An alert named a cloud force-down has no configuration for: nothing here could reach its Nova.
  if (!deps.nova(request.cloud)) return { kind: 'refused', refusal: 'UNKNOWN_CLOUD', request };
  const refusal = checkApprover(deps.policy, request, input.userId, input.userGroups);
  if (refusal) return { kind: 'refused', refusal, request };
  const form = deps.newId();
  const res = await deps.store.recordForm(request.id, form, fromStates('approved'));
  if (!res.ok) return res.current ? { kind: 'refused', refusal: 'ALREADY_HANDLED', request: res.current } : { kind: 'refused', refusal: 'REQUEST_NOT_FOUND' };
  return { kind: 'opened', request: res.request, form };
}

/** Whether `form` is one of the request's open confirmation forms. */
const formIsOpen = (request: ForceDownRequest, form: string): boolean => (request.openForms ?? []).includes(form);

/**
 * The fence confirmation: an authorized approver states how the host was
 * fenced (or that it recovered). Exactly one concurrent confirmation wins; the
 * winner hands the Nova call to the worker. With `form`, it must answer that
 * open form, consumed in the same compare-and-set: a replayed submission, or
 * a form opened before the request last changed (another approver's
 * confirmation, a failure), is refused FORM_OUT_OF_DATE.
 */
export async function confirmRequest(deps: AppDeps, input: ConfirmInput): Promise<DecisionResult> {
  const request = await deps.store.get(input.id);
  if (!request) return { kind: 'refused', refusal: 'REQUEST_NOT_FOUND' };
  const expired = await expireIfDue(deps, request);
  if (expired) return { kind: 'refused', refusal: 'REQUEST_EXPIRED', request: expired };
  if (!deps.nova(request.cloud)) {
    deps.log.warn('confirmation refused', { requestId: request.id, userId: input.userId, refusal: 'UNKNOWN_CLOUD' });
    return { kind: 'refused', refusal: 'UNKNOWN_CLOUD', request };
  }
  const refusal = checkApprover(deps.policy, request, input.userId, input.userGroups);
  if (refusal) {
    deps.log.warn('confirmation refused', { requestId: request.id, userId: input.userId, refusal });
    return { kind: 'refused', refusal, request };
  }
  if (input.form !== undefined && !formIsOpen(request, input.form)) {
    deps.log.warn('confirmation refused', { requestId: request.id, userId: input.userId, refusal: 'FORM_OUT_OF_DATE' });
    return { kind: 'refused', refusal: 'FORM_OUT_OF_DATE', request };
  }
  const confirmation: Confirmation = {
    by: input.userId,
    at: iso(deps.now()),
    ...(input.method ? { method: input.method } : {}),
    ...(input.note ? { note: input.note } : {}),
  };
  const guard = input.form !== undefined ? { form: input.form } : undefined;
  const res = await deps.store.transition(request.id, fromStates('approved'), 'approved', confirmation.at, { confirmation }, input.userId, guard);
  if (!res.ok) {
    // Lost to another confirmation (which dropped every open form), or the form was consumed meanwhile.
    const outOfDate = input.form !== undefined && res.current !== undefined && !formIsOpen(res.current, input.form);
    return { kind: 'refused', refusal: outOfDate ? 'FORM_OUT_OF_DATE' : 'ALREADY_HANDLED', ...(res.current ? { request: res.current } : {}) };
  }
  deps.log.info('request confirmed', { requestId: request.id, by: input.userId, method: input.method });
  deps.metrics?.count('Confirmations', { Action: request.action });
  await enqueueExecute(deps, request.id);
  return { kind: 'done', request: res.request };
}

/**
 * Hands a confirmed request to the worker. The confirmation is recorded
 * whatever happens here: if the job cannot be enqueued (Lambda throttled, the
 * queue gone), the sweep finds the request `approved` and enqueues it again
 * while its confirmation is fresh, or fails it (src/app/recovery.ts).
 */
export async function enqueueExecute(deps: AppDeps, id: string): Promise<void> {
  try {
    await deps.enqueue({ kind: 'execute', id });
  } catch (err) {
    deps.log.error('execute job not enqueued; the sweep enqueues it again', { requestId: id, error: errorName(err) });
  }
}

export async function cancelRequest(deps: AppDeps, input: { id: string; userId: string; userGroups: ReadonlySet<string> }): Promise<DecisionResult> {
  const request = await deps.store.get(input.id);
  if (!request) return { kind: 'refused', refusal: 'REQUEST_NOT_FOUND' };
  const refusal = checkCanceller(deps.policy, request, input.userId, input.userGroups);
  if (refusal) return { kind: 'refused', refusal, request };
  // Past its TTL the request is expired, whatever the sweep has done so far: record that, not a cancel.
  const expired = await expireIfDue(deps, request);
  if (expired) return { kind: 'refused', refusal: 'REQUEST_EXPIRED', request: expired };
  const res = await deps.store.transition(request.id, fromStates('cancelled'), 'cancelled', iso(deps.now()), {}, input.userId);
  if (!res.ok) return { kind: 'refused', refusal: 'ALREADY_HANDLED', ...(res.current ? { request: res.current } : {}) };
  await deps.enqueue({ kind: 'refresh-card', id: request.id });
  return { kind: 'done', request: res.request };
}

/**
 * Marks a request expired if its time is up and it can still expire, and has
 * its card refreshed. Returns the expired request when it is (now) expired.
 */
export async function expireIfDue(deps: AppDeps, request: ForceDownRequest): Promise<ForceDownRequest | undefined> {
  const res = await expire(deps, request);
  if (res?.byUs) await deps.enqueue({ kind: 'refresh-card', id: request.id });
  return res?.request;
}

/** Records the expiry when due; `byUs` when this call made the transition (its card is then to be refreshed). */
async function expire(deps: AppDeps, request: ForceDownRequest): Promise<{ request: ForceDownRequest; byUs: boolean } | undefined> {
  // Already expired (by a click, or the sweep): say so, rather than "already handled".
  if (request.state === 'expired') return { request, byUs: false };
  if (!isExpired(request, deps.now())) return undefined;
  if (!fromStates('expired').includes(request.state)) return undefined;
  const res = await deps.store.transition(request.id, fromStates('expired'), 'expired', iso(deps.now()));
  const current = res.ok ? res.request : res.current;
  return current?.state === 'expired' ? { request: current, byUs: res.ok } : undefined;
}

/**
 * Worker: the expiry sweep (scheduled). Returns how many requests expired.
 * A request on a card of its own has that card refreshed; the members of a
 * grouped card that expire in one sweep are shown once for the group (one
 * Nova list, one update per page, one thread line: `refresh-group`), not
 * host by host (600 hosts cost ~600 lists, ~1,150 updates and 600 thread posts).
 */
export async function expireRequests(deps: AppDeps): Promise<number> {
  let n = 0;
  const groups = new Map<string, string[]>();
  for (const state of fromStates('expired')) {
    for (const request of await deps.store.listByState(state)) {
      const res = await expire(deps, request);
      if (!res) continue;
      n++;
      if (!res.byUs) continue;
      if (request.group) {
        const ids = groups.get(request.group) ?? [];
        ids.push(request.id);
        groups.set(request.group, ids);
      } else await deps.enqueue({ kind: 'refresh-card', id: request.id });
    }
  }
  for (const [id, ids] of groups) {
    // A job is a Lambda async invoke (at most 256 KB): a group's ids go in jobs of at most REFRESH_GROUP_MAX_IDS.
    for (let i = 0; i < ids.length; i += REFRESH_GROUP_MAX_IDS) await deps.enqueue({ kind: 'refresh-group', id, ids: ids.slice(i, i + REFRESH_GROUP_MAX_IDS) });
  }
  return n;
}

/** Members named by one refresh-group job (~40 bytes each: well within a Lambda async invoke's 256 KB). */
export const REFRESH_GROUP_MAX_IDS = 2_000;

/** Worker: reads Nova's view of the host and posts or refreshes the card. */
export async function showCard(deps: AppDeps, id: string): Promise<void> {
  const request = await deps.store.get(id);
  if (!request) return;
  // A grouped request shows on its group's card; on one of its own if the group was never recorded.
  if (request.group && (await deps.cards.group(request.group, { post: true }))) return;
  // Nova's view, the BMC's and the host's instances are read side by side: the card waits for the slowest, not for each in turn.
  const [found, bmc, instances] = await Promise.all([lookupHost(deps, request), readBmc(deps, request), readInstances(deps, request)]);
  // Nova spells the host otherwise (in case only): the card, the modal, the audit and the Nova calls use Nova's spelling.
  const shown = found.novaHost !== undefined ? ((await recordNovaHost(deps, request, found.novaHost)) ?? request) : request;
  const ts = await deps.cards.request(shown, withInstances(withBmc(found.view, bmc), instances));
  if (ts && ts !== shown.messageTs) {
    await deps.store.setMessage(id, ts);
    await deps.notifier.audit({ ...shown, messageTs: ts }, shown.history[0]!);
  }
}

/**
 * Nova's view of a request's host for its card, and `novaHost`, Nova's own
 * spelling of the host when it differs from the request's in case only.
 * Nova's lookup is exact (src/openstack/nova.ts); when it finds no such host,
 * one service list tells whether Nova has it spelled otherwise: exactly one
 * such host is this one (host names are case-insensitive in DNS, and the
 * request's lock is too); several are named on the card, none is chosen.
 */
export async function lookupHost(deps: AppDeps, request: ForceDownRequest): Promise<{ view?: HostView; novaHost?: string }> {
  const nova = deps.nova(request.cloud);
  if (!nova) return {};
  const read = await nova.getService(request.host, request.binary);
  if (read.ok) {
    const named = read.value.host;
    const other = named !== request.host && named !== '' && foldHost(named) === foldHost(request.host);
    return { view: viewOf(read), ...(other ? { novaHost: named } : {}) };
  }
  if (read.failure.code !== 'HOST_NOT_FOUND') return { view: viewOf(read) };
  const list = await nova.listComputeServices();
  if (!list.ok) return { view: viewOf(read) };
  const { variants } = novaSpellings(request.host, request.binary, list.value);
  if (variants.length === 1) {
    const service = list.value.find((s) => s.host === variants[0] && s.binary === request.binary)!;
    return { view: { service }, novaHost: service.host };
  }
  if (variants.length > 1) {
    const names = variants.slice(0, 5).join(', ');
    return {
      view: {
        lookupFailure: {
          code: 'HOST_NOT_FOUND',
          message: `Nova has no ${request.binary} service on a host named ${request.host}, but has ${names}: Nova's host names are case-sensitive here, so ask for the one you mean`,
        },
      },
    };
  }
  return { view: viewOf(read) };
}

/** Records Nova's spelling on the request (pending only; see `RequestStore.setNovaHost`); the request as it now is. */
async function recordNovaHost(deps: AppDeps, request: ForceDownRequest, novaHost: string): Promise<ForceDownRequest | undefined> {
  try {
    const updated = await deps.store.setNovaHost(request.id, novaHost);
    if (updated?.host === novaHost) deps.log.info('host spelled as Nova spells it', { requestId: request.id, host: novaHost, asked: request.host });
    return updated;
  } catch (err) {
    deps.log.warn("Nova's spelling of the host not recorded", { requestId: request.id, error: errorName(err) });
    return undefined;
  }
}

/** Worker: refreshes a card after a state change that needs no Nova call (cancel, expiry). */
export async function refreshCard(deps: AppDeps, id: string): Promise<void> {
  const request = await deps.store.get(id);
  if (!request) return;
  await deps.cards.request(request, withInstances(undefined, await stakeOf(deps, request)));
  const last = request.history.at(-1);
  if (last && (last.state === 'cancelled' || last.state === 'expired')) await deps.notifier.audit(request, last);
}

/**
 * Worker: shows members `ids` of group `groupId` after a change that needed no
 * Nova call (the sweep's expiry): the group rendered once for them all (one
 * Nova list, one update of each page holding one of their rows and of the
 * first), then one thread line per step they took, naming every host. Members
 * whose group was never recorded are shown on cards of their own.
 */
export async function refreshGroup(deps: AppDeps, groupId: string, ids: readonly string[]): Promise<void> {
  const requests = (await Promise.all([...new Set(ids)].map((id) => deps.store.get(id)))).filter((r): r is ForceDownRequest => r?.group === groupId);
  if (requests.length === 0) return;
  if (!(await deps.cards.group(groupId, { rows: requests.map((r) => r.id) }))) {
    for (const r of requests) await refreshCard(deps, r.id);
    return;
  }
  // Shown on the group's card now, whose first message is every member's card (and thread): read again only if one was not yet.
  const shown = requests.every((r) => r.messageTs) ? requests : await Promise.all(requests.map(async (r) => (await deps.store.get(r.id)) ?? r));
  const byStep = new Map<string, ForceDownRequest[]>();
  for (const r of shown) {
    const last = r.history.at(-1);
    if (!last || (last.state !== 'cancelled' && last.state !== 'expired')) continue;
    const key = `${last.state}/${last.by ?? ''}`;
    byStep.set(key, [...(byStep.get(key) ?? []), r]);
  }
  for (const same of byStep.values()) await deps.notifier.auditGroup(same, same[0]!.history.at(-1)!);
}

export async function readHost(deps: AppDeps, request: ForceDownRequest): Promise<HostView | undefined> {
  const nova = deps.nova(request.cloud);
  if (!nova) return undefined;
  return viewOf(await nova.getService(request.host, request.binary));
}

/**
 * What a card of `request` shows besides its state, read for a redraw: Nova's
 * view and the host's instances (each read unless the caller already has it:
 * `known`), and the BMC evidence its outcome recorded. Read in parallel;
 * never throws for Nova.
 */
export async function readCardView(
  deps: AppDeps,
  request: ForceDownRequest,
  known: { host?: HostView; instances?: Promise<InstancesView | undefined> } = {},
): Promise<HostView | undefined> {
  const [view, instances] = await Promise.all([known.host ?? readHost(deps, request), known.instances ?? stakeOf(deps, request)]);
  return withInstances(withBmc(view, bmcViewOf(request.outcome?.bmc)), instances);
}

/** The host's BMC gateway (configuration only, no network call), or undefined when it has none. */
export function bmcOf(deps: Pick<AppDeps, 'bmc'>, cloud: string, host: string): BmcGateway | undefined {
  return deps.bmc?.(cloud, host);
}

/** The BMC's reading for a card (one Redfish conversation), or undefined when the host has no BMC. Never throws. */
export async function readBmc(deps: Pick<AppDeps, 'bmc' | 'now' | 'log'>, target: { cloud: string; host: string }): Promise<BmcView | undefined> {
  const bmc = bmcOf(deps, target.cloud, target.host);
  if (!bmc) return undefined;
  try {
    const read = await bmc.readPower();
    if (read.ok) return { ok: true, powerState: read.value.powerState, readAt: read.value.readAt };
    return { ok: false, code: read.failure.code, message: read.failure.message, ...(read.failure.reason ? { reason: read.failure.reason } : {}), readAt: deps.now() };
  } catch (err) {
    // The gateway's failures are data; a throw is a bug: the card shows the BMC as unreadable.
    deps.log.warn('BMC read failed unexpectedly', { host: target.host, error: errorName(err) });
    return { ok: false, code: 'BMC_UNREACHABLE', message: `${target.host}'s BMC could not be read`, readAt: deps.now() };
  }
}

/**
 * What is at stake on a request's host, for its card: Nova's instances on it
 * (every project, every page), counted by status and HA mark; or why they
 * could not be listed. Undefined when no servers gateway is configured for its
 * cloud. Worker only (never on the api's acknowledgement path). Never throws.
 */
export async function readInstances(deps: Pick<AppDeps, 'servers' | 'log'>, target: { cloud: string; host: string }): Promise<InstancesView | undefined> {
  const servers = deps.servers?.(target.cloud);
  if (!servers) return undefined;
  try {
    const listed = await servers.listServersOnHost(target.host);
    if (!listed.ok) return { failure: { code: listed.failure.code, message: listed.failure.message } };
    return summarizeInstances(listed.value);
  } catch (err) {
    // The gateway's failures are data; a throw is a bug: the card says the instances could not be listed.
    deps.log.warn('instances not listed: unexpected error', { host: target.host, error: errorName(err) });
    return { failure: { code: 'NOVA_UNAVAILABLE', message: `the instances on ${target.host} could not be listed` } };
  }
}

/**
 * The instances for a request's own card; none for a grouped request: its
 * group's card reads them when it shows one host's card (src/slack/cards.ts),
 * never per row (a storm would list a hundred hosts for one render).
 */
function stakeOf(deps: Pick<AppDeps, 'servers' | 'log'>, request: ForceDownRequest): Promise<InstancesView | undefined> {
  return request.group ? Promise.resolve(undefined) : readInstances(deps, request);
}

/** A view with the host's instances, when they were read. */
export function withInstances(view: HostView | undefined, instances: InstancesView | undefined): HostView | undefined {
  if (!instances) return view;
  return { ...(view ?? {}), instances };
}

/** Nova's view with the BMC's reading, when there is one. */
export function withBmc(view: HostView | undefined, bmc: BmcView | undefined): HostView | undefined {
  if (!bmc) return view;
  return { ...(view ?? {}), bmc };
}

/** The BMC's evidence recorded on an outcome, as the card's BMC line shows it. */
export function bmcViewOf(record: BmcRecord | undefined): BmcView | undefined {
  if (!record) return undefined;
  const at = Date.parse(record.reset?.offAt ?? record.readAt);
  return { ok: true, powerState: record.powerState, readAt: Number.isFinite(at) ? at : Date.parse(record.readAt) };
}

/**
 * Worker: performs a confirmed request, exactly once. The approved → executing
 * compare-and-set is what makes Lambda's async retries and duplicate jobs
 * harmless: only the caller that wins it calls Nova. Before the call it checks
 * what the confirmation alone cannot: that the confirmation is fresh, and (to
 * force down) that Nova no longer hears from the host.
 */
export async function executeRequest(deps: AppDeps, id: string): Promise<ForceDownRequest | undefined> {
  const started = await deps.store.transition(id, ['approved'], 'executing', iso(deps.now()));
  if (!started.ok) {
    deps.log.info('execute skipped: not approved (duplicate job or retry)', { requestId: id, state: started.current?.state });
    const done = started.current;
    // A retry of a job whose outcome was recorded but not shown (Slack failed): show it now. Idempotent.
    if (done && (done.state === 'succeeded' || done.state === 'failed') && done.outcome) {
      await deps.cards.request(done, await readCardView(deps, done));
    }
    return done;
  }
  const request = started.request;
  // The "⏳" card and the confirmation's audit line go out while Nova is called: Slack's pacing
  // (about a message a second per channel) must never delay a force-down.
  const confirmed = request.history.findLast((h) => h.state === 'approved');
  // What is at stake stays on the card while it is in progress: listed beside the Nova call, never before it.
  const stake = stakeOf(deps, request);
  const progress = (async () => {
    await deps.cards.request(request, withInstances(undefined, await stake));
    if (confirmed) await deps.notifier.audit(request, confirmed);
  })().catch((err: unknown) => deps.log.warn('progress card update failed', { requestId: id, error: errorName(err) }));
  const waiting = async (view: HostView) => {
    await progress;
    await deps.cards.request(request, withInstances(view, await stake)).catch((err: unknown) => deps.log.warn('progress card update failed', { requestId: id, error: errorName(err) }));
  };

  const outcome = await decideAndCall(deps, request, waiting);
  // Nova's answer is recorded at once; only its display waits for the progress update
  // (Slack's pace: with a rack confirmed at once, that can be a minute behind).
  const to = outcome.code === 'OK' ? 'succeeded' : 'failed';
  const done = await deps.store.transition(id, ['executing'], to, iso(deps.now()), { outcome });
  const final = done.ok ? done.request : (done.current ?? request);
  await progress;
  deps.log.info('request executed', { requestId: id, outcome: outcome.code, host: request.host, action: request.action });
  deps.metrics?.count('Outcomes', { Action: request.action, Code: outcome.code });
  // The instances listed beside the Nova call: forcing a host down moves none of them.
  await deps.cards.request(final, await readCardView(deps, final, { instances: stake }));
  await deps.notifier.audit(final, final.history.at(-1)!);
  return final;
}

/** How old the request's confirmation is (ms), or undefined when it has none. */
export function confirmationAgeMs(request: Pick<ForceDownRequest, 'confirmation'>, now: number): number | undefined {
  const at = request.confirmation ? Date.parse(request.confirmation.at) : NaN;
  return Number.isFinite(at) ? now - at : undefined;
}

/** CONFIRMATION_STALE's outcome, `why` saying how the confirmation came to be too old. */
export function staleOutcome(deps: AppDeps, request: ForceDownRequest, why: string): NovaOutcome {
  const ageSeconds = Math.round((confirmationAgeMs(request, deps.now()) ?? 0) / 1000);
  const limit = Math.round(deps.safety.confirmationMaxAgeMs / 1000);
  return {
    code: 'CONFIRMATION_STALE',
    message: `${why}: the confirmation is ${ageSeconds} s old, over the ${limit} s a confirmation is acted on; Nova was not called`,
    ageSeconds,
  };
}

/** The checks a confirmation cannot make itself, then the Nova call. Never throws. */
async function decideAndCall(deps: AppDeps, request: ForceDownRequest, waiting: (view: HostView) => Promise<void>): Promise<NovaOutcome> {
  const age = confirmationAgeMs(request, deps.now());
  if (age === undefined || age > deps.safety.confirmationMaxAgeMs) return staleOutcome(deps, request, 'the force-down job started late');
  const nova = deps.nova(request.cloud);
  if (!nova) return cloudGone(request.cloud);
  // What the BMC said, kept for the outcome whatever the checks decide (the card's ❌ says "its BMC reports power On").
  const bmcSeen = recordingBmc(bmcOf(deps, request.cloud, request.host));
  try {
    let evidence: BmcEvidence | undefined;
    if (request.action === 'force-down') {
      let lastPowerState: PowerState | undefined;
      const fence = await checkFence(
        nova,
        bmcSeen?.gateway,
        { host: request.host, binary: request.binary, method: request.confirmation?.method, confirmedAtMs: Date.parse(request.confirmation!.at) },
        {
          heartbeatWaitMs: deps.safety.heartbeatWaitMs,
          powerOffTimeoutMs: deps.safety.bmcPowerOffTimeoutMs,
          now: deps.now,
          sleep: deps.sleep,
          onProgress: (p) => {
            if (p.kind === 'heartbeat-wait') return waiting({ service: p.wait.service, heartbeatWaitUntil: p.wait.untilMs });
            // The card changes when the power state does, not at every poll.
            if (lastPowerState === p.powerState) return undefined;
            lastPowerState = p.powerState;
            return waiting({ poweringOff: p.powerState });
          },
        },
      );
      if (!fence.ok) {
        deps.log.warn('force-down refused before calling Nova', { requestId: request.id, host: request.host, outcome: fence.failure.code });
        const seen = bmcSeen?.last();
        return { ...outcomeOf(fence.failure), ...(seen ? { bmc: { powerState: seen.powerState, readAt: iso(seen.readAt) } } : {}) };
      }
      evidence = fence.value.bmc;
    }
    const bmc = evidence ? bmcRecordOf(evidence) : undefined;
    const res = await nova.setForcedDown(request.host, request.action === 'force-down', request.binary);
    return res.ok
      ? { code: 'OK', message: res.value.forcedDown ? 'forced down' : 'forced_down unset', request: res.value.request, microversion: res.value.microversion, novaResponse: res.value.novaResponse, ...(bmc ? { bmc } : {}) }
      : { ...outcomeOf(res.failure), ...(bmc ? { bmc } : {}) };
  } catch (err) {
    // A bug, not an expected failure: record it so the card still shows an outcome. No raw text leaves here.
    deps.log.error('unexpected error calling Nova', { requestId: request.id, error: errorName(err) });
    return { code: 'NOVA_UNAVAILABLE', message: 'force-down hit an unexpected error calling Nova; see the logs' };
  }
}


/** The fence checks' BMC evidence as the outcome records it (ISO times). */
function bmcRecordOf(e: BmcEvidence): BmcRecord {
  return {
    powerState: e.powerState,
    readAt: iso(e.readAt),
    ...(e.reset ? { reset: { resetType: e.reset.resetType, sentAt: iso(e.reset.sentAt), offAt: iso(e.reset.offAt) } } : {}),
  };
}

/** `gateway` that remembers the last reading it returned (read or polled), for a refusal's record. */
function recordingBmc(gateway: BmcGateway | undefined): { gateway: BmcGateway; last: () => BmcReading | undefined } | undefined {
  if (!gateway) return undefined;
  let last: BmcReading | undefined;
  return {
    last: () => last,
    gateway: {
      endpoint: gateway.endpoint,
      async readPower(opts) {
        const read = await gateway.readPower(opts);
        if (read.ok) last = read.value;
        return read;
      },
      powerOff(opts) {
        return gateway.powerOff({
          ...opts,
          onProgress: (state, reading) => {
            last = reading;
            opts.onProgress?.(state, reading);
          },
        });
      },
    },
  };
}
