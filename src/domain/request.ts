import type { FailureCode } from './failure.js';
import type { FencingMethod } from './fencing.js';
import type { Action } from './runbook.js';

export type { Action };

/**
 * The request lifecycle (DESIGN.md):
 *
 *   pending ──confirm──► approved ──► executing ──► succeeded
 *      │                                   └──────► failed ──confirm──► approved (retry)
 *      ├──cancel──► cancelled
 *      └──(ttl)───► expired            (a failed request expires too)
 */
export type RequestState = 'pending' | 'approved' | 'executing' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

/** Which states may move to which. Every store transition names its from-states from here. */
export const TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = {
  pending: ['approved', 'cancelled', 'expired'],
  approved: ['executing'],
  executing: ['succeeded', 'failed'],
  failed: ['approved', 'cancelled', 'expired'],
  succeeded: [],
  cancelled: [],
  expired: [],
};

/** States from which `to` can be reached. */
export function fromStates(to: RequestState): RequestState[] {
  return (Object.keys(TRANSITIONS) as RequestState[]).filter((s) => TRANSITIONS[s].includes(to));
}

/** A request holds its (cloud, host, action) lock while it can still lead to a Nova call. */
export function holdsLock(state: RequestState): boolean {
  return state === 'pending' || state === 'approved' || state === 'executing' || state === 'failed';
}

export function isTerminal(state: RequestState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** Who or what asked for the request. */
export type Origin =
  | { kind: 'slash'; userId: string; channelId: string }
  | {
      kind: 'alert';
      source: 'alertmanager' | 'grafana' | 'doctor' | 'generic';
      fingerprint: string;
      alertName?: string;
      summary?: string;
      link?: string;
      startsAt?: string;
    }
  | { kind: 'cli'; user: string };

/**
 * Who confirms in auto mode (`alerts.<source>.autoForceDown` with the fencing
 * evidence label): recorded as the confirmation's `by`, never a Slack user id.
 */
export const AUTO_APPROVER = 'force-down (auto mode)';

/** The approver's statement that the host is fenced (force-down) or recovered (unset). Recorded as given. */
export interface Confirmation {
  by: string;
  at: string;
  /** How the host was fenced; force-down only. */
  method?: FencingMethod;
  note?: string;
}

/** The result of the Nova call, kept for the audit trail. */
export interface NovaOutcome {
  code: 'OK' | FailureCode;
  message: string;
  detail?: string;
  status?: number;
  request?: string;
  microversion?: string;
  novaResponse?: unknown;
}

export interface HistoryEntry {
  state: RequestState;
  at: string;
  by?: string;
}

/** One request to force a host down or to unset it. One item per request in the store. */
export interface ForceDownRequest {
  id: string;
  cloud: string;
  host: string;
  binary: string;
  action: Action;
  state: RequestState;
  origin: Origin;
  /** Free text: the slash command's --reason, or the alert's summary. */
  reason?: string;
  requestedBy: string;
  channel: string;
  /** The request card's message ts, once posted. */
  messageTs?: string;
  confirmation?: Confirmation;
  outcome?: NovaOutcome;
  createdAt: string;
  expiresAt: string;
  updatedAt: string;
  history: HistoryEntry[];
  /**
   * How many times the triggering alert was received, and when last
   * (Alertmanager re-sends a firing alert every repeat_interval; a repeat
   * updates this instead of opening a second request). The creating alert
   * counts once, so an alert request starts at `{ count: 1, lastAt: createdAt }`.
   * Absent for slash-command and CLI requests. Changed only by
   * `RequestStore.recordSeen`; `lastAt` is an ISO-8601 UTC timestamp as
   * `Date#toISOString` writes it.
   */
  seen?: { count: number; lastAt: string };
  /**
   * The grouped card this request is a row of (an alert storm: many hosts in
   * one webhook or within a short window). Set at creation only; its card is
   * the group's, and `messageTs` is the ts of the group message holding its row.
   */
  group?: string;
  /**
   * When the alert that opened this request was resolved (ISO-8601 UTC). The
   * request stays open for a human to confirm or cancel; the card says so.
   * Set by `RequestStore.markAlertResolved` only.
   */
  alertResolvedAt?: string;
}

/**
 * Hosts that went down together share one grouped card (src/slack/group-card.ts):
 * the group lists its member requests and the Slack messages that show them
 * (one per page of rows, in order).
 */
export interface RequestGroup {
  id: string;
  channel: string;
  /** What the card's header names, e.g. the alert name. */
  title: string;
  createdAt: string;
  /** Member request ids, in the order they joined. */
  members: string[];
  /** The ts of each page message, in page order, once posted. */
  messages: string[];
}

/** The lock key: one open request per (cloud, host, action). */
export function lockKey(r: Pick<ForceDownRequest, 'cloud' | 'host' | 'action'>): string {
  return `${r.cloud}#${r.host}#${r.action}`;
}
