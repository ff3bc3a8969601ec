import type { types } from '@slack/bolt';
import { z } from 'zod';
import { FENCING_METHODS, isFencingMethod, type FencingMethod } from '../domain/fencing.js';
import type { ForceDownRequest } from '../domain/request.js';
import type { KnownBlock, ModalView } from './blocks.js';
import { LIMITS, mrkdwn, plain } from './card-parts.js';
import { BULK_INPUTS, BULK_MODAL_CALLBACK_ID, NOTE_MAX_LENGTH, VERIFIED_OPTION_VALUE } from './ids.js';
import { bulkMoreText, bulkVerifiedText } from './messages.js';
import { escapeAndTruncate, truncate } from './mrkdwn.js';
import { readModalValues } from './modal-values.js';

/**
 * **Confirm all fenced…**'s modal: the group's pending hosts in a
 * multi-select (all preselected; the approver may remove some), one fencing
 * method for them all, an optional note, and the required box naming how
 * many hosts the form lists ("I verified these 12 hosts are powered off or
 * isolated").
 *
 * The box names the count at open time, and a submission may keep fewer
 * hosts: the select offers only the hosts the box names, so whatever stays
 * selected is among the hosts the approver said they verified (the box is
 * never re-worded as the selection changes, which Slack would need a
 * round-trip for). An empty selection is refused.
 *
 * "Power off now via the BMC" is not offered here: powering off many hosts
 * is a decision per BMC, made on each host's own card (its modal reads the
 * BMC first). Hosts with a BMC still get the worker's BMC check when the
 * method is "BMC power-off": it refuses while the BMC does not read Off.
 *
 * Slack's limits: at most 100 options (the use case lists at most
 * {@link BULK_MAX_HOSTS}, and the modal says how many more are left for the
 * next form), option text 75 characters, private_metadata 3,000.
 */

export interface BulkModalInput {
  group: string;
  /** The form's single-use nonce, recorded on each of `requests`. */
  form: string;
  /** The hosts the form lists (sorted), at most 100. */
  requests: readonly ForceDownRequest[];
  /** Pending hosts left for the next form. */
  more: number;
}

/** What the modal's `private_metadata` carries: the group, the form's nonce, and how many hosts the box names. */
export interface BulkMetadata {
  group: string;
  form: string;
  count: number;
}

const metadataSchema = z.object({ group: z.string().min(1).max(200), form: z.string().min(1).max(200), count: z.int().min(1).max(100) });

export function encodeBulkMetadata(m: BulkMetadata): string {
  return JSON.stringify({ group: m.group, form: m.form, count: m.count });
}

/** The modal's metadata, or undefined for anything else. */
export function decodeBulkMetadata(privateMetadata: unknown): BulkMetadata | undefined {
  if (typeof privateMetadata !== 'string') return undefined;
  try {
    const parsed = metadataSchema.safeParse(JSON.parse(privateMetadata));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const hostOption = (r: ForceDownRequest): types.PlainTextOption => ({ text: plain(truncate(r.host, LIMITS.optionText), LIMITS.optionText), value: r.id });

export function bulkModal(input: BulkModalInput): ModalView {
  const n = input.requests.length;
  const options = input.requests.slice(0, 100).map(hostOption);
  const clouds = [...new Set(input.requests.map((r) => r.cloud))].sort().map((c) => `*${escapeAndTruncate(c, 100)}*`).join(', ');
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: mrkdwn(
        `Forcing a host down tells Nova it may evacuate its instances at once; a host still running would run them twice. ` +
          `Fence every host below first (power, PDU or network). Each one is then checked and forced down on its own, as if confirmed alone: ` +
          `force-down watches its heartbeat (and reads its BMC, where configured) and refuses a host Nova still hears from.`,
      ),
    },
    { type: 'context', elements: [mrkdwn(`Cloud ${clouds} · ${n} ${n === 1 ? 'host' : 'hosts'} in this form`)] },
  ];
  if (input.more > 0) blocks.push({ type: 'context', elements: [mrkdwn(`⚠️ ${bulkMoreText(input.more)}`)] });
  blocks.push(
    {
      type: 'input',
      block_id: BULK_INPUTS.hosts.blockId,
      label: plain('Hosts to force down (remove any that is not fenced)', 2000),
      element: {
        type: 'multi_static_select',
        action_id: BULK_INPUTS.hosts.actionId,
        placeholder: plain('Hosts', 150),
        options,
        initial_options: options,
      },
    },
    {
      type: 'input',
      block_id: BULK_INPUTS.method.blockId,
      label: plain('How were they fenced?', 2000),
      hint: plain('"Power off now via the BMC" is on each host\'s own Confirm fenced… only.', 2000),
      element: {
        type: 'static_select',
        action_id: BULK_INPUTS.method.actionId,
        placeholder: plain('Fencing method', 150),
        options: (Object.entries(FENCING_METHODS) as [FencingMethod, string][]).map(([value, text]) => ({ text: plain(text, LIMITS.optionText), value })),
      },
    },
    {
      type: 'input',
      block_id: BULK_INPUTS.verified.blockId,
      label: plain('Fence confirmation', 2000),
      element: {
        type: 'checkboxes',
        action_id: BULK_INPUTS.verified.actionId,
        options: [{ text: plain(bulkVerifiedText(n), LIMITS.optionText), value: VERIFIED_OPTION_VALUE }],
      },
    },
    {
      type: 'input',
      block_id: BULK_INPUTS.note.blockId,
      optional: true,
      label: plain('Note', 2000),
      hint: plain('Recorded with each host\'s confirmation. Required for "other".', 2000),
      element: { type: 'plain_text_input', action_id: BULK_INPUTS.note.actionId, multiline: true, max_length: NOTE_MAX_LENGTH, placeholder: plain('e.g. ticket, rack PDU switched off', 150) },
    },
  );
  return {
    type: 'modal',
    callback_id: BULK_MODAL_CALLBACK_ID,
    private_metadata: encodeBulkMetadata({ group: input.group, form: input.form, count: Math.max(1, Math.min(100, n)) }),
    title: plain('Confirm all fenced', LIMITS.modalTitle),
    submit: plain(`Force down ${n} ${n === 1 ? 'host' : 'hosts'}`, LIMITS.modalButton),
    close: plain('Close', LIMITS.modalButton),
    blocks,
  };
}

export type BulkSubmission =
  | { ok: true; ids: string[]; method: FencingMethod; note?: string }
  /** Keyed by block_id: answer `ack({ response_action: 'errors', errors })`. */
  | { ok: false; errors: Record<string, string> };

/**
 * Checks the bulk modal's submission: at least one host (at most `count`,
 * the hosts the box names), a fencing method, the ticked box, a note for
 * "other". Never throws.
 */
export function validateBulkSubmission(values: unknown, count: number): BulkSubmission {
  const state = readModalValues(values);
  const input = (ids: { blockId: string; actionId: string }) => state[ids.blockId]?.[ids.actionId];
  const errors: Record<string, string> = {};

  const ids = [...new Set((input(BULK_INPUTS.hosts)?.selected_options ?? []).map((o) => o.value))];
  if (ids.length === 0) errors[BULK_INPUTS.hosts.blockId] = 'Keep at least one host: the ones you verified are fenced.';
  else if (ids.length > count) errors[BULK_INPUTS.hosts.blockId] = `This form confirms at most the ${count} hosts it lists.`;

  const chosen = input(BULK_INPUTS.method)?.selected_option?.value;
  const method = chosen && isFencingMethod(chosen) ? chosen : undefined;
  if (!method) errors[BULK_INPUTS.method.blockId] = 'Choose how the hosts were fenced.';

  const ticked = input(BULK_INPUTS.verified)?.selected_options?.some((o) => o.value === VERIFIED_OPTION_VALUE) ?? false;
  if (!ticked) errors[BULK_INPUTS.verified.blockId] = 'Tick the box once you have verified every selected host is powered off or isolated. Without a fence, evacuated instances could run twice.';

  const note = input(BULK_INPUTS.note)?.value?.trim() || undefined;
  if (note && note.length > NOTE_MAX_LENGTH) errors[BULK_INPUTS.note.blockId] = `Keep the note under ${NOTE_MAX_LENGTH} characters.`;
  else if (method === 'other' && !note) errors[BULK_INPUTS.note.blockId] = 'Say how the hosts were fenced: the method is "other".';

  if (Object.keys(errors).length > 0 || !method) return { ok: false, errors };
  return { ok: true, ids, method, ...(note ? { note } : {}) };
}
