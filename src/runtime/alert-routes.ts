import type { AlertReceipt } from '../app/alerts.js';
import { errorName } from '../app/outcomes.js';
import type { Logger } from '../app/ports.js';
import { checkBearer, header, verifyGrafanaSignature, GRAFANA_SIGNATURE_HEADER, GRAFANA_TIMESTAMP_HEADER, type BearerCheck, type HeaderMap } from '../alerts/auth.js';
import { verifyPagerDutySignature, PAGERDUTY_SIGNATURE_HEADER } from '../alerts/pagerduty.js';
import { parseAlerts } from '../alerts/index.js';
import { alertOptions, compileHostPattern, type AlertOptions, type AlertSource, type HostAlert } from '../alerts/types.js';
import { ALERT_SOURCES } from '../domain/alert-source.js';
import { json, type HttpRequest, type HttpResponse } from './http.js';

/** One configured alert source (the secret document's `alerts.<source>`). */
export interface AlertSourceConfig {
  /** Required for every source but PagerDuty (which signs its bodies; a token there is checked too when set). */
  token?: string;
  /** PagerDuty's signing secret(s): any one may have signed (`alerts.pagerduty.signingSecret`). */
  signingSecret?: string | string[];
  /** PagerDuty: a dotted path into the incident naming the host (e.g. `custom_fields.host`). */
  hostField?: string;
  /** `true`: on the fencing-evidence label; `"bmc-off"`: when the host's BMC reports power Off; `false`: never. */
  autoForceDown: boolean | 'bmc-off';
  hmacSecret?: string;
  hostLabels?: string[];
  evidenceLabel?: { name: string; value: string };
  /** A regular expression with one capture group: the host (validated at start). */
  hostPattern?: string;
  /** The label whose value names the cloud. */
  cloudLabel?: string;
}

/** Compiled hostPatterns, by their text: each is compiled once per process. */
const compiledPatterns = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let re = compiledPatterns.get(pattern);
  if (!re) compiledPatterns.set(pattern, (re = compileHostPattern(pattern)));
  return re;
}

/** The parser's options for a source's settings. */
export function optionsOf(config: AlertSourceConfig): AlertOptions {
  return alertOptions({
    ...(config.hostLabels ? { hostLabels: config.hostLabels } : {}),
    ...(config.evidenceLabel ? { evidenceLabel: config.evidenceLabel } : {}),
    ...(config.hostPattern ? { hostPattern: compiled(config.hostPattern) } : {}),
    ...(config.cloudLabel ? { cloudLabel: config.cloudLabel } : {}),
  });
}

/** At most this many ignored alerts are listed in a webhook's answer (`skipped` counts them all). */
export const MAX_IGNORED_LISTED = 100;

/** What the webhook routes need once the secret is loaded. */
export interface AlertsRuntime {
  /** The source's settings, or undefined when the secret document does not configure it. */
  source(name: AlertSource): AlertSourceConfig | undefined;
  receive(source: AlertSource, alerts: readonly HostAlert[]): Promise<AlertReceipt>;
}

/** `/alerts/{source}` → the source, or undefined for an unknown one. */
export function alertSourceOf(path: string): AlertSource | undefined {
  const name = path.slice('/alerts/'.length);
  return (ALERT_SOURCES as readonly string[]).includes(name) ? (name as AlertSource) : undefined;
}

/**
 * The source's shared token. PagerDuty signs its bodies instead (checked on the
 * body): its token is optional, and checked only when configured.
 */
export function checkSourceToken(source: AlertSource, headers: HeaderMap, config: AlertSourceConfig): BearerCheck {
  if (source === 'pagerduty' && config.token === undefined) return { ok: true, via: 'bearer' };
  return checkBearer(headers, config.token ?? '', { allowXAuthToken: source === 'doctor' });
}

const denied = (): HttpResponse => ({ status: 401, headers: { 'www-authenticate': 'Bearer' }, body: '' });

/**
 * One alert webhook: authenticate (401 with no detail: unknown or unconfigured
 * source, missing or bad token, bad Grafana signature), parse (400 naming the
 * field), record, answer. 5xx only when nothing could be recorded, so
 * Alertmanager and Grafana retry exactly the deliveries that were lost.
 */
export async function handleAlertWebhook(
  source: AlertSource | undefined,
  req: HttpRequest,
  alerts: () => Promise<AlertsRuntime>,
  ctx: { now: () => number; log: Logger },
): Promise<HttpResponse> {
  if (!source) {
    ctx.log.warn('alert webhook rejected', { reason: 'unknown-source', path: req.path.slice(0, 64) });
    return denied();
  }
  const runtime = await alerts();
  const config = runtime.source(source);
  if (!config) {
    ctx.log.warn('alert webhook rejected', { source, reason: 'not-configured' });
    return denied();
  }
  const auth = checkSourceToken(source, req.headers, config);
  if (!auth.ok) {
    ctx.log.warn('alert webhook rejected', { source, reason: auth.reason });
    return denied();
  }
  if (source === 'grafana' && config.hmacSecret) {
    const signed = verifyGrafanaSignature({
      body: req.body,
      signature: header(req.headers, GRAFANA_SIGNATURE_HEADER),
      timestamp: header(req.headers, GRAFANA_TIMESTAMP_HEADER),
      secret: config.hmacSecret,
      now: ctx.now(),
    });
    if (!signed.ok) {
      ctx.log.warn('alert webhook rejected', { source, reason: `signature-${signed.reason}` });
      return denied();
    }
  }
  if (source === 'pagerduty') {
    // A body replayed under another body's signature, a forged or garbled one: the same 401 as a bad token.
    const signed = verifyPagerDutySignature({ body: req.body, signature: header(req.headers, PAGERDUTY_SIGNATURE_HEADER), secrets: config.signingSecret ?? '' });
    if (!signed.ok) {
      ctx.log.warn('alert webhook rejected', { source, reason: `signature-${signed.reason}` });
      return denied();
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    return json(400, { error: 'body: not valid JSON' });
  }
  const parsed = parseAlerts(source, body, { ...optionsOf(config), ...(config.hostField ? { hostField: config.hostField } : {}) });
  if (!parsed.ok) {
    ctx.log.warn('alert webhook malformed', { source, error: parsed.error });
    return json(400, { error: parsed.error });
  }
  for (const s of parsed.skipped) ctx.log.info('alert skipped', { source, reason: s.reason, alertName: s.alertName, detail: s.detail });
  let receipt: AlertReceipt;
  try {
    receipt = await runtime.receive(source, parsed.alerts);
  } catch (err) {
    ctx.log.error('alert webhook not recorded', { source, error: errorName(err) });
    return json(503, { error: 'not recorded; retry' });
  }
  const recorded = receipt.opened + receipt.repeats + receipt.resolved + receipt.recoveryChecks;
  if (receipt.failed > 0 && recorded === 0) return json(503, { error: 'not recorded; retry' });
  // `dropped`: new hosts over the source's rate limit or beyond their card's cap, not recorded (a
  // sender's retry would be dropped too: it is a 200). receiveAlerts logs them with the reason.
  // `ignored`: each alert acknowledged but not acted on (no host, an IP address, hostPattern not matched…), with why.
  const ignored = parsed.skipped.slice(0, MAX_IGNORED_LISTED).map((s) => ({ reason: s.reason, ...(s.detail ? { detail: s.detail } : {}), ...(s.alertName ? { alertName: s.alertName } : {}), ...(s.fingerprint ? { fingerprint: s.fingerprint } : {}) }));
  return json(200, { status: 'accepted', ...receipt, dropped: receipt.dropped ?? 0, skipped: parsed.skipped.length, ignored });
}
