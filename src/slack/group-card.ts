import type { types } from '@slack/bolt';
import type { ForceDownRequest, RequestState } from '../domain/request.js';
import { QUOTE_MAX, quotedBlock, type CardMessage, type CardView, type KnownBlock } from './blocks.js';
import { confirmActionId, confirmButtonText, confirmedBy, effectiveState, groupHeaderText, lastEntry, LIMITS, mrkdwn, outcomeFailureText, plain } from './card-parts.js';
import { cancelledText, expiredText, failureText } from './messages.js';
import { codeSpan, escapeAndTruncate, escapeMrkdwn, formatAge, formatUtc, parseUtc, quoted, truncate } from './mrkdwn.js';

/**
 * The grouped card: many hosts that went down together (one webhook, or
 * within a short window) share one card instead of flooding the channel with
 * one card each. Every host is still its own request, confirmed and executed
 * on its own: its row carries its own Nova view, state and button, and the
 * button's `value` is that request's id, exactly as on the single card
 * (blocks.ts), so the existing action listeners handle it unchanged.
 *
 * Block budget (Slack: at most 50 blocks per message): ONE section block per
 * host, with the host's button as the section's single accessory. Hence
 * {@link HOSTS_PER_MESSAGE} = 45 hosts per message; the first message adds a
 * header, a context (counts), an optional quoted block (the alert's name and
 * summary) and a divider
 * (≤ 4 + 45 = 49 blocks), continuations add one context line (46 blocks).
 *
 * The cost of one block per host: a section has one accessory, so a row has
 * only **Confirm fenced…** (or **Retry…** when failed), no **Cancel**. An
 * `overflow` menu holding both was rejected: its payload carries
 * `selected_option.value` under a single action_id, which the listeners
 * (matching ACTION_IDS.confirmFenced / cancelRequest with `value` = request
 * id) do not understand; a second actions block per host would halve the
 * capacity (~22 hosts per message). Unclicked requests expire on their own.
 */

/** Host rows per message (one section block each). */
export const HOSTS_PER_MESSAGE = 45;

/** How many messages {@link groupCard} produces for `n` hosts (0 for none). */
export function groupCardMessageCount(n: number): number {
  return n <= 0 ? 0 : Math.ceil(n / HOSTS_PER_MESSAGE);
}

/** Nova's view of one host, as `CardView` has it (without the clock: `opts.now` is shared). */
export type GroupHostView = Pick<CardView, 'service' | 'lookupFailure'>;

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

/** Counts by state for the header's context, in a fixed order. */
const COUNT_LABELS: readonly [string, (s: RequestState) => boolean][] = [
  ['pending', (s) => s === 'pending'],
  ['failed', (s) => s === 'failed'],
  ['in progress', (s) => s === 'approved' || s === 'executing'],
  ['done', (s) => s === 'succeeded'],
  ['cancelled', (s) => s === 'cancelled'],
  ['expired', (s) => s === 'expired'],
];

function countsText(requests: readonly ForceDownRequest[], now: number): string {
  const states = requests.map((r) => effectiveState(r, now));
  const allForceDown = requests.every((r) => r.action === 'force-down');
  return COUNT_LABELS.map(([label, match]) => {
    const n = states.filter(match).length;
    const shown = label === 'done' && allForceDown ? 'forced down' : label;
    return n ? `*${n}* ${shown}` : '';
  })
    .filter(Boolean)
    .join(' · ');
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

/** The row's button, while a click can still lead to a Nova call; same action_id and value as the single card's. */
function rowButton(request: ForceDownRequest, state: RequestState): types.Button | undefined {
  if (state !== 'pending' && state !== 'failed') return undefined;
  const forceDown = request.action === 'force-down';
  return {
    type: 'button',
    text: plain(confirmButtonText(request, state === 'failed'), LIMITS.buttonText),
    action_id: confirmActionId(request),
    value: request.id,
    ...(forceDown ? { style: 'danger' as const } : {}),
  };
}

function hostRow(request: ForceDownRequest, view: GroupHostView | undefined, now: number): KnownBlock {
  const state = effectiveState(request, now);
  const unset = request.action === 'unset' ? ' _(unset forced-down)_' : '';
  const text = `*${escapeAndTruncate(request.host, 255)}*${unset} · ${novaLine(request, view, now)}${alertNotes(request, state)}\n${stateLine(request, state)}`;
  const button = rowButton(request, state);
  return { type: 'section', text: mrkdwn(text), ...(button ? { accessory: button } : {}) };
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
      blocks.push({ type: 'divider' });
      prefix = `${escapeMrkdwn(header)} (${clouds})${more ? `, ${moreHostsText(more)}` : ''}`;
    } else {
      const range = `hosts ${start + 1}–${start + chunk.length} of ${total}`;
      blocks.push({ type: 'context', elements: [mrkdwn(`(continued, ${range})`)] });
      prefix = `${escapeMrkdwn(header)} (continued, ${range})`;
    }
    for (const request of chunk) blocks.push(hostRow(request, views.get(request.id), now));
    const head = truncate(prefix, 1000);
    const text = `${head}: ${hostList(chunk, LIMITS.sectionText - head.length - 2)}`;
    messages.push({ text, blocks });
  }
  return messages;
}
