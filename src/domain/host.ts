/**
 * Host names reach Nova inside a URL query and a JSON body. We accept what
 * Nova can hold as a compute host name (RFC 1123 labels, dots for FQDNs,
 * underscores which some deployments use) and nothing that could change a
 * path or query: no slashes, spaces, '?', '#', '%', '&' or control characters.
 */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

export const MAX_HOST_LENGTH = 253;

export type HostNameProblem = 'empty' | 'too-long' | 'bad-label';

/** Returns why `host` is not a valid compute host name, or `undefined` when it is. */
export function checkHostName(host: string): HostNameProblem | undefined {
  if (host.length === 0) return 'empty';
  if (host.length > MAX_HOST_LENGTH) return 'too-long';
  const labels = host.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) return 'bad-label';
  }
  return undefined;
}

export function describeHostNameProblem(problem: HostNameProblem): string {
  switch (problem) {
    case 'empty':
      return 'the host name is empty';
    case 'too-long':
      return `the host name is longer than ${MAX_HOST_LENGTH} characters`;
    case 'bad-label':
      return 'a host name is letters, digits, "-" and "_" in dot-separated labels of at most 63 characters (e.g. compute1 or compute1.example.org)';
  }
}

/** The service binary force-down acts on. Nova refuses force-down for any other binary. */
export const COMPUTE_BINARY = 'nova-compute';

/**
 * A host name as DNS compares it: letters folded to lower case (host names
 * are ASCII: {@link checkHostName}). Requests are locked by it, so RT1, Rt1
 * and rt1 are one host with one open request, whatever Nova's database
 * collation (MySQL's default matches host names case-insensitively,
 * PostgreSQL and SQLite exactly).
 */
export function foldHost(host: string): string {
  return host.toLowerCase();
}

/**
 * How Nova spells `host` among `services` of `binary`: `exact` when Nova has
 * the name as given, and `variants` (sorted, each once), the names Nova has
 * that differ from it in case only.
 */
export function novaSpellings(host: string, binary: string, services: readonly { host: string; binary: string }[]): { exact: boolean; variants: string[] } {
  const folded = foldHost(host);
  let exact = false;
  const variants = new Set<string>();
  for (const s of services) {
    if (s.binary !== binary) continue;
    if (s.host === host) exact = true;
    else if (foldHost(s.host) === folded) variants.add(s.host);
  }
  return { exact, variants: [...variants].sort() };
}
