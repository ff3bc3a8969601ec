import type { App } from '@slack/bolt';
import { confirmRequest } from '../../app/requests.js';
import { validateFenceSubmission } from '../blocks.js';
import { decodeModalMetadata } from '../envelope.js';
import { FENCE_MODAL_CALLBACK_ID, MODAL_INPUTS } from '../ids.js';
import { FORM_OUT_OF_DATE_TEXT, refusalText } from '../messages.js';
import { type ListenerDeps, refusalContext } from './deps.js';

/** The confirmation modal's submission: validated, then confirmed by the use case (or errors shown in the modal). */
export function register(app: App, { deps, groups }: ListenerDeps): void {
  app.view(FENCE_MODAL_CALLBACK_ID, async ({ ack, body, view }) => {
    const modalError = (text: string) => ack({ response_action: 'errors', errors: { [MODAL_INPUTS.verified.blockId]: text } });
    // The modal names its request and its form's single-use nonce; a modal without one (opened
    // before nonces, or not by this bot) confirms nothing.
    const meta = decodeModalMetadata(view.private_metadata);
    if (!meta) return modalError(FORM_OUT_OF_DATE_TEXT);
    const { id, nonce: form } = meta;
    const request = await deps.store.get(id);
    if (!request) return modalError('This request no longer exists.');
    // "Power off now" only for a host with a BMC (configuration only, no BMC call).
    const submission = validateFenceSubmission(view.state.values, request.action, { bmc: deps.bmc?.(request.cloud, request.host) !== undefined });
    if (!submission.ok) return ack({ response_action: 'errors', errors: submission.errors });
    const res = await confirmRequest(deps, {
      id,
      form,
      userId: body.user.id,
      userGroups: await groups(body.user.id),
      ...(submission.method ? { method: submission.method } : {}),
      ...(submission.note ? { note: submission.note } : {}),
    });
    if (res.kind === 'done') return ack();
    const r = res.request ?? request;
    return modalError(refusalText(res.refusal, refusalContext(r)));
  });
}
