import type { AlertSource } from './alert-source.js';
import type { FailureCode } from './failure.js';
import { foldHost } from './host.js';
import type { FenceChoice } from './fencing.js';
import type { Action } from './runbook.js';

export type { Action };

/**
 * The request lifecycle, in one place (docs/architecture.md draws it):
 *
 *   pending ──confirm──► approved ──► executing ──► succeeded
 *      │                  │   │           └──────► failed ──confirm (Retry…)──► approved
 *      │                  │   └──(sweep: job never started, confirmation stale)──► failed
 *      ├──cancel──► cancelled ◄──cancel (approver, before execution starts)
 *      └──(ttl)───► expired            (a failed request expires, and can be cancelled, too)
 *
 * Every edge says who may take it. No state but the terminal ones is left
 * without a way out that a person or the sweep can take (tested), so no
 * request can hang for ever, whatever the worker does.
 */
export type RequestState = 'pending' | 'approved' | 'executing' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

/**
 * Who moves a request along an edge: a `person` (a click, a modal, a slash
 * command), an `alert` (a webhook carrying fencing evidence, in auto mode),
 * the `worker` running the request's job, or the `sweep` (the scheduled job,
 * and the local bot's start-up).
 */
export type Actor = 'person' | 'alert' | 'worker' | 'sweep';

export interface Edge {
  to: RequestState;
  by: readonly Actor[];
  /** Why, in a few words (the architecture doc lists these). */
  when: string;
}

/** Every edge of the lifecycle. Every store transition names its from-states from here. */
export const LIFECYCLE: Readonly<Record<RequestState, readonly Edge[]>> = {
  pending: [
    { to: 'approved', by: ['person', 'alert'], when: 'an approver confirms in the modal (an alert with fencing evidence, in auto mode)' },
    { to: 'cancelled', by: ['person'], when: 'the requester or an approver cancels' },
    { to: 'expired', by: ['sweep', 'person'], when: 'its TTL passed (the sweep, or a click after it)' },
  ],
  approved: [
    { to: 'executing', by: ['worker'], when: 'the execute job starts' },
    { to: 'cancelled', by: ['person'], when: 'an approver cancels before execution starts' },
    { to: 'failed', by: ['sweep'], when: 'the execute job never started and the confirmation is stale' },
  ],
  executing: [
    { to: 'succeeded', by: ['worker', 'sweep'], when: 'Nova did it (the sweep reads Nova for a worker that died)' },
    { to: 'failed', by: ['worker', 'sweep'], when: 'Nova refused, or force-down refused to call it, or the worker died' },
  ],
  failed: [
    { to: 'approved', by: ['person'], when: 'an approver confirms again (Retry…)' },
    { to: 'cancelled', by: ['person'], when: 'the requester or an approver cancels' },
    { to: 'expired', by: ['sweep', 'person'], when: 'its TTL passed' },
  ],
  succeeded: [],
  cancelled: [],
  expired: [],
};

/** Which states may move to which (derived from {@link LIFECYCLE}). */
export const TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = Object.fromEntries(
  (Object.keys(LIFECYCLE) as RequestState[]).map((s) => [s, LIFECYCLE[s].map((e) => e.to)]),
) as unknown as Record<RequestState, readonly RequestState[]>;

/** States from which `to` can be reached. */
export function fromStates(to: RequestState): RequestState[] {
  return (Object.keys(TRANSITIONS) as RequestState[]).filter((s) => TRANSITIONS[s].includes(to));
}

/** A request holds its (cloud, host, action) lock while it can still lead to a Nova call. */
export function holdsLock(state: RequestState): boolean {
  return state === 'pending' || state === 'approved' || state === 'executing' || state === 'failed';
}

/** When the request last entered `state` (epoch ms), from its history; undefined if it never did. */
export function enteredAt(request: Pick<ForceDownRequest, 'history'>, state: RequestState): number | undefined {
  const entry = request.history.findLast((h) => h.state === state);
  return entry ? Date.parse(entry.at) : undefined;
}

/** Who or what asked for the request. */
export type Origin =
  | { kind: 'slash'; userId: string; channelId: string }
  | {
      kind: 'alert';
      source: AlertSource;
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

/**
 * The note of an auto-mode confirmation on the BMC's evidence
 * (`alerts.<source>.autoForceDown: "bmc-off"`): the host's BMC read Off.
 */
export const AUTO_BMC_NOTE = 'auto: BMC reports power Off';

/** The approver's statement that the host is fenced (force-down) or recovered (unset). Recorded as given. */
export interface Confirmation {
  by: string;
  at: string;
  /** How the host was fenced, or `power-off` (force-down powers it off now via its BMC); force-down only. */
  method?: FenceChoice;
  note?: string;
}

/** The result of the Nova call, kept for the audit trail. */
export interface NovaOutcome {
  code: 'OK' | FailureCode;
  message: string;
  detail?: string;
  status?: number;
  request?: string;
  /** See `Failure.ageSeconds` (HOST_STILL_REPORTING, CONFIRMATION_STALE). */
  ageSeconds?: number;
  microversion?: string;
  novaResponse?: unknown;
  /** What the host's BMC said before the Nova call, when it has one (the audit line's evidence). */
  bmc?: BmcRecord;
}

/** A BMC's evidence as recorded: the power state read, and for "power off now" the reset sent. Times are ISO 8601. */
export interface BmcRecord {
  powerState: string | null;
  readAt: string;
  reset?: { resetType: string; sentAt: string; offAt: string };
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
  /**
   * The host, as asked for until Nova's lookup for the card finds it, then as
   * Nova spells it (`RequestStore.setNovaHost`): the name shown and sent to Nova.
   */
  host: string;
  /** The host as it was asked for, when Nova spells it differently (in case only); set with `host` by `setNovaHost`. */
  requestedHost?: string;
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
  /**
   * The confirmation forms (modals) open for this request: the single-use
   * nonce each carries in its `private_metadata`. Recorded when an approver
   * opens one, only while the request can be confirmed; the confirmation that
   * answers one consumes it, and any state change drops them all, so a form
   * confirms only the request as it was when the form was opened (a replayed
   * submission, or a modal opened before a failure, is refused). Set only by
   * `RequestStore.recordForm`.
   */
  openForms?: string[];
}

/**
 * Hosts that went down together share one card: the group lists its member
 * requests, in the order they joined. Where and how it is shown is the
 * display's business (src/slack/cards.ts), not the domain's.
 */
export interface RequestGroup {
  id: string;
  channel: string;
  /** What the card's header names, e.g. the alert name. */
  title: string;
  createdAt: string;
  /** Member request ids, in the order they joined. */
  members: string[];
  /**
   * What new requests join this group by: alerts of one source and alert
   * name (and action), so a flood under one name never takes in another
   * alert's hosts. Absent on groups found by channel only.
   */
  key?: string;
  /** Rows taken (members, and members being added); at most the group cap. Absent: `members.length`. */
  reserved?: number;
  /** Hosts that came for this group and got no row (beyond the cap, or over the source's rate limit): not recorded, counted. */
  overflow?: number;
}

/**
 * The lock key: one open request per (cloud, host, action), the host
 * case-folded ({@link foldHost}): RT1, Rt1 and rt1 share one lock, so a second
 * `/force-down Rt1` finds the open `rt1` request. (A lock written before the
 * fold by a request still open for a mixed-case host is not found by the new
 * key: at worst one more request for that host until the old one closes.)
 */
export function lockKey(r: Pick<ForceDownRequest, 'cloud' | 'host' | 'action'>): string {
  return `${r.cloud}#${foldHost(r.host)}#${r.action}`;
}
