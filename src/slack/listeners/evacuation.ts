import type { App } from '@slack/bolt';
import { openEvacuationForm, requestEvacuation, type EvacuationFormResult } from '../../app/evacuation-flow.js';
import { errorName } from '../../app/outcomes.js';
import type { EvacuateForm } from '../../app/ports.js';
import type { ForceDownRequest } from '../../domain/request.js';
import { decodeEvacuateMetadata, evacuateModal, validateEvacuateSubmission } from '../evacuation-blocks.js';
import { ACTION_IDS, EVACUATE_INPUTS, EVACUATE_MODAL_CALLBACK_ID } from '../ids.js';
import { FORM_OUT_OF_DATE_TEXT, refusalText } from '../messages.js';
import { VIEWS_OPEN_FAILED_TEXT } from './actions.js';
import { type ListenerDeps, refusalContext } from './deps.js';

/** What a refused evacuation form or submission tells the user. */
export function evacuationRefusalText(res: Extract<EvacuationFormResult, { kind: 'refused' }>): string {
  const r = res.request;
  if (!r) return 'This request no longer exists.';
  return refusalText(res.refusal, { ...refusalContext(r), attempted: 'evacuate', ...(res.by ? { handledBy: res.by } : {}) });
}

/**
 * Opens the evacuation modal for `request` (form `form`) with the click's or
 * command's trigger_id, and hands the worker the modal to fill in (the api
 * never calls Nova). Tells the user when Slack did not open it.
 */
export async function openEvacuateModal(
  { deps }: ListenerDeps,
  client: Parameters<Parameters<App['action']>[1]>[0]['client'],
  triggerId: string,
  request: ForceDownRequest,
  form: EvacuateForm,
  tell: (text: string) => Promise<unknown>,
): Promise<void> {
  let viewId: string | undefined;
  try {
    viewId = (await client.views.open({ trigger_id: triggerId, view: evacuateModal(request, form) })).view?.id;
  } catch (err) {
    await tell(VIEWS_OPEN_FAILED_TEXT).catch(() => undefined);
    throw err;
  }
  if (viewId) {
    await deps.enqueue({ kind: 'check-evacuate-modal', id: request.id, viewId, round: form.round }).catch((err: unknown) =>
      deps.log.warn('evacuation modal check not enqueued', { requestId: request.id, error: errorName(err) }),
    );
  }
}

/** The card's **Evacuate N instances…** and **Retry failed…** buttons, and the evacuation modal's submission. */
export function register(app: App, listenerDeps: ListenerDeps): void {
  const { deps, groups } = listenerDeps;
  const open =
    (retry: boolean): Parameters<typeof app.action>[1] =>
    async ({ ack, body, action, client, respond }) => {
      await ack();
      const id = action.type === 'button' ? action.value : undefined;
      const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
      if (!id) return void (await tell('This request no longer exists.'));
      if (!('trigger_id' in body) || !body.trigger_id) return;
      const res = await openEvacuationForm(deps, { id, userId: body.user.id, userGroups: await groups(body.user.id), retry });
      if (res.kind === 'refused') return void (await tell(evacuationRefusalText(res)));
      await openEvacuateModal(listenerDeps, client, body.trigger_id, res.request, res.form, tell);
    };
  app.action(ACTION_IDS.evacuate, open(false));
  app.action(ACTION_IDS.retryEvacuation, open(true));

  app.view(EVACUATE_MODAL_CALLBACK_ID, async ({ ack, body, view }) => {
    const modalError = (text: string) => ack({ response_action: 'errors', errors: { [EVACUATE_INPUTS.confirm.blockId]: text } });
    const meta = decodeEvacuateMetadata(view.private_metadata);
    if (!meta) return modalError(FORM_OUT_OF_DATE_TEXT);
    const request = await deps.store.get(meta.id);
    if (!request) return modalError('This request no longer exists.');
    const submission = validateEvacuateSubmission(view.state.values, { retry: meta.round > 0, host: request.host });
    if (!submission.ok) return ack({ response_action: 'errors', errors: submission.errors });
    const res = await requestEvacuation(deps, {
      id: meta.id,
      userId: body.user.id,
      userGroups: await groups(body.user.id),
      form: { round: meta.round },
      scope: submission.scope,
      ...(submission.target !== undefined ? { target: submission.target } : {}),
    });
    if (res.kind === 'done') return ack();
    return modalError(evacuationRefusalText(res));
  });
}
