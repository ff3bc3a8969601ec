import { parseArgs } from 'node:util';
import { checkHostName, COMPUTE_BINARY, describeHostNameProblem } from '../domain/host.js';
import type { CloudFlag } from '../config/cloud-choice.js';
import { FENCING_METHODS, isFencingMethod, POWER_OFF_NOW, whyFenceFirst, type FenceChoice } from '../domain/fencing.js';

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'status'; host: string; binary: string; common: Common }
  | { kind: 'list'; all: boolean; common: Common }
  /** `bmc <host>`: the host's power state as its BMC reports it (no Nova call). */
  | { kind: 'bmc'; host: string; common: Common }
  /** `evacuate <host>`: rebuild the forced-down host's instances elsewhere, each once. */
  | {
      kind: 'evacuate';
      host: string;
      /** --target: the host to rebuild them on; undefined: Nova's scheduler chooses. */
      target?: string;
      /** --ha-only: only the instances marked for HA (metadata HA_Enabled). */
      haOnly: boolean;
      /** --yes: the operator confirms the host stays fenced while its instances are rebuilt elsewhere. */
      yes: boolean;
      common: Common;
    }
  | {
      kind: 'set';
      host: string;
      binary: string;
      forcedDown: boolean;
      /** How the host was fenced (--fenced), or `power-off` (--power-off: force-down powers it off via its BMC). */
      fenced?: FenceChoice;
      note?: string;
      /** --ignore-heartbeat: skip the heartbeat watch (forcing down only). */
      ignoreHeartbeat?: boolean;
      common: Common;
    };

export interface Common {
  /** --cloud or --os-cloud, and which of the two was given. */
  cloud?: CloudFlag;
  json: boolean;
  microversion?: string;
  /** --debug: list the configuration files read on stderr (paths only). */
  debug?: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage:
  force-down <host> [nova-compute] --fenced <how> [--note TEXT] [--ignore-heartbeat] [--cloud NAME] [--json]
  force-down <host> [nova-compute] --power-off [--note TEXT] [--cloud NAME] [--json]
  force-down --unset <host> [nova-compute] [--note TEXT] [--cloud NAME] [--json]
  force-down status <host> [--cloud NAME] [--json]
  force-down list [--all] [--cloud NAME] [--json]
  force-down bmc <host> [--cloud NAME] [--json]
  force-down evacuate <host> [--target HOST] [--ha-only] [--yes] [--cloud NAME] [--json]

Marks a fenced compute host's nova-compute service down in Nova at once (the
seed's \`nova service-force-down\`), so its instances can be evacuated, and
unsets it (--unset) once the host is recovered.

  --fenced <how>   how the host was fenced; required to force down:
${Object.entries(FENCING_METHODS)
  .map(([k, v]) => `                     ${k.padEnd(8)} ${v}`)
  .join('\n')}
  --power-off      instead of --fenced: force-down fences the host itself, via its
                   BMC (below): it powers the host off (Redfish ComputerSystem.Reset,
                   ForceOff where the BMC allows it), waits until the BMC reports
                   Off (FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS, default 120,
                   10-900), then forces it down; not with --unset or
                   --ignore-heartbeat
  --note TEXT      free text for the answer and the Slack audit line (required
                   with --fenced other)
  --ignore-heartbeat
                   force down without the heartbeat watch (below); not with --unset
  --unset          unset forced_down (host recovered, evacuated instances cleaned up)
  --cloud NAME, --os-cloud NAME
                   cloud in FORCE_DOWN_SECRET_FILE or clouds.yaml (default: OS_CLOUD,
                   else FORCE_DOWN_DEFAULT_CLOUD, else the only one)
  --os-compute-api-version 2.N
                   pin the compute microversion (default: discovered; 2.53+ preferred)
  --all            list: every nova-compute service, not only down or forced-down ones
  bmc <host>       print the host's power state as its BMC reports it (no Nova
                   call; exit 0 whatever the state)
  evacuate <host>  rebuild the instances of <host>, which must be forced down (or
                   down) in Nova, on other hosts: Nova's evacuate, once per
                   instance, at most FORCE_DOWN_EVACUATE_CONCURRENCY (default 5,
                   1-50) in progress at a time, each followed through its
                   migration record until done, failed or
                   FORCE_DOWN_EVACUATE_TIMEOUT_MINUTES (default 30, 1-240).
                   Progress per instance on stderr, a summary table on stdout
                   (ID, NAME, STATE BEFORE, RESULT, DETAIL). Refused before
                   anything is sent when the host is up in Nova
                   (HOST_STILL_IN_USE) or its BMC reports power on (BMC_SAYS_ON)
  --target HOST    evacuate: rebuild them on HOST (an up, enabled nova-compute;
                   Nova's scheduler still checks it); default: Nova chooses
  --ha-only        evacuate: only the instances marked for HA (metadata
                   HA_Enabled=True, as Masakari reads it)
  --yes            evacuate: confirm that <host> stays fenced while its
                   instances are rebuilt elsewhere. Without it, force-down lists
                   what it would evacuate and asks on a terminal (type yes);
                   when stdin is not a terminal it sends nothing and exits 2
  --json           print one JSON object instead of a line (errors too)
  --debug          list on stderr the configuration files read (paths only, never
                   their contents) and the cloud chosen; the answer is unchanged

Heartbeat watch: before forcing down, force-down reads the host's nova-compute
in Nova. If Nova hears from it after the command started, the host is not
fenced: nothing is changed and force-down exits 3 (HOST_STILL_REPORTING). A
last heartbeat younger than FORCE_DOWN_HEARTBEAT_WAIT_SECONDS (default 20,
0-120, as for the bot) is watched until it is that old.

BMCs: a host's BMC (Redfish) comes from FORCE_DOWN_SECRET_FILE's bmc section
only (bmc.<cloud>: a template and hosts entries, as for the bot); clouds.yaml
and the OS_* variables have none, so --power-off and bmc need that file. For a
host with a BMC entry, force-down reads its power state before forcing down: Off
replaces the heartbeat wait (a heartbeat after it still refuses); with --fenced
bmc anything else refuses (exit 3, BMC_SAYS_ON), and so does a BMC that cannot
be read (exit 4, BMC_UNREACHABLE); with the other methods the heartbeat watch
decides. A host without a BMC entry is checked as above. BMC credentials are
never printed.

Credentials: FORCE_DOWN_SECRET_FILE (the bot's secret document), else clouds.yaml
(OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/, /etc/openstack/),
else the OS_* variables of an openrc; with both of the last two, the OS_*
variables win unless --cloud or OS_CLOUD names a cloud (as with the openstack
CLI). Every answer names the cloud it used. secure.yaml is read from
OS_CLIENT_SECURE_FILE, else only beside the clouds.yaml used (never from
another folder), and may hold only credentials: an auth_url, endpoint or any
other setting in it is refused (exit 2) and nothing is sent.

Audit: when FORCE_DOWN_SECRET_FILE has slack.botToken and FORCE_DOWN_CHANNEL is
set, each force-down, --unset and evacuate posts one line to that Slack channel once Nova
has answered (who ran it as $USER@hostname, host, cloud, fence method, the
BMC's power-off or reading, note, outcome code; for evacuate: the target, how
many instances and how each ended); a post that fails or takes over 3 s is a warning on stderr and
changes nothing else. Otherwise nothing is recorded beyond this command's output.

Exit codes: 0 done, 2 usage or configuration (nothing sent to Nova), 3 refused
(by Nova or Keystone, or the host still reports to Nova), 4 Nova or Keystone
unreachable. With a BMC: 2 also when the host has no BMC entry (--power-off,
bmc) or its entry does not fit the BMC (BMC_CONFIG), 3 when the BMC reports the
host on (BMC_SAYS_ON), refuses the power-off (BMC_REJECTED) or does not report
Off in time (BMC_POWER_OFF_TIMEOUT), 4 when it is unreachable (BMC_UNREACHABLE).
evacuate: 0 only when every instance was evacuated (migration done or completed;
also a host with nothing to evacuate), 2 also when not confirmed (no --yes and
no terminal, or an answer other than yes: nothing sent), 3 when a check refused
(nothing sent) or any instance was refused by Nova, failed or timed out, 4 when
Nova or Keystone was unreachable (and nothing else went wrong).`;

/** Whether the command line asks for JSON: read before parsing, so that usage errors are JSON too. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Parses the command line. Throws UsageError with a message meant for the operator. */
export function parseCli(argv: string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        unset: { type: 'boolean', default: false },
        fenced: { type: 'string' },
        note: { type: 'string' },
        cloud: { type: 'string' },
        'os-cloud': { type: 'string' },
        'ignore-heartbeat': { type: 'boolean', default: false },
        'power-off': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        debug: { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        'os-compute-api-version': { type: 'string' },
        target: { type: 'string' },
        'ha-only': { type: 'boolean', default: false },
        yes: { type: 'boolean', short: 'y', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals[0] === 'help') return { kind: 'help' };
  if (v.version) return { kind: 'version' };

  const microversion = v['os-compute-api-version'];
  if (microversion !== undefined && !/^2\.\d+$/.test(microversion)) {
    throw new UsageError('--os-compute-api-version takes a microversion like 2.53');
  }
  const cloud = cloudFlag(v.cloud, v['os-cloud']);
  const common: Common = {
    json: v.json,
    ...(v.debug ? { debug: true } : {}),
    ...(cloud !== undefined ? { cloud } : {}),
    ...(microversion !== undefined ? { microversion } : {}),
  };

  const [first, ...rest] = positionals;
  if (first === undefined) throw new UsageError('name a host, e.g. force-down compute1 --fenced bmc');

  if (first === 'evacuate') {
    const [host, ...extra] = rest;
    if (host === undefined) throw new UsageError('evacuate needs a host, e.g. force-down evacuate compute1 --yes');
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    rejectSetOptions(v, 'evacuate');
    if (v.all) throw new UsageError('--all goes with list');
    const source = validHost(host);
    let target: string | undefined;
    if (v.target !== undefined) {
      if (v.target === '') throw new UsageError('--target needs a host name');
      target = validHost(v.target);
      if (target === source) throw new UsageError(`--target ${target} is the host being evacuated: name another host, or leave --target out and let Nova's scheduler choose`);
    }
    return { kind: 'evacuate', host: source, ...(target !== undefined ? { target } : {}), haOnly: v['ha-only'], yes: v.yes, common };
  }
  if (v.target !== undefined || v['ha-only'] || v.yes) throw new UsageError('--target, --ha-only and --yes go with evacuate');

  if (first === 'list') {
    if (rest.length > 0) throw new UsageError(`list takes no arguments (got "${rest.join(' ')}")`);
    rejectSetOptions(v, 'list');
    return { kind: 'list', all: v.all, common };
  }
  if (first === 'status') {
    const [host, binary, ...extra] = rest;
    if (host === undefined) throw new UsageError('status needs a host, e.g. force-down status compute1');
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    rejectSetOptions(v, 'status');
    return { kind: 'status', host: validHost(host), binary: validBinary(binary), common };
  }
  if (first === 'bmc') {
    const [host, ...extra] = rest;
    if (host === undefined) throw new UsageError('bmc needs a host, e.g. force-down bmc compute1');
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    rejectSetOptions(v, 'bmc');
    if (v.all) throw new UsageError('--all goes with list');
    if (microversion !== undefined) throw new UsageError('--os-compute-api-version does not go with bmc (it does not call Nova)');
    return { kind: 'bmc', host: validHost(host), common };
  }

  const [binary, ...extra] = rest;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (v.all) throw new UsageError('--all goes with list');
  const host = validHost(first);
  if (v.unset) {
    if (v['power-off']) throw new UsageError('--power-off goes with forcing down, not with --unset');
    if (v.fenced !== undefined) throw new UsageError('--fenced goes with forcing down, not with --unset');
    if (v['ignore-heartbeat']) throw new UsageError('--ignore-heartbeat goes with forcing down, not with --unset (unsetting has no heartbeat watch)');
    return { kind: 'set', host, binary: validBinary(binary), forcedDown: false, ...(v.note ? { note: v.note } : {}), common };
  }
  if (v['power-off']) {
    if (v.fenced !== undefined) {
      throw new UsageError(`--power-off is the fence (force-down powers ${host} off via its BMC): give --power-off or --fenced, not both`);
    }
    if (v['ignore-heartbeat']) {
      throw new UsageError(`--ignore-heartbeat does not go with --power-off (after the BMC reports Off there is no heartbeat wait, only a check that Nova has heard nothing from ${host} since)`);
    }
    return { kind: 'set', host, binary: validBinary(binary), forcedDown: true, fenced: POWER_OFF_NOW, ...(v.note ? { note: v.note } : {}), common };
  }
  if (v.fenced === undefined) {
    throw new UsageError(
      `refusing to force ${host} down without --fenced.\n${whyFenceFirst(host)}\n` +
        `Then run: force-down ${host} --fenced ${Object.keys(FENCING_METHODS).join('|')}\n` +
        `(or, when ${host} has a BMC entry in FORCE_DOWN_SECRET_FILE: force-down ${host} --power-off)`,
    );
  }
  if (!isFencingMethod(v.fenced)) {
    throw new UsageError(`--fenced must be one of ${Object.keys(FENCING_METHODS).join(', ')} (got "${v.fenced}")`);
  }
  if (v.fenced === 'other' && !v.note) throw new UsageError('--fenced other needs --note saying how the host was fenced');
  return {
    kind: 'set',
    host,
    binary: validBinary(binary),
    forcedDown: true,
    fenced: v.fenced,
    ...(v.note ? { note: v.note } : {}),
    ...(v['ignore-heartbeat'] ? { ignoreHeartbeat: true } : {}),
    common,
  };
}

function cloudFlag(cloud: string | undefined, osCloud: string | undefined): CloudFlag | undefined {
  if (cloud === '' || osCloud === '') throw new UsageError(`${cloud === '' ? '--cloud' : '--os-cloud'} needs a cloud name`);
  if (cloud !== undefined && osCloud !== undefined && cloud !== osCloud) {
    throw new UsageError(`--cloud and --os-cloud name different clouds ("${cloud.slice(0, 80)}", "${osCloud.slice(0, 80)}"): give one`);
  }
  if (cloud !== undefined) return { name: cloud, flag: '--cloud' };
  if (osCloud !== undefined) return { name: osCloud, flag: '--os-cloud' };
  return undefined;
}

function rejectSetOptions(
  v: { unset: boolean; fenced?: string | undefined; note?: string | undefined; 'ignore-heartbeat': boolean; 'power-off': boolean },
  cmd: string,
): void {
  if (v.unset || v.fenced !== undefined || v.note !== undefined || v['ignore-heartbeat'] || v['power-off']) {
    throw new UsageError(`--unset, --fenced, --power-off, --note and --ignore-heartbeat do not go with ${cmd}`);
  }
}

function validHost(host: string): string {
  const problem = checkHostName(host);
  if (problem) throw new UsageError(`"${host.slice(0, 80)}" is not a host name: ${describeHostNameProblem(problem)}`);
  return host;
}

function validBinary(binary: string | undefined): string {
  if (binary === undefined) return COMPUTE_BINARY;
  if (!/^nova-[a-z-]+$/.test(binary)) throw new UsageError(`"${binary.slice(0, 40)}" is not a Nova service binary (force-down acts on nova-compute)`);
  return binary;
}
