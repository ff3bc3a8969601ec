import type { types } from '@slack/bolt';
import { z } from 'zod';
import type { EvacuateForm, EvacuateModalCheck, EvacuationEvent, InstancesView } from '../app/ports.js';
import { canRetryEvacuation, countEvacuation, roundOf, roundStatus, type Evacuation, type InstanceEntry } from '../domain/evacuation.js';
import { isFailureCode, type FailureCode } from '../domain/failure.js';
import { checkHostName, describeHostNameProblem } from '../domain/host.js';
import type { ForceDownRequest } from '../domain/request.js';
import { readModalValues } from './modal-values.js';
import { LIMITS, mrkdwn, plain } from './card-parts.js';
import {
  ACTION_IDS,
  CARD_ACTIONS_BLOCK_ID,
  CARD_EVACUATION_BLOCK_ID,
  EVACUATE_CONFIRM_VALUE,
  EVACUATE_INPUTS,
  EVACUATE_MODAL_CALLBACK_ID,
  MODAL_EVACUATE_CHECK_BLOCK_ID,
  SCHEDULER_TARGET_VALUE,
} from './ids.js';
import { failureHeadline } from './messages.js';
import { codeSpan, escapeAndTruncate, escapeMrkdwn, inert, mentionOrName, truncate } from './mrkdwn.js';

/**
 * The Slack side of a forced-down host's evacuation (issue 14), as pure Block
 * Kit builders: the card's **Evacuate N instances…** button and evacuation
 * line (blocks.ts `requestCard` adds them), the evacuation modal and its
 * submission's check, and the lines of the card's thread. Instance names,
 * Nova's messages and target names are made inert (mrkdwn.ts `inert`,
 * `codeSpan`); everything else is our own words and the host name.
 */

type KnownBlock = types.KnownBlock;
/** A modal whose blocks are all known blocks (as blocks.ts `ModalView`). */
type EvacuateModalView = Omit<types.ModalView, 'blocks'> & { blocks: KnownBlock[] };

/** Slack's limits beyond card-parts.ts `LIMITS` that the evacuation modal needs. */
export const EVACUATE_LIMITS = {
  /** Options of a static_select. */
  selectOptions: 100,
  /** An option's `value`. */
  optionValue: 150,
  /** A message's `text` we keep each thread message within. */
  threadMessage: 3000,
  /** Thread messages one `ended` event posts at most (the rest are counted in its last line). */
  threadMessages: 10,
} as const;

/** Instance names the modal's retry summary lists before "and N more". */
const RETRY_NAMES_MAX = 20;

const bold = (host: string) => `*${escapeAndTruncate(host, 253)}*`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): types.Button {
  return { type: 'button', text: plain(text, LIMITS.buttonText), action_id: actionId, value, ...(style ? { style } : {}) };
}

/** Whether the card offers evacuation: a force-down Nova carried out. */
export function offersEvacuation(request: Pick<ForceDownRequest, 'action' | 'state'>): boolean {
  return request.action === 'force-down' && request.state === 'succeeded';
}

/** **Evacuate N instances…** (`Evacuate instances…` when the count is not known). */
export function evacuateButtonText(instances: InstancesView | undefined): string {
  if (!instances || instances.failure) return 'Evacuate instances…';
  return `Evacuate ${plural(instances.total, 'instance')}…`;
}

/** Counts for people: done, failed (failed and refused), not ended in time, in progress (planned, sending, accepted). */
export function evacuationTally(ev: Pick<Evacuation, 'instances'>): { total: number; done: number; failed: number; timeout: number; inProgress: number } {
  const c = countEvacuation(ev);
  return { total: c.total, done: c.done, failed: c.failed + c.refused, timeout: c.timeout, inProgress: c.planned + c.sending + c.accepted };
}

/**
 * The evacuation's progress in one line: `⏳ Evacuating 36 instances: 30 done
 * · 2 failed · 4 in progress`, `✅ Evacuated 36 instances: 36 done`, `⚠️
 * Evacuation ended: 34 done · 2 failed` (zero parts left out, done aside).
 */
export function evacuationProgressText(ev: Evacuation, host: string): string {
  const t = evacuationTally(ev);
  if (t.total === 0) return `✅ Nothing to evacuate: no instance of ${bold(host)} was ${ev.scope === 'ha-only' ? 'marked for HA' : 'listed'}`;
  const parts = [`${t.done} done`];
  if (t.failed > 0) parts.push(`${t.failed} failed`);
  if (t.timeout > 0) parts.push(`${t.timeout} not ended in time`);
  if (t.inProgress > 0) {
    parts.push(`${t.inProgress} in progress`);
    return `⏳ Evacuating ${plural(t.total, 'instance')}: ${parts.join(' · ')}`;
  }
  if (t.done === t.total) return `✅ Evacuated ${plural(t.total, 'instance')}: ${parts.join(' · ')}`;
  return `⚠️ Evacuation ended: ${parts.join(' · ')}`;
}

/** Where the instances go, which of them, and the round: `Nova's scheduler chooses · HA-marked instances only · round 2`. */
export function evacuationDetailsText(ev: Evacuation): string {
  const parts = [ev.target !== undefined ? `rebuilt on *${inert(ev.target, 253)}*` : "Nova's scheduler chooses"];
  if (ev.scope === 'ha-only') parts.push('HA-marked instances only');
  if (roundOf(ev) > 1) parts.push(`round ${roundOf(ev)}`);
  return parts.join(' · ');
}

/** The card's evacuation line (first line: where it stands; second: target, scope, round). */
export function evacuationCardText(ev: Evacuation, host: string): string {
  let first: string;
  const status = roundStatus(ev);
  if (status === 'refused') first = `❌ Evacuation refused before anything was sent: ${inert(ev.refusal!.message, 1000)}`;
  else if (status === 'undecided') {
    first =
      roundOf(ev) > 1
        ? `⏳ Retry of the failed instances asked for: checking ${bold(host)} is still fenced…`
        : `⏳ Evacuation asked for by ${mentionOrName(ev.by)}: checking ${bold(host)} is still fenced…`;
  } else first = evacuationProgressText(ev, host);
  return `${first}\n${evacuationDetailsText(ev)}`;
}

/**
 * The card's evacuation blocks, for a succeeded force-down (none otherwise):
 * without an evacuation, **Evacuate N instances…** (none when the host has no
 * instances); with one, its line and, when something can be retried,
 * **Retry failed…**. Each button's `value` is the request id.
 */
export function evacuationCardBlocks(request: ForceDownRequest, view: { instances?: InstancesView | undefined; evacuation?: Evacuation | undefined }): KnownBlock[] {
  if (!offersEvacuation(request)) return [];
  const ev = view.evacuation;
  if (!ev) {
    if (view.instances && !view.instances.failure && view.instances.total === 0) return [];
    return [{ type: 'actions', block_id: CARD_ACTIONS_BLOCK_ID, elements: [button(evacuateButtonText(view.instances), ACTION_IDS.evacuate, request.id, 'primary')] }];
  }
  const blocks: KnownBlock[] = [{ type: 'section', block_id: CARD_EVACUATION_BLOCK_ID, text: mrkdwn(evacuationCardText(ev, request.host)) }];
  if (canRetryEvacuation(ev)) blocks.push({ type: 'actions', block_id: CARD_ACTIONS_BLOCK_ID, elements: [button('Retry failed…', ACTION_IDS.retryEvacuation, request.id)] });
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// The modal

const evacuateMetadataSchema = z.object({ id: z.string().min(1).max(200), round: z.number().int().min(0).max(1_000_000) });

export type EvacuateMetadata = z.infer<typeof evacuateMetadataSchema>;

/** The evacuation modal's `private_metadata`: the request and the form's round. */
export function encodeEvacuateMetadata(m: EvacuateMetadata): string {
  return JSON.stringify({ id: m.id, round: m.round });
}

/** The request and round of a submitted evacuation modal; undefined for anything else. */
export function decodeEvacuateMetadata(privateMetadata: unknown): EvacuateMetadata | undefined {
  if (typeof privateMetadata !== 'string') return undefined;
  try {
    const parsed = evacuateMetadataSchema.safeParse(JSON.parse(privateMetadata));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** `vm-a, vm-b and 3 more` (names inert). */
function nameList(names: readonly string[], max: number): string {
  const shown = names.slice(0, max).map((n) => inert(n, 80) || '(no name)');
  const more = names.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The first evacuation's summary of what is on the host. */
function instancesSummary(host: string, instances: InstancesView | undefined): string {
  if (!instances) return `The instances on ${bold(host)} were not listed: force-down lists them when the evacuation starts.`;
  if (instances.failure) return `⚠️ The instances on ${bold(host)} could not be listed (${inert(instances.failure.message, 300)}).`;
  if (instances.total === 0) return `There are no instances on ${bold(host)}: nothing to evacuate.`;
  const states = instances.byState.slice(0, 12).map((c) => `${inert(c.state, 40)} ${c.count}`);
  if (instances.byState.length > 12) states.push(`${instances.byState.length - 12} more states`);
  const ha = instances.ha === 0 ? 'none marked for HA' : `${instances.ha} marked for HA`;
  return `*${plural(instances.total, 'instance')}* on ${bold(host)}: ${[...states, ha].join(' · ')}.`;
}

/** The modal's summary: "reading…" when opened, what the worker read once it has. */
function modalCheckText(request: ForceDownRequest, form: EvacuateForm, check: EvacuateModalCheck | undefined): string {
  const host = bold(request.host);
  if (form.round >= 1) {
    const list = check?.retry?.instances;
    if (list === undefined) return `Reading which instances of ${host} failed, and which hosts can take them…`;
    if (list.length === 0) return `Retry the evacuation of ${host}: its checks run again before anything is sent.`;
    return `Retry the ${plural(list.length, 'failed instance')} of ${host}: ${nameList(list.map((i) => i.name), RETRY_NAMES_MAX)}.`;
  }
  if (!check) return `Reading what is on ${host} and which hosts can take its instances…`;
  return instancesSummary(request.host, check.instances);
}

/** A host Slack can carry as an option's value, and Nova as a target. */
function offerable(host: string): boolean {
  return host.length <= EVACUATE_LIMITS.optionValue && checkHostName(host) === undefined;
}

/**
 * The evacuation modal opened by **Evacuate N instances…** (`form.round` 0)
 * or **Retry failed…** (`form.round` n ≥ 1): what is on the host (or which
 * instances a retry sends again), which instances (first evacuation only),
 * where to (Nova's scheduler, or one of the hosts the worker found that can
 * take them), and a box to tick: the host stays fenced. `private_metadata`
 * names the request and the round ({@link encodeEvacuateMetadata}). The
 * submission is checked by {@link validateEvacuateSubmission}.
 */
export function evacuateModal(request: ForceDownRequest, form: EvacuateForm, check?: EvacuateModalCheck): EvacuateModalView {
  const host = bold(request.host);
  const retry = form.round >= 1;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: mrkdwn(
        retry
          ? `Nova rebuilds each failed instance of ${host} on another host. ${host} must stay fenced meanwhile: if it came back, an instance could run twice.`
          : `Nova rebuilds each instance of ${host} on another host (as \`nova host-evacuate\` does). ${host} must stay fenced meanwhile: if it came back, an instance could run twice.`,
      ),
    },
    { type: 'context', elements: [mrkdwn(`Cloud *${escapeAndTruncate(request.cloud, 200)}* · request ${codeSpan(request.id, 100)}${retry ? ` · retry of round ${form.round}` : ''}`)] },
    { type: 'section', block_id: MODAL_EVACUATE_CHECK_BLOCK_ID, text: mrkdwn(modalCheckText(request, form, check)) },
  ];

  if (!retry) {
    const counts = check?.instances && !check.instances.failure ? check.instances : undefined;
    const all: types.MrkdwnOption = { text: mrkdwn(`All instances (like \`nova host-evacuate\`)${counts ? `: ${counts.total}` : ''}`), value: 'all' };
    const ha: types.MrkdwnOption = { text: mrkdwn(`Only instances marked for HA (metadata HA_Enabled=True)${counts ? `: ${counts.ha}` : ''}`), value: 'ha-only' };
    blocks.push({
      type: 'input',
      block_id: EVACUATE_INPUTS.scope.blockId,
      label: plain('Which instances', 2000),
      element: { type: 'radio_buttons', action_id: EVACUATE_INPUTS.scope.actionId, options: [all, ha], initial_option: all },
    });
  }

  const scheduler: types.PlainTextOption = { text: plain("Let Nova's scheduler choose", LIMITS.optionText), value: SCHEDULER_TARGET_VALUE };
  // The worker lists the hosts that may take the instances (never this one).
  const hosts = check && 'hosts' in check.targets ? check.targets.hosts : [];
  const offered = hosts.filter(offerable);
  const listed = offered.slice(0, EVACUATE_LIMITS.selectOptions - 1);
  const notListed = hosts.length - listed.length;
  blocks.push({
    type: 'input',
    block_id: EVACUATE_INPUTS.target.blockId,
    label: plain('Rebuild them on', 2000),
    element: {
      type: 'static_select',
      action_id: EVACUATE_INPUTS.target.actionId,
      options: [scheduler, ...listed.map((h): types.PlainTextOption => ({ text: plain(h, LIMITS.optionText), value: h }))],
      initial_option: scheduler,
    },
  });
  if (check && 'failure' in check.targets) {
    blocks.push({
      type: 'context',
      elements: [mrkdwn(`⚠️ The hosts that could take the instances could not be listed (${inert(check.targets.failure.message, 300)}): Nova's scheduler can still choose.`)],
    });
  } else if (notListed > 0) {
    blocks.push({ type: 'context', elements: [mrkdwn(`${plural(notListed, 'more host')}: use the CLI's \`--target\` to name one of them.`)] });
  } else if (check && listed.length === 0) {
    blocks.push({ type: 'context', elements: [mrkdwn(`⚠️ Nova lists no other enabled, up nova-compute host: Nova's scheduler may find no room.`)] });
  }

  const full = `I confirm ${request.host} stays fenced while its instances are rebuilt elsewhere`;
  const option: types.PlainTextOption =
    full.length <= LIMITS.optionText
      ? { text: plain(full, LIMITS.optionText), value: EVACUATE_CONFIRM_VALUE }
      : { text: plain('I confirm the host stays fenced while its instances are rebuilt elsewhere', LIMITS.optionText), description: plain(request.host, LIMITS.optionText), value: EVACUATE_CONFIRM_VALUE };
  blocks.push({
    type: 'input',
    block_id: EVACUATE_INPUTS.confirm.blockId,
    label: plain('Fence', 2000),
    element: { type: 'checkboxes', action_id: EVACUATE_INPUTS.confirm.actionId, options: [option] },
  });

  return {
    type: 'modal',
    callback_id: EVACUATE_MODAL_CALLBACK_ID,
    private_metadata: encodeEvacuateMetadata({ id: request.id, round: form.round }),
    title: plain(`Evacuate ${request.host}`, LIMITS.modalTitle),
    submit: plain('Evacuate', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks,
  };
}

export type EvacuateSubmission =
  | { ok: true; scope: 'all' | 'ha-only'; target?: string }
  /** `errors` is keyed by block_id: answer `ack({ response_action: 'errors', errors })`. */
  | { ok: false; errors: Record<string, string> };

/**
 * Checks an evacuation modal's submission (`view.state.values`): the box
 * ticked, a scope (first evacuation; a retry keeps the ledger's: `all`), and
 * a target: Nova's scheduler (undefined) or a valid host name. Never throws.
 */
export function validateEvacuateSubmission(values: unknown, opts: { retry: boolean; host?: string }): EvacuateSubmission {
  const state = readModalValues(values);
  const input = (ids: { blockId: string; actionId: string }) => state[ids.blockId]?.[ids.actionId];
  const errors: Record<string, string> = {};
  const host = opts.host ?? 'the host';

  let scope: 'all' | 'ha-only' = 'all';
  if (!opts.retry) {
    const chosen = input(EVACUATE_INPUTS.scope)?.selected_option?.value;
    if (chosen === 'all' || chosen === 'ha-only') scope = chosen;
    else errors[EVACUATE_INPUTS.scope.blockId] = 'Choose which instances to evacuate: all of them, or only those marked for HA.';
  }

  let target: string | undefined;
  const chosenTarget = input(EVACUATE_INPUTS.target)?.selected_option?.value;
  if (chosenTarget !== undefined && chosenTarget !== SCHEDULER_TARGET_VALUE) {
    const problem = checkHostName(chosenTarget);
    if (problem) errors[EVACUATE_INPUTS.target.blockId] = `Choose Nova's scheduler or one of the hosts listed: ${describeHostNameProblem(problem)}.`;
    else target = chosenTarget;
  }

  const ticked = input(EVACUATE_INPUTS.confirm)?.selected_options?.some((o) => o.value === EVACUATE_CONFIRM_VALUE) ?? false;
  if (!ticked) {
    errors[EVACUATE_INPUTS.confirm.blockId] =
      `Tick the box to confirm ${host} stays fenced while its instances are rebuilt elsewhere: if it came back, an instance could run twice.`;
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, scope, ...(target !== undefined ? { target } : {}) };
}

// ---------------------------------------------------------------------------------------------
// The card's thread

/** Why one instance did not evacuate, in words: our headline for its code, then Nova's message (inert, a code span). */
export function instanceFailureText(request: Pick<ForceDownRequest, 'host' | 'cloud'>, entry: InstanceEntry): string {
  const fallback: FailureCode | undefined = entry.state === 'timeout' ? 'EVACUATION_TIMEOUT' : entry.state === 'failed' ? 'EVACUATION_FAILED' : undefined;
  const code = isFailureCode(entry.code) ? entry.code : fallback;
  let words = code ? failureHeadline(code, { host: request.host, action: 'force-down', cloud: request.cloud }) : 'Nova refused to evacuate it';
  if (entry.code !== undefined && !isFailureCode(entry.code)) words += ` (${codeSpan(entry.code, 60)})`;
  const nova = entry.message?.trim() ? ` · ${codeSpan(entry.message, 300)}` : '';
  return `${words}${nova}`;
}

/** Scope and target, as the thread says them: `all; Nova's scheduler chooses`. */
function scopeAndTarget(ev: Evacuation): string {
  const target = ev.target !== undefined ? `to *${inert(ev.target, 253)}*` : "Nova's scheduler chooses";
  return `${ev.scope === 'ha-only' ? 'HA-marked only' : 'all'}; ${target}`;
}

/**
 * The thread messages (mrkdwn `text`, each within Slack's limit) for one
 * step of the host's evacuation. `ended` lists every instance that did not
 * evacuate, split over several messages when long (at most
 * {@link EVACUATE_LIMITS.threadMessages}; the last says how many more).
 */
export function evacuationEventTexts(request: ForceDownRequest, ev: Evacuation, event: EvacuationEvent): string[] {
  const host = bold(request.host);
  const max = EVACUATE_LIMITS.threadMessage;
  switch (event.kind) {
    case 'requested': {
      const round = roundOf(ev);
      const who = mentionOrName(event.by);
      if (round > 1) {
        const n = Object.values(ev.instances).filter((e) => e.state === 'planned').length;
        const what = n > 0 ? `retry ${plural(n, 'failed instance')} of ${host}` : `retry the evacuation of ${host}`;
        return [truncate(`🛟 ${who} asked to ${what} (round ${round}; ${scopeAndTarget(ev)})`, max)];
      }
      const n = Object.keys(ev.instances).length;
      const what = n > 0 ? `${plural(n, 'instance')} of ${host}` : `the instances of ${host}`;
      return [truncate(`🛟 ${who} asked to evacuate ${what} (${scopeAndTarget(ev)})`, max)];
    }
    case 'refused': {
      const why = ev.refusal ? inert(ev.refusal.message, 1500) : 'the reason was not recorded';
      return [truncate(`❌ Evacuation of ${host} refused before anything was sent: ${why}`, max)];
    }
    case 'ended': {
      const first = `${evacuationProgressText(ev, request.host)} (${evacuationDetailsText(ev)})`;
      const lines = Object.entries(ev.instances)
        .filter(([, e]) => e.state === 'failed' || e.state === 'refused' || e.state === 'timeout')
        .map(([id, e]) => truncate(`• ${inert(e.name, 200) || '(no name)'} (${codeSpan(id, 100)}): ${instanceFailureText(request, e)}`, max - 100));
      const messages: string[] = [];
      let current = truncate(first, max);
      let i = 0;
      for (; i < lines.length; i++) {
        const line = lines[i]!;
        if (current.length + 1 + line.length <= max) {
          current += `\n${line}`;
          continue;
        }
        if (messages.length + 1 >= EVACUATE_LIMITS.threadMessages) break;
        messages.push(current);
        current = line;
      }
      const left = lines.length - i;
      if (left > 0) {
        const more = `… and ${plural(left, 'more instance')} that did not evacuate (not listed here).`;
        current = current.length + 1 + more.length <= max ? `${current}\n${more}` : `${truncate(current, max - more.length - 1)}\n${more}`;
      }
      messages.push(current);
      return messages;
    }
    default: {
      const unknown: never = event;
      return [truncate(`Evacuation of ${host}: ${escapeMrkdwn(String((unknown as { kind?: unknown }).kind))}`, max)];
    }
  }
}
