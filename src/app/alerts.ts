import type { AlertSource, HostAlert } from '../alerts/types.js';
import { AUTO_APPROVER, type Action, type Confirmation, type ForceDownRequest, type Origin, type RequestGroup } from '../domain/request.js';
import { pageOf } from './groups.js';
import type { AppDeps, Job, RecoveryAlert } from './ports.js';
import { enqueueExecute, openRequest } from './requests.js';

/** Hosts whose alerts arrive within this long of a group's creation join that group's card. */
export const DEFAULT_GROUP_WINDOW_MS = 30_000;

/** Store writes in flight at once for one webhook (a 200-host storm must not take 200 round trips in a row). */
const CONCURRENCY = 16;

export interface AlertIntakeOptions {
  source: AlertSource;
  /** Where alert cards go (FORCE_DOWN_CHANNEL). */
  channel: string;
  /** `alerts.<source>.autoForceDown`: act on alerts carrying fencing evidence without a human. */
  autoForceDown: boolean;
  /** The evidence label, for the record (`fenced="true"` by default). */
  evidenceLabel: { name: string; value: string };
  groupWindowMs?: number;
}

/** What one webhook did, for its answer and the log. */
export interface AlertReceipt {
  /** New force-down requests. */
  opened: number;
  /** Alerts already behind an open request: counted on it ("seen N times"). */
  repeats: number;
  /** Resolved alerts that marked an open request "alert resolved". */
  resolved: number;
  /** Resolved alerts handed to the worker to offer recovery where Nova has the host forced down. */
  recoveryChecks: number;
  /** Requests forced down in auto mode (evidence label, source opted in). */
  auto: number;
  /** Alerts that could not be recorded (logged). */
  failed: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export function alertOrigin(alert: HostAlert): Extract<Origin, { kind: 'alert' }> {
  return {
    kind: 'alert',
    source: alert.source,
    fingerprint: alert.fingerprint,
    ...(alert.alertName ? { alertName: alert.alertName } : {}),
    ...(alert.summary ? { summary: alert.summary } : {}),
    ...(alert.link ? { link: alert.link } : {}),
    ...(alert.startsAt ? { startsAt: alert.startsAt } : {}),
  };
}

/** Who asked, for the record: the alert source (never a Slack user, so any approver may confirm). */
export const alertRequester = (source: AlertSource) => `alert:${source}`;

/**
 * The group new requests of `action` join: the channel's latest group if it
 * was created within the window and holds the same action, else a new one
 * (recorded by {@link admitToGroup} once there is a member).
 */
async function pickGroup(deps: AppDeps, channel: string, action: Action, title: string, windowMs: number): Promise<{ group: RequestGroup; isNew: boolean }> {
  const now = deps.now();
  const recent = await deps.store.findRecentGroup(channel, iso(now - windowMs));
  if (recent && recent.members.length > 0) {
    const first = await deps.store.get(recent.members[0]!);
    if (first?.action === action) return { group: recent, isNew: false };
  }
  return { group: { id: deps.newId(), channel, title, createdAt: iso(now), members: [], messages: [] }, isNew: true };
}

/** Records the group's new members and hands its card to the worker. */
async function admitToGroup(deps: AppDeps, picked: { group: RequestGroup; isNew: boolean }, opened: readonly ForceDownRequest[]): Promise<void> {
  if (opened.length === 0) return;
  const ids = opened.map((r) => r.id);
  if (picked.isNew) {
    await deps.store.createGroup({ ...picked.group, members: ids });
    await deps.enqueue({ kind: 'show-group', id: picked.group.id, joined: ids });
    return;
  }
  const group = await deps.store.addToGroup(picked.group.id, ids);
  if (!group) return;
  // Joiners change the first page (its counts) and the pages their rows land on; pages not posted
  // yet are posted anyway. Never every page: a host-by-host storm would cost pages × hosts updates.
  const pages = new Set([0, ...ids.map((id) => pageOf(group, id))]);
  await deps.enqueue({ kind: 'show-group', id: picked.group.id, joined: ids, pages: [...pages] });
}

/** Opens requests for `hosts` in one group; returns the ones opened and the existing ones hit. */
async function openGrouped(
  deps: AppDeps,
  items: readonly { host: string; origin: Extract<Origin, { kind: 'alert' }>; reason?: string }[],
  opts: { cloud?: string; action: Action; channel: string; source: AlertSource; windowMs: number },
): Promise<{ opened: ForceDownRequest[]; existing: ForceDownRequest[]; failed: number; group: { group: RequestGroup; isNew: boolean } }> {
  const title = items[0]?.origin.alertName ?? items[0]?.origin.source ?? opts.source;
  const picked = await pickGroup(deps, opts.channel, opts.action, opts.action === 'unset' ? `${title} resolved` : title, opts.windowMs);
  const opened: ForceDownRequest[] = [];
  const existing: ForceDownRequest[] = [];
  let failed = 0;
  await eachLimit(items, CONCURRENCY, async (item) => {
    try {
      const res = await openRequest(
        deps,
        {
          ...(opts.cloud ? { cloud: opts.cloud } : {}),
          host: item.host,
          action: opts.action,
          origin: item.origin,
          requestedBy: alertRequester(opts.source),
          channel: opts.channel,
          ...(item.reason ? { reason: item.reason } : {}),
          group: picked.group.id,
        },
        { card: false },
      );
      if (res.kind === 'opened') opened.push(res.request);
      else if (res.kind === 'exists') existing.push(res.request);
      else {
        failed++;
        deps.log.warn('alert not recorded', { host: item.host, refusal: res.refusal });
      }
    } catch (err) {
      failed++;
      deps.log.error('alert not recorded', { host: item.host, error: err instanceof Error ? err.name : 'unknown' });
    }
  });
  // Members in host order within one webhook, so the card reads predictably.
  opened.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  await admitToGroup(deps, picked, opened);
  return { opened, existing, failed, group: picked };
}

/** Re-renders where `requests` are shown: their groups' pages, or their own cards. */
async function refreshShown(deps: AppDeps, requests: readonly ForceDownRequest[]): Promise<void> {
  const groups = new Map<string, Set<string>>();
  for (const r of requests) {
    if (r.group) (groups.get(r.group) ?? groups.set(r.group, new Set()).get(r.group)!).add(r.id);
    else await deps.enqueue({ kind: 'show-card', id: r.id });
  }
  for (const [id, members] of groups) {
    const group = await deps.store.getGroup(id);
    if (!group) continue;
    const pages = new Set([0]);
    for (const m of members) pages.add(pageOf(group, m));
    await deps.enqueue({ kind: 'show-group', id, pages: [...pages] });
  }
}

/**
 * The api side of an alert webhook: firing alerts open force-down requests
 * (grouped: one card for the hosts of one webhook or of a short window),
 * repeats are counted on the open request, resolved alerts mark a pending
 * request or ask the worker to offer recovery. Never calls Nova; in auto mode
 * (opted in, evidence label present) the request is confirmed on the alert's
 * word and the worker forces the host down.
 */
export async function receiveAlerts(deps: AppDeps, alerts: readonly HostAlert[], opts: AlertIntakeOptions): Promise<AlertReceipt> {
  const receipt: AlertReceipt = { opened: 0, repeats: 0, resolved: 0, recoveryChecks: 0, auto: 0, failed: 0 };
  const windowMs = opts.groupWindowMs ?? DEFAULT_GROUP_WINDOW_MS;
  // One alert per host: firing wins over resolved within one body.
  const byHost = new Map<string, HostAlert>();
  for (const a of alerts) {
    const seen = byHost.get(a.host);
    if (!seen || (seen.status === 'resolved' && a.status === 'firing')) byHost.set(a.host, a);
  }
  const firing = [...byHost.values()].filter((a) => a.status === 'firing');
  const resolved = [...byHost.values()].filter((a) => a.status === 'resolved');
  const now = iso(deps.now());

  if (firing.length > 0) {
    const items = firing.map((a) => ({ host: a.host, origin: alertOrigin(a), ...(a.summary ? { reason: a.summary } : {}) }));
    const res = await openGrouped(deps, items, { action: 'force-down', channel: opts.channel, source: opts.source, windowMs });
    receipt.opened = res.opened.length;
    receipt.failed += res.failed;
    // Repeats (Alertmanager re-sends whole groups every repeat_interval): count them on the open request.
    const repeated: ForceDownRequest[] = [];
    await eachLimit(res.existing, CONCURRENCY, async (r) => {
      const updated = r.origin.kind === 'alert' ? await deps.store.recordSeen(r.id, now) : undefined;
      repeated.push(updated ?? r);
    });
    receipt.repeats = repeated.length;
    await refreshShown(deps, repeated.filter((r) => r.origin.kind === 'alert'));

    if (opts.autoForceDown) {
      const evidence = new Set(firing.filter((a) => a.fencedEvidence).map((a) => a.host));
      for (const r of res.opened.filter((o) => evidence.has(o.host))) {
        if (await autoConfirm(deps, r, opts)) receipt.auto++;
      }
    }
  }

  const recovery: RecoveryAlert[] = [];
  const marked: ForceDownRequest[] = [];
  await eachLimit(resolved, CONCURRENCY, async (alert) => {
    try {
      const open = await deps.store.findOpen(deps.defaultCloud, alert.host, 'force-down');
      if (open && (open.state === 'pending' || open.state === 'failed')) {
        const updated = await deps.store.markAlertResolved(open.id, now);
        if (updated) marked.push(updated);
      } else if (!open) {
        recovery.push({ host: alert.host, origin: alertOrigin(alert) });
      }
      // Approved or executing: the human's decision stands; the outcome will show on the card.
    } catch (err) {
      receipt.failed++;
      deps.log.error('resolved alert not recorded', { host: alert.host, error: err instanceof Error ? err.name : 'unknown' });
    }
  });
  receipt.resolved = marked.length;
  await refreshShown(deps, marked);
  if (recovery.length > 0) {
    receipt.recoveryChecks = recovery.length;
    await deps.enqueue({ kind: 'alert-recovery', cloud: deps.defaultCloud, channel: opts.channel, alerts: recovery });
  }
  deps.log.info('alerts received', { source: opts.source, ...receipt });
  return receipt;
}

/** Auto mode: the alert's fencing evidence is the confirmation. */
async function autoConfirm(deps: AppDeps, request: ForceDownRequest, opts: AlertIntakeOptions): Promise<boolean> {
  const confirmation: Confirmation = {
    by: AUTO_APPROVER,
    at: iso(deps.now()),
    method: 'other',
    note: `fencing evidence on the ${opts.source} alert: label ${opts.evidenceLabel.name}="${opts.evidenceLabel.value}"`,
  };
  const res = await deps.store.transition(request.id, ['pending'], 'approved', confirmation.at, { confirmation }, AUTO_APPROVER);
  if (!res.ok) return false;
  deps.log.info('request confirmed in auto mode', { requestId: request.id, host: request.host, source: opts.source });
  await enqueueExecute(deps, request.id);
  return true;
}

/**
 * Worker: resolved alerts for hosts with no open force-down request. Where
 * Nova has the host forced down, open an unset request and show a recovery
 * card (Unset forced-down…, behind the recovery confirmation). One service
 * list per webhook, not one lookup per host.
 */
export async function offerRecovery(deps: AppDeps, job: Extract<Job, { kind: 'alert-recovery' }>): Promise<void> {
  const nova = deps.nova(job.cloud);
  if (!nova) return;
  const list = await nova.listComputeServices();
  if (!list.ok) {
    deps.log.warn('recovery check: Nova did not answer; no recovery card offered', { code: list.failure.code, hosts: job.alerts.length });
    return;
  }
  const forcedDown = new Set(list.value.filter((s) => s.forcedDown).map((s) => s.host));
  const items = job.alerts.filter((a) => forcedDown.has(a.host));
  const skipped = job.alerts.length - items.length;
  if (skipped > 0) deps.log.info('recovery check: resolved hosts not forced down in Nova, nothing to offer', { count: skipped });
  if (items.length === 0) return;
  const source = items[0]!.origin.source;
  const res = await openGrouped(deps, items, { cloud: job.cloud, action: 'unset', channel: job.channel, source, windowMs: DEFAULT_GROUP_WINDOW_MS });
  await refreshShown(deps, res.existing);
}
