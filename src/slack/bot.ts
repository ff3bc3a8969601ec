// Named imports: Node's ESM loader hands a CJS module's whole `exports` to a default import, but
// loaders that honour `__esModule` (vitest, some bundlers) hand over Bolt's `exports.default`, the App class.
import { App, AwsLambdaReceiver, LogLevel } from '@slack/bolt';
import type { AppDeps } from '../app/ports.js';
import { cancelRequest, confirmRequest, expireIfDue, openRequest } from '../app/requests.js';
import { checkApprover, isExpired } from '../domain/policy.js';
import { fromStates, type ForceDownRequest } from '../domain/request.js';
import { fenceModal, helpText, validateFenceSubmission } from './blocks.js';
import { parseSlashCommand } from './command.js';
import { ACTION_IDS, FENCE_MODAL_CALLBACK_ID, MODAL_INPUTS } from './ids.js';
import { openRequestExistsText, refusalText } from './messages.js';

export interface SlackBotOptions {
  botToken: string;
  slackApiUrl: string;
  deps: AppDeps;
  /** Which approver user groups the user is in (cached Slack lookup). */
  groupsOf: (userId: string) => Promise<ReadonlySet<string>>;
}

/** The shape Bolt's AwsLambdaReceiver takes (API Gateway HTTP API, payload v2). */
export interface SlackHttpEvent {
  rawPath: string;
  headers: Record<string, string>;
  body: string;
}

export interface SlackBot {
  /** Hands one verified Slack request to Bolt; resolves when the listener acked. */
  handle(event: SlackHttpEvent): Promise<{ statusCode: number; headers?: Record<string, string>; body: string }>;
}

/**
 * The Bolt app: listeners that verify, authorize, record, enqueue and ack.
 * They never call Nova (the worker does); the only Slack call on this path
 * is views.open, which needs the click's trigger_id within 3 s.
 * The caller has already checked the request signature (stricter than Bolt's).
 */
export function createSlackBot(opts: SlackBotOptions): SlackBot {
  const { deps } = opts;
  const receiver = new AwsLambdaReceiver({
    signingSecret: 'verified-by-the-router', // our router checks signatures, future timestamps included
    signatureVerification: false,
    logLevel: LogLevel.ERROR,
  });
  const app = new App({
    receiver,
    // An authorize function instead of `token`: Bolt then never calls auth.test (not at start, not per event).
    authorize: async () => ({ botToken: opts.botToken }),
    clientOptions: { slackApiUrl: opts.slackApiUrl },
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
  });

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
        if (res.kind === 'exists') return ephemeral(openRequestExistsText(res.request.host, res.request.action));
        return ephemeral(refusalText(res.refusal, { host: parsed.host, action: parsed.action, ...(parsed.cloud ? { cloud: parsed.cloud } : {}) }));
      }
    }
  });

  const openModal: Parameters<typeof app.action>[1] = async ({ ack, body, action, client, respond }) => {
    await ack();
    const id = action.type === 'button' ? action.value : undefined;
    const request = id ? await deps.store.get(id) : undefined;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!request) return void (await tell('This request no longer exists.'));
    const open = fromStates('approved').includes(request.state);
    if (request.state === 'expired' || (open && isExpired(request, deps.now()))) {
      // The sweep runs once a minute: a click in between marks the request expired at once,
      // so its card stops offering buttons that can only be refused.
      await expireIfDue(deps, request);
      return void (await tell(refusalText('REQUEST_EXPIRED', ctx(request))));
    }
    if (!open) return void (await tell(refusalText('ALREADY_HANDLED', ctx(request))));
    const refusal = checkApprover(deps.policy, request, body.user.id, await groups(body.user.id));
    if (refusal) return void (await tell(refusalText(refusal, { ...ctx(request), attempted: 'confirm' })));
    if (!('trigger_id' in body)) return;
    await client.views.open({ trigger_id: body.trigger_id, view: fenceModal(request) });
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
    const id = view.private_metadata;
    const request = await deps.store.get(id);
    if (!request) return ack({ response_action: 'errors', errors: { [MODAL_INPUTS.verified.blockId]: 'This request no longer exists.' } });
    const submission = validateFenceSubmission(view.state.values, request.action);
    if (!submission.ok) return ack({ response_action: 'errors', errors: submission.errors });
    const res = await confirmRequest(deps, {
      id,
      userId: body.user.id,
      userGroups: await groups(body.user.id),
      ...(submission.method ? { method: submission.method } : {}),
      ...(submission.note ? { note: submission.note } : {}),
    });
    if (res.kind === 'done') return ack();
    const r = res.request ?? request;
    return ack({
      response_action: 'errors',
      errors: { [MODAL_INPUTS.verified.blockId]: refusalText(res.refusal, ctx(r)) },
    });
  });

  app.error(async (err) => {
    deps.log.error('slack listener failed', { error: err.name, code: (err as { code?: string }).code });
  });

  const handler = receiver.toHandler();
  return {
    async handle(event) {
      const res = await handler(
        { version: '2.0', rawPath: event.rawPath, headers: event.headers, body: event.body, isBase64Encoded: false, requestContext: { http: { method: 'POST' } } } as never,
        {} as never,
        () => undefined,
      );
      const headers = Object.fromEntries(Object.entries(res.headers ?? {}).map(([k, v]) => [k, String(v)]));
      return { statusCode: res.statusCode, headers, body: res.body ?? '' };
    },
  };
}
