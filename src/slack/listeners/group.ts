import type { App } from '@slack/bolt';
import { cancelGroup, confirmMany, openBulkConfirmation, type BulkRefused } from '../../app/bulk.js';
import { bulkModal, decodeBulkMetadata, validateBulkSubmission } from '../bulk-blocks.js';
import { BULK_INPUTS, BULK_MAX_HOSTS, BULK_MODAL_CALLBACK_ID, GROUP_ACTION_IDS } from '../ids.js';
import { BULK_NOT_AUTHORIZED_TEXT, cancelAllNothingText, FORM_OUT_OF_DATE_TEXT, refusalText } from '../messages.js';
import { escapeAndTruncate } from '../mrkdwn.js';
import { VIEWS_OPEN_FAILED_TEXT } from './actions.js';
import { type ListenerDeps, refusalContext } from './deps.js';

/** Why a bulk action did not take a host, in the single card's words. */
function refusedText(r: BulkRefused | { refusal: BulkRefused['refusal']; request?: BulkRefused['request'] }, attempted: 'confirm' | 'cancel'): string {
  return r.request ? refusalText(r.refusal, { ...refusalContext(r.request), attempted }) : 'This card no longer exists.';
}

/** Host names for a short answer: the first few, then "and N more". */
function hostsOf(refused: readonly BulkRefused[], max = 10): string {
  const names = refused.map((r) => `*${escapeAndTruncate(r.request?.host ?? r.id, 100)}*`);
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * A grouped card's own buttons (group-card.ts): **Confirm all fenced…**
 * opens the bulk modal (views.open on the api path; no Nova call), its
 * submission confirms each selected host through the use case; **Cancel
 * all…** (after Slack's confirm dialog) cancels every pending row. The use
 * cases (src/app/bulk.ts) alone decide who may.
 */
export function register(app: App, { deps, groups }: ListenerDeps): void {
  app.action(GROUP_ACTION_IDS.confirmAll, async ({ ack, body, action, client, respond }) => {
    await ack();
    const group = action.type === 'button' ? action.value : undefined;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!group) return void (await tell('This card no longer exists.'));
    if (!('trigger_id' in body) || !body.trigger_id) return;
    const opened = await openBulkConfirmation(deps, { group, userId: body.user.id, userGroups: await groups(body.user.id), limit: BULK_MAX_HOSTS });
    if (opened.kind === 'refused') {
      const text =
        opened.refusal === 'ALREADY_HANDLED'
          ? 'No host of this card is waiting for a confirmation any more.'
          : opened.refusal === 'NOT_AUTHORIZED'
            ? BULK_NOT_AUTHORIZED_TEXT
            : refusedText(opened, 'confirm');
      return void (await tell(text));
    }
    try {
      await client.views.open({ trigger_id: body.trigger_id, view: bulkModal({ group, form: opened.form, requests: opened.requests, more: opened.more }) });
    } catch (err) {
      await tell(VIEWS_OPEN_FAILED_TEXT).catch(() => undefined);
      throw err;
    }
  });

  app.action(GROUP_ACTION_IDS.cancelAll, async ({ ack, body, action, respond }) => {
    await ack();
    const group = action.type === 'button' ? action.value : undefined;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!group) return void (await tell('This card no longer exists.'));
    const res = await cancelGroup(deps, { group, userId: body.user.id, userGroups: await groups(body.user.id) });
    if ('kind' in res) return void (await tell('This card no longer exists.'));
    if (res.cancelled.length + res.expired.length === 0) {
      const notAllowed = res.refused.filter((r) => r.refusal === 'NOT_AUTHORIZED');
      return void (await tell(notAllowed.length > 0 ? cancelAllNothingText(notAllowed.length) : cancelAllNothingText(0)));
    }
    // The card and its thread say what was cancelled; only what was left alone is told here.
    if (res.refused.length > 0) await tell(`Not cancelled: ${hostsOf(res.refused)} (${refusedText(res.refused[0]!, 'cancel')})`);
  });

  app.view(BULK_MODAL_CALLBACK_ID, async ({ ack, body, view }) => {
    const modalError = (text: string) => ack({ response_action: 'errors', errors: { [BULK_INPUTS.verified.blockId]: text } });
    const meta = decodeBulkMetadata(view.private_metadata);
    if (!meta) return modalError(FORM_OUT_OF_DATE_TEXT);
    const submission = validateBulkSubmission(view.state.values, meta.count);
    if (!submission.ok) return ack({ response_action: 'errors', errors: submission.errors });
    const res = await confirmMany(deps, {
      group: meta.group,
      ids: submission.ids,
      form: meta.form,
      userId: body.user.id,
      userGroups: await groups(body.user.id),
      method: submission.method,
      ...(submission.note ? { note: submission.note } : {}),
    });
    // Some confirmed: the modal closes and the card shows each host as it goes. None: say why, in the modal.
    if (res.confirmed.length > 0) return ack();
    const first = res.refused[0];
    return modalError(first ? refusedText(first, 'confirm') : FORM_OUT_OF_DATE_TEXT);
  });
}
