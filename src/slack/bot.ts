// Named imports: Node's ESM loader hands a CJS module's whole `exports` to a default import, but
// loaders that honour `__esModule` (vitest, some bundlers) hand over Bolt's `exports.default`, the App class.
import { App, LogLevel, type Receiver, type ReceiverEvent } from '@slack/bolt';
import type { AppDeps } from '../app/ports.js';
import { cancelRequest, confirmRequest, openConfirmationForm, openRequest } from '../app/requests.js';
import type { ForceDownRequest } from '../domain/request.js';
import { fenceModal, helpText, validateFenceSubmission } from './blocks.js';
import { parseSlashCommand } from './command.js';
import { decodeModalMetadata, parseSlackEnvelope } from './envelope.js';
import { ACTION_IDS, FENCE_MODAL_CALLBACK_ID, MODAL_INPUTS } from './ids.js';
import { FORM_OUT_OF_DATE_TEXT, openRequestExistsText, refusalText } from './messages.js';

export interface SlackBotOptions {
  botToken: string;
  slackApiUrl: string;
  deps: AppDeps;
  /** Which approver user groups the user is in (cached Slack lookup). */
  groupsOf: (userId: string) => Promise<ReadonlySet<string>>;
  /** Also told about a listener's failure (the runtime re-reads the secret when Slack refused the token). */
  onError?: (err: unknown) => void;
}

/** One verified Slack request (headers lower-cased, content type without parameters). */
export interface SlackHttpEvent {
  rawPath: string;
  headers: Record<string, string>;
  body: string;
}

export interface SlackHttpResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

export interface SlackBot {
  /**
   * Parses one verified Slack request ({@link parseSlackEnvelope}: anything but
   * one slash command, interaction or bare ssl_check is a 400 with a short
   * JSON error, before any listener) and hands the parsed envelope to Bolt;
   * resolves when the listener is done.
   */
  handle(event: SlackHttpEvent): Promise<SlackHttpResponse>;
}

/**
 * Bolt's receiver, reduced to handing over an envelope already parsed: Bolt
 * never sees the raw body, so what the listeners (and Bolt's respond(), on
 * the response_url) read is exactly what {@link parseSlackEnvelope} checked.
 * Answers as Bolt's AwsLambdaReceiver did: the ack's body, 404 when no
 * listener acked, 500 only if Bolt itself throws.
 */
class EnvelopeReceiver implements Receiver {
  private app: App | undefined;

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async dispatch(body: Record<string, unknown>, headers: Record<string, string>): Promise<SlackHttpResponse> {
    let acked = false;
    let stored: unknown;
    const retryNum = Number(headers['x-slack-retry-num']);
    const event: ReceiverEvent = {
      body,
      ack: async (response?: unknown) => {
        if (acked) return; // one answer per request; a listener never acks twice
        acked = true;
        stored = response ?? '';
      },
      ...(Number.isInteger(retryNum) ? { retryNum } : {}),
      ...(headers['x-slack-retry-reason'] ? { retryReason: headers['x-slack-retry-reason'] } : {}),
    };
    try {
      await this.app?.processEvent(event);
    } catch {
      return { statusCode: 500, body: 'Internal server error' };
    }
    if (!acked) return { statusCode: 404, body: '' };
    if (typeof stored === 'string') return { statusCode: 200, body: stored };
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(stored) };
  }
}

/** Retries of Bolt's own Web API client (views.open on the api path): one, after 200 ms. */
const VIEWS_OPEN_RETRIES = { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 200 };

/** Ephemeral answer when Slack did not open the confirmation modal. */
export const VIEWS_OPEN_FAILED_TEXT = 'Slack did not open the confirmation form just now (it is busy or rate-limiting us). Nothing has changed: press the button again.';

/**
 * The Bolt app: listeners that verify, authorize, record, enqueue and ack.
 * They never call Nova (the worker does); the only Slack call on this path
 * is views.open, which needs the click's trigger_id within 3 s.
 * The caller has already checked the request signature (stricter than Bolt's).
 */
export function createSlackBot(opts: SlackBotOptions): SlackBot {
  const { deps } = opts;
  // Our router checks signatures (future timestamps included), this bot the envelope.
  const receiver = new EnvelopeReceiver();
  const app = new App({
    receiver,
    // An authorize function instead of `token`: Bolt then never calls auth.test (not at start, not per event).
    authorize: async () => ({ botToken: opts.botToken }),
    // This client serves the api path only (views.open), where Slack gives up after 3 s and a
    // trigger_id lives 3 s: one quick retry of a 5xx or network error, ≤ 1 s per attempt, and a
    // 429 fails at once instead of waiting out Retry-After (the clicker is told to press again).
    clientOptions: { slackApiUrl: opts.slackApiUrl, retryConfig: VIEWS_OPEN_RETRIES, rejectRateLimitedCalls: true, timeout: 1_000 },
    logLevel: LogLevel.ERROR,
  });

  const groups = async (userId: string) => (deps.policy.approverUsers.has(userId) ? new Set<string>() : opts.groupsOf(userId));
  /** Everything refusalText may need to explain a refusal about `r`. */
  const ctx = (r: ForceDownRequest) => ({
    host: r.host,
    action: r.action,
    cloud: r.cloud,
    requestedBy: r.requestedBy,
    expiresAt: r.expiresAt,
    ...(r.confirmation ? { handledBy: r.confirmation.by } : {}),
    ...(r.state === 'approved' ? { confirmed: true } : {}),
  });

  /** The card's message link, as Slack builds it (https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>). */
  const cardLink = (teamDomain: string | undefined, r: ForceDownRequest): string | undefined =>
    teamDomain && /^[a-z0-9-]+$/i.test(teamDomain) && r.messageTs && /^\d+\.\d+$/.test(r.messageTs) && /^[CGD][A-Z0-9]+$/.test(r.channel)
      ? `https://${teamDomain}.slack.com/archives/${r.channel}/p${r.messageTs.replace('.', '')}`
      : undefined;

  app.command(/^\/force-down/, async ({ command, ack }) => {
    const parsed = parseSlashCommand(command.text ?? '');
    const ephemeral = (text: string) => ack({ response_type: 'ephemeral', text });
    switch (parsed.kind) {
      case 'help':
        return ephemeral(parsed.error ? `${parsed.error}\n\n${helpText()}` : helpText());
      case 'status':
      case 'list': {
        const cloud = parsed.cloud ?? deps.defaultCloud;
        if (!deps.nova(cloud)) return ephemeral(refusalText('UNKNOWN_CLOUD', { host: parsed.kind === 'status' ? parsed.host : '', action: 'force-down', cloud }));
        await deps.enqueue(
          parsed.kind === 'status'
            ? { kind: 'status', host: parsed.host, cloud, responseUrl: command.response_url }
            : { kind: 'list', cloud, responseUrl: command.response_url },
        );
        return ephemeral(parsed.kind === 'status' ? `Asking Nova about *${parsed.host}*…` : 'Asking Nova for down and forced-down compute services…');
      }
      case 'open': {
        const res = await openRequest(deps, {
          ...(parsed.cloud ? { cloud: parsed.cloud } : {}),
          host: parsed.host,
          binary: parsed.binary,
          action: parsed.action,
          origin: { kind: 'slash', userId: command.user_id, channelId: command.channel_id },
          requestedBy: command.user_id,
          channel: command.channel_id,
          ...(parsed.reason ? { reason: parsed.reason } : {}),
        });
        if (res.kind === 'opened') return ack();
        if (res.kind === 'exists') return ephemeral(openRequestExistsText(res.request.host, res.request.action, cardLink(command.team_domain, res.request)));
        return ephemeral(refusalText(res.refusal, { host: parsed.host, action: parsed.action, ...(parsed.cloud ? { cloud: parsed.cloud } : {}) }));
      }
    }
  });

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
      return void (await tell(r ? refusalText(opened.refusal, { ...ctx(r), attempted: 'confirm' }) : 'This request no longer exists.'));
    }
    const { request, form } = opened;
    let viewId: string | undefined;
    try {
      viewId = (await client.views.open({ trigger_id: body.trigger_id, view: fenceModal(request, undefined, form) })).view?.id;
    } catch (err) {
      // Without this the click would just do nothing. Then on to the error handler (logs, token check).
      await tell(VIEWS_OPEN_FAILED_TEXT).catch(() => undefined);
      throw err;
    }
    // The api never calls Nova: the worker reads the host's last heartbeat and updates the open modal (same form).
    if (viewId && request.action === 'force-down') {
      await deps.enqueue({ kind: 'check-modal', id: request.id, viewId, form }).catch((err: unknown) =>
        deps.log.warn('modal heartbeat check not enqueued', { requestId: request.id, error: err instanceof Error ? err.name : 'unknown' }),
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
        text: r ? refusalText(res.refusal, { ...ctx(r), attempted: 'cancel' }) : 'This request no longer exists.',
      });
    }
  });

  app.view(FENCE_MODAL_CALLBACK_ID, async ({ ack, body, view }) => {
    const modalError = (text: string) => ack({ response_action: 'errors', errors: { [MODAL_INPUTS.verified.blockId]: text } });
    // The modal names its request and its form's single-use nonce; a modal without one (opened
    // before nonces, or not by this bot) confirms nothing.
    const meta = decodeModalMetadata(view.private_metadata);
    if (!meta) return modalError(FORM_OUT_OF_DATE_TEXT);
    const { id, nonce: form } = meta;
    const request = await deps.store.get(id);
    if (!request) return modalError('This request no longer exists.');
    const submission = validateFenceSubmission(view.state.values, request.action);
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
    return modalError(refusalText(res.refusal, ctx(r)));
  });

  app.error(async (err) => {
    deps.log.error('slack listener failed', { error: err.name, code: (err as { code?: string }).code });
    opts.onError?.(err);
  });

  return {
    async handle(event) {
      const parsed = parseSlackEnvelope(event.body, event.headers['content-type'], opts.slackApiUrl);
      if (!parsed.ok) {
        deps.log.warn('slack request refused', { reason: parsed.error });
        return { statusCode: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: parsed.error }) };
      }
      const { envelope } = parsed;
      // Slack checking the certificate of the slash command's URL: answered at once, nothing else.
      if (envelope.kind === 'ssl_check') return { statusCode: 200, body: '' };
      return receiver.dispatch(envelope.body as Record<string, unknown>, event.headers);
    },
  };
}
