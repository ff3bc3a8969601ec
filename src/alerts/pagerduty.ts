import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { LIMITS, clip, cloudFromLabels, invalid, safeLink, timeSchema, toIsoUtc, urlString } from './common.js';
import { hostFromValue, type HostFromLabels } from './host.js';
import type { AlertOptions, HostAlert, ParseResult, SkippedAlert } from './types.js';

/**
 * PagerDuty v3 webhooks (`POST /alerts/pagerduty`): a webhook subscription
 * POSTs one event per request, `{"event": {id, event_type, resource_type,
 * occurred_at, agent, client, data}}`, signed in `X-PagerDuty-Signature`.
 * `incident.triggered` opens a force-down request, `incident.resolved`
 * resolves it, any other event type is acknowledged and ignored.
 */

export const PAGERDUTY_SIGNATURE_HEADER = 'X-PagerDuty-Signature';

export type PagerDutySignatureProblem = 'missing' | 'malformed' | 'bad-signature' | 'not-configured';

export type PagerDutySignatureCheck = { ok: true } | { ok: false; reason: PagerDutySignatureProblem };

/** At most this many signatures in one header (PagerDuty sends one, two while a secret rotates). */
const MAX_SIGNATURES = 16;
const V1_SIGNATURE = /^v1=([0-9a-f]{64})$/i;
/** Any `vN=…` entry: versions other than v1 are skipped, as PagerDuty asks of receivers. */
const ANY_VERSION = /^v\d{1,3}=\S*$/i;

/**
 * The v1 signatures of an `X-PagerDuty-Signature` header (`v1=<hex>`, several
 * comma-separated during a rotation), or why there are none. Needs no body:
 * the router refuses a missing or garbled header before reading one.
 */
export function pagerDutySignatures(value: string | undefined): { ok: true; signatures: Buffer[] } | { ok: false; reason: 'missing' | 'malformed' } {
  if (value === undefined || value.trim() === '') return { ok: false, reason: 'missing' };
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length > MAX_SIGNATURES) return { ok: false, reason: 'malformed' };
  const signatures: Buffer[] = [];
  for (const part of parts) {
    const v1 = V1_SIGNATURE.exec(part);
    if (v1) signatures.push(Buffer.from(v1[1]!, 'hex'));
    else if (!ANY_VERSION.test(part)) return { ok: false, reason: 'malformed' };
  }
  return signatures.length > 0 ? { ok: true, signatures } : { ok: false, reason: 'malformed' };
}

export interface PagerDutySignedRequest {
  /** The raw body exactly as received. */
  body: string;
  /** The `X-PagerDuty-Signature` header. */
  signature: string | undefined;
  /** The subscription's signing secret, or several (ours rotating): any one may have signed. */
  secrets: string | readonly string[];
}

/**
 * Verifies PagerDuty's v3 signature: the hex HMAC-SHA256 of the raw body with
 * the subscription's signing secret. Any one valid `v1=` value with any one
 * configured secret accepts; every pair is compared (in constant time, 32
 * bytes each), so the time taken does not tell which one matched.
 */
export function verifyPagerDutySignature(req: PagerDutySignedRequest): PagerDutySignatureCheck {
  const secrets = (typeof req.secrets === 'string' ? [req.secrets] : req.secrets).filter((s) => s !== '');
  if (secrets.length === 0) return { ok: false, reason: 'not-configured' };
  const given = pagerDutySignatures(req.signature);
  if (!given.ok) return given;
  let match = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(req.body, 'utf8').digest();
    for (const sig of given.signatures) {
      // Both 32 bytes (the regex fixed the length): timingSafeEqual cannot throw.
      if (timingSafeEqual(sig, expected)) match = true;
    }
  }
  return match ? { ok: true } : { ok: false, reason: 'bad-signature' };
}

/** Signs a body as PagerDuty does: `v1=<hex>`. For tests and fakes. */
export function signPagerDutyBody(secret: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

const reference = z.looseObject({
  id: z.string().max(LIMITS.fingerprint).optional(),
  type: z.string().max(128).optional(),
  summary: z.string().max(LIMITS.shortText).nullable().optional(),
  html_url: urlString.nullable().optional(),
});

/** The incident of an `incident.*` event (`event.data`); only what force-down reads is checked. */
export const pagerDutyIncidentSchema = z.looseObject({
  id: z.string().min(1).max(LIMITS.fingerprint),
  type: z.string().max(128).optional(),
  self: urlString.nullable().optional(),
  html_url: urlString.nullable().optional(),
  number: z.number().int().optional(),
  status: z.string().max(64).optional(),
  incident_key: z.string().max(LIMITS.labelValue).nullable().optional(),
  created_at: timeSchema.nullable().optional(),
  title: z.string().max(LIMITS.annotationValue).nullable().optional(),
  service: reference.nullable().optional(),
  urgency: z.string().max(64).nullable().optional(),
});

/** The v3 envelope. `data` is read as an incident only for the event types force-down acts on. */
export const pagerDutyWebhookSchema = z.object({
  event: z.looseObject({
    id: z.string().min(1).max(LIMITS.fingerprint),
    event_type: z.string().min(1).max(128),
    resource_type: z.string().max(128).optional(),
    occurred_at: timeSchema.nullable().optional(),
    data: z.unknown(),
  }),
});

/** An `incident.*` event: the envelope with `data` read as an incident (errors name `event.data.…`). */
const incidentEventSchema = z.object({ event: z.object({ data: pagerDutyIncidentSchema }) });

/**
 * What the PagerDuty parser reads besides the common options (whose
 * `hostPattern`, for PagerDuty, is applied to the incident title).
 */
export interface PagerDutyOptions {
  /** `alerts.pagerduty.hostField`: a dotted path into the incident (e.g. `custom_fields.host`). */
  hostField?: string | undefined;
}

const STATUS_OF: Readonly<Record<string, HostAlert['status']>> = { 'incident.triggered': 'firing', 'incident.resolved': 'resolved' };

const own = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Follows `path` from the incident. An array on the way is searched for the
 * entry whose `name` is the next segment and that entry's `value` is taken, so
 * `custom_fields.host` reads PagerDuty's `[{"name": "host", "value": "compute1"}]`
 * as well as a plain object `{"host": "compute1"}`.
 */
export function fieldValue(data: unknown, path: string): unknown {
  let current: unknown = data;
  for (const segment of path.split('.')) {
    if (Array.isArray(current)) {
      const entry: unknown = current.find((e: unknown) => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === segment);
      if (entry === undefined) return undefined;
      current = (entry as { value?: unknown }).value;
    } else if (typeof current === 'object' && current !== null && own(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

type Found = HostFromLabels | { problem: 'no-host'; detail: string };

/**
 * The incident's host: the `hostField` value when the incident has one (an
 * `instance`-style port stripped), else what `hostPattern`'s one capture
 * group picks out of the title. Either way an IP address is never a host.
 */
function hostOf(incident: z.infer<typeof pagerDutyIncidentSchema>, options: AlertOptions & PagerDutyOptions): Found {
  if (options.hostField !== undefined) {
    const value = fieldValue(incident, options.hostField);
    if (typeof value === 'string' && value.trim() !== '') return hostFromValue(value.trim(), options.hostField);
  }
  if (options.hostPattern !== undefined) {
    if (!incident.title) return { problem: 'no-host', detail: 'the incident has no title for hostPattern' };
    return hostFromValue(incident.title, 'title', options.hostPattern);
  }
  return { problem: 'no-host', detail: options.hostField !== undefined ? `no value at ${clip(options.hostField, 80)}` : 'no hostField or hostPattern configured' };
}

function skipped(found: Exclude<Found, { host: string }>, fingerprint: string, alertName: string): SkippedAlert {
  const s: SkippedAlert = { reason: found.problem, fingerprint, alertName };
  const label = 'label' in found ? clip(found.label, 80) : undefined;
  if ('detail' in found) s.detail = label !== undefined ? `${label}: ${found.detail}` : found.detail;
  else if (found.problem === 'ip-address') s.detail = `${label}: an IP address is not a host name`;
  else if (found.problem === 'host-pattern') s.detail = `${label}: hostPattern does not match`;
  else s.detail = 'no host';
  return s;
}

/**
 * Parses `POST /alerts/pagerduty` (the signature was checked on the raw body
 * before this). The fingerprint is the incident's id, so its resolve matches
 * its trigger and a redelivery is a repeat. The link is the incident's page.
 */
export function parsePagerDuty(body: unknown, options: AlertOptions & PagerDutyOptions): ParseResult {
  const parsed = pagerDutyWebhookSchema.safeParse(body);
  if (!parsed.success) return invalid(parsed.error);
  const { event } = parsed.data;
  const status = own(STATUS_OF, event.event_type) ? STATUS_OF[event.event_type] : undefined;
  if (status === undefined) {
    const detail = `event_type ${clip(event.event_type, 80)}: only incident.triggered and incident.resolved are acted on`;
    return { ok: true, alerts: [], skipped: [{ reason: 'unsupported-event', detail }] };
  }
  const incident = incidentEventSchema.safeParse(body);
  if (!incident.success) return invalid(incident.error);
  const data = incident.data.event.data;
  const fingerprint = `pagerduty:${data.id}`;
  const alertName = clip(data.service?.summary ?? undefined, LIMITS.shortText) ?? 'PagerDuty incident';
  const found = hostOf(data, options);
  if (!('host' in found)) return { ok: true, alerts: [], skipped: [skipped(found, fingerprint, alertName)] };
  // cloudLabel, for PagerDuty, is a dotted path into the incident like hostField (e.g. custom_fields.cloud).
  const cloudValue = options.cloudLabel ? fieldValue(data, options.cloudLabel) : undefined;
  const cloud = cloudFromLabels(typeof cloudValue === 'string' ? { [options.cloudLabel!]: cloudValue.trim() } : undefined, options);
  if ('skip' in cloud) return { ok: true, alerts: [], skipped: [{ ...cloud.skip, fingerprint, alertName }] };
  const alert: HostAlert = { source: 'pagerduty', host: found.host, status, fingerprint, alertName, fencedEvidence: false };
  if (cloud.cloud !== undefined) alert.cloud = cloud.cloud;
  const summary = clip(data.title ?? undefined, LIMITS.summary);
  if (summary !== undefined) alert.summary = summary;
  const link = safeLink(data.html_url ?? undefined);
  if (link !== undefined) alert.link = link;
  const startsAt = data.created_at ? toIsoUtc(data.created_at) : undefined;
  if (startsAt !== undefined) alert.startsAt = startsAt;
  return { ok: true, alerts: [alert], skipped: [] };
}
