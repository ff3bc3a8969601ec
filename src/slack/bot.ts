// Named imports: Node's ESM loader hands a CJS module's whole `exports` to a default import, but
// loaders that honour `__esModule` (vitest, some bundlers) hand over Bolt's `exports.default`, the App class.
import { App, LogLevel, type Receiver, type ReceiverEvent } from '@slack/bolt';
import type { AppDeps } from '../app/ports.js';
import { parseSlackEnvelope } from './envelope.js';
import { register as registerActions } from './listeners/actions.js';
import { register as registerCommands } from './listeners/commands.js';
import { register as registerEvacuation } from './listeners/evacuation.js';
import { register as registerGroup } from './listeners/group.js';
import type { ListenerDeps } from './listeners/deps.js';
import { register as registerViews } from './listeners/views.js';

export { VIEWS_OPEN_FAILED_TEXT } from './listeners/actions.js';

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

/**
 * The Bolt app, its receiver, and the listeners of src/slack/listeners/
 * (commands, actions, views), each a few lines calling a use case of
 * src/app/requests.ts that authorizes, records and enqueues. They never call
 * Nova (the worker does); the only Slack call on this path is views.open,
 * which needs the click's trigger_id within 3 s.
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

  // Listed approvers need no group lookup; the use cases alone decide who may approve or cancel.
  const groups = async (userId: string) => (deps.policy.approverUsers.has(userId) ? new Set<string>() : opts.groupsOf(userId));
  const listenerDeps: ListenerDeps = { deps, groups };
  registerCommands(app, listenerDeps);
  registerActions(app, listenerDeps);
  registerViews(app, listenerDeps);
  registerEvacuation(app, listenerDeps);
  registerGroup(app, listenerDeps);

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
