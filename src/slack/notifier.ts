import type { WebClient } from '@slack/web-api';
import type { BmcView, EvacuateForm, EvacuateModalCheck, EvacuationEvent, HostView, ListContext, Logger, Notifier } from '../app/ports.js';
import type { Evacuation } from '../domain/evacuation.js';
import { foldHost } from '../domain/host.js';
import type { Outcome } from '../domain/failure.js';
import type { ForceDownRequest, HistoryEntry } from '../domain/request.js';
import type { ComputeService } from '../domain/service.js';
import { auditLine, auditMessage, bmcOnWarning, bmcReadingText, fenceModal, type KnownBlock } from './blocks.js';
import { LIMITS, mrkdwn, unsetCommand } from './card-parts.js';
import { evacuateModal, evacuationEventTexts } from './evacuation-blocks.js';
import { failureText } from './messages.js';
import { escapeAndTruncate, escapeMrkdwn, formatAge, formatUtc, parseUtc, quoted } from './mrkdwn.js';
import type { ChannelPacer } from './pacer.js';
import { logFailedCall, slackErrorCode } from './slack-calls.js';

export interface SlackNotifierOptions {
  client: Pick<WebClient, 'chat' | 'views'>;
  /** Posts JSON to a slash command's response_url. */
  postToResponseUrl: (url: string, message: Record<string, unknown>) => Promise<void>;
  now: () => number;
  log: Logger;
  /** Spaces thread lines per channel: the cards' pacer (src/slack/cards.ts), since they share the channel's budget. Default: none. */
  pacer?: ChannelPacer;
  /** FORCE_DOWN_DEFAULT_CLOUD: the commands we suggest name `--cloud` for other clouds only (absent: always). */
  defaultCloud?: string;
}

/**
 * The worker's Slack side besides the cards (src/slack/cards.ts): a card's
 * audit thread (and its evacuation's steps), the confirmation and evacuation
 * modals' readings, and answers to status/list. The WebClient retries rate-limited (429, honouring
 * Retry-After) and failed calls itself. Audit lines are best effort (the
 * thread repeats the stored history): their failure is logged and swallowed.
 */
export function createSlackNotifier(opts: SlackNotifierOptions): Notifier {
  const { client } = opts;
  const paced = <T>(channel: string, call: () => Promise<T>): Promise<T> => (opts.pacer ? opts.pacer.schedule(channel, call) : call());
  const failed = (call: string, request: ForceDownRequest, err: unknown, swallowed: boolean) => logFailedCall(opts.log, call, request, err, swallowed);
  return {
    async audit(request: ForceDownRequest, entry: HistoryEntry) {
      if (!request.messageTs) return;
      try {
        const thread = request.messageTs;
        const { text, blocks } = auditMessage(request, entry);
        await paced(request.channel, () => client.chat.postMessage({ channel: request.channel, thread_ts: thread, text, ...(blocks ? { blocks } : {}), unfurl_links: false }));
      } catch (err) {
        failed('chat.postMessage (audit)', request, err, true);
      }
    },
    async auditJoined(joined: readonly ForceDownRequest[]) {
      const first = joined[0];
      const thread = first?.messageTs;
      if (!thread || !first) return;
      const channel = first.channel;
      // The first request's opening line, naming every host that joined: one line, not one per host.
      const line = auditLine(first, first.history[0]!);
      const text = joined.length === 1 ? line : line.replace(`*${escapeMrkdwn(first.host)}*`, `${joined.length} hosts: ${joined.map((r) => `*${escapeMrkdwn(r.host)}*`).join(', ')}`);
      try {
        await paced(channel, () => client.chat.postMessage({ channel, thread_ts: thread, text: text.length > 3000 ? `${text.slice(0, 2990)}…` : text, unfurl_links: false }));
      } catch (err) {
        failed('chat.postMessage (audit)', first, err, true);
      }
    },
    async auditGroup(requests: readonly ForceDownRequest[], entry: HistoryEntry) {
      const first = requests[0];
      // Every member of a group shows on (and threads under) the group's first message.
      const thread = requests.find((r) => r.messageTs)?.messageTs;
      if (!thread || !first) return;
      const channel = first.channel;
      const text = requests.length === 1 ? auditLine(first, entry) : manyHostsLine(auditLine(first, entry), first, requests);
      try {
        await paced(channel, () => client.chat.postMessage({ channel, thread_ts: thread, text, unfurl_links: false }));
      } catch (err) {
        failed('chat.postMessage (audit)', first, err, true);
      }
    },
    async updateModal(viewId: string, request: ForceDownRequest, view: HostView, form?: string) {
      // Without its form's nonce the updated modal could not be submitted: leave it as it is.
      if (form === undefined) return;
      try {
        await client.views.update({ view_id: viewId, view: fenceModal(request, { ...view, now: opts.now() }, form) });
      } catch (err) {
        // The approver may have submitted or closed it already: the modal's reading is a courtesy.
        opts.log.warn('slack call failed', { call: 'views.update', requestId: request.id, slackError: slackErrorCode(err), swallowed: true });
      }
    },
    async updateEvacuateModal(viewId: string, request: ForceDownRequest, check: EvacuateModalCheck, form: EvacuateForm) {
      try {
        await client.views.update({ view_id: viewId, view: evacuateModal(request, form, check) });
      } catch (err) {
        // The approver may have submitted or closed it already: the modal's reading is a courtesy.
        opts.log.warn('slack call failed', { call: 'views.update', requestId: request.id, slackError: slackErrorCode(err), swallowed: true });
      }
    },
    async evacuationEvent(request: ForceDownRequest, evacuation: Evacuation, event: EvacuationEvent) {
      if (!request.messageTs) return;
      const thread = request.messageTs;
      // Best effort, like the audit lines: the ledger holds the evacuation; the card shows where it stands.
      for (const text of evacuationEventTexts(request, evacuation, event)) {
        try {
          await paced(request.channel, () => client.chat.postMessage({ channel: request.channel, thread_ts: thread, text, unfurl_links: false }));
        } catch (err) {
          failed('chat.postMessage (evacuation)', request, err, true);
          return;
        }
      }
    },
    async replyStatus(responseUrl: string, cloud: string, host: string, result: Outcome<ComputeService>, bmc?: BmcView) {
      const text = result.ok
        ? describe(result.value, opts.now())
        : `${failureText(result.failure, { host, action: 'force-down', cloud }).headline}.`;
      // The BMC's reading (hosts with a BMC only), on a line of its own.
      const warning = bmc ? bmcOnWarning({ host, action: 'force-down' }, bmc) : undefined;
      const bmcLine = bmc ? `\n*BMC*: ${bmcReadingText(bmc, opts.now())}${warning ? `\n${warning}` : ''}` : '';
      await opts.postToResponseUrl(responseUrl, { response_type: 'ephemeral', text: `${text} (cloud ${escapeMrkdwn(cloud)})${bmcLine}` });
    },
    async replyList(responseUrl: string, cloud: string, result: Outcome<ComputeService[]>, list?: ListContext) {
      if (!result.ok) {
        const text = `${failureText(result.failure, { host: 'the hosts', action: 'force-down', cloud }).headline}.`;
        return opts.postToResponseUrl(responseUrl, { response_type: 'ephemeral', text: text.slice(0, 3000) });
      }
      const answer = listAnswer(cloud, result.value, { page: list?.page ?? 1, forcedDownSince: list?.forcedDownSince ?? new Map(), now: opts.now(), ...(opts.defaultCloud ? { defaultCloud: opts.defaultCloud } : {}) });
      await opts.postToResponseUrl(responseUrl, { response_type: 'ephemeral', text: answer.text, blocks: answer.blocks });
    },
    async remind(request: ForceDownRequest, forcedDownForMs: number) {
      if (!request.messageTs) {
        opts.log.info('reminder not posted: the request has no card', { requestId: request.id });
        return;
      }
      const thread = request.messageTs;
      const text = reminderText(request, forcedDownForMs, opts.defaultCloud);
      try {
        await paced(request.channel, () => client.chat.postMessage({ channel: request.channel, thread_ts: thread, text, unfurl_links: false }));
      } catch (err) {
        failed('chat.postMessage (reminder)', request, err, true);
      }
    },
  };
}

/** How long, for people: `45 s`, `12 min`, `26 h`, `4 d 3 h`. */
export function forDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  const h = Math.floor(s / 3600);
  if (h < 72) return `${h} h`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** The reminder in a forced-down host's card thread: "compute1 has been forced down for 26 h. When it is repaired: `/force-down --unset compute1`". */
export function reminderText(request: Pick<ForceDownRequest, 'host' | 'cloud'>, forcedDownForMs: number, defaultCloud?: string): string {
  const host = escapeMrkdwn(request.host);
  return `${host} has been forced down for ${forDuration(forcedDownForMs)}. When it is repaired: \`${escapeMrkdwn(unsetCommand(request.host, request.cloud, defaultCloud))}\``;
}

/** Hosts `/force-down list` shows per page. Each line stays short (≤ about 700 characters), so a page fits one message's blocks. */
export const LIST_PAGE_SIZE = 20;

interface ListOptions {
  page: number;
  forcedDownSince: ReadonlyMap<string, number>;
  now: number;
  defaultCloud?: string;
}

interface ListRow {
  service: ComputeService;
  forced: boolean;
  /** Since when (ms): forced down (our records, else Nova's updated_at, `approx`), or down (the last heartbeat). */
  since: number | undefined;
  approx: boolean;
}

/**
 * The answer to `/force-down list`: counts at the top ("3 forced down · 2
 * down (of 40 compute hosts)"), then the hosts forced down, longest first
 * (how long: from our records, else "since ~" Nova's last update of the
 * service), then the hosts down but not forced down, longest silent first;
 * {@link LIST_PAGE_SIZE} a page, and never cut silently: "and N more —
 * `/force-down list --page 2`".
 */
export function listAnswer(cloud: string, services: readonly ComputeService[], o: ListOptions): { text: string; blocks: KnownBlock[] } {
  const rows: ListRow[] = services
    .filter((s) => s.forcedDown || s.state === 'down')
    .map((service) => {
      const ours = service.forcedDown ? o.forcedDownSince.get(foldHost(service.host)) : undefined;
      const nova = parseUtc(service.updatedAt);
      return { service, forced: service.forcedDown, since: ours ?? nova, approx: ours === undefined };
    });
  const order = (r: ListRow) => r.since ?? Number.POSITIVE_INFINITY;
  rows.sort((a, b) => Number(b.forced) - Number(a.forced) || order(a) - order(b) || (a.service.host < b.service.host ? -1 : a.service.host > b.service.host ? 1 : 0));
  const forced = rows.filter((r) => r.forced).length;
  const counts = `${forced} forced down · ${rows.length - forced} down (of ${services.length} compute ${services.length === 1 ? 'host' : 'hosts'})`;
  const where = `in *${escapeMrkdwn(cloud)}*`;
  if (rows.length === 0) {
    const text = `${counts} ${where}: all nova-compute services are up; none is forced down.`;
    return { text, blocks: [{ type: 'section', text: mrkdwn(text) }] };
  }
  const pages = Math.ceil(rows.length / LIST_PAGE_SIZE);
  const command = (page: number) => `/force-down list${cloud === o.defaultCloud ? '' : ` --cloud ${escapeMrkdwn(cloud)}`} --page ${page}`;
  if (o.page > pages) {
    const text = `${counts} ${where}. There ${pages === 1 ? 'is 1 page' : `are ${pages} pages`}: page ${o.page} is past the end — \`${command(1)}\``;
    return { text, blocks: [{ type: 'section', text: mrkdwn(text) }] };
  }
  const first = (o.page - 1) * LIST_PAGE_SIZE;
  const shown = rows.slice(first, first + LIST_PAGE_SIZE);
  const head = `*${counts}* ${where}${pages > 1 ? ` · page ${o.page} of ${pages}` : ''}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: mrkdwn(head) }];
  // Lines packed into sections within Slack's section limit.
  let chunk = '';
  for (const line of shown.map((r) => `• ${listLine(r, o.now)}`)) {
    if (chunk && chunk.length + 1 + line.length > LIMITS.sectionText) {
      blocks.push({ type: 'section', text: mrkdwn(chunk) });
      chunk = '';
    }
    chunk = chunk ? `${chunk}\n${line}` : line;
  }
  if (chunk) blocks.push({ type: 'section', text: mrkdwn(chunk) });
  const more = rows.length - first - shown.length;
  if (more > 0) blocks.push({ type: 'context', elements: [mrkdwn(`and ${more} more — \`${command(o.page + 1)}\``)] });
  return { text: `${counts} ${where}${more > 0 ? ` · and ${more} more` : ''}`, blocks };
}

function listLine(r: ListRow, now: number): string {
  const s = r.service;
  const host = `*${escapeAndTruncate(s.host, 255)}*`;
  const state = `\`${escapeAndTruncate(s.state ?? '?', 40)}\`, ${escapeAndTruncate(s.status ?? '?', 40)}`;
  const shown = quoted(s.disabledReason ?? undefined, 120);
  const reason = shown ? ` (disabled: ${shown})` : '';
  const beat = parseUtc(s.updatedAt);
  const heartbeat = `last heartbeat ${beat === undefined ? 'never' : `${formatUtc(s.updatedAt)} (${formatAge(beat, now)})`}`;
  if (!r.forced) return `${host}: down, not forced down · ${state}${reason} · ${heartbeat}`;
  if (r.since === undefined) return `${host}: forced down (since when is not known) · ${state}${reason}`;
  const when = formatUtc(new Date(r.since).toISOString());
  const forcedFor = r.approx
    ? `forced down since ~${when} (Nova's last update: not forced down through force-down)`
    : `forced down for ${forDuration(now - r.since)} (since ${when})`;
  return `${host}: ${forcedFor} · ${state}${reason}${r.approx ? '' : ` · ${heartbeat}`}`;
}

/** Slack's limit on a message's text that we keep to (characters). */
const THREAD_LINE_MAX = 3000;

/**
 * `line` (the first request's audit line) said of every request: its host
 * becomes "N hosts", followed by as many host names as fit in one message and
 * how many more there are.
 */
function manyHostsLine(line: string, first: ForceDownRequest, requests: readonly ForceDownRequest[]): string {
  const said = line.replace(`*${escapeMrkdwn(first.host)}*`, `${requests.length} hosts`).replace('the request to ', 'the requests to ');
  const room = THREAD_LINE_MAX - said.length - ' · hosts: '.length - ' and 99999 more'.length;
  const names: string[] = [];
  let used = 0;
  for (const r of requests) {
    const name = `*${escapeMrkdwn(r.host)}*`;
    if (used + name.length + 2 > room) break;
    names.push(name);
    used += name.length + 2;
  }
  const more = requests.length - names.length;
  return `${said} · hosts: ${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function describe(s: ComputeService, now: number): string {
  const beat = parseUtc(s.updatedAt);
  const heartbeat = beat === undefined ? 'never' : `${formatUtc(s.updatedAt)} (${formatAge(beat, now)})`;
  // An operator's free text (`openstack compute service set --disable-reason`): shown inert, quoted.
  const shown = quoted(s.disabledReason ?? undefined, 200);
  const reason = shown ? ` (disabled: ${shown})` : '';
  return `*${escapeMrkdwn(s.host)}*: \`${escapeMrkdwn(s.state ?? '?')}\`, ${escapeMrkdwn(s.status ?? '?')}${reason}, forced down: ${s.forcedDown ? '*yes*' : 'no'}, last heartbeat ${heartbeat}`;
}
