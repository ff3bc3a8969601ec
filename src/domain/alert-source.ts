/**
 * The alert sources force-down takes webhooks from (`POST /alerts/{source}`,
 * and Doctor's `/events`; PagerDuty's v3 webhooks at `/alerts/pagerduty`): the one list the domain (`Origin`), the alert
 * parsers, the webhook routes and the worker's job schema all use.
 */
export const ALERT_SOURCES = ['alertmanager', 'grafana', 'doctor', 'generic', 'pagerduty'] as const;

export type AlertSource = (typeof ALERT_SOURCES)[number];

export type AlertStatus = 'firing' | 'resolved';

/**
 * The normalized alert every source is parsed into (src/alerts/): one host,
 * firing or resolved. The use cases turn a firing one into a force-down
 * request and a resolved one into an unset request; the fields map onto
 * `Origin` (kind 'alert') in request.ts.
 */
export interface HostAlert {
  source: AlertSource;
  host: string;
  status: AlertStatus;
  /** Stable per alert (and, for Doctor, per host and outage): the lock/dedupe key. */
  fingerprint: string;
  alertName?: string;
  summary?: string;
  /** An http(s) URL only; anything else is dropped (it ends up as a link in Slack). */
  link?: string;
  /** ISO 8601 UTC (`Date#toISOString`). */
  startsAt?: string;
  /** The alert carries the configured fencing-evidence label with exactly the configured value. */
  fencedEvidence: boolean;
  /** The cloud the alert names (`alerts.<source>.cloudLabel`); absent: the default cloud. May name a cloud not configured. */
  cloud?: string;
}

/** What a cloud name may look like (as `--cloud` takes it): a label value that does not is ignored, not shown. */
export const CLOUD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Why `source` is not a usable `hostPattern` (a JavaScript regular expression
 * with exactly one capture group), or undefined when it is. Never quotes it.
 */
export function hostPatternProblem(source: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch {
    return 'is not a valid JavaScript regular expression';
  }
  // A pattern extended by an empty alternative matches '' and reports every group it has.
  const groups = new RegExp(`${re.source}|`).exec('')!.length - 1;
  if (groups !== 1) return `must have exactly one capture group (the host), e.g. ^([^.:]+); it has ${groups}`;
  return undefined;
}
