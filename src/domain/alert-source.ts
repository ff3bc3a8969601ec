/**
 * The alert sources force-down takes webhooks from (`POST /alerts/{source}`,
 * and Doctor's `/events`): the one list the domain (`Origin`), the alert
 * parsers, the webhook routes and the worker's job schema all use.
 */
export const ALERT_SOURCES = ['alertmanager', 'grafana', 'doctor', 'generic'] as const;

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
}
