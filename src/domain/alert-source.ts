/**
 * The alert sources force-down takes webhooks from (`POST /alerts/{source}`,
 * and Doctor's `/events`): the one list the domain (`Origin`), the alert
 * parsers, the webhook routes and the worker's job schema all use.
 */
export const ALERT_SOURCES = ['alertmanager', 'grafana', 'doctor', 'generic'] as const;

export type AlertSource = (typeof ALERT_SOURCES)[number];
