import type { types } from '@slack/bolt';
import type { ForceDownRequest, RequestState } from '../domain/request.js';
import { QUOTE_MAX, quotedBlock, unknownCloudText, type CardMessage, type CardView, type KnownBlock } from './blocks.js';
import { confirmActionId, confirmButtonText, confirmedBy, effectiveState, groupHeaderText, lastEntry, LIMITS, mrkdwn, outcomeFailureText, plain } from './card-parts.js';
import { ACTION_IDS, GROUP_ACTION_IDS, GROUP_ACTIONS_BLOCK_ID } from './ids.js';
import { CANCEL_ALL_CONFIRM_TEXT, cancelledText, expiredText, failureText, outcomeShortText } from './messages.js';
import { codeSpan, escapeAndTruncate, escapeMrkdwn, formatAge, formatUtc, parseUtc, quoted, truncate } from './mrkdwn.js';

/**
 * The grouped card: many hosts that went down together (one webhook, or
 * within a short window) share one card instead of flooding the channel with
 * one card each. Every host is still its own request, confirmed and executed
 * on its own: its row carries its own Nova view, state and buttons, and each
 * button's `value` is that request's id, exactly as on the single card
 * (blocks.ts), so the existing action listeners handle them unchanged.
 *
 * A row is a section (the host, Nova's view, its state) and, while a click
 * can still lead somewhere (pending, failed), an actions block with
 * **Confirm fenced…** (or **Retry…**) and **Cancel**. The first page adds,
 * while rows are pending, the card's own buttons: **Confirm all fenced…**
 * (the bulk modal, bulk-blocks.ts) and **Cancel all…** (behind Slack's
 * confirm dialog); their `value` is the group id (listeners/group.ts).
 *
 * Block budget (Slack: at most 50 blocks per message): two blocks per host
 * at most, hence {@link HOSTS_PER_MESSAGE} = 22 hosts per message; the first
 * message adds a header, a context (counts), an optional quoted block (the
 * alert's name and summary), the card's buttons and a divider
 * (≤ 5 + 44 = 49 blocks), continuations add one context line (45 blocks).
 * Every row is budgeted at two blocks whatever its state, so a row never
 * moves to another page when its state changes (a failed row gets its
 * buttons back). The actions blocks hold two or three elements (Slack: 25).
 */

/** Host rows per message (a section and an actions block each). */
export const HOSTS_PER_MESSAGE = 22;

/** How many messages {@link groupCard} produces for `n` hosts (0 for none). */
export function groupCardMessageCount(n: number): number {
  return n <= 0 ? 0 : Math.ceil(n / HOSTS_PER_MESSAGE);
}

/** Nova's view of one host, as `CardView` has it (without the clock: `opts.now` is shared). */
export type GroupHostView = Pick<CardView, 'service' | 'lookupFailure' | 'unknownCloud'>;

export interface GroupCardOptions {
  /** Our clock (ms since the epoch), for ages and expiry. */
  now: number;
  /** What the header names; default: the alert name (or source) of the requests. */
  title?: string;
  /**
   * Row order. 'state' (default): pending first, then failed, then the rest,
   * then by name. 'given': as passed, so a row never moves to another message
   * when states change (a stored group re-renders only the page that changed
   * and the first, which holds the counts).
   */
  order?: 'state' | 'given';
  /**
   * Hosts that came for this card and have no row (beyond the group cap, or
   * over the source's rate limit): one summary line on the first page,
   * {@link moreHostsText}, and no rows or buttons for them.
   */
  moreHosts?: number;
}

/** The first page's line for hosts without a row: "and 9,000 more hosts: too many to act on one by one; check the alert source". */
export function moreHostsText(n: number): string {
  return `and ${n.toLocaleString('en-US')} more ${n === 1 ? 'host' : 'hosts'}: too many to act on one by one; check the alert source`;
}


/** Sort rank: pending first, then failed, then in progress, then done. */
const RANK: Record<RequestState, number> = { pending: 0, failed: 1, approved: 2, executing: 2, succeeded: 3, cancelled: 4, expired: 5 };

function sortRequests(requests: readonly ForceDownRequest[], now: number): ForceDownRequest[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...requests].sort(
    (a, b) => RANK[effectiveState(a, now)] - RANK[effectiveState(b, now)] || cmp(a.host, b.host) || cmp(a.action, b.action) || cmp(a.id, b.id),
  );
}

/** Counts by state for the header's context, in a fixed order; failed rows by what stopped them. */
const COUNT_LABELS: readonly [string, (s: RequestState) => boolean][] = [
  ['pending', (s) => s === 'pending'],
  ['in progress', (s) => s === 'approved' || s === 'executing'],
  ['done', (s) => s === 'succeeded'],
];
const CLOSED_LABELS: readonly [string, (s: RequestState) => boolean][] = [
  ['cancelled', (s) => s === 'cancelled'],
  ['expired', (s) => s === 'expired'],
];

/** The summary line: "*10* forced down · *2* refused: still reporting" (failed rows by their outcome, in short words; the counts in bold). */
export function countsText(requests: readonly ForceDownRequest[], now: number): string {
  const states = requests.map((r) => effectiveState(r, now));
  const allForceDown = requests.every((r) => r.action === 'force-down');
  const count = (labels: typeof COUNT_LABELS) =>
    labels.flatMap(([label, match]) => {
      const n = states.filter(match).length;
      const shown = label === 'done' ? (allForceDown ? 'forced down' : 'done') : label;
      return n ? [`*${n}* ${shown}`] : [];
    });
  const failures = new Map<string, number>();
  requests.forEach((r, i) => {
    if (states[i] !== 'failed') return;
    const words = outcomeShortText(r.outcome?.code);
    failures.set(words, (failures.get(words) ?? 0) + 1);
  });
  const failed = [...failures].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([words, n]) => `*${n}* ${words}`);
  return [...count(COUNT_LABELS), ...failed, ...count(CLOSED_LABELS)].join(' · ');
}

function firstAlert(requests: readonly ForceDownRequest[]): Extract<ForceDownRequest['origin'], { kind: 'alert' }> | undefined {
  for (const r of requests) if (r.origin.kind === 'alert') return r.origin;
  return undefined;
}

/** What the group is called: `opts.title` (the group's, from the alert), else the alert's name or source. Untrusted: quoted only. */
function titleOf(requests: readonly ForceDownRequest[], opts: GroupCardOptions): string | undefined {
  if (opts.title?.trim()) return opts.title;
  const alert = firstAlert(requests);
  return alert ? alert.alertName?.trim() || alert.source : undefined;
}

/** What the alert said since: repeats, and a resolution while the request is still open. */
function alertNotes(request: ForceDownRequest, state: RequestState): string {
  const notes: string[] = [];
  if (request.seen && request.seen.count > 1) notes.push(`alert seen ${request.seen.count}×, last ${formatUtc(request.seen.lastAt)}`);
  if (request.alertResolvedAt && (state === 'pending' || state === 'failed')) notes.push('_alert resolved: confirm only if it is still fenced, else let it expire_');
  return notes.length ? ` · ${notes.join(' · ')}` : '';
}

/** Nova state, forced_down and heartbeat age on one line. */
function novaLine(request: ForceDownRequest, view: GroupHostView | undefined, now: number): string {
  if (view?.unknownCloud) return `Nova: ${unknownCloudText(request.cloud)}`;
  const service = view?.service;
  if (service) {
    const state = service.state ? codeSpan(service.state, 40) : 'unknown';
    const status = service.status ? `, ${codeSpan(service.status, 40)}` : '';
    const heartbeat = parseUtc(service.updatedAt);
    const age = heartbeat === undefined ? (service.updatedAt ? formatUtc(service.updatedAt) : 'never') : formatAge(heartbeat, now);
    return `Nova: ${state}${status} · forced_down ${service.forcedDown ? '*yes*' : 'no'} · heartbeat ${age}`;
  }
  if (view?.lookupFailure) {
    const t = failureText({ code: view.lookupFailure.code }, { host: request.host, action: request.action, cloud: request.cloud });
    return `Nova: ⚠️ ${t.headline}`;
  }
  return 'Nova: not looked up yet';
}

/** The row's state line, in the single card's words (blocks.ts `stateLine`, messages.ts). */
function stateLine(request: ForceDownRequest, state: RequestState): string {
  const forceDown = request.action === 'force-down';
  switch (state) {
    case 'pending':
      return forceDown
        ? 'Waiting for an approver to confirm it is fenced (powered off or isolated). Nova is not called before that.'
        : 'Waiting for an approver to confirm it is healthy and its evacuated instances are cleaned up.';
    case 'approved':
    case 'executing':
      return `${forceDown ? '⏳ forcing down…' : '⏳ unsetting…'}${confirmedBy(request)}`;
    case 'succeeded':
      return `✅ ${forceDown ? 'forced down in Nova' : 'no longer forced down in Nova'}${confirmedBy(request)}`;
    case 'failed': {
      const t = outcomeFailureText(request);
      if (t) return `❌ ${t.headline}. ${t.nextStep}`;
      return `❌ The request did not finish; Nova's answer is unknown. Check the host in Nova, and retry.`;
    }
    case 'cancelled':
      return cancelledText(request.host, request.action, lastEntry(request, 'cancelled')?.by);
    case 'expired':
      return expiredText(request.host, request.action, lastEntry(request, 'expired')?.at ?? request.expiresAt);
    default: {
      const unknown: never = state;
      return `State: ${escapeMrkdwn(String(unknown))}`;
    }
  }
}

/** The row's buttons, while a click can still lead somewhere: the single card's action_ids, value = the request id. */
function rowButtons(request: ForceDownRequest, state: RequestState): types.Button[] {
  if (state !== 'pending' && state !== 'failed') return [];
  const forceDown = request.action === 'force-down';
  return [
    {
      type: 'button',
      text: plain(confirmButtonText(request, state === 'failed'), LIMITS.buttonText),
      action_id: confirmActionId(request),
      value: request.id,
      ...(forceDown ? { style: 'danger' as const } : {}),
    },
    { type: 'button', text: plain('Cancel', LIMITS.buttonText), action_id: ACTION_IDS.cancelRequest, value: request.id },
  ];
}

/** A host's row: its section, and its buttons' actions block while it has any (two blocks at most). */
function hostRow(request: ForceDownRequest, view: GroupHostView | undefined, now: number): KnownBlock[] {
  const state = effectiveState(request, now);
  const unset = request.action === 'unset' ? ' _(unset forced-down)_' : '';
  const text = `*${escapeAndTruncate(request.host, 255)}*${unset} · ${novaLine(request, view, now)}${alertNotes(request, state)}\n${stateLine(request, state)}`;
  // A cloud force-down is not configured for: Cancel only (a confirmation is refused anyway).
  const buttons = rowButtons(request, state).filter((b) => !view?.unknownCloud || b.action_id === ACTION_IDS.cancelRequest);
  return [{ type: 'section', text: mrkdwn(text) }, ...(buttons.length ? [{ type: 'actions', elements: buttons } as KnownBlock] : [])];
}

/**
 * The card's own buttons (first page), while rows are pending: **Confirm all
 * fenced…** (pending force-downs only) and **Cancel all…** behind Slack's
 * confirm dialog. Their value is the group id; none without one.
 */
function groupButtons(requests: readonly ForceDownRequest[], now: number, views: ReadonlyMap<string, GroupHostView>): KnownBlock | undefined {
  const group = requests.find((r) => r.group)?.group;
  if (!group) return undefined;
  const pending = requests.filter((r) => effectiveState(r, now) === 'pending');
  if (pending.length === 0) return undefined;
  const elements: types.Button[] = [];
  // Not for rows of a cloud force-down is not configured for: they cannot be confirmed.
  if (pending.some((r) => r.action === 'force-down' && !views.get(r.id)?.unknownCloud)) {
    elements.push({ type: 'button', text: plain('Confirm all fenced…', LIMITS.buttonText), action_id: GROUP_ACTION_IDS.confirmAll, value: group, style: 'danger' });
  }
  elements.push({
    type: 'button',
    text: plain('Cancel all…', LIMITS.buttonText),
    action_id: GROUP_ACTION_IDS.cancelAll,
    value: group,
    confirm: {
      title: plain('Cancel every waiting row?', 100),
      text: plain(`${pending.length} ${pending.length === 1 ? 'row is' : 'rows are'} waiting. ${CANCEL_ALL_CONFIRM_TEXT}`, 300),
      confirm: plain('Cancel them all', 30),
      deny: plain('Keep them', 30),
      style: 'danger',
    },
  });
  return { type: 'actions', block_id: GROUP_ACTIONS_BLOCK_ID, elements };
}

/** Escaped host names for a message's `text`, cut with "and N more" to stay within `max`. */
function hostList(requests: readonly ForceDownRequest[], max: number): string {
  const names = requests.map((r) => escapeAndTruncate(r.host, 100));
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const next = `${out ? `${out}, ` : ''}${names[i]}`;
    const rest = names.length - i - 1;
    const tail = rest ? ` and ${rest} more` : '';
    if (next.length + tail.length > max) return `${out}${out ? ' ' : ''}and ${names.length - i} more`;
    out = next;
  }
  return out;
}

function cloudsOf(requests: readonly ForceDownRequest[]): string {
  return [...new Set(requests.map((r) => r.cloud))].sort().map((c) => escapeAndTruncate(c, 100)).join(', ');
}

/**
 * The grouped card for `requests` (hosts that arrived together), split into
 * as many messages as Slack's 50-block limit needs ({@link groupCardMessageCount}).
 * Hosts are sorted pending first, then failed, then the rest, then by name.
 * `views` maps request id → Nova's view of its host. Deterministic for a given
 * input and `opts.now`. No requests, no messages.
 */
export function groupCard(requests: readonly ForceDownRequest[], views: ReadonlyMap<string, GroupHostView>, opts: GroupCardOptions): CardMessage[] {
  if (requests.length === 0) return [];
  const { now } = opts;
  const sorted = opts.order === 'given' ? [...requests] : sortRequests(requests, now);
  const total = sorted.length;
  const title = titleOf(sorted, opts);
  const header = groupHeaderText(total, sorted.every((r) => r.action === 'unset'));
  const clouds = cloudsOf(sorted);
  const messages: CardMessage[] = [];

  for (let start = 0; start < total; start += HOSTS_PER_MESSAGE) {
    const chunk = sorted.slice(start, start + HOSTS_PER_MESSAGE);
    const blocks: KnownBlock[] = [];
    let prefix: string;
    if (start === 0) {
      blocks.push({ type: 'header', text: plain(header, LIMITS.headerText) });
      const alert = firstAlert(sorted);
      const source = alert ? ` · alert from ${escapeMrkdwn(alert.source)}` : '';
      const more = opts.moreHosts && opts.moreHosts > 0 ? opts.moreHosts : 0;
      blocks.push({
        type: 'context',
        elements: [
          mrkdwn(`${countsText(sorted, now)} · cloud ${clouds}${source} · each host is its own request: fence it, then confirm it`),
          // The cap's line: in the counts' block (force-down's own words), so the page stays within 50 blocks.
          ...(more ? [mrkdwn(`⚠️ ${moreHostsText(more)}`)] : []),
        ],
      });
      // The alert's words (its name, its summary): quoted, above the divider, apart from every row.
      const lines = [
        ['Alert', quoted(title, QUOTE_MAX.alertName)],
        ['Alert summary', quoted(alert?.summary, QUOTE_MAX.summary)],
      ].flatMap(([label, q]) => (q ? [`${label}: ${q}`] : []));
      const quotes = quotedBlock(lines);
      if (quotes) blocks.push(quotes);
      const bulk = groupButtons(sorted, now, views);
      if (bulk) blocks.push(bulk);
      blocks.push({ type: 'divider' });
      prefix = `${escapeMrkdwn(header)} (${clouds})${more ? `, ${moreHostsText(more)}` : ''}`;
    } else {
      const range = `hosts ${start + 1}–${start + chunk.length} of ${total}`;
      blocks.push({ type: 'context', elements: [mrkdwn(`(continued, ${range})`)] });
      prefix = `${escapeMrkdwn(header)} (continued, ${range})`;
    }
    for (const request of chunk) blocks.push(...hostRow(request, views.get(request.id), now));
    const head = truncate(prefix, 1000);
    const text = `${head}: ${hostList(chunk, LIMITS.sectionText - head.length - 2)}`;
    messages.push({ text, blocks });
  }
  return messages;
}
