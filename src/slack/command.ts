import { checkHostName, COMPUTE_BINARY, describeHostNameProblem } from '../domain/host.js';
import { inert } from './mrkdwn.js';

/** What `/force-down …` asked for. Parsed at the edge; the use cases never see raw text. */
export type SlashCommand =
  | { kind: 'help'; error?: string }
  /** `list [--page N]`: page N (from 1) of the hosts down or forced down. */
  | { kind: 'list'; cloud?: string; page?: number }
  | { kind: 'status'; host: string; binary: string; cloud?: string }
  /** `evacuate <host>`: the evacuation modal of the host's forced-down card. */
  | { kind: 'evacuate'; host: string; cloud?: string }
  | { kind: 'open'; action: 'force-down' | 'unset'; host: string; binary: string; cloud?: string; reason?: string };

const MAX_TEXT = 2000;
const CLOUD = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Splits on blanks, keeping "quoted strings" (straight or Slack's curly quotes) together. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /["“”]([^"“”]*)["“”]|(\S+)/g;
  for (const m of text.matchAll(re)) tokens.push(m[1] ?? m[2] ?? '');
  return tokens;
}

/** Parses the text of `/force-down`. Anything it cannot read becomes help with the reason. */
export function parseSlashCommand(raw: string): SlashCommand {
  if (raw.length > MAX_TEXT) return { kind: 'help', error: 'That command is too long.' };
  const tokens = tokenize(raw.trim());
  const first = tokens[0]?.toLowerCase();
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') return { kind: 'help' };

  const positional: string[] = [];
  let cloud: string | undefined;
  let reason: string | undefined;
  let unset = false;
  let page: number | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '--unset') unset = true;
    else if (t === '--cloud') {
      const v = tokens[++i];
      if (!v || !CLOUD.test(v)) return { kind: 'help', error: '`--cloud` needs a cloud name, e.g. `--cloud prod-east`.' };
      cloud = v;
    } else if (t === '--page') {
      const v = tokens[++i];
      if (v === undefined || !/^[0-9]{1,4}$/.test(v) || Number(v) < 1) return { kind: 'help', error: '`--page` needs a page number from 1, e.g. `/force-down list --page 2`.' };
      page = Number(v);
    } else if (t === '--reason') {
      // The reason runs to the next option, so it needs no quotes.
      const words: string[] = [];
      while (i + 1 < tokens.length && !tokens[i + 1]!.startsWith('--')) words.push(tokens[++i]!);
      if (words.length === 0) return { kind: 'help', error: '`--reason` needs some text.' };
      reason = words.join(' ');
    } else if (t.startsWith('--')) return { kind: 'help', error: `Unknown option \`${inert(t, 40)}\`.` };
    else positional.push(t);
  }

  const [verb] = positional;
  if (verb === 'list' && !unset) {
    if (positional.length > 1 || reason) return { kind: 'help', error: '`list` takes only `--cloud` and `--page`.' };
    return { kind: 'list', ...(cloud ? { cloud } : {}), ...(page !== undefined ? { page } : {}) };
  }
  if (page !== undefined) return { kind: 'help', error: '`--page` goes with `list` only: `/force-down list --page 2`.' };
  if (verb === 'evacuate' && !unset) {
    const [, host, ...rest] = positional;
    if (host === undefined) return { kind: 'help', error: 'Name a host: `/force-down evacuate compute1`.' };
    const problem = checkHostName(host);
    if (problem) return { kind: 'help', error: `That is not a host name: ${describeHostNameProblem(problem)}.` };
    if (rest.length > 0 || reason) return { kind: 'help', error: '`evacuate` takes a host and `--cloud`; the modal asks the rest.' };
    return { kind: 'evacuate', host, ...(cloud ? { cloud } : {}) };
  }
  const isStatus = verb === 'status' && !unset;
  const [host, binary, ...extra] = isStatus ? positional.slice(1) : positional;
  if (host === undefined) return { kind: 'help', error: isStatus ? 'Name a host: `/force-down status compute1`.' : 'Name a host: `/force-down compute1`.' };
  const problem = checkHostName(host);
  if (problem) return { kind: 'help', error: `That is not a host name: ${describeHostNameProblem(problem)}.` };
  if (binary !== undefined && binary !== COMPUTE_BINARY) return { kind: 'help', error: 'force-down acts on `nova-compute` only.' };
  if (extra.length > 0) return { kind: 'help', error: 'Too many words: put free text after `--reason`.' };
  if (isStatus) return { kind: 'status', host, binary: COMPUTE_BINARY, ...(cloud ? { cloud } : {}) };
  return {
    kind: 'open',
    action: unset ? 'unset' : 'force-down',
    host,
    binary: COMPUTE_BINARY,
    ...(cloud ? { cloud } : {}),
    ...(reason ? { reason } : {}),
  };
}
