// Named imports: Node's ESM loader hands a CJS module's whole `exports` to a default import, but
// loaders that honour `__esModule` (vitest, some bundlers) hand over Bolt's `exports.default`, the App class.
import { parse as parseQuery } from 'node:querystring';
import { App, AwsLambdaReceiver, LogLevel } from '@slack/bolt';
import { z } from 'zod';
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
  /** Also told about a listener's failure (the runtime re-reads the secret when Slack refused the token). */
  onError?: (err: unknown) => void;
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

const text = z.string();
const user = z.looseObject({ id: text });
const idObject = z.looseObject({ id: text });
/** What Bolt and our listeners read of an interaction, so that any other shape is a 400, never a throw (→ 500) inside Bolt. */
const interaction = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('block_actions'),
    user,
    team: idObject.nullable().optional(),
    enterprise: idObject.nullable().optional(),
    channel: idObject.optional(),
    container: z.looseObject({}).optional(),
    message: z.looseObject({}).optional(),
    trigger_id: text.optional(),
    response_url: text.optional(),
    actions: z.array(z.looseObject({ action_id: text, type: text, block_id: text.optional(), value: text.optional() })).min(1),
  }),
  z.looseObject({
    type: z.literal('view_submission'),
    user,
    team: idObject.nullable().optional(),
    enterprise: idObject.nullable().optional(),
    view: z.looseObject({ callback_id: text, private_metadata: text.optional(), state: z.looseObject({ values: z.record(text, z.unknown()) }).optional() }),
  }),
]);
/** A slash command's form fields (each exactly once: a repeated field parses as an array). */
const slashCommand = z.looseObject({ command: text, text: text.optional(), user_id: text, channel_id: text, response_url: text, trigger_id: text.optional(), team_id: text.optional() });

/** Hosts Slack's response_urls live on (commercial and GovSlack). */
const SLACK_RESPONSE_HOSTS = new Set(['hooks.slack.com', 'hooks.slack-gov.com']);

/**
 * Whether a (signature-checked) Slack request has a shape force-down handles:
 * a slash command, an `ssl_check`, or a block_actions / view_submission
 * interaction, with the fields the listeners read. Slack sends nothing else
 * to this app (no Events API, shortcuts or external selects).
 *
 * A `response_url` must be Slack's (https on hooks.slack.com, or on the
 * host of `slackApiUrl`, which tests point at a fake): the worker and Bolt
 * POST to it, and a signed request naming any other URL (someone holding the
 * signing secret) must not make them post Nova's view of hosts elsewhere.
 */
export function isHandledSlackBody(body: string, contentType: string | undefined, slackApiUrl = 'https://slack.com/api/'): boolean {
  if ((contentType ?? '').split(';')[0]!.trim() !== 'application/x-www-form-urlencoded') return false;
  const form = parseQuery(body);
  if (form.ssl_check !== undefined) return true;
  const slackUrl = (url: unknown) => {
    if (url === undefined) return true;
    try {
      const u = new URL(String(url));
      const api = new URL(slackApiUrl);
      return (u.protocol === 'https:' && SLACK_RESPONSE_HOSTS.has(u.host)) || (u.protocol === api.protocol && u.host === api.host);
    } catch {
      return false;
    }
  };
  if (form.command !== undefined) {
    const parsed = slashCommand.safeParse(form);
    return parsed.success && slackUrl(parsed.data.response_url);
  }
  if (typeof form.payload !== 'string') return false;
  try {
    const parsed = interaction.safeParse(JSON.parse(form.payload));
    return parsed.success && slackUrl((parsed.data as { response_url?: unknown }).response_url);
  } catch {
    return false;
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
  const receiver = new AwsLambdaReceiver({
    signingSecret: 'verified-by-the-router', // our router checks signatures, future timestamps included
    signatureVerification: false,
    logLevel: LogLevel.ERROR,
  });
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
    let viewId: string | undefined;
    try {
      viewId = (await client.views.open({ trigger_id: body.trigger_id, view: fenceModal(request) })).view?.id;
    } catch (err) {
      // Without this the click would just do nothing. Then on to the error handler (logs, token check).
      await tell(VIEWS_OPEN_FAILED_TEXT).catch(() => undefined);
      throw err;
    }
    // The api never calls Nova: the worker reads the host's last heartbeat and updates the open modal.
    if (viewId && request.action === 'force-down') {
      await deps.enqueue({ kind: 'check-modal', id: request.id, viewId }).catch((err: unknown) =>
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
    opts.onError?.(err);
  });

  const handler = receiver.toHandler();
  return {
    async handle(event) {
      if (!isHandledSlackBody(event.body, event.headers['content-type'], opts.slackApiUrl)) {
        return { statusCode: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"not a Slack request this app handles"}' };
      }
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
