import { createHash } from 'node:crypto';
import { z } from 'zod';
import { hostFromLabels, type HostFromLabels } from './host.js';
import { CLOUD_NAME, type AlertOptions, type AlertSource, type AlertStatus, type HostAlert, type ParseResult, type SkippedAlert } from './types.js';

/** Size limits for webhook bodies. Generous for real senders, bounded for hostile ones. */
export const LIMITS = {
  alerts: 1000,
  labels: 256,
  labelName: 1024,
  labelValue: 8192,
  annotationValue: 65_536,
  url: 4096,
  fingerprint: 256,
  shortText: 1024,
  summary: 1000,
} as const;

/** Longest value an error message may quote. */
const MAX_ECHO = 80;

export const labelsSchema = z
  .record(z.string().max(LIMITS.labelName), z.string().max(LIMITS.labelValue))
  .refine((r) => Object.keys(r).length <= LIMITS.labels, { message: `at most ${LIMITS.labels} entries` });

export const annotationsSchema = z
  .record(z.string().max(LIMITS.labelName), z.string().max(LIMITS.annotationValue))
  .refine((r) => Object.keys(r).length <= LIMITS.labels, { message: `at most ${LIMITS.labels} entries` });

export const statusSchema = z.enum(['firing', 'resolved']);

/** A time Date can read (RFC 3339 with any fraction and offset); normalized later with `toIsoUtc`. */
export const timeSchema = z
  .string()
  .max(64)
  .refine((s) => toIsoUtc(s) !== undefined, { message: 'expected an RFC 3339 date-time' });

export const urlString = z.string().max(LIMITS.url);

/** `2026-11-25T14:03:10.123456789Z` → `2026-11-25T14:03:10.123Z`; undefined when unreadable. */
export function toIsoUtc(value: string): string | undefined {
  // Only date-times with an explicit offset: a naive time would be read in the
  // server's local zone by Date. (Doctor's naive times are handled in doctor.ts.)
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Keeps a link only when it is an absolute http(s) URL: it is shown as a link in Slack. */
export function safeLink(...candidates: (string | undefined)[]): string | undefined {
  for (const c of candidates) {
    if (!c) continue;
    try {
      const u = new URL(c);
      if (u.protocol === 'http:' || u.protocol === 'https:') return c;
    } catch {
      // not a URL: try the next one
    }
  }
  return undefined;
}

export function clip(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '') return undefined;
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

/** A stable fingerprint from labels, for senders that omit one: order-independent. */
export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

export function hasEvidence(labels: Readonly<Record<string, string>> | undefined, options: AlertOptions): boolean {
  if (!labels) return false;
  const { name, value } = options.evidenceLabel;
  return Object.prototype.hasOwnProperty.call(labels, name) && labels[name] === value;
}

function formatPathSegment(seg: PropertyKey): string {
  const s = typeof seg === 'symbol' ? seg.toString() : String(seg);
  return s.length > MAX_ECHO ? `${s.slice(0, MAX_ECHO - 1)}…` : s;
}

/** `alerts.3.status: Invalid option: …` for the first issue; never quotes a long value. */
export function describeZodError(error: z.ZodError, root = 'body'): string {
  const issue = error.issues[0];
  if (!issue) return `${root}: invalid`;
  const path = issue.path.length > 0 ? issue.path.map(formatPathSegment).join('.') : root;
  // zod's default messages name the expected type or our own options, not the input;
  // clip anyway so a future message that quotes input cannot echo a long value.
  const message = issue.message.length > 160 ? `${issue.message.slice(0, 159)}…` : issue.message;
  return `${path}: ${message}`;
}

export function invalid(error: z.ZodError, root?: string): ParseResult {
  return { ok: false, error: describeZodError(error, root) };
}

/** What the Alertmanager-shaped sources (Alertmanager, Grafana) share per alert. */
export interface LabelledAlert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations?: Record<string, string> | undefined;
  startsAt?: string | undefined;
  fingerprint?: string | undefined;
}

/** A value as the answer may quote it: clipped, so a long one is never echoed. */
function echo(value: string): string {
  const v = value.length > MAX_ECHO ? `${value.slice(0, MAX_ECHO - 1)}…` : value;
  return JSON.stringify(v);
}

/** Why an alert was ignored, in words, for the webhook's answer (`ignored`) and the log. */
export function skippedFor(
  found: Exclude<HostFromLabels, { host: string }>,
  fingerprint: string | undefined,
  alertName: string | undefined,
): SkippedAlert {
  const s: SkippedAlert = { reason: found.problem };
  if (fingerprint !== undefined) s.fingerprint = fingerprint;
  if (alertName !== undefined) s.alertName = alertName;
  switch (found.problem) {
    case 'no-host':
      s.detail = 'no host label present';
      break;
    case 'bad-host':
      s.detail = `label ${formatPathSegment(found.label)}: ${found.detail}`;
      break;
    case 'ip-address':
      s.detail = `label ${formatPathSegment(found.label)}: ${echo(found.value)} is an IP address, not a host name`;
      break;
    case 'host-pattern':
      s.detail = `label ${formatPathSegment(found.label)}: ${echo(found.value)} does not match hostPattern`;
      break;
  }
  return s;
}

/**
 * The cloud an alert names through `options.cloudLabel`: undefined when no
 * cloud label is configured or the alert lacks it (the default cloud), else
 * its value, or a skip when the value cannot be a cloud name.
 */
export function cloudFromLabels(
  labels: Readonly<Record<string, string>> | undefined,
  options: AlertOptions,
): { cloud?: string } | { skip: { reason: 'bad-cloud'; detail: string } } {
  const name = options.cloudLabel;
  if (!name || !labels || !Object.prototype.hasOwnProperty.call(labels, name)) return {};
  const value = labels[name]!;
  if (value === '') return {};
  if (!CLOUD_NAME.test(value)) return { skip: { reason: 'bad-cloud', detail: `label ${formatPathSegment(name)}: ${echo(value)} is not a cloud name` } };
  return { cloud: value };
}

/** Normalizes one Alertmanager-shaped alert; `link` is chosen by the caller. */
export function normalizeLabelled(
  source: AlertSource,
  alert: LabelledAlert,
  link: string | undefined,
  options: AlertOptions,
): { alert: HostAlert } | { skipped: SkippedAlert } {
  const fingerprint = alert.fingerprint && alert.fingerprint !== '' ? alert.fingerprint : labelsFingerprint(alert.labels);
  const alertName = clip(alert.labels['alertname'], LIMITS.shortText);
  const found = hostFromLabels(alert.labels, options.hostLabels, options.hostPattern);
  if (!('host' in found)) return { skipped: skippedFor(found, fingerprint, alertName) };
  const cloud = cloudFromLabels(alert.labels, options);
  if ('skip' in cloud) return { skipped: { ...cloud.skip, fingerprint, ...(alertName !== undefined ? { alertName } : {}) } };
  const out: HostAlert = {
    source,
    host: found.host,
    status: alert.status,
    fingerprint,
    fencedEvidence: hasEvidence(alert.labels, options),
    ...(cloud.cloud !== undefined ? { cloud: cloud.cloud } : {}),
  };
  if (alertName !== undefined) out.alertName = alertName;
  const summary = clip(alert.annotations?.['summary'] || alert.annotations?.['description'], LIMITS.summary);
  if (summary !== undefined) out.summary = summary;
  if (link !== undefined) out.link = link;
  const startsAt = alert.startsAt ? toIsoUtc(alert.startsAt) : undefined;
  // Go's zero time ("0001-01-01T00:00:00Z") means "not set".
  if (startsAt !== undefined && !startsAt.startsWith('0001-01-01')) out.startsAt = startsAt;
  return { alert: out };
}

/** Normalizes every alert of a webhook (Alertmanager's shape), keeping what was skipped and why. */
export function normalizeAll<A extends Parameters<typeof normalizeLabelled>[1]>(
  source: Parameters<typeof normalizeLabelled>[0],
  list: readonly A[],
  linkOf: (alert: A) => string | undefined,
  options: AlertOptions,
): ParseResult {
  const alerts: HostAlert[] = [];
  const skipped: SkippedAlert[] = [];
  for (const a of list) {
    const r = normalizeLabelled(source, a, linkOf(a), options);
    if ('alert' in r) alerts.push(r.alert);
    else skipped.push(r.skipped);
  }
  return { ok: true, alerts, skipped };
}
