import type { ForceDownRequest } from './request.js';

/** Why a user's action on a request was refused. Expected, so data. */
export type Refusal =
  /** The user is neither a listed approver nor in a listed user group. */
  | 'NOT_AUTHORIZED'
  /** Two-person rule: the requester may not approve their own request. */
  | 'TWO_PERSON_RULE'
  /** The request is past its expiry. */
  | 'REQUEST_EXPIRED'
  /** Somebody else already moved the request on (double click, second approver). */
  | 'ALREADY_HANDLED'
  /**
   * The confirmation form (modal) submitted is not open any more: already
   * used (a replayed submission), or opened before the request last changed.
   */
  | 'FORM_OUT_OF_DATE'
  | 'REQUEST_NOT_FOUND'
  /** Cards are only posted in the configured channels. */
  | 'CHANNEL_NOT_ALLOWED'
  | 'UNKNOWN_CLOUD'
  /** Evacuation: the request is not a force-down Nova carried out (its host is not known to be forced down). */
  | 'NOT_FORCED_DOWN'
  /** Evacuation: the host's evacuation was already asked for (a second click, another approver): one per request, retried with Retry failed…. */
  | 'EVACUATION_STARTED'
  /** Retry failed…: nothing failed, or instances are still in progress. */
  | 'NOTHING_TO_RETRY';

export interface ApprovalPolicy {
  /** Slack user ids (U…/W…) allowed to approve. */
  approverUsers: ReadonlySet<string>;
  /** Slack user-group ids (S…) whose members may approve. */
  approverGroups: ReadonlySet<string>;
  /** When set, the requester may not approve their own request. */
  twoPerson: boolean;
}

/**
 * Decides whether `userId` may confirm `request`. `groupsOf` answers which of
 * the approver groups the user belongs to (a Slack lookup, done by the caller).
 */
export function checkApprover(
  policy: ApprovalPolicy,
  request: Pick<ForceDownRequest, 'requestedBy'>,
  userId: string,
  userGroups: ReadonlySet<string>,
): Refusal | undefined {
  if (!isApprover(policy, userId, userGroups)) return 'NOT_AUTHORIZED';
  if (policy.twoPerson && request.requestedBy === userId) return 'TWO_PERSON_RULE';
  return undefined;
}

/**
 * Who may cancel: while the request waits for a confirmation (pending, or
 * failed and waiting for a new one), whoever asked for it or an approver;
 * once an approver confirmed it (approved, not yet executing), only an
 * approver may take that decision back.
 */
export function checkCanceller(
  policy: ApprovalPolicy,
  request: Pick<ForceDownRequest, 'requestedBy' | 'state'>,
  userId: string,
  userGroups: ReadonlySet<string>,
): Refusal | undefined {
  if (isApprover(policy, userId, userGroups)) return undefined;
  if (request.state !== 'approved' && request.requestedBy === userId) return undefined;
  return 'NOT_AUTHORIZED';
}

export function isApprover(policy: ApprovalPolicy, userId: string, userGroups: ReadonlySet<string>): boolean {
  return policy.approverUsers.has(userId) || [...userGroups].some((g) => policy.approverGroups.has(g));
}

export function isExpired(request: Pick<ForceDownRequest, 'expiresAt'>, now: number): boolean {
  return Date.parse(request.expiresAt) <= now;
}
