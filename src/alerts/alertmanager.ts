import { z } from 'zod';
import { LIMITS, annotationsSchema, invalid, labelsSchema, normalizeAll, safeLink, statusSchema, timeSchema, urlString } from './common.js';
import type { AlertOptions, ParseResult } from './types.js';

/**
 * One alert of an Alertmanager webhook (version "4"). Firing alerts carry
 * `endsAt: "0001-01-01T00:00:00Z"` (Go's zero time); the per-alert `status`
 * is what we act on, not the group's.
 */
export const alertmanagerAlertSchema = z.object({
  status: statusSchema,
  labels: labelsSchema,
  annotations: annotationsSchema.optional(),
  startsAt: timeSchema.optional(),
  endsAt: timeSchema.optional(),
  generatorURL: urlString.optional(),
  fingerprint: z.string().max(LIMITS.fingerprint).optional(),
});

/** Alertmanager's webhook body, `version: "4"`. Unknown fields are accepted and ignored. */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4').optional(),
  groupKey: z.string().max(LIMITS.annotationValue).optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: statusSchema.optional(),
  receiver: z.string().max(LIMITS.shortText).optional(),
  groupLabels: labelsSchema.optional(),
  commonLabels: labelsSchema.optional(),
  commonAnnotations: annotationsSchema.optional(),
  externalURL: urlString.optional(),
  alerts: z.array(alertmanagerAlertSchema).max(LIMITS.alerts),
});

/**
 * Parses `POST /alerts/alertmanager`. Fingerprint: Alertmanager's own, else a
 * stable hash of the sorted labels. summary: annotations.summary, else
 * annotations.description. link: generatorURL (http(s) only).
 */
export function parseAlertmanager(body: unknown, options: AlertOptions): ParseResult {
  const parsed = alertmanagerWebhookSchema.safeParse(body);
  if (!parsed.success) return invalid(parsed.error);
  return normalizeAll('alertmanager', parsed.data.alerts, (a) => safeLink(a.generatorURL), options);
}
