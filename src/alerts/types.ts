/**
 * The normalized shape every alert source (Alertmanager, Grafana, OPNFV Doctor,
 * the generic JSON shape) is parsed into. The api handler turns a firing
 * HostAlert into a force-down request and a resolved one into an unset request;
 * the fields map onto `Origin` (kind 'alert') in src/domain/request.ts.
 */
import type { AlertSource, AlertStatus, HostAlert } from '../domain/alert-source.js';

export { CLOUD_NAME, hostPatternProblem } from '../domain/alert-source.js';

// The normalized alert lives in the domain (the use cases take it); the parsers here produce it.
export type { AlertSource, AlertStatus, HostAlert };

/**
 * Why an alert in an otherwise valid body was acknowledged but not acted on
 * (the webhook's answer lists them under `ignored`):
 * - 'no-host': no host label (or field) present;
 * - 'bad-host': the value is not a host name Nova could hold;
 * - 'ip-address': the value is an IP address (v4 or v6, with or without a port), not a host name;
 * - 'host-pattern': `alerts.<source>.hostPattern` does not match the value;
 * - 'bad-cloud': the `cloudLabel`'s value cannot be a cloud name;
 * - 'unsupported-event': a Doctor event that is not `compute.host.down` with status `down`.
 */
export type SkipReason = 'no-host' | 'bad-host' | 'ip-address' | 'host-pattern' | 'bad-cloud' | 'unsupported-event';

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
  /** `alerts.<source>.hostPattern`, compiled: its one capture group is the host. */
  hostPattern?: RegExp;
  /** `alerts.<source>.cloudLabel`: the label whose value names the cloud (absent: the default cloud). */
  cloudLabel?: string;
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
    ...(partial.hostPattern ? { hostPattern: partial.hostPattern } : {}),
    ...(partial.cloudLabel ? { cloudLabel: partial.cloudLabel } : {}),
  };
}

/** Compiles a `hostPattern` checked by {@link hostPatternProblem} (at start, in the secret's schema). */
export function compileHostPattern(source: string): RegExp {
  return new RegExp(source);
}
