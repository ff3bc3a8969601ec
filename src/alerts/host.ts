import { checkHostName, type HostNameProblem } from '../domain/host.js';

export type HostFromLabels =
  | { host: string; label: string }
  | { problem: 'no-host' }
  | { problem: 'bad-host'; label: string; detail: HostNameProblem | 'ip-address' };

/** `name:port`, where name holds no ':' (so a bare IPv6 address is not split). */
const PORT_SUFFIX = /^([^:]+):\d{1,5}$/;
/** `[v6]:port` or `[v6]`: an IPv6 literal as Prometheus writes it in `instance`. */
const BRACKETED_V6 = /^\[[0-9A-Fa-f:.%\w]*\](?::\d{1,5})?$/;

/** Strips an `instance`-style `:port` suffix; FQDNs are kept as given. */
export function stripPort(value: string): string {
  const m = PORT_SUFFIX.exec(value);
  return m ? m[1]! : value;
}

/**
 * The host an alert is about: the value of the first of `hostLabels` that is
 * present and non-empty (Prometheus treats an empty label as absent), with an
 * `instance`-style port stripped (`compute1:9100` → `compute1`,
 * `compute1.example.org:9100` → `compute1.example.org`).
 *
 * The first present label decides: a bad value there is `bad-host`, not a
 * reason to fall through to the next label, so an alert never lands on a
 * host its author did not name. IPv6 literals (`[::1]:9100`, `::1`) are not
 * Nova host names and come back as `bad-host` (acknowledged, not acted on).
 */
export function hostFromLabels(labels: Readonly<Record<string, string | undefined>>, hostLabels: readonly string[]): HostFromLabels {
  for (const label of hostLabels) {
    if (!Object.prototype.hasOwnProperty.call(labels, label)) continue;
    const raw = labels[label];
    if (raw === undefined || raw === '') continue;
    if (BRACKETED_V6.test(raw) || raw.includes('::')) return { problem: 'bad-host', label, detail: 'ip-address' };
    const host = stripPort(raw);
    const problem = checkHostName(host);
    if (problem) return { problem: 'bad-host', label, detail: problem };
    return { host, label };
  }
  return { problem: 'no-host' };
}

/** Validates a host given directly (Doctor's `details.hostname`, the generic `host`), with the same rules. */
export function hostFromValue(value: string, label: string): HostFromLabels {
  return hostFromLabels({ [label]: value }, [label]);
}
