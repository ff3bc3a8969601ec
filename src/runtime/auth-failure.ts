import { WebClient, type WebAPICallResult, type WebClientOptions } from '@slack/web-api';

/** Where a credential was refused: Slack's bot token, or a cloud's Keystone credentials. */
export type AuthFailureSource = 'slack' | 'openstack';

/** Called when a credential from the secret document was refused (see createLambdaRuntime's onAuthFailure). */
export type AuthFailureHook = (source: AuthFailureSource) => void;

/** Slack Web API errors that mean "this token is no good" (revoked, rotated, wrong workspace, deactivated). */
export const SLACK_AUTH_ERRORS: ReadonlySet<string> = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive']);

/**
 * True for a Slack Web API error that refused the token: the WebClient's
 * platform error (`data.error`), also inside Bolt's multiple-listener error.
 */
export function isSlackAuthError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; data?: { error?: unknown }; originals?: unknown };
  if (e.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string') return SLACK_AUTH_ERRORS.has(e.data.error);
  return Array.isArray(e.originals) && e.originals.some(isSlackAuthError);
}

/**
 * A WebClient that reports refused tokens to `onAuthFailure` (then throws as
 * usual). Every method (`chat.postMessage`, `usergroups.users.list`, …) goes
 * through `apiCall`, which the client binds at construction, so overriding it
 * covers them all.
 */
export function createSlackClient(token: string, options: WebClientOptions, onAuthFailure?: AuthFailureHook): WebClient {
  if (!onAuthFailure) return new WebClient(token, options);
  return new (class extends WebClient {
    override async apiCall(method: string, callOptions?: Record<string, unknown>): Promise<WebAPICallResult> {
      try {
        return await super.apiCall(method, callOptions);
      } catch (err) {
        if (isSlackAuthError(err)) onAuthFailure('slack');
        throw err;
      }
    }
  })(token, options);
}
