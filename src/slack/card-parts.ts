import type { types } from '@slack/bolt';
import { fenceChoiceLabel, type FenceChoice } from '../domain/fencing.js';
import type { ForceDownRequest, HistoryEntry, RequestState } from '../domain/request.js';
import { ACTION_IDS } from './ids.js';
import { failureText, type FailureText } from './messages.js';
import { escapeMrkdwn, mentionOrName, parseUtc, truncate } from './mrkdwn.js';

/**
 * The parts every card is made of, in one place: the single card and the
 * confirmation modal (blocks.ts) and the grouped card (group-card.ts) say the
 * same things the same way with them.
 */

/** Slack's limits (https://docs.slack.dev/reference/block-kit/blocks). */
export const LIMITS = {
  messageBlocks: 50,
  sectionText: 3000,
  sectionField: 2000,
  sectionFields: 10,
  headerText: 150,
  buttonText: 75,
  optionText: 75,
  modalTitle: 24,
  modalButton: 24,
  contextElements: 10,
} as const;

/** The block_id of a card's Instances line (what is at stake on the host). */
export const CARD_INSTANCES_BLOCK_ID = 'instances';

/** A mrkdwn text element, cut to a section's limit. */
export const mrkdwn = (text: string): types.MrkdwnElement => ({ type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) });
/** A plain-text element (emoji shown), cut to `max`. */
export const plain = (text: string, max: number): types.PlainTextElement => ({ type: 'plain_text', text: truncate(text, max), emoji: true });

/**
 * The single card's header: where the request stands, at a glance, then our
 * words and the host name only. `🟡 … · waiting` (pending), `⏳ … · in progress`
 * (confirmed or executing), `✅ compute1 forced down` / `✅ compute1 unset: no
 * longer forced down`, `❌ … · failed`, `⚪ … · cancelled` / `· expired`. With
 * `now`, a pending or failed request past its expiry shows as expired
 * ({@link effectiveState}).
 */
export function headerText(request: Pick<ForceDownRequest, 'action' | 'host' | 'state' | 'expiresAt'>, now?: number): string {
  const state = now === undefined ? request.state : effectiveState(request, now);
  const what = request.action === 'force-down' ? `Force down ${request.host}` : `Unset forced-down: ${request.host}`;
  switch (state) {
    case 'pending':
      return `🟡 ${what} · waiting`;
    case 'approved':
    case 'executing':
      return `⏳ ${what} · in progress`;
    case 'succeeded':
      return request.action === 'force-down' ? `✅ ${request.host} forced down` : `✅ ${request.host} unset: no longer forced down`;
    case 'failed':
      return `❌ ${what} · failed`;
    case 'cancelled':
      return `⚪ ${what} · cancelled`;
    case 'expired':
      return `⚪ ${what} · expired`;
    default: {
      const unknown: never = state;
      return `${what} · ${String(unknown)}`;
    }
  }
}

/**
 * Whether the card still shows when the request expires: only while the
 * expiry can still end it, i.e. pending (unconfirmed) or failed (**Retry…**
 * works until then). A confirmed, executing or finished (succeeded,
 * cancelled, expired) request no longer expires.
 */
export function showsExpiry(request: Pick<ForceDownRequest, 'state' | 'expiresAt'>, now: number): boolean {
  const state = effectiveState(request, now);
  return state === 'pending' || state === 'failed';
}

/**
 * The slash command that unsets forced-down on `host` once it is repaired:
 * `/force-down --unset compute1`, with `--cloud NAME` when `cloud` is not
 * `defaultCloud` (or the default is not known).
 */
export function unsetCommand(host: string, cloud: string, defaultCloud?: string): string {
  return `/force-down --unset ${host}${cloud === defaultCloud ? '' : ` --cloud ${cloud}`}`;
}

/** The grouped card's header. Our words only: the title (an alert's words) is in the quoted block below the header, never in it. */
export function groupHeaderText(n: number, recovery: boolean): string {
  return recovery ? `🟢 ${n} ${n === 1 ? 'host' : 'hosts'} recovered` : `🔴 ${n} ${n === 1 ? 'host' : 'hosts'} down`;
}

/** The last transition into `state`, for who did it and when. */
export function lastEntry(request: ForceDownRequest, state: RequestState): HistoryEntry | undefined {
  for (let i = request.history.length - 1; i >= 0; i--) {
    const entry = request.history[i];
    if (entry?.state === state) return entry;
  }
  return undefined;
}

/** How the host was fenced, in words. */
export function methodLabel(method: FenceChoice | undefined): string {
  return method ? fenceChoiceLabel(method) : 'method not recorded';
}

/** `(by @approver, fenced: BMC …)`. The approver's note is theirs: the quoted block shows it, never a state line. */
export function confirmedBy(request: ForceDownRequest): string {
  const c = request.confirmation;
  if (!c) return '';
  const fenced = request.action === 'force-down' ? `, fenced: ${escapeMrkdwn(methodLabel(c.method))}` : '';
  return ` (by ${mentionOrName(c.by)}${fenced})`;
}

/** A pending or failed request past its expiry is shown (and counted) as expired: its button would only be refused. */
export function effectiveState(request: Pick<ForceDownRequest, 'state' | 'expiresAt'>, now: number): RequestState {
  if (request.state === 'pending' || request.state === 'failed') {
    const expires = parseUtc(request.expiresAt);
    if (expires !== undefined && expires <= now) return 'expired';
  }
  return request.state;
}

/** The confirm button's words: **Retry…** on a failed request, else **Confirm fenced…** / **Confirm recovered…**. */
export function confirmButtonText(request: Pick<ForceDownRequest, 'action'>, retry: boolean): string {
  return retry ? 'Retry…' : request.action === 'force-down' ? 'Confirm fenced…' : 'Confirm recovered…';
}

/** The confirm button's action_id (its `value` is the request id), on every card alike, so one listener handles them all. */
export function confirmActionId(request: Pick<ForceDownRequest, 'action'>): string {
  return request.action === 'force-down' ? ACTION_IDS.confirmFenced : ACTION_IDS.confirmRecovered;
}

/** A failed request's outcome in words (headline, next step), or undefined when it has no failure recorded. */
export function outcomeFailureText(request: ForceDownRequest): FailureText | undefined {
  const o = request.outcome;
  return o && o.code !== 'OK' ? failureText({ code: o.code, status: o.status, ageSeconds: o.ageSeconds, ...(o.bmc ? { powerState: o.bmc.powerState } : {}) }, request) : undefined;
}
