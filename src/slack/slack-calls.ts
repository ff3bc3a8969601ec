import type { Logger } from '../app/ports.js';
import type { ForceDownRequest } from '../domain/request.js';

/** Slack's platform errors worth another try; any other (invalid_auth, message_not_found…) will not change. */
const TRANSIENT_SLACK_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** A failure that may pass: the network, an HTTP error or rate limit, or one of Slack's transient platform errors. */
export function isTransientSlackError(err: unknown): boolean {
  const platform = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof platform !== 'string' || TRANSIENT_SLACK_ERRORS.has(platform);
}

/**
 * The Slack Web API's reason for a failed call (`invalid_auth`, `http_503`,
 * `ratelimited`, …): the platform error code or the HTTP status, never the
 * error's message (which may quote a URL or a body).
 */
export function slackErrorCode(err: unknown): string {
  const e = err as { code?: unknown; data?: { error?: unknown }; statusCode?: unknown; name?: unknown } | undefined;
  if (typeof e?.data?.error === 'string') return e.data.error;
  if (typeof e?.statusCode === 'number') return `http_${e.statusCode}`;
  if (e?.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : 'unknown';
}

/** Logs a Slack call about `request` that failed: which request, in which state, with which outcome (never the error's text). */
export function logFailedCall(log: Logger, call: string, request: ForceDownRequest, err: unknown, swallowed: boolean): void {
  const data = {
    call,
    requestId: request.id,
    host: request.host,
    action: request.action,
    state: request.state,
    ...(request.outcome ? { outcome: request.outcome.code } : {}),
    slackError: slackErrorCode(err),
    swallowed,
  };
  if (swallowed) log.warn('slack call failed', data);
  else log.error('slack call failed', data);
}
