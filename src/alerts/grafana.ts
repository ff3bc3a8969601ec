import { z } from 'zod';
import { alertmanagerAlertSchema, alertmanagerWebhookSchema } from './alertmanager.js';
import { LIMITS, invalid, normalizeAll, safeLink, urlString } from './common.js';
import type { AlertOptions, ParseResult } from './types.js';

/**
 * One alert of a Grafana unified alerting webhook: Alertmanager's alert plus
 * dashboardURL / panelURL / silenceURL (empty strings when the rule has no
 * dashboard), `values` and `valueString` (ignored).
 */
export const grafanaAlertSchema = alertmanagerAlertSchema.extend({
  dashboardURL: urlString.optional(),
  panelURL: urlString.optional(),
  silenceURL: urlString.optional(),
});

/** Grafana's webhook body (`version: "1"`): the Alertmanager shape plus orgId, title, state, message. */
export const grafanaWebhookSchema = alertmanagerWebhookSchema.extend({
  version: z.string().max(16).optional(),
  orgId: z.number().int().optional(),
  title: z.string().max(LIMITS.annotationValue).optional(),
  state: z.string().max(64).optional(),
  message: z.string().max(LIMITS.annotationValue * 4).optional(),
  alerts: z.array(grafanaAlertSchema).max(LIMITS.alerts),
});

/**
 * Parses `POST /alerts/grafana`. Per-alert status; link prefers panelURL,
 * then dashboardURL, then generatorURL (the rule). The signature is checked
 * before this, on the raw body (auth.ts).
 */
export function parseGrafana(body: unknown, options: AlertOptions): ParseResult {
  const parsed = grafanaWebhookSchema.safeParse(body);
  if (!parsed.success) return invalid(parsed.error);
  return normalizeAll('grafana', parsed.data.alerts, (a) => safeLink(a.panelURL, a.dashboardURL, a.generatorURL), options);
}
