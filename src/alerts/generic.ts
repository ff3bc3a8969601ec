import { z } from 'zod';
import { LIMITS, clip, cloudFromLabels, hasEvidence, invalid, labelsSchema, safeLink, skippedFor, statusSchema, timeSchema, toIsoUtc, urlString } from './common.js';
import { hostFromLabels, hostFromValue } from './host.js';
import type { AlertOptions, HostAlert, ParseResult, SkippedAlert } from './types.js';

/**
 * The generic shape (`POST /alerts/generic`), for monitors with no native
 * integration. One object, or a JSON list of up to 1000 of them:
 *
 * ```json
 * {
 *   "host": "compute1",                  // or a host label in "labels"
 *   "status": "firing",                  // "firing" | "resolved", required
 *   "summary": "compute1 PSU failure",   // optional
 *   "link": "https://monitor.example/…", // optional, http(s)
 *   "id": "psu-compute1-42",             // optional: the dedupe key (default generic:<host>)
 *   "startsAt": "2026-11-25T14:03:10Z",  // optional, RFC 3339
 *   "labels": { "fenced": "true" }       // optional: fencing evidence / host labels / cloudLabel
 * }
 * ```
 */
export const genericAlertSchema = z.object({
  host: z.string().max(LIMITS.labelValue).optional(),
  status: statusSchema,
  summary: z.string().max(LIMITS.annotationValue).optional(),
  link: urlString.optional(),
  id: z.string().max(LIMITS.fingerprint).optional(),
  alertName: z.string().max(LIMITS.shortText).optional(),
  startsAt: timeSchema.optional(),
  labels: labelsSchema.optional(),
});

export function parseGeneric(body: unknown, options: AlertOptions): ParseResult {
  const parsed = Array.isArray(body)
    ? z.array(genericAlertSchema).max(LIMITS.alerts).safeParse(body)
    : genericAlertSchema.safeParse(body);
  if (!parsed.success) return invalid(parsed.error);
  const list = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const alerts: HostAlert[] = [];
  const skipped: SkippedAlert[] = [];
  for (const a of list) {
    const alertName = clip(a.alertName, LIMITS.shortText);
    const found =
      a.host !== undefined && a.host !== ''
        ? hostFromValue(a.host, 'host', options.hostPattern)
        : hostFromLabels(a.labels ?? {}, options.hostLabels, options.hostPattern);
    const id = a.id !== undefined && a.id !== '' ? a.id : undefined;
    if (!('host' in found)) {
      skipped.push(skippedFor(found, id, alertName));
      continue;
    }
    const cloud = cloudFromLabels(a.labels, options);
    if ('skip' in cloud) {
      skipped.push({ ...cloud.skip, ...(id !== undefined ? { fingerprint: id } : {}), ...(alertName !== undefined ? { alertName } : {}) });
      continue;
    }
    const alert: HostAlert = {
      source: 'generic',
      host: found.host,
      status: a.status,
      fingerprint: id ?? `generic:${found.host}`,
      fencedEvidence: hasEvidence(a.labels, options),
      ...(cloud.cloud !== undefined ? { cloud: cloud.cloud } : {}),
    };
    if (alertName !== undefined) alert.alertName = alertName;
    const summary = clip(a.summary, LIMITS.summary);
    if (summary !== undefined) alert.summary = summary;
    const link = safeLink(a.link);
    if (link !== undefined) alert.link = link;
    const startsAt = a.startsAt ? toIsoUtc(a.startsAt) : undefined;
    if (startsAt !== undefined) alert.startsAt = startsAt;
    alerts.push(alert);
  }
  return { ok: true, alerts, skipped };
}
