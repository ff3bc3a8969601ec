import { COMPUTE_BINARY } from '../domain/host.js';
import {
  canRetryEvacuation,
  isFinal,
  newEvacuation,
  retryableEntries,
  roundOf,
  roundStatus,
  type Evacuation,
  type EvacuationLedgerScope,
  type RoundDecision,
} from '../domain/evacuation.js';
import type { Instance } from '../domain/instance.js';
import { takesInstances } from '../domain/service.js';
import { isApprover, type Refusal } from '../domain/policy.js';
import type { ForceDownRequest } from '../domain/request.js';
import { planEvacuation, runEvacuation, DEFAULT_EVACUATE_POLL_MS } from './evacuate.js';
import { storeLedger } from './evacuation-ledger.js';
import { errorName, iso } from './outcomes.js';
import type { EvacuationSettings } from './evacuate-port.js';
import type { AppDeps, EvacuateForm, EvacuateModalCheck, HostView } from './ports.js';

export type { EvacuationSettings };
import { forcedDownHosts, hostKey } from './reminders.js';
import { bmcOf, readCardView, readInstances } from './requests.js';

/**
 * Evacuating a forced-down host from its Slack card, each instance at most
 * once (src/domain/evacuation.ts's ledger, in the store):
 *
 * 1. api: an approver presses **Evacuate N instances…** (or `/force-down
 *    evacuate <host>`): `openEvacuationForm` checks, the modal opens, and a
 *    `check-evacuate-modal` job (worker: the api never calls Nova) fills in
 *    the instances and the hosts that may take them (`checkEvacuateModal`).
 * 2. api: the modal's submission, `requestEvacuation`: the request's one
 *    evacuation is created (a conditional write: of any number of
 *    submissions, clicks and Slack retries, one wins) or, for **Retry
 *    failed…**, the next round is started (a compare-and-set on the round);
 *    only the winner enqueues the `evacuate` job.
 * 3. worker: `runEvacuationJob` runs the round's checks once (host forced
 *    down or down, BMC not On, target usable, microversion) and records the
 *    decision, then evacuates: each instance is claimed in the store before
 *    its evacuate is sent and followed through its migration record. A job
 *    stops before the worker's time runs out (`sliceMs`) and hands over to a
 *    fresh job, which follows the accepted instances without resending.
 *    The card shows the progress; the thread, the end and each failure.
 */

/** One worker job's share of an evacuation: well within the worker Lambda's timeout (at least 180 s, serverless.yml). */
export const EVACUATE_SLICE_MS = 120_000;
/** The card's progress line is updated at most this often (and at each round's start and end). */
export const EVACUATE_CARD_EVERY_MS = 5_000;

export type EvacuationFormResult = { kind: 'opened'; request: ForceDownRequest; form: EvacuateForm } | { kind: 'refused'; refusal: Refusal; request?: ForceDownRequest; by?: string };

interface Who {
  id: string;
  userId: string;
  userGroups: ReadonlySet<string>;
}

/** What both the form and its submission check: an approver, and a force-down Nova carried out. */
async function evacuable(deps: AppDeps, who: Who): Promise<{ request: ForceDownRequest } | { refusal: Refusal; request?: ForceDownRequest }> {
  const request = await deps.store.get(who.id);
  if (!request) return { refusal: 'REQUEST_NOT_FOUND' };
  if (!isApprover(deps.policy, who.userId, who.userGroups)) {
    deps.log.warn('evacuation refused', { requestId: request.id, userId: who.userId, refusal: 'NOT_AUTHORIZED' });
    return { refusal: 'NOT_AUTHORIZED', request };
  }
  if (request.action !== 'force-down' || request.state !== 'succeeded') return { refusal: 'NOT_FORCED_DOWN', request };
  if (!deps.nova(request.cloud)) return { refusal: 'UNKNOWN_CLOUD', request };
  return { request };
}

/**
 * An approver asks to evacuate request `id`'s host (`retry`: **Retry
 * failed…**). Refused unless the request is a force-down Nova carried out;
 * a first evacuation only once (EVACUATION_STARTED), a retry only when
 * something failed and nothing is in progress (NOTHING_TO_RETRY). No Nova call.
 */
export async function openEvacuationForm(deps: AppDeps, input: Who & { retry: boolean }): Promise<EvacuationFormResult> {
  const checked = await evacuable(deps, input);
  if ('refusal' in checked) return { kind: 'refused', ...checked };
  const { request } = checked;
  const ev = await deps.store.getEvacuation(request.id);
  if (!input.retry) {
    return ev ? { kind: 'refused', refusal: 'EVACUATION_STARTED', request, by: ev.by } : { kind: 'opened', request, form: { round: 0 } };
  }
  if (!ev || !canRetryEvacuation(ev)) return { kind: 'refused', refusal: 'NOTHING_TO_RETRY', request };
  return { kind: 'opened', request, form: { round: roundOf(ev) } };
}

/**
 * `/force-down evacuate <host>`: the host's card to evacuate from: its latest
 * force-down that Nova carried out, while our records hold it forced down (no
 * unset succeeded since: the reminders' reading, `forcedDownHosts`); host
 * names case-insensitively. No Nova call.
 */
export async function findForcedDownRequest(deps: AppDeps, cloud: string, host: string): Promise<ForceDownRequest | undefined> {
  return (await forcedDownHosts(deps, cloud)).get(hostKey(cloud, host))?.request;
}

export interface EvacuationRequestInput extends Who {
  form: EvacuateForm;
  scope: EvacuationLedgerScope;
  /** A named target host; undefined: Nova's scheduler chooses. */
  target?: string;
}

export type EvacuationRequestResult = { kind: 'done'; request: ForceDownRequest; evacuation: Evacuation } | { kind: 'refused'; refusal: Refusal; request?: ForceDownRequest; by?: string };

/**
 * The evacuation modal's submission. Form round 0: creates the request's one
 * evacuation (no instance yet: the worker's checks list them), exactly once
 * however many submissions race; round n: **Retry failed…** of round n,
 * exactly once. The winner hands the work to the worker.
 */
export async function requestEvacuation(deps: AppDeps, input: EvacuationRequestInput): Promise<EvacuationRequestResult> {
  const checked = await evacuable(deps, input);
  if ('refusal' in checked) return { kind: 'refused', ...checked };
  const { request } = checked;
  const at = iso(deps.now());
  let evacuation: Evacuation;
  if (input.form.round === 0) {
    const fields = {
      id: deps.newId(),
      requestId: request.id,
      cloud: request.cloud,
      host: request.host,
      scope: input.scope,
      ...(input.target !== undefined ? { target: input.target } : {}),
      by: input.userId,
      at,
    };
    const res = await deps.store.createEvacuation(newEvacuation(fields, []));
    if (!res.created) return { kind: 'refused', refusal: 'EVACUATION_STARTED', request, by: res.evacuation.by };
    evacuation = res.evacuation;
  } else {
    const res = await deps.store.retryEvacuation(request.id, input.form.round, at, input.target);
    if (!res.ok) return { kind: 'refused', refusal: 'NOTHING_TO_RETRY', request };
    evacuation = res.evacuation;
  }
  deps.log.info('evacuation asked for', { requestId: request.id, by: input.userId, round: roundOf(evacuation), scope: evacuation.scope, target: evacuation.target });
  try {
    await deps.enqueue({ kind: 'evacuate', id: request.id, by: input.userId });
  } catch (err) {
    // Recorded, not started: the sweep hands undecided rounds to the worker again (recoverStalledEvacuations).
    deps.log.error('evacuate job not enqueued; the sweep enqueues it again', { requestId: request.id, error: errorName(err) });
  }
  return { kind: 'done', request, evacuation };
}

/**
 * Worker: fills the open evacuation modal with what Nova says: the instances
 * on the host, and the nova-compute hosts that may take them (enabled, up,
 * not forced down, not the host itself; sorted).
 */
export async function checkEvacuateModal(deps: AppDeps, id: string, viewId: string, form: EvacuateForm): Promise<void> {
  const request = await deps.store.get(id);
  const nova = request ? deps.nova(request.cloud) : undefined;
  if (!request || !nova) return;
  const [instances, services] = await Promise.all([readInstances(deps, request), nova.listComputeServices()]);
  const targets: EvacuateModalCheck['targets'] = services.ok
    ? {
        hosts: services.value
          .filter((s) => s.binary === COMPUTE_BINARY && s.host !== request.host && takesInstances(s))
          .map((s) => s.host)
          .sort((a, b) => a.localeCompare(b)),
      }
    : { failure: { code: services.failure.code, message: services.failure.message } };
  let retry: EvacuateModalCheck['retry'];
  if (form.round > 0) {
    const ev = await deps.store.getEvacuation(request.id);
    if (ev) retry = { instances: retryableEntries(ev) };
  }
  await deps.notifier.updateEvacuateModal(viewId, request, { ...(instances ? { instances } : {}), targets, ...(retry ? { retry } : {}) }, form);
}

/** An instance as the ledger knows it, for runEvacuation (which needs only its id and name). */
const ledgerInstance = (id: string, name: string): Instance => ({ id, name, status: 'UNKNOWN', taskState: null, ha: false });

/**
 * Worker: the `evacuate` job of request `id`. Safe to run twice and to
 * resume: the round's checks are decided once (the store's decideRound),
 * each instance is claimed once before its evacuate is sent, and accepted
 * ones are followed, never resent. `by`: who asked (the thread's line).
 */
export async function runEvacuationJob(deps: AppDeps, id: string, by?: string): Promise<void> {
  const settings = deps.evacuation;
  const request = await deps.store.get(id);
  let ev = request ? await deps.store.getEvacuation(id) : undefined;
  if (!request || !ev || !settings) return;
  const started = deps.now();
  const round = roundOf(ev);
  const servers = deps.servers?.(request.cloud);
  const nova = deps.nova(request.cloud);

  let decidedHere = false;
  if (roundStatus(ev) === 'undecided') {
    let decision: RoundDecision;
    if (!servers || !nova) {
      decision = { refusal: { code: 'UNKNOWN_CLOUD', message: `the cloud ${request.cloud} is no longer configured; nothing was sent` } };
    } else {
      const plan = await planEvacuation(servers, nova, bmcOf(deps, request.cloud, request.host), {
        host: request.host,
        binary: request.binary,
        scope: ev.scope,
        ...(ev.target !== undefined ? { target: ev.target } : {}),
      });
      decision = plan.ok ? { instances: plan.value.instances.map((i) => ({ id: i.id, name: i.name })) } : { refusal: { code: plan.failure.code, message: plan.failure.message } };
    }
    const decided = await deps.store.decideRound(id, round, decision, iso(deps.now()));
    ev = decided.ok ? decided.evacuation : (decided.current ?? ev);
    if (decided.ok) {
      decidedHere = true;
      await deps.notifier.evacuationEvent(request, ev, { kind: 'requested', by: by ?? ev.by });
      if ('refusal' in decision) {
        deps.log.warn('evacuation refused by its checks', { requestId: id, round, code: decision.refusal.code });
        await deps.notifier.evacuationEvent(request, ev, { kind: 'refused' });
        await deps.cards.request(request, await readCardView(deps, request));
        return;
      }
    }
  }
  if (roundStatus(ev) !== 'checked' || !servers) {
    // Refused (shown by whoever decided it), or another job's round: nothing to send here.
    return;
  }

  // Those already sent first: they hold their slots (at most `concurrency` in progress) before any new one is sent.
  const open = Object.entries(ev.instances)
    .filter(([, e]) => !isFinal(e.state))
    .sort(([, a], [, b]) => Number(a.state === 'planned') - Number(b.state === 'planned'));
  if (open.length === 0 && !decidedHere) {
    // Ended before this job (a duplicate job, a Lambda retry): its end was told by the job that saw it.
    return;
  }
  // What the card shows around the progress line: read once per job (the instances line says what was at stake).
  const view: HostView | undefined = await readCardView(deps, request);
  const everyMs = settings.cardEveryMs ?? EVACUATE_CARD_EVERY_MS;
  let shownAt = 0;
  const showProgress = async (force: boolean) => {
    if (!force && deps.now() - shownAt < everyMs) return;
    shownAt = deps.now();
    try {
      await deps.cards.request(request, view);
    } catch (err) {
      deps.log.warn('evacuation progress not shown', { requestId: id, error: errorName(err) });
    }
  };
  await showProgress(true);

  const report = await runEvacuation(
    servers,
    { host: request.host, instances: open.map(([iid, e]) => ledgerInstance(iid, e.name)), ...(ev.target !== undefined ? { target: ev.target } : {}) },
    {
      concurrency: settings.concurrency,
      timeoutMs: settings.timeoutMs,
      pollMs: settings.pollMs ?? DEFAULT_EVACUATE_POLL_MS,
      now: deps.now,
      sleep: deps.sleep,
      stopAt: started + (settings.sliceMs ?? EVACUATE_SLICE_MS),
      ...(settings.stopping ? { stopWhen: settings.stopping } : {}),
      ledger: storeLedger(deps.store, id, { now: () => new Date(deps.now()) }),
      onProgress: (p) => (p.kind === 'sent' ? undefined : showProgress(false)),
    },
  );

  if (report.summary.unfinished > 0 && settings.stopping?.()) {
    deps.log.info('evacuation left for the next start: the process is stopping', { requestId: id, unfinished: report.summary.unfinished });
    return;
  }
  if (report.summary.unfinished > 0) {
    deps.log.info('evacuation handed over to a fresh job', { requestId: id, unfinished: report.summary.unfinished });
    await showProgress(true);
    await deps.enqueue({ kind: 'evacuate', id });
    return;
  }
  const final = (await deps.store.getEvacuation(id)) ?? ev;
  await showProgress(true);
  if (roundOf(final) === round && Object.values(final.instances).every((e) => isFinal(e.state))) {
    deps.log.info('evacuation ended', { requestId: id, round, ...report.summary });
    await deps.notifier.evacuationEvent(request, final, { kind: 'ended' });
  }
}

/**
 * Sweep: evacuations whose round was asked for but never decided for longer
 * than two slices (its job was not enqueued, or every attempt of its worker
 * died before deciding) are handed to the worker again. (A worker that dies
 * later is retried by Lambda's async retries; the ledger makes the retry
 * follow what was accepted, never resend it.) `atStart` (the local bot's
 * start, when no job of an earlier process still runs): every evacuation
 * with an undecided round or an instance not ended is handed over at once.
 */
export async function recoverStalledEvacuations(deps: AppDeps, opts: { atStart?: boolean } = {}): Promise<number> {
  const settings = deps.evacuation;
  if (!settings) return 0;
  const stalledAfter = (settings.sliceMs ?? EVACUATE_SLICE_MS) * 2;
  let handed = 0;
  for (const request of await deps.store.listByState('succeeded')) {
    if (request.action !== 'force-down') continue;
    const ev = await deps.store.getEvacuation(request.id);
    if (!ev) continue;
    const status = roundStatus(ev);
    if (opts.atStart) {
      const open = status === 'checked' && Object.values(ev.instances).some((e) => !isFinal(e.state));
      if (status !== 'undecided' && !open) continue;
    } else if (status !== 'undecided') continue;
    // When the round was asked for: a retry moves its entries back to planned at that time.
    const asked = Math.max(Date.parse(ev.at), ...Object.values(ev.instances).map((e) => Date.parse(e.updatedAt)).filter(Number.isFinite));
    if (!opts.atStart && deps.now() - asked < stalledAfter) continue;
    try {
      await deps.enqueue({ kind: 'evacuate', id: request.id });
      handed += 1;
    } catch (err) {
      deps.log.warn('stalled evacuation not handed over', { requestId: request.id, error: errorName(err) });
    }
  }
  return handed;
}
