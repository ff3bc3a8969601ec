import { parse as parseQuery } from 'node:querystring';
import type { Logger } from '../app/ports.js';
import type { SlackBot } from '../slack/bot.js';
import { header } from '../alerts/auth.js';
import { pagerDutySignatures, PAGERDUTY_SIGNATURE_HEADER } from '../alerts/pagerduty.js';
import { verifySlackSignature } from '../slack/signature.js';
import { alertSourceOf, checkSourceToken, handleAlertWebhook, type AlertsRuntime } from './alert-routes.js';
import { json, tooLarge, type HttpRequest, type HttpResponse, type Preflight, type RequestHead } from './http.js';

/** What the router needs once the secret is loaded. */
export interface SlackRuntime {
  signingSecret: string;
  bot: SlackBot;
}

export interface RouterOptions {
  /** The Slack side, built once after the secret is loaded (cached by the caller). */
  slack: () => Promise<SlackRuntime>;
  /** The alert webhooks' side, built with the Slack side (same secret). */
  alerts?: () => Promise<AlertsRuntime>;
  now: () => number;
  log: Logger;
}

/**
 * The most each route reads, in bytes: checked against Content-Length before
 * a byte of the body is read, and counted as a body without one arrives
 * (src/local/server.ts); 413 beyond it. A Slack interaction carries the card
 * it was clicked on (50 blocks at most, form-encoded JSON); an Alertmanager
 * group of a thousand alerts is under 1 MiB.
 */
export const BODY_LIMITS = { healthz: 0, slack: 512 * 1024, alerts: 1024 * 1024 } as const;

/** The api's handler, and the decision it takes from a request's head alone (method, path, headers). */
export interface Router {
  (req: HttpRequest): Promise<HttpResponse>;
  /**
   * Routes a request before its body is read: an unknown path or method, a
   * Slack request without fresh signature headers, an alert webhook without
   * its source's token are answered at once (the body is never read); a
   * request that may go on gets its route's body limit.
   */
  preflight(head: RequestHead): Promise<Preflight>;
}

/**
 * The api function's routes, shared by Lambda and `npm start`:
 * `POST /slack/events` (slash commands and interactivity), `GET /healthz`,
 * `POST /alerts/{source}` (alertmanager, grafana, doctor, generic, pagerduty) and
 * `PUT /events` (the OPNFV Doctor inspector's API).
 * Rejections say nothing about why (the log does), and record nothing.
 */
export function createRouter(opts: RouterOptions): Router {
  const answer = (res: HttpResponse): Preflight => ({ read: false, answer: res });
  async function preflight(head: RequestHead): Promise<Preflight> {
    if (head.path === '/healthz' && head.method === 'GET') return { read: true, maxBodyBytes: BODY_LIMITS.healthz };
    if (head.path === '/slack/events') {
      if (head.method !== 'POST') return answer({ status: 405, headers: { allow: 'POST' }, body: '' });
      // What the signature's headers alone can refuse (missing, malformed, stale, future-dated): before the body.
      const slack = await opts.slack();
      const check = verifySlackSignature({ signingSecret: slack.signingSecret, body: '', timestamp: head.headers['x-slack-request-timestamp'], signature: head.headers['x-slack-signature'], now: opts.now() });
      if (!check.ok && check.reason !== 'bad-signature') {
        opts.log.warn('slack request rejected', { reason: check.reason });
        return answer({ status: 401, body: '' });
      }
      return { read: true, maxBodyBytes: BODY_LIMITS.slack };
    }
    if (opts.alerts && (head.path.startsWith('/alerts/') || head.path === '/events')) {
      const doctor = head.path === '/events';
      const method = doctor ? 'PUT' : 'POST';
      if (head.method !== method) return answer({ status: 405, headers: { allow: method }, body: '' });
      const source = doctor ? 'doctor' : alertSourceOf(head.path);
      const config = source ? (await opts.alerts()).source(source) : undefined;
      // No such source, not its token, or (PagerDuty) no well-formed signature header: the webhook's
      // own refusal (401, logged), without the body.
      if (
        !config ||
        !checkSourceToken(source!, head.headers, config).ok ||
        (source === 'pagerduty' && !pagerDutySignatures(header(head.headers, PAGERDUTY_SIGNATURE_HEADER)).ok)
      ) {
        return answer(await handleAlertWebhook(source, { ...head, body: '' }, opts.alerts, opts));
      }
      return { read: true, maxBodyBytes: BODY_LIMITS.alerts };
    }
    return answer(json(404, { error: 'not found' }));
  }

  const route = async (req: HttpRequest): Promise<HttpResponse> => {
    const pre = await preflight(req);
    if (!pre.read) return pre.answer;
    // Lambda hands over whole bodies (API Gateway's own limit is 10 MB): the same per-route limit.
    if (Buffer.byteLength(req.body, 'utf8') > pre.maxBodyBytes) return tooLarge(pre.maxBodyBytes);
    if (req.path === '/healthz') return json(200, { ok: true });
    if (req.path === '/slack/events') return slackEvents(req);
    return handleAlertWebhook(req.path === '/events' ? 'doctor' : alertSourceOf(req.path), req, opts.alerts!, opts);
  };
  return Object.assign(route, { preflight });

  async function slackEvents(req: HttpRequest): Promise<HttpResponse> {
    const slack = await opts.slack();
    const check = verifySlackSignature({
      signingSecret: slack.signingSecret,
      body: req.body,
      timestamp: req.headers['x-slack-request-timestamp'],
      signature: req.headers['x-slack-signature'],
      now: opts.now(),
    });
    if (!check.ok) {
      opts.log.warn('slack request rejected', { reason: check.reason });
      return { status: 401, body: '' };
    }
    // Bolt throws (→ 500) on a body it cannot parse: refuse it here with a 400 instead.
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (contentType !== 'application/x-www-form-urlencoded' && contentType !== 'application/json') {
      return json(415, { error: 'expected application/x-www-form-urlencoded' });
    }
    if (!parsable(req.body, contentType)) return json(400, { error: 'malformed body' });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
    // Bolt compares the content type exactly.
    headers['content-type'] = contentType;
    const res = await slack.bot.handle({ rawPath: req.path, headers, body: req.body });
    return { status: res.statusCode, ...(res.headers ? { headers: res.headers } : {}), body: res.body };
  }
}

function parsable(body: string, contentType: string): boolean {
  try {
    if (contentType === 'application/json') {
      JSON.parse(body);
      return true;
    }
    const form = parseQuery(body);
    if (typeof form.payload === 'string') {
      const payload: unknown = JSON.parse(form.payload);
      return typeof payload === 'object' && payload !== null;
    }
    return typeof form.command === 'string' || typeof form.type === 'string' || typeof form.ssl_check === 'string';
  } catch {
    return false;
  }
}
