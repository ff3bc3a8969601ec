/**
 * The normalized shape every alert source (Alertmanager, Grafana, OPNFV Doctor,
 * the generic JSON shape) is parsed into. The api handler turns a firing
 * HostAlert into a force-down request and a resolved one into an unset request;
 * the fields map onto `Origin` (kind 'alert') in src/domain/request.ts.
 */
import type { AlertSource, AlertStatus, HostAlert } from '../domain/alert-source.js';

// The normalized alert lives in the domain (the use cases take it); the parsers here produce it.
export type { AlertSource, AlertStatus, HostAlert };

/**
 * Why an alert in an otherwise valid body was acknowledged but not acted on.
 * 'unsupported-event' (beyond the brief's 'no-host' | 'bad-host'): a Doctor
 * event that is not `compute.host.down` with status `down`.
 */
export type SkipReason = 'no-host' | 'bad-host' | 'unsupported-event';

export interface SkippedAlert {
  reason: SkipReason;
  fingerprint?: string;
  alertName?: string;
  /** A short, log-safe explanation (never the raw value when it is long). */
  detail?: string;
}

export type ParseResult =
  | { ok: true; alerts: HostAlert[]; skipped: SkippedAlert[] }
  | {
      ok: false;
      /** Names the field path (e.g. `alerts.3.status`); never echoes a value longer than 80 characters. */
      error: string;
    };

export interface AlertOptions {
  /** Labels to read the host from, first present wins. */
  hostLabels: string[];
  /** The label that marks an alert as carrying fencing evidence (opt-in auto mode). */
  evidenceLabel: { name: string; value: string };
}

export const DEFAULT_HOST_LABELS: readonly string[] = ['host', 'hostname', 'nodename', 'instance'];

export const DEFAULT_ALERT_OPTIONS: Readonly<AlertOptions> = Object.freeze({
  hostLabels: [...DEFAULT_HOST_LABELS],
  evidenceLabel: Object.freeze({ name: 'fenced', value: 'true' }),
});

/** Fills in defaults for any option left out. */
export function alertOptions(partial: Partial<AlertOptions> = {}): AlertOptions {
  return {
    hostLabels: partial.hostLabels && partial.hostLabels.length > 0 ? [...partial.hostLabels] : [...DEFAULT_HOST_LABELS],
    evidenceLabel: partial.evidenceLabel ?? { ...DEFAULT_ALERT_OPTIONS.evidenceLabel },
  };
}
