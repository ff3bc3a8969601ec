// The breakglass CLI's audit line: one Slack message per force-down or --unset,
// like the bot's audit thread. Plain fetch, no @slack/* (the CLI is bundled small).
import { hostname, userInfo } from 'node:os';
import type { EvacuationResultKind } from '../app/evacuate.js';
import type { BmcEvidence } from '../app/fence.js';
import { fenceChoiceLabel, POWER_OFF_NOW, type FenceChoice } from '../domain/fencing.js';
import { describePowerState } from '../domain/power.js';
import { escapeAndTruncate, inert, quoted, truncate } from '../slack/mrkdwn.js';

type Env = Record<string, string | undefined>;

/** How long the CLI waits for Slack before giving up on the audit line (it never delays Nova). */
export const AUDIT_TIMEOUT_MS = 3_000;

export interface AuditTarget {
  token: string;
  channel: string;
  /** Slack Web API base URL, ending in `/`. */
  apiUrl: string;
}

/**
 * Where the audit line goes: the secret document's bot token and
 * FORCE_DOWN_CHANNEL, both needed. With only one of the two, a warning says
 * why nothing is posted; with neither, nothing is said (clouds.yaml users).
 */
export function auditTarget(botToken: string | undefined, env: Env): { target?: AuditTarget; warning?: string } {
  const channel = env.FORCE_DOWN_CHANNEL?.trim() || undefined;
  if (botToken && channel) {
    const base = env.SLACK_API_URL?.trim() || 'https://slack.com/api/';
    return { target: { token: botToken, channel, apiUrl: base.endsWith('/') ? base : `${base}/` } };
  }
  if (botToken) return { warning: 'no Slack audit line: FORCE_DOWN_CHANNEL is not set' };
  if (channel) return { warning: 'no Slack audit line: FORCE_DOWN_CHANNEL is set, but there is no slack.botToken in FORCE_DOWN_SECRET_FILE' };
  return {};
}

/** Who ran the command, as `$USER@hostname` (USER first, then the OS account). */
export function whoRanIt(env: Env): string {
  let user = env.USER?.trim();
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = undefined; // no passwd entry (some containers)
    }
  }
  let host: string;
  try {
    host = hostname();
  } catch {
    host = 'unknown-host';
  }
  return `${user || 'unknown'}@${host}`;
}

export interface AuditEvent {
  /** When the outcome was known (ms). */
  at: number;
  who: string;
  action: 'force-down' | 'unset';
  host: string;
  binary: string;
  cloud: string;
  /** --fenced, or `power-off` (--power-off). */
  fenced?: FenceChoice;
  note?: string;
  heartbeatIgnored?: boolean;
  /** What the host's BMC said, when it was read (a power-off: the reset sent and when Off was seen). */
  bmc?: BmcEvidence;
  outcome:
    | { ok: true; request: string; microversion: string }
    | { ok: false; code: string; message: string; request?: string; status?: number };
}

/** Slack's limit for a message's text is far higher; one audit line stays readable. */
const LINE_MAX = 3_000;

/**
 * One mrkdwn line: when, who (CLI), what, the cloud, the fence method (with
 * the BMC's evidence), note, and the outcome code.
 * What a person wrote or chose (the note, \$USER, the binary, the message) is inert (mrkdwn.ts `inert`):
 * one line, no formatting, mention or link; the note in curly quotes, last but for the outcome.
 */
export function auditText(e: AuditEvent): string {
  const host = `*${escapeAndTruncate(e.host, 255)}*${e.binary !== 'nova-compute' ? ` (${inert(e.binary, 40)})` : ''}`;
  const doing = e.action === 'force-down' ? `force down ${host}` : `unset forced-down on ${host}`;
  const done = e.action === 'force-down' ? `forced down ${host}` : `unset forced-down on ${host}`;
  const parts = [
    `\`${new Date(e.at).toISOString()}\` breakglass CLI: ${inert(e.who, 200)} ${e.outcome.ok ? done : `failed to ${doing}`} in ${escapeAndTruncate(e.cloud, 200)}`,
  ];
  if (e.fenced === POWER_OFF_NOW) parts.push(powerOffWords(e.bmc));
  else if (e.fenced) parts.push(`fenced: ${fenceChoiceLabel(e.fenced)}`);
  if (e.bmc && e.fenced !== POWER_OFF_NOW) parts.push(`BMC reads ${describePowerState(e.bmc.powerState)} at ${at(e.bmc.readAt)}`);
  const note = quoted(e.note, 500);
  if (note) parts.push(`note: ${note}`);
  if (e.heartbeatIgnored) parts.push('heartbeat watch skipped (--ignore-heartbeat)');
  const o = e.outcome;
  // A BMC code's request went to the BMC (Redfish), every other one to Nova or Keystone.
  const service = !o.ok && o.code.startsWith('BMC_') ? 'BMC' : 'Nova';
  const path = o.request ? `${service}: \`${escapeAndTruncate(o.request, 100)}\`${o.ok ? ` @ ${escapeAndTruncate(o.microversion, 20)}` : ''} → ` : '→ ';
  parts.push(o.ok ? `${path}*OK*` : `${path}*${escapeAndTruncate(o.code, 60)}*${o.status !== undefined ? ` (HTTP ${o.status})` : ''}: ${inert(o.message, 300)}`);
  return truncate(parts.join(' · ').replace(/\n/g, ' '), LINE_MAX);
}

/** Power off now, and what the BMC said: the reset and when Off was seen, or that it already read Off. */
function powerOffWords(bmc: BmcEvidence | undefined): string {
  const words = 'BMC power-off via Redfish';
  if (!bmc) return words;
  if (!bmc.reset) return `${words}: none needed, BMC reads Off at ${at(bmc.readAt)}`;
  return `${words} (${bmc.reset.resetType}), reset sent at ${at(bmc.reset.sentAt)}, Off seen at ${at(bmc.reset.offAt)}`;
}

/** One evacuate run of the CLI, for its audit line. */
export interface EvacuationAuditEvent {
  at: number;
  who: string;
  host: string;
  cloud: string;
  /** --target, when given. */
  target?: string;
  haOnly: boolean;
  /** A check refused before anything was sent (HOST_STILL_IN_USE, BMC_SAYS_ON, …), or the listing failed. */
  refused?: { code: string; message: string };
  /** How each instance ended (absent when a check refused). */
  results?: { id: string; name: string; result: EvacuationResultKind; code?: string }[];
}

/** Instances named one by one on the audit line, at most. */
const AUDIT_NAMED_MAX = 10;

/**
 * One mrkdwn line: when, who, the host and cloud, where to (target or Nova's
 * scheduler, HA only), how many instances, how many ended each way, and the
 * ones that did not end done (name and code, the first ten).
 */
export function evacuationAuditText(e: EvacuationAuditEvent): string {
  const host = `*${escapeAndTruncate(e.host, 255)}*`;
  const parts = [`\`${new Date(e.at).toISOString()}\` breakglass CLI: ${inert(e.who, 200)} ${e.refused ? 'was refused evacuating' : 'evacuated'} ${host} in ${escapeAndTruncate(e.cloud, 200)}`];
  parts.push(e.target ? `target ${escapeAndTruncate(e.target, 255)}` : "target: Nova's scheduler");
  if (e.haOnly) parts.push('HA-marked instances only (--ha-only)');
  if (e.refused) {
    parts.push(`→ nothing sent: *${escapeAndTruncate(e.refused.code, 60)}*: ${inert(e.refused.message, 300)}`);
  } else {
    const r = e.results ?? [];
    const n = (k: string) => r.filter((x) => x.result === k).length;
    const counts = [`${n('done')} done`, ...(['failed', 'timeout', 'refused'] as const).filter((k) => n(k) > 0).map((k) => `${n(k)} ${k === 'timeout' ? 'timed out' : k}`)];
    parts.push(r.length === 0 ? '→ *nothing to evacuate*' : `${r.length} instance${r.length === 1 ? '' : 's'} → ${n('done') === r.length ? '*all done*' : `*${counts.join(', ')}*`}`);
    const bad = r.filter((x) => x.result !== 'done');
    if (bad.length > 0) {
      const named = bad.slice(0, AUDIT_NAMED_MAX).map((x) => `${inert(x.name || x.id, 80)} ${x.result}${x.code ? ` (${escapeAndTruncate(x.code, 40)})` : ''}`);
      parts.push(`not done: ${named.join(', ')}${bad.length > AUDIT_NAMED_MAX ? ` and ${bad.length - AUDIT_NAMED_MAX} more` : ''}`);
    }
  }
  return truncate(parts.join(' · ').replace(/\n/g, ' '), LINE_MAX);
}

const at = (ms: number) => `\`${new Date(ms).toISOString()}\``;

export interface PostOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * Posts the line with chat.postMessage. Never throws: resolves with undefined
 * when Slack took it, else with why not (in words without the token). Gives
 * up after `timeoutMs` even if `fetch` ignores its abort signal.
 */
export async function postAudit(target: AuditTarget, text: string, opts: PostOptions = {}): Promise<string | undefined> {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? AUDIT_TIMEOUT_MS;
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve(`Slack did not answer within ${timeoutMs / 1000} s`);
    }, timeoutMs);
  });
  const attempt = (async (): Promise<string | undefined> => {
    try {
      const res = await doFetch(`${target.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ channel: target.channel, text, unfurl_links: false, unfurl_media: false }),
        signal: abort.signal,
      });
      const body = (await res.json().catch(() => undefined)) as { ok?: unknown; error?: unknown } | undefined;
      if (res.status !== 200) return `Slack answered HTTP ${res.status}${typeof body?.error === 'string' ? ` (${body.error.slice(0, 60)})` : ''}`;
      if (body?.ok !== true) return `Slack answered ${typeof body?.error === 'string' ? body.error.slice(0, 60) : 'without ok'}`;
      return undefined;
    } catch (err) {
      if (abort.signal.aborted) return `Slack did not answer within ${timeoutMs / 1000} s`;
      const cause = (err as { cause?: { code?: unknown } }).cause?.code;
      return `Slack could not be reached${typeof cause === 'string' ? ` (${cause})` : ''}`;
    }
  })();
  try {
    return await Promise.race([attempt, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
