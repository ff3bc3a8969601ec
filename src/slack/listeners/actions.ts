import type { App } from '@slack/bolt';
import { errorName } from '../../app/outcomes.js';
import { cancelRequest, openConfirmationForm } from '../../app/requests.js';
import { fenceModal } from '../blocks.js';
import { ACTION_IDS } from '../ids.js';
import { refusalText } from '../messages.js';
import { type ListenerDeps, refusalContext } from './deps.js';

/** Ephemeral answer when Slack did not open the confirmation modal. */
export const VIEWS_OPEN_FAILED_TEXT = 'Slack did not open the confirmation form just now (it is busy or rate-limiting us). Nothing has changed: press the button again.';

/** The card's buttons: Confirm… / Retry… (open the confirmation modal) and Cancel. */
export function register(app: App, { deps, groups }: ListenerDeps): void {
  const openModal: Parameters<typeof app.action>[1] = async ({ ack, body, action, client, respond }) => {
    await ack();
    const id = action.type === 'button' ? action.value : undefined;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!id) return void (await tell('This request no longer exists.'));
    // Slack sends a trigger_id with every click: without one there is no modal to open (and no form to record).
    if (!('trigger_id' in body) || !body.trigger_id) return;
    // Checks as a confirmation would, then records the new form's single-use nonce on the request.
    const opened = await openConfirmationForm(deps, { id, userId: body.user.id, userGroups: await groups(body.user.id) });
    if (opened.kind === 'refused') {
      const r = opened.request;
      return void (await tell(r ? refusalText(opened.refusal, { ...refusalContext(r), attempted: 'confirm' }) : 'This request no longer exists.'));
    }
    const { request, form } = opened;
    let viewId: string | undefined;
    try {
      // Whether the host has a BMC is configuration only (no BMC call here): it offers "Power off now".
      const hasBmc = deps.bmc?.(request.cloud, request.host) !== undefined;
      viewId = (await client.views.open({ trigger_id: body.trigger_id, view: fenceModal(request, undefined, form, hasBmc) })).view?.id;
    } catch (err) {
      // Without this the click would just do nothing. Then on to the error handler (logs, token check).
      await tell(VIEWS_OPEN_FAILED_TEXT).catch(() => undefined);
      throw err;
    }
    // The api never calls Nova nor a BMC: the worker reads the host's last heartbeat (and its BMC) and updates the open modal (same form).
    if (viewId && request.action === 'force-down') {
      await deps.enqueue({ kind: 'check-modal', id: request.id, viewId, form }).catch((err: unknown) =>
        deps.log.warn('modal heartbeat check not enqueued', { requestId: request.id, error: errorName(err) }),
      );
    }
  };
  app.action(ACTION_IDS.confirmFenced, openModal);
  app.action(ACTION_IDS.confirmRecovered, openModal);

  app.action(ACTION_IDS.cancelRequest, async ({ ack, body, action, respond }) => {
    await ack();
    const id = action.type === 'button' ? action.value : undefined;
    if (!id) return;
    const res = await cancelRequest(deps, { id, userId: body.user.id, userGroups: await groups(body.user.id) });
    if (res.kind === 'refused') {
      const r = res.request;
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: r ? refusalText(res.refusal, { ...refusalContext(r), attempted: 'cancel' }) : 'This request no longer exists.',
      });
    }
  });
}
