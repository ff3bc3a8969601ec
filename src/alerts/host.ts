import { isIP } from 'node:net';
import { checkHostName, type HostNameProblem } from '../domain/host.js';

export type HostFromLabels =
  | { host: string; label: string }
  | { problem: 'no-host' }
  | { problem: 'bad-host'; label: string; detail: HostNameProblem }
  /** The value (or what `hostPattern` captured of it) is an IP address: never a Nova host name. */
  | { problem: 'ip-address'; label: string; value: string }
  /** `hostPattern` did not match the value, or its group captured nothing. */
  | { problem: 'host-pattern'; label: string; value: string };

/** `name:port`, where name holds no ':' (so a bare IPv6 address is not split). */
const PORT_SUFFIX = /^([^:]+):\d{1,5}$/;
/** `[v6]:port` or `[v6]`: an IPv6 literal as Prometheus writes it in `instance`. */
const BRACKETED = /^\[([^\]]*)\](?::\d{1,5})?$/;

/** Strips an `instance`-style `:port` suffix; FQDNs are kept as given. */
export function stripPort(value: string): string {
  const m = PORT_SUFFIX.exec(value);
  return m ? m[1]! : value;
}

/**
 * Whether `value` is an IP address, with or without a port: `10.0.0.5`,
 * `10.0.0.5:9100`, `fe80::1`, `fe80::1%eth0`, `[2001:db8::1]:9100`. Any other
 * bracketed value and any value with `::` count too: none is a host name.
 */
export function isIpAddress(value: string): boolean {
  const v = value.trim();
  if (BRACKETED.test(v) || v.includes('::')) return true;
  return isIP(v) !== 0 || isIP(stripPort(v)) !== 0;
}

/**
 * The host an alert is about: the value of the first of `hostLabels` that is
 * present and non-empty (Prometheus treats an empty label as absent).
 *
 * Without `hostPattern`, an `instance`-style port is stripped
 * (`compute1:9100` → `compute1`, `compute1.example.org:9100` →
 * `compute1.example.org`). With it (`alerts.<source>.hostPattern`, one
 * capture group), the host is what the group captures: `^([^.:]+)` turns
 * `compute1.dc1.example:9100` into `compute1`; a value it does not match is
 * `host-pattern`.
 *
 * An IP address (v4 or v6, with or without a port), before or after the
 * pattern, is never a host: `ip-address`. The first present label decides:
 * a bad value there is not a reason to fall through to the next label, so an
 * alert never lands on a host its author did not name.
 */
export function hostFromLabels(labels: Readonly<Record<string, string | undefined>>, hostLabels: readonly string[], hostPattern?: RegExp): HostFromLabels {
  for (const label of hostLabels) {
    if (!Object.prototype.hasOwnProperty.call(labels, label)) continue;
    const raw = labels[label];
    if (raw === undefined || raw === '') continue;
    if (isIpAddress(raw)) return { problem: 'ip-address', label, value: raw };
    let host: string;
    if (hostPattern) {
      const captured = hostPattern.exec(raw)?.[1];
      if (captured === undefined || captured === '') return { problem: 'host-pattern', label, value: raw };
      if (isIpAddress(captured)) return { problem: 'ip-address', label, value: raw };
      host = captured;
    } else {
      host = stripPort(raw);
    }
    const problem = checkHostName(host);
    if (problem) return { problem: 'bad-host', label, detail: problem };
    return { host, label };
  }
  return { problem: 'no-host' };
}

/** Validates a host given directly (Doctor's `details.hostname`, the generic `host`), with the same rules. */
export function hostFromValue(value: string, label: string, hostPattern?: RegExp): HostFromLabels {
  return hostFromLabels({ [label]: value }, [label], hostPattern);
}
