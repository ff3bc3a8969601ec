import type { Failure, Outcome } from '../domain/failure.js';
import type { NovaOutcome } from '../domain/request.js';
import type { ComputeService } from '../domain/service.js';
import type { HostView } from './ports.js';

/** An ISO-8601 UTC timestamp, as every record of ours stores time. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** The outcome recorded for a failure: its code, our words, and what the audit needs of the service's answer. */
export function outcomeOf(f: Failure): NovaOutcome {
  return {
    code: f.code,
    message: f.message,
    ...(f.detail !== undefined ? { detail: f.detail } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.request !== undefined ? { request: f.request } : {}),
    ...(f.ageSeconds !== undefined ? { ageSeconds: f.ageSeconds } : {}),
  };
}

/** An error's class name for a log line: never its message, which may quote a URL or a body. */
export function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'unknown';
}

/** A card's view of a service lookup. */
export function viewOf(read: Outcome<ComputeService>): HostView {
  return read.ok ? { service: read.value } : { lookupFailure: { code: read.failure.code, message: read.failure.message } };
}

/** The outcome of a request whose cloud was removed from the secret document after it was opened. */
export function cloudGone(cloud: string, detail?: string): NovaOutcome {
  return { code: 'NOVA_REJECTED', message: `cloud "${cloud}" is no longer configured`, ...(detail ? { detail } : {}) };
}
