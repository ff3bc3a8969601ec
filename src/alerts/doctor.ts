import { z } from 'zod';
import { LIMITS, invalid, skippedFor } from './common.js';
import { hostFromValue } from './host.js';
import type { AlertOptions, HostAlert, ParseResult, SkippedAlert } from './types.js';

/** The only event the Doctor inspector API defines that we act on. */
export const DOCTOR_HOST_DOWN = 'compute.host.down';

/**
 * Doctor's `time`: ISO 8601 as Python's `datetime.now().isoformat()` writes it
 * (`2026-11-25T14:03:10.123456`, no offset), optionally with an offset or Z.
 */
const DOCTOR_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * `time` as ISO UTC. The Doctor sample monitor sends its local time with no
 * offset; we cannot know its zone, so a naive time is treated as UTC (run the
 * monitor with TZ=UTC for exact times). It is only shown on the card; the
 * fingerprint uses the time exactly as sent.
 */
export function doctorTimeToIso(time: string): string | undefined {
  const m = DOCTOR_TIME.exec(time);
  if (!m) return undefined;
  const fraction = (m[3] ?? '.0').slice(0, 4).padEnd(4, '0');
  let offset = m[4] ?? 'Z';
  if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${fraction}${offset.toUpperCase()}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export const doctorEventSchema = z.object({
  time: z
    .string()
    .max(64)
    .refine((t) => doctorTimeToIso(t) !== undefined, { message: 'expected an ISO 8601 date-time such as 2026-11-25T14:03:10.123456' }),
  type: z.string().max(256),
  details: z.object({
    hostname: z.string().max(LIMITS.labelValue).optional(),
    status: z.string().max(256).optional(),
    monitor: z.string().max(LIMITS.shortText).optional(),
    // Constant across hosts in the sample monitor: never used for dedupe.
    monitor_event_id: z.string().max(LIMITS.shortText).optional(),
  }),
});

/** `PUT /events`: a JSON list of events (also accepted wrapped as `{"events": [...]}`). */
export const doctorEventsSchema = z.union([
  z.array(doctorEventSchema).max(LIMITS.alerts),
  z.object({ events: z.array(doctorEventSchema).max(LIMITS.alerts) }).transform((o) => o.events),
]);

/**
 * Parses the OPNFV Doctor inspector API (`PUT /events`). The sample monitor
 * sends one report per outage and no resolve, so every accepted event is
 * `firing`. The fingerprint is `doctor:<hostname>:<time>`: per host and per
 * outage, never `monitor_event_id` (the same constant for every host).
 */
export function parseDoctor(body: unknown, options: AlertOptions): ParseResult {
  // Validate as a list (or as the wrapped form when `events` is there) so errors name `0.details.hostname` or `events.0.time` rather than a union summary.
  const asList = Array.isArray(body) ? z.array(doctorEventSchema).max(LIMITS.alerts).safeParse(body) : typeof body === 'object' && body !== null && 'events' in body ? doctorEventsSchema.options[1].safeParse(body) : doctorEventsSchema.safeParse(body);
  if (!asList.success) return invalid(asList.error);
  const alerts: HostAlert[] = [];
  const skipped: SkippedAlert[] = [];
  for (const e of asList.data) {
    const hostname = e.details.hostname ?? '';
    const fingerprint = `doctor:${hostname}:${e.time}`;
    if (e.type !== DOCTOR_HOST_DOWN || e.details.status !== 'down') {
      skipped.push({
        reason: 'unsupported-event',
        fingerprint,
        alertName: clipName(e.type),
        detail: `only ${DOCTOR_HOST_DOWN} with status "down" is acted on`,
      });
      continue;
    }
    const found = hostFromValue(hostname, 'details.hostname', options.hostPattern);
    if (!('host' in found)) {
      skipped.push(skippedFor(found, fingerprint, DOCTOR_HOST_DOWN));
      continue;
    }
    const alert: HostAlert = {
      source: 'doctor',
      host: found.host,
      status: 'firing',
      fingerprint: `doctor:${found.host}:${e.time}`,
      alertName: DOCTOR_HOST_DOWN,
      fencedEvidence: false,
    };
    const summary = e.details.monitor ? `${DOCTOR_HOST_DOWN} reported by ${clipName(e.details.monitor)}` : `${DOCTOR_HOST_DOWN}`;
    alert.summary = summary;
    const startsAt = doctorTimeToIso(e.time);
    if (startsAt !== undefined) alert.startsAt = startsAt;
    alerts.push(alert);
  }
  return { ok: true, alerts, skipped };
}

function clipName(s: string): string {
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}
