import { checkHostName, foldHost } from '../domain/host.js';
import { mergeBmcEntry, type BmcCloudConfig, type BmcEntry, type SecretDocument } from './schema.js';

/**
 * Where and how to reach one host's BMC: the secret document's entry for the
 * host, resolved (template under host entry, `{host}` replaced). Holds
 * credentials: never log it or put it in an error.
 */
export interface BmcTarget {
  /** The host as asked for. */
  host: string;
  /** The BMC's origin, e.g. `https://10.20.0.7` (Redfish paths are absolute: only scheme, host and port are used). */
  url: string;
  /** The ComputerSystem's path when configured; otherwise chosen from the Systems collection. */
  system?: string;
  auth: { username: string; password: string };
  /** `ca`: PEM trusted instead of the system roots; `insecure`: any certificate accepted. */
  tls: { ca?: string; insecure: boolean };
}

/** The `bmc` section of the secret document. */
export type BmcSection = NonNullable<SecretDocument['bmc']>;

/**
 * The BMC entry of `host` in `cloud`: its `hosts` entry (compared
 * case-insensitively) over the cloud's `template`, with `{host}` replaced by
 * the host's name (lower case) in url, system and username. `undefined`: the
 * host has no BMC entry (no hosts entry, and no template with a url), or the
 * name is not a host name.
 */
export function resolveBmcTarget(section: BmcSection | undefined, cloud: string, host: string): BmcTarget | undefined {
  const bmc: BmcCloudConfig | undefined = section && Object.hasOwn(section, cloud) ? section[cloud] : undefined;
  if (!bmc || checkHostName(host) !== undefined) return undefined;
  const folded = foldHost(host);
  const key = Object.keys(bmc.hosts).find((k) => foldHost(k) === folded);
  const own: BmcEntry | undefined = key === undefined ? undefined : bmc.hosts[key];
  if (own === undefined && bmc.template?.url === undefined) return undefined;
  const e = mergeBmcEntry(bmc.template, own);
  // The schema makes every entry that can be reached here complete; a hand-built section may not be.
  if (e.url === undefined || e.username === undefined || e.password === undefined) return undefined;
  const sub = (v: string) => v.replaceAll('{host}', folded);
  const url = new URL(sub(e.url));
  return {
    host,
    url: url.origin,
    ...(e.system !== undefined ? { system: sub(e.system) } : {}),
    auth: { username: sub(e.username), password: e.password },
    tls: { ...(e.caCert !== undefined ? { ca: e.caCert } : {}), insecure: e.insecure === true },
  };
}

/**
 * The entries that turn TLS verification off (`insecure: true`), as paths
 * like `bmc.prod.template` or `bmc.prod.hosts.compute7`, for the warning the
 * bot logs at start.
 */
export function insecureBmcEntries(section: BmcSection | undefined): string[] {
  const out: string[] = [];
  for (const [cloud, bmc] of Object.entries(section ?? {})) {
    if (bmc.template?.insecure === true) out.push(`bmc.${cloud}.template`);
    for (const [host, entry] of Object.entries(bmc.hosts)) {
      if (mergeBmcEntry(bmc.template, entry).insecure === true) out.push(`bmc.${cloud}.hosts.${host}`);
    }
  }
  return out;
}

/** The warning to log at start when some BMC entries skip TLS verification; `undefined` when none does. */
export function insecureBmcWarning(section: BmcSection | undefined): string | undefined {
  return warnInsecure(insecureBmcEntries(section));
}

/**
 * The same warning for one host's BMC only (the breakglass CLI, before it
 * talks to it): the entry that turns verification off for `host` in `cloud`
 * (its hosts entry, else the template); `undefined` when it verifies.
 */
export function insecureBmcWarningFor(section: BmcSection | undefined, cloud: string, host: string): string | undefined {
  const bmc = section && Object.hasOwn(section, cloud) ? section[cloud] : undefined;
  if (!bmc || resolveBmcTarget(section, cloud, host)?.tls.insecure !== true) return undefined;
  const key = Object.keys(bmc.hosts).find((k) => foldHost(k) === foldHost(host));
  return warnInsecure([key === undefined ? `bmc.${cloud}.template` : `bmc.${cloud}.hosts.${key}`]);
}

function warnInsecure(entries: string[]): string | undefined {
  if (entries.length === 0) return undefined;
  return `BMC TLS verification is off (insecure: true) for ${entries.join(', ')}: anyone on the management network path can pose as these BMCs; give them a caCert instead`;
}
