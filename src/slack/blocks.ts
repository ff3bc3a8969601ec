import type { types } from '@slack/bolt';
import type { FailureCode } from '../domain/failure.js';
import { FENCING_METHODS, isFencingMethod, POWER_OFF_NOW, POWER_OFF_NOW_LABEL, whyFenceFirst, type FenceChoice, type FencingMethod } from '../domain/fencing.js';
import { describePowerState, type PowerState } from '../domain/power.js';
import { AUTO_APPROVER, AUTO_BMC_NOTE, type Action, type ForceDownRequest, type HistoryEntry, type Origin } from '../domain/request.js';
import type { BmcView, InstancesView } from '../app/ports.js';
import { recentHeartbeatAgeMs } from '../domain/heartbeat.js';
import type { ComputeService } from '../domain/service.js';
import {
  CARD_INSTANCES_BLOCK_ID,
  confirmActionId,
  confirmButtonText,
  confirmedBy,
  headerText,
  lastEntry,
  LIMITS,
  methodLabel,
  mrkdwn,
  outcomeFailureText,
  plain,
  showsExpiry,
  unsetCommand,
} from './card-parts.js';
import { encodeModalMetadata } from './envelope.js';
import { readModalValues } from './modal-values.js';
import { evacuationCardBlocks } from './evacuation-blocks.js';
import type { Evacuation } from '../domain/evacuation.js';
import { ACTION_IDS, CARD_ACTIONS_BLOCK_ID, CARD_BMC_BLOCK_ID, FENCE_MODAL_CALLBACK_ID, MODAL_BMC_BLOCK_ID, MODAL_HEARTBEAT_BLOCK_ID, MODAL_INPUTS, NOTE_MAX_LENGTH, VERIFIED_OPTION_VALUE } from './ids.js';
import { cancelledText, detailSpan, expiredText, failureText } from './messages.js';
import {
  codeSpan,
  escapeAndTruncate,
  escapeMrkdwn,
  formatAge,
  formatUtc,
  inert,
  isoUtc,
  linkShowingHost,
  mentionOrName,
  parseUtc,
  quoted,
  truncate,
} from './mrkdwn.js';

/**
 * Pure Block Kit builders: request card, confirmation modal, audit line, help.
 * They return plain JSON (typed with Bolt's block types) so tests can snapshot
 * them, and they keep within Slack's limits whatever the request holds.
 *
 * What an alert or a person wrote (alert name, summary, link, reason,
 * confirmation note, fingerprint) appears only in the card's quoted block
 * ({@link QUOTED_BLOCK_ID}), one labelled line each, inert and in curly
 * quotes (mrkdwn.ts `inert`, `quoted`); the header, the fields, Nova's view,
 * the state line and the notification text hold only our own words, the host
 * name (letters, digits, `-`, `_`, `.`: domain/host.ts), the configured cloud
 * and ids, so the same request says the same there whatever was written.
 */

export type KnownBlock = types.KnownBlock;
/** A modal whose blocks are all known blocks (assignable to Bolt's `ModalView`, for `views.open`). */
export type ModalView = Omit<types.ModalView, 'blocks'> & { blocks: KnownBlock[] };

export { LIMITS } from './card-parts.js';
export { decodeEvacuateMetadata, encodeEvacuateMetadata, evacuateModal, validateEvacuateSubmission, type EvacuateSubmission } from './evacuation-blocks.js';

/** How much of a reason or alert summary the card shows. */
export const REASON_MAX = 1500;

/**
 * `block_id` of the card's quoted block: a context block holding everything an
 * alert or a person wrote, and nothing else (single card, grouped card, audit
 * line). Every other block is force-down's own words.
 */
export const QUOTED_BLOCK_ID = 'quoted';

/** Characters of untrusted text the quoted block shows per item (inside the quotes, as escaped). */
export const QUOTE_MAX = { alertName: 200, summary: REASON_MAX * 0.6, reason: REASON_MAX * 0.6, note: 600, fingerprint: 100, link: 300 } as const;

/**
 * The quoted block: one mrkdwn element of `lines` ("Alert summary: “…”", one
 * line each; `verbatim`, so Slack links no bare URL, channel or name in it)
 * and, when given, one element with the link. Undefined when there is nothing
 * to quote.
 */
export function quotedBlock(lines: readonly string[], link?: string): KnownBlock | undefined {
  const elements: types.MrkdwnElement[] = [];
  if (lines.length) elements.push({ type: 'mrkdwn', text: truncate(lines.join('\n'), LIMITS.sectionText), verbatim: true });
  if (link) elements.push({ type: 'mrkdwn', text: truncate(link, LIMITS.sectionText), verbatim: true });
  return elements.length ? { type: 'context', block_id: QUOTED_BLOCK_ID, elements } : undefined;
}

/** The alert's link for the quoted block: `Link: <…|open in the alerting tool (host)>`, or the text, unlinked, when it is not http(s). */
function alertLink(link: string | undefined): string | undefined {
  if (!link?.trim()) return undefined;
  const linked = linkShowingHost(link, 'open in the alerting tool');
  if (linked) return `Link: ${linked}`;
  const text = quoted(link, QUOTE_MAX.link);
  return text ? `Link (not http or https, so not linked): ${text}` : undefined;
}

export interface CardMessage {
  /** Fallback and notification text (`text` of chat.postMessage / chat.update). */
  text: string;
  blocks: KnownBlock[];
}

export interface CardView {
  /**
   * The request's cloud is not one force-down is configured for (an alert's
   * `cloudLabel` named it): the card says so and offers no Confirm, only Cancel.
   */
  unknownCloud?: boolean;
  /** Nova's view of the host's nova-compute service, when the lookup succeeded. */
  service?: ComputeService;
  /** Why Nova's view is missing, when the lookup failed. */
  lookupFailure?: { code: FailureCode; message: string };
  /** Our clock (ms since the epoch), for ages ("5 min ago"). */
  now: number;
  /** The instances on the host (what is at stake), when the worker listed them: the card's Instances line. */
  instances?: InstancesView;
  /** The worker is watching the host's heartbeat before forcing it down, and decides at this time (ms). */
  heartbeatWaitUntil?: number;
  /** The host's BMC reading (hosts with a BMC entry only): the card's BMC line. */
  bmc?: BmcView;
  /** The worker is powering the host off via its BMC: the power state last read. */
  poweringOff?: PowerState;
  /** The host's evacuation (a succeeded force-down's card): its line and **Retry failed…**; absent: **Evacuate N instances…**. */
  evacuation?: Evacuation;
  /** FORCE_DOWN_DEFAULT_CLOUD: the unset command on a ✅ card names `--cloud` only for another cloud (unknown: always). */
  defaultCloud?: string;
}

const field = (label: string, value: string): types.MrkdwnElement => ({ type: 'mrkdwn', text: truncate(`*${label}*\n${value}`, LIMITS.sectionField) });

function originFields(origin: Origin, request: ForceDownRequest, now: number): types.MrkdwnElement[] {
  const fields = [field('Cloud', escapeAndTruncate(request.cloud, 200))];
  switch (origin.kind) {
    case 'slash':
      fields.push(field('Asked by', mentionOrName(origin.userId)));
      break;
    case 'cli':
      fields.push(field('Asked by', `${inert(origin.user, 200)} (CLI)`));
      break;
    case 'alert': {
      // Its name, summary and link are the alert's words: the quoted block shows them.
      fields.push(field('Alert', `from ${escapeMrkdwn(origin.source)}`));
      const since = parseUtc(origin.startsAt);
      if (origin.startsAt) fields.push(field('Since', since === undefined ? formatUtc(origin.startsAt) : `${formatUtc(origin.startsAt)} (${formatAge(since, now)})`));
      break;
    }
    default: {
      const unknown: never = origin;
      void unknown;
    }
  }
  return fields;
}

/** Repeats of the alert, its resolution while the request is open, and auto mode. */
function alertLines(request: ForceDownRequest): string | undefined {
  const lines: string[] = [];
  if (request.seen && request.seen.count > 1) lines.push(`Alert seen ${request.seen.count} times, last at ${formatUtc(request.seen.lastAt)}.`);
  if (request.alertResolvedAt && (request.state === 'pending' || request.state === 'failed')) {
    lines.push(
      request.action === 'force-down'
        ? `✅ The alert resolved at ${formatUtc(request.alertResolvedAt)}: *${escapeMrkdwn(request.host)}* may be back. Confirm only if it is still fenced; otherwise cancel.`
        : `The alert resolved at ${formatUtc(request.alertResolvedAt)}.`,
    );
  }
  if (request.confirmation?.by === AUTO_APPROVER && request.confirmation.note === AUTO_BMC_NOTE) {
    lines.push(`🤖 Auto mode: *${escapeMrkdwn(request.host)}*'s BMC reports power Off, so force-down acted on the ${request.origin.kind === 'alert' ? escapeMrkdwn(request.origin.source) : ''} alert without a human confirmation.`);
  } else if (request.confirmation?.by === AUTO_APPROVER) lines.push(`🤖 Auto mode: the ${request.origin.kind === 'alert' ? escapeMrkdwn(request.origin.source) : ''} alert carried fencing evidence, so force-down acted without a human confirmation.`);
  return lines.length ? lines.join('\n') : undefined;
}

/**
 * The card's quoted block: the alert's name, summary and link, the requester's
 * reason, the approver's note — each on its own labelled line, inert, quoted.
 */
function requestQuotes(request: ForceDownRequest): KnownBlock | undefined {
  const lines: string[] = [];
  const push = (label: string, text: string | undefined, max: number) => {
    const q = quoted(text, max);
    if (q) lines.push(`${label}: ${q}`);
  };
  const origin = request.origin;
  const summary = origin.kind === 'alert' ? origin.summary?.trim() : undefined;
  if (origin.kind === 'alert') {
    push('Alert', origin.alertName, QUOTE_MAX.alertName);
    push('Alert summary', summary, QUOTE_MAX.summary);
  }
  if (request.reason?.trim() !== summary) push('Reason', request.reason, QUOTE_MAX.reason);
  push('Confirmation note', request.confirmation?.note, QUOTE_MAX.note);
  return quotedBlock(lines, origin.kind === 'alert' ? alertLink(origin.link) : undefined);
}

/** What a card says of a request whose cloud force-down is not configured for (the cloud's name is the alert's words: inert). */
export function unknownCloudText(cloud: string): string {
  return `⚠️ cloud ${escapeAndTruncate(cloud, 100)} is not configured in force-down: nothing here can reach its Nova, so there is no Confirm. Cancel this request, and fix the alert's cloud label (or add the cloud to force-down's secret).`;
}

function novaBlocks(request: ForceDownRequest, view: CardView): KnownBlock[] {
  if (view.unknownCloud) return [{ type: 'section', text: mrkdwn(`*Nova's view*\n${unknownCloudText(request.cloud)}`) }];
  const { service, lookupFailure } = view;
  if (service) {
    const heartbeat = parseUtc(service.updatedAt);
    // Nova's words (state, status, the disabled reason an operator typed): inert, never formatting.
    const disabled = quoted(service.disabledReason ?? undefined, 200);
    const fields = [
      field('State', service.state ? codeSpan(service.state, 40) : 'unknown'),
      field('Status', `${service.status ? codeSpan(service.status, 40) : 'unknown'}${disabled ? ` (${disabled})` : ''}`),
      field('Forced down', service.forcedDown ? '*yes*' : 'no'),
      field(
        'Last heartbeat',
        heartbeat === undefined ? (service.updatedAt ? formatUtc(service.updatedAt) : 'never') : `${formatUtc(service.updatedAt)} (${formatAge(heartbeat, view.now)})`,
      ),
    ];
    if (service.zone) fields.push(field('Zone', inert(service.zone, 200)));
    const blocks: KnownBlock[] = [{ type: 'section', text: mrkdwn(`*Nova's view* of \`${escapeMrkdwn(service.binary || request.binary)}\``), fields }];
    // Before the Nova call only: afterwards the host's row moved because of our own change.
    const before = request.state === 'pending' || request.state === 'approved' || request.state === 'failed' || view.heartbeatWaitUntil !== undefined;
    const warning = request.action === 'force-down' && before ? heartbeatWarning(request.host, service, view.now) : undefined;
    if (warning) blocks.push({ type: 'section', text: mrkdwn(warning) });
    return blocks;
  }
  if (lookupFailure) {
    const t = failureText({ code: lookupFailure.code }, { host: request.host, action: request.action, cloud: request.cloud });
    return [{ type: 'section', text: mrkdwn(`*Nova's view*\n⚠️ ${t.headline}.\n${t.nextStep}`) }];
  }
  // Not read for this update: a cancelled or expired card says Nova was not changed; a card in progress is read again after Nova's answer.
  if (request.state === 'cancelled' || request.state === 'expired') return [];
  const pending = request.state === 'approved' || request.state === 'executing' ? 'read again once Nova has answered' : 'not looked up yet';
  return [{ type: 'context', elements: [mrkdwn(`*Nova's view*: ${pending}`)] }];
}

/**
 * What is at stake on the host, in words: `36 — ACTIVE 31 · SHUTOFF 4 ·
 * ERROR 1 · 2 marked HA`, `none on compute1`, or `could not be listed
 * (why)`. Nova's statuses are Nova's words: each is made inert.
 */
export function instancesText(host: string, instances: InstancesView): string {
  if (instances.failure) return `could not be listed (${inert(instances.failure.message, 300)})`;
  if (instances.total === 0) return `none on ${escapeAndTruncate(host, 200)}`;
  const states = instances.byState.slice(0, 12).map((c) => `${inert(c.state, 40)} ${c.count}`);
  if (instances.byState.length > 12) states.push(`${instances.byState.length - 12} more states`);
  const ha = instances.ha === 0 ? 'none marked HA' : `${instances.ha} marked HA`;
  return `${instances.total} — ${[...states, ha].join(' · ')}`;
}

/** The card's Instances line (what is at stake), when the worker listed them. */
function instancesBlocks(request: ForceDownRequest, view: CardView): KnownBlock[] {
  if (!view.instances) return [];
  return [{ type: 'context', block_id: CARD_INSTANCES_BLOCK_ID, elements: [mrkdwn(`*Instances*: ${instancesText(request.host, view.instances)}`)] }];
}

/**
 * What the host's BMC said, in words: `power On`, `power Off`, `power PoweringOff`
 * (what else the BMC said, quoted), or `BMC unreachable (timeout)`; with the
 * time it was read.
 */
export function bmcReadingText(bmc: BmcView, now: number): string {
  const when = `read ${formatUtc(new Date(bmc.readAt).toISOString())} (${formatAge(bmc.readAt, now)})`;
  if (bmc.ok) return `power ${escapeMrkdwn(describePowerState(bmc.powerState))} · ${when}`;
  if (bmc.code === 'BMC_UNREACHABLE') return `BMC unreachable (${escapeMrkdwn(bmc.reason ?? 'no answer')}) · ${when}`;
  return `BMC not read (${escapeMrkdwn(bmc.code)}) · ${when}`;
}

/** "⚠ compute7's BMC reports power On", for a force-down whose host's BMC reads On. */
export function bmcOnWarning(request: Pick<ForceDownRequest, 'host' | 'action'>, bmc: BmcView | undefined): string | undefined {
  if (request.action !== 'force-down' || !bmc?.ok || bmc.powerState !== 'On') return undefined;
  return `⚠ *${escapeMrkdwn(request.host)}*'s BMC reports power On: it is running, not fenced`;
}

/** The card's BMC line (beside Nova's view), and its ⚠ when the BMC reads On before the Nova call. None for a host without a BMC. */
function bmcBlocks(request: ForceDownRequest, view: CardView): KnownBlock[] {
  const bmc = view.bmc;
  if (!bmc) return [];
  const blocks: KnownBlock[] = [{ type: 'context', block_id: CARD_BMC_BLOCK_ID, elements: [mrkdwn(`*BMC*: ${bmcReadingText(bmc, view.now)}`)] }];
  const before = request.state === 'pending' || request.state === 'approved' || request.state === 'failed' || request.state === 'executing';
  const warning = before ? bmcOnWarning(request, bmc) : undefined;
  if (warning) blocks.push({ type: 'section', text: mrkdwn(`${warning}. Power it off (or choose "${POWER_OFF_NOW_LABEL}") before you confirm.`) });
  return blocks;
}

/**
 * "⚠ Nova heard from compute1 4 s ago: it may not be fenced", when Nova's last
 * heartbeat from the host is younger than Nova's service_down_time.
 */
export function heartbeatWarning(host: string, service: ComputeService, now: number): string | undefined {
  const age = recentHeartbeatAgeMs(service, now);
  if (age === undefined) return undefined;
  return `⚠ Nova heard from *${escapeMrkdwn(host)}* ${Math.round(age / 1000)} s ago: it may not be fenced`;
}

function button(text: string, actionId: string, value: string, style?: 'danger' | 'primary'): types.Button {
  return { type: 'button', text: plain(text, LIMITS.buttonText), action_id: actionId, value, ...(style ? { style } : {}) };
}

function cancelButton(request: ForceDownRequest): types.Button {
  const forceDown = request.action === 'force-down';
  const cancel = button('Cancel', ACTION_IDS.cancelRequest, request.id);
  cancel.confirm = {
    title: plain('Cancel this request?', 100),
    text: plain(`Nova will not be asked to ${forceDown ? 'force down' : 'unset forced-down on'} ${request.host}.`, 300),
    confirm: plain('Cancel request', 30),
    deny: plain('Keep it', 30),
  };
  return cancel;
}

function confirmButtons(request: ForceDownRequest, label: 'confirm' | 'retry'): types.ActionsBlock {
  const style = request.action === 'force-down' ? 'danger' : 'primary';
  return {
    type: 'actions',
    block_id: CARD_ACTIONS_BLOCK_ID,
    elements: [button(confirmButtonText(request, label === 'retry'), confirmActionId(request), request.id, style), cancelButton(request)],
  };
}

/** The state line (mrkdwn) and a plain summary for the notification text. */
function stateLine(request: ForceDownRequest, view: CardView): { line: string; summary: string } {
  const host = `*${escapeMrkdwn(request.host)}*`;
  const forceDown = request.action === 'force-down';
  switch (request.state) {
    case 'pending':
      return forceDown
        ? { line: `Waiting for an approver to confirm ${host} is fenced (powered off or isolated). Nova is not called before that.`, summary: 'waiting for a fence confirmation' }
        : { line: `Waiting for an approver to confirm ${host} is healthy and its evacuated instances are cleaned up.`, summary: 'waiting for a recovery confirmation' };
    case 'approved':
      return {
        line: `⏳ Confirmed${confirmedBy(request)}; the ${forceDown ? 'force-down' : 'unset'} has not started yet. An approver may still cancel it.`,
        summary: 'confirmed, not started yet',
      };
    case 'executing':
      if (view.poweringOff !== undefined) {
        return {
          line: `⏳ powering ${host} off via its BMC… (PowerState: ${escapeMrkdwn(describePowerState(view.poweringOff))})${confirmedBy(request)}`,
          summary: 'powering the host off via its BMC',
        };
      }
      if (view.heartbeatWaitUntil !== undefined) {
        return {
          line: `⏳ waiting to see whether ${host} still reports to Nova… (deciding at ${formatUtc(new Date(view.heartbeatWaitUntil).toISOString())})${confirmedBy(request)}`,
          summary: 'waiting to see whether the host still reports to Nova',
        };
      }
      return { line: `${forceDown ? '⏳ forcing down…' : '⏳ unsetting…'}${confirmedBy(request)}`, summary: forceDown ? 'forcing down' : 'unsetting' };
    case 'succeeded':
      return forceDown
        ? { line: `✅ ${host} is forced down in Nova${confirmedBy(request)}`, summary: 'forced down in Nova' }
        : { line: `✅ ${host} is no longer forced down in Nova${confirmedBy(request)}`, summary: 'no longer forced down in Nova' };
    case 'failed': {
      const t = outcomeFailureText(request);
      if (t) return { line: `❌ ${t.headline}.\n${t.nextStep}`, summary: 'failed' };
      return { line: `❌ The request did not finish; Nova's answer is unknown. See the thread, check the host in Nova, and retry.`, summary: 'failed' };
    }
    case 'cancelled':
      return { line: cancelledText(request.host, request.action, lastEntry(request, 'cancelled')?.by), summary: 'cancelled' };
    case 'expired':
      return { line: expiredText(request.host, request.action, lastEntry(request, 'expired')?.at ?? request.expiresAt), summary: 'expired' };
    default: {
      const unknown: never = request.state;
      return { line: `State: ${escapeMrkdwn(String(unknown))}`, summary: String(unknown) };
    }
  }
}

/** `block_id` of a ✅ force-down card's next-steps line. */
export const CARD_NEXT_BLOCK_ID = 'next';

/** What comes next on a ✅ force-down card: "When compute1 is repaired: `/force-down --unset compute1`". */
export function nextStepsLine(request: Pick<ForceDownRequest, 'host' | 'cloud'>, defaultCloud?: string): string {
  return `When ${escapeMrkdwn(request.host)} is repaired: \`${escapeMrkdwn(unsetCommand(request.host, request.cloud, defaultCloud))}\``;
}

/**
 * The request card. Buttons appear only while a click can still lead to a
 * Nova call: **Confirm fenced…** / **Confirm recovered…** and **Cancel** when
 * pending, **Retry…** and **Cancel** when failed, **Cancel** when confirmed but
 * not started yet; on a succeeded force-down, **Evacuate N instances…**, then
 * the evacuation's line and **Retry failed…** (evacuation-blocks.ts). Every
 * button's `value` is the request id.
 */
export function requestCard(request: ForceDownRequest, view: CardView): CardMessage {
  const blocks: KnownBlock[] = [{ type: 'header', text: plain(headerText(request, view.now), LIMITS.headerText) }];
  blocks.push({ type: 'section', fields: originFields(request.origin, request, view.now).slice(0, LIMITS.sectionFields) });
  const quotes = requestQuotes(request);
  if (quotes) blocks.push(quotes);
  const alert = alertLines(request);
  if (alert) blocks.push({ type: 'context', elements: [mrkdwn(alert)] });
  blocks.push(...novaBlocks(request, view));
  blocks.push(...instancesBlocks(request, view));
  blocks.push(...bmcBlocks(request, view));
  // The expiry only while it can still end the request (pending, failed): a finished card no longer shows one.
  const expires = showsExpiry(request, view.now) ? ` · expires ${formatUtc(request.expiresAt)}` : '';
  blocks.push({ type: 'context', elements: [mrkdwn(`Request ${codeSpan(request.id, 100)} · asked ${formatUtc(request.createdAt)}${expires}`)] });
  blocks.push({ type: 'divider' });
  const { line, summary } = stateLine(request, view);
  blocks.push({ type: 'section', text: mrkdwn(line) });
  if (request.state === 'succeeded' && request.action === 'force-down') blocks.push({ type: 'context', block_id: CARD_NEXT_BLOCK_ID, elements: [mrkdwn(nextStepsLine(request, view.defaultCloud))] });
  if (view.unknownCloud && (request.state === 'pending' || request.state === 'failed')) {
    blocks.push({ type: 'actions', block_id: CARD_ACTIONS_BLOCK_ID, elements: [cancelButton(request)] });
  } else if (request.state === 'pending') blocks.push(confirmButtons(request, 'confirm'));
  else if (request.state === 'failed') blocks.push(confirmButtons(request, 'retry'));
  if (request.state === 'approved') blocks.push({ type: 'actions', block_id: CARD_ACTIONS_BLOCK_ID, elements: [cancelButton(request)] });
  blocks.push(...evacuationCardBlocks(request, view));
  const text = truncate(`${escapeMrkdwn(headerText(request, view.now))} (${escapeMrkdwn(request.cloud)}): ${summary}`, LIMITS.sectionText);
  return { text, blocks: blocks.slice(0, LIMITS.messageBlocks) };
}

function verifiedOption(request: ForceDownRequest): types.PlainTextOption {
  const host = request.host;
  if (request.action === 'force-down') {
    const full = `I verified ${host} is powered off or isolated`;
    return full.length <= LIMITS.optionText
      ? { text: plain(full, LIMITS.optionText), value: VERIFIED_OPTION_VALUE }
      : { text: plain('I verified the host is powered off or isolated', LIMITS.optionText), description: plain(host, LIMITS.optionText), value: VERIFIED_OPTION_VALUE };
  }
  const full = `${host} is healthy and its evacuated instances are cleaned up`;
  return {
    text: plain(full.length <= LIMITS.optionText ? full : 'The host is healthy and its evacuated instances are cleaned up', LIMITS.optionText),
    description: plain('(nova-compute started on it)', LIMITS.optionText),
    value: VERIFIED_OPTION_VALUE,
  };
}

/** What the worker read of the host for an open confirmation modal (the `check-modal` job). */
export interface ModalCheck {
  service?: ComputeService;
  lookupFailure?: { code: FailureCode; message: string };
  /** The host's BMC reading (hosts with a BMC only). */
  bmc?: BmcView;
  now: number;
}

/** The modal's line about the host's BMC: "reading…" when opened, the reading once the worker has it. */
function modalBmcText(request: ForceDownRequest, check: ModalCheck | undefined): string {
  const host = `*${escapeMrkdwn(request.host)}*`;
  if (!check?.bmc) return `Reading ${host}'s power state from its BMC…`;
  const line = `*BMC*: ${bmcReadingText(check.bmc, check.now)}`;
  const warning = bmcOnWarning(request, check.bmc);
  if (warning) return `${line}\n${warning}: "${FENCING_METHODS.bmc}" is refused until it reads Off.`;
  if (!check.bmc.ok) return `${line}\n"${FENCING_METHODS.bmc}" is refused while the BMC cannot be read: choose another method, or retry later.`;
  return line;
}

/** Power off now: offered first, for a host with a BMC. */
const POWER_OFF_NOW_DESCRIPTION = 'force-down powers it off, waits for Off, then forces it down';
/** "BMC power-off" on a host with a BMC: something already done, which force-down checks. */
const BMC_ALREADY_DONE_DESCRIPTION = 'already done; force-down checks the BMC reads Off';

/** The modal's line about Nova's last heartbeat: "checking…" when opened, the reading once the worker has it. */
function modalHeartbeatText(request: ForceDownRequest, check: ModalCheck | undefined): string {
  const host = `*${escapeMrkdwn(request.host)}*`;
  if (!check) return `Checking when Nova last heard from ${host}…`;
  if (check.service) {
    const warning = heartbeatWarning(request.host, check.service, check.now);
    if (warning) return `${warning}. Check the fence before you confirm: force-down refuses while Nova still hears from it.`;
    const beat = parseUtc(check.service.updatedAt);
    const when = beat === undefined ? 'never' : formatAge(beat, check.now);
    return `Nova last heard from ${host} ${when} (service ${codeSpan(check.service.state ?? 'unknown', 40)}${check.service.forcedDown ? ', forced down' : ''}).`;
  }
  if (check.lookupFailure) {
    const t = failureText({ code: check.lookupFailure.code }, { host: request.host, action: request.action, cloud: request.cloud });
    return `⚠️ Nova's view could not be read: ${t.headline}.`;
  }
  return `Nova's view of ${host} is not known.`;
}

/**
 * The confirmation modal opened by **Confirm fenced…** / **Confirm recovered…**
 * (and **Retry…**). `private_metadata` names the request and `form`, the
 * form's single-use nonce (src/slack/envelope.ts `encodeModalMetadata`;
 * without a form, only the request id: such a modal cannot confirm). A force-down's modal
 * says when Nova last heard from the host: "checking…" when the api opens it,
 * then the worker's reading (`check`, ⚠ when recent). Slack cannot require
 * a checkbox to be ticked, so the submission is checked by
 * {@link validateFenceSubmission}.
 */
export function fenceModal(request: ForceDownRequest, check?: ModalCheck, form?: string, hasBmc: boolean = check?.bmc !== undefined): ModalView {
  const forceDown = request.action === 'force-down';
  const withBmc = forceDown && hasBmc;
  const host = escapeMrkdwn(request.host);
  const intro = forceDown
    ? escapeMrkdwn(whyFenceFirst(request.host))
    : `Unsetting forced-down tells Nova that *${host}* is back. Nova refuses while evacuated instances from *${host}* are not cleaned up: ` +
      `start nova-compute on the recovered host first.`;
  const blocks: KnownBlock[] = [
    { type: 'section', text: mrkdwn(intro) },
    { type: 'context', elements: [mrkdwn(`Cloud *${escapeAndTruncate(request.cloud, 200)}* · request ${codeSpan(request.id, 100)}`)] },
  ];
  if (forceDown) blocks.push({ type: 'section', block_id: MODAL_HEARTBEAT_BLOCK_ID, text: mrkdwn(modalHeartbeatText(request, check)) });
  if (withBmc) blocks.push({ type: 'section', block_id: MODAL_BMC_BLOCK_ID, text: mrkdwn(modalBmcText(request, check)) });
  if (forceDown) {
    const methods = (Object.entries(FENCING_METHODS) as [FencingMethod, string][]).map(([value, text]): types.PlainTextOption => ({
      text: plain(text, LIMITS.optionText),
      value,
      ...(withBmc && value === 'bmc' ? { description: plain(BMC_ALREADY_DONE_DESCRIPTION, LIMITS.optionText) } : {}),
    }));
    const powerOffNow: types.PlainTextOption = { text: plain(POWER_OFF_NOW_LABEL, LIMITS.optionText), value: POWER_OFF_NOW, description: plain(POWER_OFF_NOW_DESCRIPTION, LIMITS.optionText) };
    blocks.push({
      type: 'input',
      block_id: MODAL_INPUTS.method.blockId,
      label: plain(withBmc ? `Fence ${request.host} now, or say how it was fenced` : `How was ${request.host} fenced?`, 2000),
      element: {
        type: 'static_select',
        action_id: MODAL_INPUTS.method.actionId,
        placeholder: plain('Fencing method', 150),
        options: withBmc ? [powerOffNow, ...methods] : methods,
      },
    });
  }
  blocks.push({
    type: 'input',
    block_id: MODAL_INPUTS.verified.blockId,
    label: plain(forceDown ? 'Fence confirmation' : 'Recovery confirmation', 2000),
    // With "Power off now" the host is not fenced yet: the box is for the other methods (checked on submission).
    ...(withBmc ? { optional: true, hint: plain(`Not needed with "${POWER_OFF_NOW_LABEL}": force-down powers it off and waits for Off.`, 2000) } : {}),
    element: { type: 'checkboxes', action_id: MODAL_INPUTS.verified.actionId, options: [verifiedOption(request)] },
  });
  blocks.push({
    type: 'input',
    block_id: MODAL_INPUTS.note.blockId,
    optional: true,
    label: plain('Note', 2000),
    hint: plain(forceDown ? 'Recorded with the confirmation. Required for "other".' : 'Recorded with the confirmation.', 2000),
    element: {
      type: 'plain_text_input',
      action_id: MODAL_INPUTS.note.actionId,
      multiline: true,
      max_length: NOTE_MAX_LENGTH,
      placeholder: plain(forceDown ? 'e.g. ticket, BMC session, who pulled the plug' : 'e.g. ticket, what was repaired', 150),
    },
  });
  return {
    type: 'modal',
    callback_id: FENCE_MODAL_CALLBACK_ID,
    private_metadata: form === undefined ? request.id : encodeModalMetadata({ id: request.id, nonce: form }),
    title: plain(forceDown ? 'Confirm fence' : 'Confirm recovery', LIMITS.modalTitle),
    submit: plain(forceDown ? 'Force down' : 'Unset forced-down', LIMITS.modalButton),
    close: plain('Close', LIMITS.modalButton),
    blocks,
  };
}

export type FenceSubmission =
  | { ok: true; method?: FenceChoice; note?: string }
  /** `errors` is keyed by block_id: answer `ack({ response_action: 'errors', errors })`. */
  | { ok: false; errors: Record<string, string> };

/**
 * Checks a modal submission (`view.state.values`). Force-down needs a fencing
 * method and the ticked box (and a note for "other"); unset needs the ticked box.
 * `power-off` (power off now via the BMC) is accepted only when `opts.bmc` (the
 * host has a BMC), and needs no ticked box: force-down fences the host itself.
 */
export function validateFenceSubmission(values: unknown, action: Action = 'force-down', opts: { bmc?: boolean } = {}): FenceSubmission {
  const state = readModalValues(values);
  const input = (ids: { blockId: string; actionId: string }) => state[ids.blockId]?.[ids.actionId];
  const errors: Record<string, string> = {};

  let method: FenceChoice | undefined;
  if (action === 'force-down') {
    const chosen = input(MODAL_INPUTS.method)?.selected_option?.value;
    if (chosen && isFencingMethod(chosen)) method = chosen;
    else if (chosen === POWER_OFF_NOW && opts.bmc === true) method = POWER_OFF_NOW;
    else if (chosen === POWER_OFF_NOW) errors[MODAL_INPUTS.method.blockId] = 'This host has no BMC configured: force-down cannot power it off. Fence it, then choose how.';
    else errors[MODAL_INPUTS.method.blockId] = 'Choose how the host was fenced.';
  }

  const ticked = input(MODAL_INPUTS.verified)?.selected_options?.some((o) => o.value === VERIFIED_OPTION_VALUE) ?? false;
  if (!ticked && method !== POWER_OFF_NOW) {
    errors[MODAL_INPUTS.verified.blockId] =
      action === 'force-down'
        ? 'Tick the box once you have verified the host is powered off or isolated. Without a fence, evacuated instances could run twice.'
        : 'Tick the box once the host is healthy and nova-compute has cleaned up its evacuated instances.';
  }

  const note = input(MODAL_INPUTS.note)?.value?.trim() || undefined;
  if (note && note.length > NOTE_MAX_LENGTH) errors[MODAL_INPUTS.note.blockId] = `Keep the note under ${NOTE_MAX_LENGTH} characters.`;
  else if (method === 'other' && !note) errors[MODAL_INPUTS.note.blockId] = 'Say how the host was fenced: the method is "other".';

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, ...(method ? { method } : {}), ...(note ? { note } : {}) };
}

/** The BMC's evidence of an outcome: the power-off sent and Off seen, or the power state read. */
function bmcPart(request: ForceDownRequest): string | undefined {
  const b = request.outcome?.bmc;
  if (!b) return undefined;
  if (b.reset) {
    const who = request.confirmation?.by ? ` by ${mentionOrName(request.confirmation.by)}` : '';
    return `BMC power-off via Redfish${who}: ${escapeMrkdwn(b.reset.resetType)} sent at \`${isoUtc(b.reset.sentAt)}\`, \`Off\` seen at \`${isoUtc(b.reset.offAt)}\``;
  }
  return `BMC read power ${escapeMrkdwn(describePowerState(b.powerState))} at \`${isoUtc(b.readAt)}\``;
}

function novaPart(request: ForceDownRequest): string {
  const o = request.outcome;
  if (!o) return 'Nova: no answer recorded';
  const path = o.request ? escapeMrkdwn(o.request) : 'request unknown';
  const mv = o.microversion ? ` @ ${escapeMrkdwn(o.microversion)}` : '';
  const status = o.status !== undefined ? ` (HTTP ${o.status})` : '';
  const detail = o.code !== 'OK' && o.detail ? ` ${detailSpan(o.detail)}` : '';
  // A BMC failure was decided at the BMC: Nova was not called.
  const who = o.code.startsWith('BMC_') ? 'BMC (Nova not called)' : 'Nova';
  return `${who}: \`${path}\`${mv} → *${o.code}*${status}${detail}`;
}

/** A thread message: `text` (the notification and fallback), and blocks when it quotes someone. */
export interface AuditMessage {
  text: string;
  /** Our line in a section, what it quotes in the quoted block; absent when it quotes nobody (`text` says it all). */
  blocks?: KnownBlock[];
}

/**
 * One mrkdwn line for the card's thread: when (ISO UTC), who, what, the
 * fencing method, and for outcomes Nova's path, microversion and outcome
 * code; then what it quotes ("alert: “…”", "note: “…”", inert). Nova's own
 * words appear only here, as a ≤300-character code span.
 */
export function auditLine(request: ForceDownRequest, event: HistoryEntry): string {
  return auditMessage(request, event).text;
}

/**
 * The thread message for `event`: {@link auditLine} as `text`; when the line
 * quotes an alert or a person (the alert's name and fingerprint, the
 * approver's note), blocks that keep our line (a section) apart from what it
 * quotes (the quoted block, one labelled line each).
 */
export function auditMessage(request: ForceDownRequest, event: HistoryEntry): AuditMessage {
  const { line, quotes } = auditParts(request, event);
  if (quotes.length === 0) return { text: line };
  const text = truncate(`${line} · ${quotes.map(([label, q]) => `${label}: ${q}`).join(' · ')}`, LIMITS.sectionText);
  const block = quotedBlock(quotes.map(([label, q]) => `${label[0]!.toUpperCase()}${label.slice(1)}: ${q}`))!;
  return { text, blocks: [{ type: 'section', text: mrkdwn(line) }, block] };
}

function auditParts(request: ForceDownRequest, event: HistoryEntry): { line: string; quotes: [string, string][] } {
  const quotes: [string, string][] = [];
  const quote = (label: string, text: string | undefined, max: number) => {
    const q = quoted(text, max);
    if (q) quotes.push([label, q]);
  };
  const host = `*${escapeMrkdwn(request.host)}*`;
  const forceDown = request.action === 'force-down';
  const doing = forceDown ? `force down ${host}` : `unset forced-down on ${host}`;
  const by = (fallback?: string) => {
    const who = event.by ?? fallback;
    return who ? mentionOrName(who) : 'force-down';
  };
  let what: string;
  switch (event.state) {
    case 'pending': {
      const o = request.origin;
      if (o.kind === 'alert') {
        quote('alert', o.alertName, QUOTE_MAX.alertName);
        quote('fingerprint', o.fingerprint, QUOTE_MAX.fingerprint);
      }
      const asker = o.kind === 'alert' ? `${escapeMrkdwn(o.source)} alert` : by(request.requestedBy);
      what = `${asker} asked to ${doing} in ${escapeAndTruncate(request.cloud, 200)}`;
      break;
    }
    case 'approved': {
      const c = request.confirmation;
      const method = forceDown ? ` · fenced: ${escapeMrkdwn(methodLabel(c?.method))}` : '';
      quote('note', c?.note, NOTE_MAX_LENGTH);
      what =
        forceDown && c?.method === POWER_OFF_NOW
          ? `${by(c?.by)} asked force-down to power ${host} off via its BMC (Redfish), then force it down`
          : `${by(c?.by)} confirmed ${host} ${forceDown ? 'is fenced' : 'has recovered'}${method}`;
      break;
    }
    case 'executing':
      what = `calling Nova to ${doing}`;
      break;
    case 'succeeded': {
      const bmc = bmcPart(request);
      what = `${forceDown ? `${host} forced down` : `${host} no longer forced down`}${bmc ? ` · ${bmc}` : ''} · ${novaPart(request)}`;
      break;
    }
    case 'failed': {
      const bmc = bmcPart(request);
      what = `failed to ${doing}${bmc ? ` · ${bmc}` : ''} · ${novaPart(request)}`;
      break;
    }
    case 'cancelled':
      what = `${by()} cancelled the request to ${doing}`;
      break;
    case 'expired':
      what = `the request to ${doing} expired unconfirmed`;
      break;
    default: {
      const unknown: never = event.state;
      what = escapeMrkdwn(String(unknown));
    }
  }
  return { line: truncate(`\`${isoUtc(event.at)}\` ${what}`.replace(/\n/g, ' '), LIMITS.sectionText), quotes };
}

/** `/force-down help`. */
export function helpText(): string {
  return [
    '*force-down* marks a fenced compute host down in Nova, so its instances can be evacuated at once.',
    '',
    '`/force-down <host> [nova-compute] [--cloud NAME] [--reason TEXT]` — ask to force <host> down; an approver confirms the fence on the card',
    '`/force-down --unset <host> [--cloud NAME] [--reason TEXT]` — ask to unset forced-down once <host> has recovered',
    '`/force-down evacuate <host> [--cloud NAME]` — evacuate the instances of a host forced down on its card (approvers; Retry failed… when some failed)',
    '`/force-down status <host> [--cloud NAME]` — Nova’s view of <host> (state, status, forced_down, last heartbeat)',
    '`/force-down list [--cloud NAME] [--page N]` — hosts down or forced down, and for how long (20 a page)',
    '`/force-down help` — this text',
    '',
    'Fence first: power the host off at the BMC or PDU, or isolate it from the network. Forcing down a running host lets its instances run twice.',
  ]
    .map(escapeMrkdwn) // `<host>` would otherwise read as a link
    .join('\n');
}
