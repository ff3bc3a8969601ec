import { foldHost } from '../domain/host.js';
import { createHash } from 'node:crypto';
import type { HostAlert } from '../domain/alert-source.js';
import type { AlertSource } from '../domain/alert-source.js';
import { isOff } from '../domain/power.js';
import { AUTO_APPROVER, AUTO_BMC_NOTE, type Action, type Confirmation, type ForceDownRequest, type Origin, type RequestGroup } from '../domain/request.js';
import { errorName, iso } from './outcomes.js';
import type { AppDeps, Job, RecoveryAlert } from './ports.js';
import { bmcOf, CARD_OVERDUE_MS, enqueueExecute, executeRequest, openRequest } from './requests.js';
import { sharedComputeServices } from './service-list.js';

/** Hosts whose alerts arrive within this long of a group's creation join that group's card. */
export const DEFAULT_GROUP_WINDOW_MS = 30_000;

/**
 * FORCE_DOWN_GROUP_MAX_HOSTS: rows on one grouped card. Hosts beyond it get
 * no row and no request, only the card's summary line ("and N more hosts: too
 * many to act on one by one; check the alert source"): nobody confirms 9,000
 * hosts one by one, and rows nobody can act on would only bury the card.
 */
export const DEFAULT_GROUP_MAX_HOSTS = 100;

/**
 * FORCE_DOWN_ALERT_MAX_NEW_PER_MINUTE: new requests one alert source may open
 * per minute (a calendar minute, counted in the store, so every api instance
 * shares it). Beyond it alerts for new hosts are dropped: counted in the
 * webhook's answer (`dropped`) and the log, not recorded. Repeats and
 * resolutions are never limited.
 */
export const DEFAULT_MAX_NEW_PER_MINUTE = 200;

/** Store writes in flight at once for one webhook (a 200-host storm must not take 200 round trips in a row). */
const CONCURRENCY = 16;

export interface AlertIntakeOptions {
  source: AlertSource;
  /** Where alert cards go (FORCE_DOWN_CHANNEL). */
  channel: string;
  /**
   * `alerts.<source>.autoForceDown`: `true`: act on alerts carrying the fencing
   * evidence label without a human; `"bmc-off"`: act on a firing alert when the
   * host's BMC reports power Off (the worker reads it: job `auto-bmc`);
   * `false`: never.
   */
  autoForceDown: boolean | 'bmc-off';
  /** The evidence label, for the record (`fenced="true"` by default). */
  evidenceLabel: { name: string; value: string };
  groupWindowMs?: number;
  /** Rows per grouped card (default {@link DEFAULT_GROUP_MAX_HOSTS}). */
  groupMaxHosts?: number;
  /** New requests per minute for this source (default {@link DEFAULT_MAX_NEW_PER_MINUTE}). */
  maxNewPerMinute?: number;
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
  /** `autoForceDown: "bmc-off"`: new requests whose host's BMC the worker reads, to force it down if it reports Off. */
  bmcChecks?: number;
  /** Alerts that could not be recorded (logged). */
  failed: number;
  /**
   * Firing alerts for new hosts not recorded: over the source's rate limit,
   * or beyond their grouped card's cap (counted on the card's summary line).
   * Always set by {@link receiveAlerts}; the webhook answers 0 when absent.
   */
  dropped?: number;
}

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
 * What new requests join a group by: one source, one alert name, one action.
 * A digest, so an alert name of any length makes a key of fixed size.
 */
export function groupKey(source: string, alertName: string | undefined, action: Action, cloud?: string): string {
  // The cloud only when an alert names one (cloudLabel): keys of the default cloud's groups are as they were.
  const parts = cloud === undefined ? [source, alertName ?? '', action] : [source, alertName ?? '', action, cloud];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** The store counter of new requests for `source` in the minute of `now`, and when it may be forgotten. */
function rateWindow(source: string, now: number): { key: string; expiresAt: string } {
  const minute = Math.floor(now / 60_000);
  return { key: `alerts-new#${source}#${minute}`, expiresAt: iso((minute + 2) * 60_000) };
}

type AlertItem = { host: string; origin: Extract<Origin, { kind: 'alert' }>; reason?: string };

interface GroupedOptions {
  cloud?: string;
  /**
   * The cloud was named by the alert (`cloudLabel`): a name force-down has no
   * cloud for still opens its requests, whose card says the cloud is not
   * configured and offers no Confirm.
   */
  namedCloud?: boolean;
  action: Action;
  channel: string;
  source: AlertSource;
  windowMs: number;
  maxHosts: number;
  /** The source's limit on new requests per minute; none when absent (recovery: Nova vouches for every host). */
  maxNewPerMinute?: number;
}

interface GroupedResult {
  opened: ForceDownRequest[];
  /** Hosts that already had an open request (repeats). */
  existing: ForceDownRequest[];
  failed: number;
  /** New hosts over the source's rate limit: not recorded. */
  rateLimited: number;
  /** New hosts beyond the group's cap: not recorded, counted on the card. */
  overCap: number;
}

/**
 * Opens requests for `items` (alerts of one source and alert name) in one
 * grouped card: the card of the same source, alert name and action created
 * within the window, else a new one. Hosts with an open request are repeats;
 * new hosts get a row while the card has room (`maxHosts`) and the source's
 * rate limit allows; the others are not recorded, only counted on the card
 * (its summary line) and in the result.
 */
async function openGrouped(deps: AppDeps, items: readonly AlertItem[], opts: GroupedOptions): Promise<GroupedResult> {
  const cloud = opts.cloud ?? deps.defaultCloud;
  const result: GroupedResult = { opened: [], existing: [], failed: 0, rateLimited: 0, overCap: 0 };
  if (items.length === 0) return result;

  // 1. Repeats and new hosts: only new hosts take a row or count against the rate limit.
  const fresh: AlertItem[] = [];
  await eachLimit(items, CONCURRENCY, async (item) => {
    try {
      const open = await deps.store.findOpen(cloud, item.host, opts.action);
      if (open) result.existing.push(open);
      else fresh.push(item);
    } catch (err) {
      result.failed++;
      deps.log.error('alert not recorded', { host: item.host, error: errorName(err) });
    }
  });
  if (fresh.length === 0) return result;
  // Rows in host order within one webhook, so the card reads predictably (and a cap keeps the same hosts).
  fresh.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));

  // 2. Admission: the card's free rows first (a full card spends none of the source's quota), then the rate limit.
  const first = items[0]!.origin;
  // A cloud other than the default one has cards of its own (alerts naming it, recovery in it).
  const key = groupKey(opts.source, first.alertName, opts.action, cloud === deps.defaultCloud ? undefined : cloud);
  const now = deps.now();
  const found = await deps.store.findRecentGroup(opts.channel, iso(now - opts.windowMs), key);
  const room = Math.max(0, opts.maxHosts - (found ? (found.reserved ?? found.members.length) : 0));
  const ask = Math.min(fresh.length, room);
  let allowed = ask;
  if (opts.maxNewPerMinute !== undefined && ask > 0) {
    const window = rateWindow(opts.source, now);
    allowed = await deps.store.takeQuota(window.key, ask, opts.maxNewPerMinute, window.expiresAt);
  }
  let group: RequestGroup | undefined;
  let granted = allowed;
  if (found) {
    // Atomic: two webhooks at once never take more rows than the card has. Hosts left out are counted on the card.
    const reserved = await deps.store.reserveGroupSlots(found.id, fresh.length, { max: opts.maxHosts, allowed });
    group = reserved?.group;
    granted = reserved?.granted ?? 0;
  }
  result.rateLimited = ask - allowed;
  result.overCap = fresh.length - granted - result.rateLimited;
  const isNew = group === undefined;
  const groupId = group?.id ?? deps.newId();

  // 3. The admitted hosts' requests.
  const raced: ForceDownRequest[] = [];
  await eachLimit(fresh.slice(0, granted), CONCURRENCY, async (item) => {
    try {
      const res = await openRequest(
        deps,
        {
          cloud,
          host: item.host,
          action: opts.action,
          origin: item.origin,
          requestedBy: alertRequester(opts.source),
          channel: opts.channel,
          ...(item.reason ? { reason: item.reason } : {}),
          group: groupId,
          ...(opts.namedCloud ? { cloudMayBeUnknown: true } : {}),
        },
        { card: false },
      );
      if (res.kind === 'opened') result.opened.push(res.request);
      else if (res.kind === 'exists') raced.push(res.request);
      else {
        result.failed++;
        deps.log.warn('alert not recorded', { host: item.host, refusal: res.refusal });
      }
    } catch (err) {
      result.failed++;
      deps.log.error('alert not recorded', { host: item.host, error: errorName(err) });
    }
  });
  // Opened by a concurrent delivery of the same alert (an Alertmanager HA pair) since step 1: repeats.
  result.existing.push(...raced);
  result.opened.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));

  // 4. The group's record, and its card.
  const ids = result.opened.map((r) => r.id);
  if (isNew) {
    // A card with no rows is never posted: hosts dropped for it are in the answer and the log only.
    if (ids.length === 0) return result;
    const title = first.alertName ?? first.source ?? opts.source;
    const created: RequestGroup = {
      id: groupId,
      channel: opts.channel,
      title: opts.action === 'unset' ? `${title} resolved` : title,
      createdAt: iso(now),
      members: ids,
      key,
      reserved: granted,
      ...(fresh.length > granted ? { overflow: fresh.length - granted } : {}),
    };
    await deps.store.createGroup(created);
    await deps.enqueue(deps.cards.later(created, { joined: ids }));
    return result;
  }
  if (ids.length > 0) {
    const joined = await deps.store.addToGroup(groupId, ids);
    if (!joined) return result;
    await deps.enqueue(deps.cards.later(joined, { joined: ids }));
  } else if (fresh.length > granted) {
    await refreshSummaryLine(deps, group!, now);
  }
  return result;
}

/**
 * How often a full card's summary line ("and N more hosts…") is updated while
 * a flood goes on: once per window, after its end, showing every host left
 * out by then. Not once per webhook: each update reads Nova and posts to Slack.
 */
export const SUMMARY_REFRESH_MS = 3_000;

/**
 * Only the count of hosts left out of group `groupId` changed: update its first
 * page once for this window (the first webhook of the window asks, through a
 * store counter that every api instance shares; the job waits for the window's
 * end). `joined: []`: a card not posted yet is not posted by this job (its
 * creator's job posts it, with the count as it is then).
 */
async function refreshSummaryLine(deps: AppDeps, group: RequestGroup, now: number): Promise<void> {
  const window = Math.floor(now / SUMMARY_REFRESH_MS);
  const end = (window + 1) * SUMMARY_REFRESH_MS;
  if ((await deps.store.takeQuota(`group-summary#${group.id}#${window}`, 1, 1, iso(end + 60_000))) === 0) return;
  await deps.enqueue(deps.cards.later(group, { joined: [] }, end));
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
    if (group) await deps.enqueue(deps.cards.later(group, { rows: [...members] }));
  }
}

/**
 * Alerts by the cloud they name (`cloudLabel`), in order of first appearance;
 * undefined: the default cloud (no cloud label, or none configured).
 */
function byCloud(alerts: readonly HostAlert[], defaultCloud: string): Map<string | undefined, HostAlert[]> {
  const parts = new Map<string | undefined, HostAlert[]>();
  for (const a of alerts) {
    // Naming the default cloud is not naming another one: those alerts join the default cloud's cards.
    const cloud = a.cloud === defaultCloud ? undefined : a.cloud;
    (parts.get(cloud) ?? parts.set(cloud, []).get(cloud)!).push(a);
  }
  return parts;
}

/** Firing alerts by alert name, in order of first appearance: each name is its own grouped card. */
function byAlertName(alerts: readonly HostAlert[]): HostAlert[][] {
  const parts = new Map<string, HostAlert[]>();
  for (const a of alerts) {
    const name = a.alertName ?? '';
    (parts.get(name) ?? parts.set(name, []).get(name)!).push(a);
  }
  return [...parts.values()];
}

/**
 * The api side of an alert webhook: firing alerts open force-down requests
 * (grouped: one card per source and alert name for the hosts of one webhook
 * or of a short window, at most `groupMaxHosts` rows, at most
 * `maxNewPerMinute` new requests per source), repeats are counted on the open
 * request, resolved alerts mark a pending request or ask the worker to offer
 * recovery. Never calls Nova; in auto mode (opted in, evidence label present)
 * the request is confirmed on the alert's word and the worker forces the host down.
 */
export async function receiveAlerts(deps: AppDeps, alerts: readonly HostAlert[], opts: AlertIntakeOptions): Promise<AlertReceipt> {
  const receipt: AlertReceipt = { opened: 0, repeats: 0, resolved: 0, recoveryChecks: 0, auto: 0, failed: 0, dropped: 0 };
  const windowMs = opts.groupWindowMs ?? DEFAULT_GROUP_WINDOW_MS;
  const maxHosts = opts.groupMaxHosts ?? DEFAULT_GROUP_MAX_HOSTS;
  const maxNewPerMinute = opts.maxNewPerMinute ?? DEFAULT_MAX_NEW_PER_MINUTE;
  // One alert per host (its case-folded name, as requests are locked): firing wins over resolved within one body.
  const byHost = new Map<string, HostAlert>();
  for (const a of alerts) {
    // One host of one cloud: the same name in two clouds is two hosts.
    const key = a.cloud === undefined || a.cloud === deps.defaultCloud ? foldHost(a.host) : `${foldHost(a.host)}\u0000${a.cloud}`;
    const seen = byHost.get(key);
    if (!seen || (seen.status === 'resolved' && a.status === 'firing')) byHost.set(key, a);
  }
  const firing = [...byHost.values()].filter((a) => a.status === 'firing');
  const resolved = [...byHost.values()].filter((a) => a.status === 'resolved');
  const now = iso(deps.now());

  const drops = { rateLimited: 0, overGroupCap: 0, alertNames: [] as string[] };
  // Each cloud (cloudLabel) and alert name is its own grouped card.
  const parts = [...byCloud(firing, deps.defaultCloud)].flatMap(([cloud, ofCloud]) => byAlertName(ofCloud).map((part) => ({ cloud, part })));
  for (const { cloud, part } of parts) {
    const items = part.map((a) => ({ host: a.host, origin: alertOrigin(a), ...(a.summary ? { reason: a.summary } : {}) }));
    const named = cloud !== undefined ? { cloud, namedCloud: true } : {};
    const res = await openGrouped(deps, items, { action: 'force-down', channel: opts.channel, source: opts.source, windowMs, maxHosts, maxNewPerMinute, ...named });
    receipt.opened += res.opened.length;
    receipt.failed += res.failed;
    if (res.rateLimited + res.overCap > 0) {
      drops.rateLimited += res.rateLimited;
      drops.overGroupCap += res.overCap;
      drops.alertNames.push(part[0]!.alertName ?? '');
    }
    // Repeats (Alertmanager re-sends whole groups every repeat_interval): count them on the open request.
    const repeated: ForceDownRequest[] = [];
    await eachLimit(res.existing, CONCURRENCY, async (r) => {
      const updated = r.origin.kind === 'alert' ? await deps.store.recordSeen(r.id, now) : undefined;
      repeated.push(updated ?? r);
    });
    receipt.repeats += repeated.length;
    await refreshShown(deps, repeated.filter((r) => r.origin.kind === 'alert' && r.messageTs));
    // A request whose card was never posted (a crash between recording and enqueueing): shown once it is
    // overdue (a fresh one's card job may still be running, and two would post two cards).
    for (const r of repeated.filter((x) => !x.messageTs && deps.now() - Date.parse(x.createdAt) > CARD_OVERDUE_MS)) {
      await deps.enqueue(r.group ? { kind: 'show-group', id: r.group, orphan: r.id } : { kind: 'show-card', id: r.id });
    }

    // A cloud force-down has no gateway for: its card waits for a human to cancel it, nothing is confirmed.
    if (cloud !== undefined && !deps.nova(cloud)) continue;
    if (opts.autoForceDown === true) {
      const evidence = new Set(part.filter((a) => a.fencedEvidence).map((a) => a.host));
      for (const r of res.opened.filter((o) => evidence.has(o.host))) {
        if (await autoConfirm(deps, r, opts)) receipt.auto++;
      }
    } else if (opts.autoForceDown === 'bmc-off') {
      // The api never calls a BMC: the worker reads it. Only hosts with a BMC entry (configuration, no call).
      for (const r of res.opened.filter((o) => bmcOf(deps, o.cloud, o.host) !== undefined)) {
        try {
          await deps.enqueue({ kind: 'auto-bmc', id: r.id });
          receipt.bmcChecks = (receipt.bmcChecks ?? 0) + 1;
        } catch (err) {
          // The card is shown anyway: a human confirms it.
          deps.log.error('auto-bmc job not enqueued; the card waits for a human', { requestId: r.id, error: errorName(err) });
        }
      }
    }
  }

  receipt.dropped = drops.rateLimited + drops.overGroupCap;
  if (receipt.dropped > 0) {
    // One line per webhook, however many alert names it carried.
    deps.log.warn('alerts dropped: too many new hosts', {
      source: opts.source,
      dropped: receipt.dropped,
      rateLimited: drops.rateLimited,
      overGroupCap: drops.overGroupCap,
      ...(drops.alertNames.length === 1 ? { alertName: drops.alertNames[0]!.slice(0, 100) } : { alertNames: drops.alertNames.length }),
      maxNewPerMinute,
      groupMaxHosts: maxHosts,
    });
  }

  const recovery = new Map<string, RecoveryAlert[]>();
  const marked: ForceDownRequest[] = [];
  await eachLimit(resolved, CONCURRENCY, async (alert) => {
    try {
      const cloud = alert.cloud ?? deps.defaultCloud;
      const open = await deps.store.findOpen(cloud, alert.host, 'force-down');
      if (open && (open.state === 'pending' || open.state === 'failed')) {
        const updated = await deps.store.markAlertResolved(open.id, now);
        if (updated) marked.push(updated);
      } else if (!open && deps.nova(cloud)) {
        // Recovery is offered where Nova has the host forced down: only a configured cloud has a Nova to ask.
        (recovery.get(cloud) ?? recovery.set(cloud, []).get(cloud)!).push({ host: alert.host, origin: alertOrigin(alert) });
      }
      // Approved or executing: the human's decision stands; the outcome will show on the card.
    } catch (err) {
      receipt.failed++;
      deps.log.error('resolved alert not recorded', { host: alert.host, error: errorName(err) });
    }
  });
  receipt.resolved = marked.length;
  await refreshShown(deps, marked);
  for (const [cloud, alerts] of recovery) {
    receipt.recoveryChecks += alerts.length;
    await deps.enqueue({ kind: 'alert-recovery', cloud, channel: opts.channel, alerts });
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
 * Worker, auto mode on the BMC's evidence (`autoForceDown: "bmc-off"`): reads
 * the host's BMC; when it reports power Off, confirms the pending request as
 * {@link AUTO_APPROVER} (method `bmc`, note {@link AUTO_BMC_NOTE}) and executes
 * it (the fence checks read the BMC again right before Nova's call). Any other
 * reading (On, unreachable, no BMC), or a request no longer pending, leaves
 * the card to a human. Safe to run twice (the confirmation is a compare-and-set).
 */
export async function autoConfirmOnBmc(deps: AppDeps, id: string): Promise<void> {
  const request = await deps.store.get(id);
  if (!request || request.state !== 'pending' || request.action !== 'force-down' || request.origin.kind !== 'alert') return;
  const bmc = bmcOf(deps, request.cloud, request.host);
  if (!bmc) return;
  const read = await bmc.readPower();
  if (!read.ok || !isOff(read.value)) {
    deps.log.info('auto mode (bmc-off): BMC does not report Off; the card waits for a human', {
      requestId: id,
      host: request.host,
      ...(read.ok ? { powerState: String(read.value.powerState).slice(0, 40) } : { outcome: read.failure.code }),
    });
    return;
  }
  const confirmation: Confirmation = { by: AUTO_APPROVER, at: iso(deps.now()), method: 'bmc', note: AUTO_BMC_NOTE };
  const res = await deps.store.transition(request.id, ['pending'], 'approved', confirmation.at, { confirmation }, AUTO_APPROVER);
  if (!res.ok) return;
  deps.log.info('request confirmed in auto mode', { requestId: id, host: request.host, source: request.origin.source, evidence: 'bmc-off' });
  deps.metrics?.count('Confirmations', { Action: request.action });
  await executeRequest(deps, id);
}

/**
 * Worker: resolved alerts for hosts with no open force-down request. Where
 * Nova has the host forced down, open an unset request and show a recovery
 * card (Unset forced-down…, behind the recovery confirmation). The service
 * list is shared: every recovery check of a cloud within a few seconds reads
 * one list (one call in flight at a time), so a burst of resolved webhooks
 * costs a handful of Nova calls, not one each.
 */
export async function offerRecovery(deps: AppDeps, job: Extract<Job, { kind: 'alert-recovery' }>): Promise<void> {
  const nova = deps.nova(job.cloud);
  if (!nova) return;
  const list = await sharedComputeServices(nova, deps.now);
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
  // No cap and no rate limit here: only hosts Nova has forced down get a row, and an alert cannot invent those.
  // Hosts already offered recovery (an open unset request) are left as they are: nothing on their card changed.
  for (const part of byRecoveryAlertName(items)) {
    await openGrouped(deps, part, { cloud: job.cloud, action: 'unset', channel: job.channel, source, windowMs: DEFAULT_GROUP_WINDOW_MS, maxHosts: Infinity });
  }
}

function byRecoveryAlertName(items: readonly RecoveryAlert[]): RecoveryAlert[][] {
  const parts = new Map<string, RecoveryAlert[]>();
  for (const a of items) {
    const name = a.origin.alertName ?? '';
    (parts.get(name) ?? parts.set(name, []).get(name)!).push(a);
  }
  return [...parts.values()];
}
