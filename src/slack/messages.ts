import type { Failure, FailureCode } from '../domain/failure.js';
import type { Refusal } from '../domain/policy.js';
import { describePowerState, type PowerState } from '../domain/power.js';
import type { Action } from '../domain/request.js';
import { nextStep } from '../domain/runbook.js';
import { codeSpan, escapeMrkdwn, formatUtc, mentionOrName, quoted, safeLink } from './mrkdwn.js';

/**
 * Slack's words for every expected outcome (one exhaustive switch turns codes
 * into text). Headlines are our own sentences: Nova's or
 * Keystone's raw text never appears in them (it goes, truncated and inert,
 * into the audit line of the thread). Every user-facing string is mrkdwn.
 */

export interface FailureTextContext {
  host: string;
  action: Action;
  cloud?: string;
}

export interface FailureText {
  /** One sentence for the card, e.g. "Nova does not know *compute1*". */
  headline: string;
  /** What to do next, from the runbook (domain/runbook.ts), escaped for mrkdwn. */
  nextStep: string;
  /** `headline` and `nextStep` together, for a message's `text`. */
  text: string;
}

/** Longest service detail quoted in the thread. */
export const DETAIL_MAX = 300;

function notDone(host: string, action: Action): string {
  return action === 'force-down' ? `*${host}* is not forced down` : `*${host}* is still forced down`;
}

function verb(action: Action): string {
  return action === 'force-down' ? 'force down' : 'unset forced-down on';
}

/** What a headline may quote of a failure besides its code: never `detail` (the service's own words). */
export type FailureFacts = Pick<Failure, 'code'> & { status?: number | undefined; ageSeconds?: number | undefined; powerState?: PowerState | undefined };

/** The headline for a failure code. Exhaustive: a new FailureCode does not compile until it has words here. */
export function failureHeadline(code: FailureCode, ctx: FailureTextContext, status?: number, ageSeconds?: number, powerState?: PowerState): string {
  const host = escapeMrkdwn(ctx.host);
  const age = ageSeconds !== undefined ? ` ${ageSeconds} s` : '';
  const cloud = ctx.cloud ? ` in *${escapeMrkdwn(ctx.cloud)}*` : '';
  const http = status ? ` (HTTP ${status})` : '';
  switch (code) {
    case 'HOST_NOT_FOUND':
      return `Nova does not know *${host}*${cloud}`;
    case 'NOT_A_COMPUTE_SERVICE':
      return `*${host}* runs no nova-compute service, so Nova will not ${verb(ctx.action)} it`;
    case 'NOVA_FORBIDDEN':
      return `Nova's policy does not let force-down's credentials ${verb(ctx.action)} *${host}*${cloud}`;
    case 'EVACUATIONS_PENDING':
      return `Nova keeps *${host}* forced down until its evacuated instances are cleaned up`;
    case 'NOVA_TOO_OLD':
      return `This Nova${cloud} cannot ${verb(ctx.action)} *${host}*: it lacks the force-down API (or the pinned microversion)`;
    case 'AUTH_FAILED':
      return `Keystone refused force-down's credentials${cloud}; ${notDone(host, ctx.action)}`;
    case 'ENDPOINT_NOT_FOUND':
      return `The Keystone catalog${cloud} has no compute endpoint for the configured region and interface; ${notDone(host, ctx.action)}`;
    case 'NOVA_UNAVAILABLE':
      return `Nova's API did not answer${http}; ${notDone(host, ctx.action)}`;
    case 'KEYSTONE_UNAVAILABLE':
      return `Keystone did not answer${http}; ${notDone(host, ctx.action)}`;
    case 'NOVA_REJECTED':
      return `Nova refused to ${verb(ctx.action)} *${host}*${http}; Nova's own message is in the thread`;
    case 'CONFIRMATION_STALE':
      return `${notDone(host, ctx.action)}: the confirmation is too old to act on${ageSeconds !== undefined ? ` (${formatSeconds(ageSeconds)} old)` : ''}, so Nova was not called — confirm again`;
    case 'HOST_STILL_REPORTING':
      return `${notDone(host, ctx.action)}: it still reports to Nova (last heartbeat${age}${age ? ' ago' : ' too recent'}) — check the fence (BMC power state, switch port) and confirm again`;
    case 'BMC_SAYS_ON':
      // The power state is the BMC's word (describePowerState: Redfish's name, or printable ASCII, quoted).
      return powerState !== undefined
        ? `${notDone(host, ctx.action)}: its BMC reports power ${escapeMrkdwn(describePowerState(powerState))}`
        : `${notDone(host, ctx.action)}: its BMC reports its power is not off`;
    case 'BMC_UNREACHABLE':
      return `*${host}*'s BMC did not answer usefully${http}; ${notDone(host, ctx.action)}`;
    case 'BMC_POWER_OFF_TIMEOUT':
      return `*${host}*'s BMC accepted the power-off but never reported Off in time; ${notDone(host, ctx.action)}`;
    case 'BMC_CONFIG':
      return `*${host}*'s BMC entry does not fit its BMC (system or credentials); ${notDone(host, ctx.action)}`;
    case 'BMC_REJECTED':
      return `*${host}*'s BMC refused to power it off${http}; ${notDone(host, ctx.action)}`;
    case 'INSTANCE_STATE_CONFLICT':
      return `Nova will not evacuate this instance from *${host}* in its current state${http}`;
    case 'HOST_STILL_IN_USE':
      return `Nova still sees *${host}*'s nova-compute as up, so it evacuates nothing from it`;
    case 'TARGET_NOT_FOUND':
      return `Nova has no compute host of the chosen target's name; nothing was evacuated from *${host}*`;
    case 'TARGET_SAME_HOST':
      return `The chosen target is *${host}* itself; nothing was evacuated`;
    case 'INSTANCE_NOT_FOUND':
      return `Nova no longer knows this instance of *${host}*: nothing to evacuate`;
    case 'NO_VALID_HOST':
      return `Nova found no host with room for this instance of *${host}*`;
    case 'EVACUATION_FAILED':
      return `Nova accepted the evacuation from *${host}*, but its migration failed`;
    case 'EVACUATION_TIMEOUT':
      return `Nova accepted the evacuation from *${host}*, but its migration did not finish in time`;
    case 'TOO_MANY_INSTANCES':
      return `Nova lists more instances on *${host}* than force-down reads for one host`;
    default: {
      const unknown: never = code;
      return `Unexpected failure ${escapeMrkdwn(String(unknown))} for *${host}*`;
    }
  }
}

/** Headline and next step for a failure. Uses only the code, HTTP status and age: never `detail`. */
export function failureText(failure: FailureFacts, ctx: FailureTextContext): FailureText {
  const headline = failureHeadline(failure.code, ctx, failure.status, failure.ageSeconds, failure.powerState);
  const next = escapeMrkdwn(nextStep(failure.code, ctx.host, ctx.action));
  return { headline, nextStep: next, text: `${headline}. ${next}` };
}

/** `45 s`, `14 min`, `2 h 5 min`: an age in words. */
function formatSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** Nova's or Keystone's own words, for the audit thread only: a code span, at most DETAIL_MAX characters. */
export function detailSpan(detail: string): string {
  return codeSpan(detail, DETAIL_MAX);
}

/** How to ask again, as a slash command. */
export function slashCommandFor(host: string, action: Action): string {
  return action === 'force-down' ? `/force-down ${host}` : `/force-down --unset ${host}`;
}

function what(action: Action, host: string): string {
  return action === 'force-down' ? `force down *${escapeMrkdwn(host)}*` : `unset forced-down on *${escapeMrkdwn(host)}*`;
}

/** The card's line when a request expired unconfirmed. */
export function expiredText(host: string, action: Action, expiresAt: string): string {
  return (
    `⌛ This request to ${what(action, host)} expired at ${formatUtc(expiresAt)} without a confirmation; ` +
    `Nova was not changed. If it is still needed, run \`${escapeMrkdwn(slashCommandFor(host, action))}\` again.`
  );
}

/** The card's line when someone cancelled the request. */
export function cancelledText(host: string, action: Action, by: string | undefined): string {
  return `🚫 Cancelled${by ? ` by ${mentionOrName(by)}` : ''}: Nova was not asked to ${action === 'force-down' ? 'force down' : 'unset forced-down on'} *${escapeMrkdwn(host)}*.`;
}

/** Ephemeral answer to someone who may not confirm (or cancel) a request. */
export function notAuthorizedText(host: string, action: Action, attempted: 'confirm' | 'cancel' | 'evacuate' = 'confirm', confirmed = false): string {
  if (attempted === 'evacuate') {
    return `You are not on force-down's approver list, so you cannot evacuate *${escapeMrkdwn(host)}*'s instances. Ask an on-call approver in this channel.`;
  }
  if (attempted === 'cancel' && confirmed) {
    return `An approver has confirmed the request to ${what(action, host)}: only an approver may cancel it now, before it runs. Ask an on-call approver in this channel.`;
  }
  return (
    `You are not on force-down's approver list, so you cannot ${attempted} the request to ${what(action, host)}. ` +
    `Ask an on-call approver in this channel.`
  );
}

/** Ephemeral answer when the two-person rule forbids the requester from confirming their own request. */
export function twoPersonRuleText(host: string, action: Action, requestedBy: string): string {
  return (
    `The two-person rule is on: ${mentionOrName(requestedBy)} asked to ${what(action, host)}, ` +
    `so another approver must confirm it.`
  );
}

/** Ephemeral answer to a second click on a request that someone is already handling. */
export function alreadyHandledText(host: string, action: Action, by?: string): string {
  return `The request to ${what(action, host)} is already being handled${by ? ` (confirmed by ${mentionOrName(by)})` : ''}: nothing more to do; watch its card.`;
}

/** The modal error for a submission of a form that is not open any more (FORM_OUT_OF_DATE). */
export const FORM_OUT_OF_DATE_TEXT = 'This form was already used or is out of date: press the button on the card again.';

/** Answer to a new request while one for the same (cloud, host, action) is still open. */
export function openRequestExistsText(host: string, action: Action, cardLink?: string): string {
  const where = cardLink ? safeLink(cardLink, 'its card') : 'its card in the on-call channel';
  return `There is already an open request to ${what(action, host)}: confirm or cancel it there (${where}).`;
}

export interface RefusalContext {
  host: string;
  action: Action;
  cloud?: string;
  /** Who asked for the request (two-person rule). */
  requestedBy?: string;
  /** When the request expired (REQUEST_EXPIRED). */
  expiresAt?: string;
  /** Who already confirmed it (ALREADY_HANDLED), or asked for the host's evacuation (EVACUATION_STARTED). */
  handledBy?: string;
  /** What the user tried (NOT_AUTHORIZED). */
  attempted?: 'confirm' | 'cancel' | 'evacuate';
  /** An approver has confirmed it, and it has not started yet (NOT_AUTHORIZED to cancel). */
  confirmed?: boolean;
}

/** Ephemeral text for every refusal of domain/policy.ts. Exhaustive, like failureHeadline. */
export function refusalText(refusal: Refusal, ctx: RefusalContext): string {
  switch (refusal) {
    case 'NOT_AUTHORIZED':
      return notAuthorizedText(ctx.host, ctx.action, ctx.attempted, ctx.confirmed);
    case 'TWO_PERSON_RULE':
      return ctx.requestedBy
        ? twoPersonRuleText(ctx.host, ctx.action, ctx.requestedBy)
        : `The two-person rule is on: you asked to ${what(ctx.action, ctx.host)}, so another approver must confirm it.`;
    case 'REQUEST_EXPIRED':
      return ctx.expiresAt
        ? expiredText(ctx.host, ctx.action, ctx.expiresAt)
        : `This request to ${what(ctx.action, ctx.host)} has expired; Nova was not changed. Run \`${escapeMrkdwn(slashCommandFor(ctx.host, ctx.action))}\` again if it is still needed.`;
    case 'ALREADY_HANDLED':
      return alreadyHandledText(ctx.host, ctx.action, ctx.handledBy);
    case 'FORM_OUT_OF_DATE':
      return FORM_OUT_OF_DATE_TEXT;
    case 'REQUEST_NOT_FOUND':
      return `force-down has no record of this request to ${what(ctx.action, ctx.host)}. Run \`${escapeMrkdwn(slashCommandFor(ctx.host, ctx.action))}\` to ask again.`;
    case 'CHANNEL_NOT_ALLOWED':
      return `force-down posts requests only in the on-call channel it is configured for: run the command there.`;
    case 'UNKNOWN_CLOUD':
      // The name as typed: the person's words, so quoted and inert.
      // Also a click on a card whose alert named a cloud not configured (alerts.<source>.cloudLabel).
      return `force-down has no cloud named ${quoted(ctx.cloud, 100) ?? '(none)'}: check \`--cloud\` (or the alert's cloud label) against the clouds in force-down's secret.`;
    case 'NOT_FORCED_DOWN':
      return `*${escapeMrkdwn(ctx.host)}* is not forced down by this card, so there is nothing to evacuate from it: force it down first (\`${escapeMrkdwn(slashCommandFor(ctx.host, 'force-down'))}\`).`;
    case 'EVACUATION_STARTED':
      return `*${escapeMrkdwn(ctx.host)}*'s evacuation was already asked for${ctx.handledBy ? ` by ${mentionOrName(ctx.handledBy)}` : ''} — see the card; failed instances can be retried with *Retry failed…*.`;
    case 'NOTHING_TO_RETRY':
      return `Nothing to retry: no instance of *${escapeMrkdwn(ctx.host)}*'s evacuation failed, or some are still in progress — see the card.`;
    default: {
      const unknown: never = refusal;
      return `Refused (${escapeMrkdwn(String(unknown))}).`;
    }
  }
}

/**
 * A failed row in a few words, for a grouped card's summary line
 * ("10 forced down · 2 refused: still reporting"): "refused" when force-down
 * itself decided not to call Nova, "failed" when Nova or a BMC said no.
 * Exhaustive: a new FailureCode does not compile until it has words here.
 */
const OUTCOME_SHORT: Record<FailureCode, string> = {
  HOST_NOT_FOUND: 'failed: not in Nova',
  NOT_A_COMPUTE_SERVICE: 'failed: not a compute host',
  NOVA_FORBIDDEN: 'failed: Nova refused (policy)',
  EVACUATIONS_PENDING: 'failed: evacuations not cleaned up',
  NOVA_TOO_OLD: 'failed: Nova too old',
  AUTH_FAILED: 'failed: credentials refused',
  ENDPOINT_NOT_FOUND: 'failed: no Nova endpoint',
  NOVA_UNAVAILABLE: 'failed: Nova unavailable',
  KEYSTONE_UNAVAILABLE: 'failed: Keystone unavailable',
  NOVA_REJECTED: 'failed: Nova refused',
  CONFIRMATION_STALE: 'refused: confirmation too old',
  HOST_STILL_REPORTING: 'refused: still reporting',
  BMC_SAYS_ON: 'refused: BMC says powered on',
  BMC_UNREACHABLE: 'failed: BMC unreachable',
  BMC_POWER_OFF_TIMEOUT: 'failed: BMC power-off timed out',
  BMC_CONFIG: 'failed: BMC configuration',
  BMC_REJECTED: 'failed: BMC refused the power-off',
  INSTANCE_STATE_CONFLICT: 'failed: instance state',
  HOST_STILL_IN_USE: 'failed: host still in use',
  TARGET_NOT_FOUND: 'failed: target not found',
  TARGET_SAME_HOST: 'failed: target is the same host',
  INSTANCE_NOT_FOUND: 'failed: instance not found',
  NO_VALID_HOST: 'failed: no valid host',
  EVACUATION_FAILED: 'failed: evacuation failed',
  EVACUATION_TIMEOUT: 'failed: evacuation timed out',
  TOO_MANY_INSTANCES: 'failed: too many instances',
};

/** A failed row's outcome in a few words (no outcome recorded: "failed"). */
export function outcomeShortText(code: FailureCode | 'OK' | undefined): string {
  return code && code !== 'OK' ? OUTCOME_SHORT[code] : 'failed';
}

/** The bulk modal's line when the group has more pending hosts than one form lists. */
export function bulkMoreText(more: number): string {
  return `${more.toLocaleString('en-US')} more: confirm these, then press Confirm all fenced… again for the rest`;
}

/** The bulk modal's required box, naming how many hosts the form lists. */
export function bulkVerifiedText(n: number): string {
  return n === 1 ? 'I verified this host is powered off or isolated' : `I verified these ${n.toLocaleString('en-US')} hosts are powered off or isolated`;
}

/** Cancel all…'s confirm dialog: what it does. */
export const CANCEL_ALL_CONFIRM_TEXT = 'Every row still waiting for a confirmation is cancelled (a false alarm). Nova is not called; rows already confirmed go on.';

/** Cancel all… cancelled nothing: why, in one sentence. */
export function cancelAllNothingText(refused: number): string {
  return refused > 0
    ? `Nothing was cancelled: only an approver (or whoever asked) may cancel these ${refused.toLocaleString('en-US')} requests.`
    : 'Nothing was cancelled: no row of this card is waiting for a confirmation any more.';
}

/** Confirm all fenced… clicked by someone who is not an approver. */
export const BULK_NOT_AUTHORIZED_TEXT = "You are not on force-down's approver list, so you cannot confirm this card's hosts. Ask an on-call approver in this channel.";
