import { parse as parseQuery } from 'node:querystring';
import type { Logger } from '../app/ports.js';
import type { SlackBot } from '../slack/bot.js';
import { verifySlackSignature } from '../slack/signature.js';
import { alertSourceOf, handleAlertWebhook, type AlertsRuntime } from './alert-routes.js';
import { json, type HttpRequest, type HttpResponse } from './http.js';

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
 * The api function's routes, shared by Lambda and `npm start`:
 * `POST /slack/events` (slash commands and interactivity), `GET /healthz`,
 * `POST /alerts/{source}` (alertmanager, grafana, doctor, generic) and
 * `PUT /events` (the OPNFV Doctor inspector's API).
 * Rejections say nothing about why (the log does), and record nothing.
 */
export function createRouter(opts: RouterOptions): (req: HttpRequest) => Promise<HttpResponse> {
  return async (req) => {
    if (req.path === '/healthz' && req.method === 'GET') return json(200, { ok: true });
    if (req.path === '/slack/events') {
      if (req.method !== 'POST') return { status: 405, headers: { allow: 'POST' }, body: '' };
      return slackEvents(req);
    }
    if (opts.alerts && (req.path.startsWith('/alerts/') || req.path === '/events')) {
      const doctor = req.path === '/events';
      const method = doctor ? 'PUT' : 'POST';
      if (req.method !== method) return { status: 405, headers: { allow: method }, body: '' };
      return handleAlertWebhook(doctor ? 'doctor' : alertSourceOf(req.path), req, opts.alerts, opts);
    }
    return json(404, { error: 'not found' });
  };

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
    // Bolt compares the content type exactly (DESIGN.md: known pitfalls).
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
