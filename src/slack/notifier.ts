import type { WebClient } from '@slack/web-api';
import type { BmcView, EvacuateForm, EvacuateModalCheck, EvacuationEvent, HostView, Logger, Notifier } from '../app/ports.js';
import type { Evacuation } from '../domain/evacuation.js';
import type { Outcome } from '../domain/failure.js';
import type { ForceDownRequest, HistoryEntry } from '../domain/request.js';
import type { ComputeService } from '../domain/service.js';
import { auditLine, auditMessage, bmcOnWarning, bmcReadingText, fenceModal } from './blocks.js';
import { evacuateModal, evacuationEventTexts } from './evacuation-blocks.js';
import { failureText } from './messages.js';
import { escapeMrkdwn, formatAge, formatUtc, parseUtc, quoted } from './mrkdwn.js';
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
    async replyList(responseUrl: string, cloud: string, result: Outcome<ComputeService[]>) {
      let text: string;
      if (!result.ok) text = `${failureText(result.failure, { host: 'the hosts', action: 'force-down', cloud }).headline}.`;
      else {
        const shown = result.value.filter((s) => s.forcedDown || s.state === 'down');
        text =
          shown.length === 0
            ? `All ${result.value.length} nova-compute services in ${escapeMrkdwn(cloud)} are up; none is forced down.`
            : [`*${shown.length} of ${result.value.length}* nova-compute services in ${escapeMrkdwn(cloud)} are down or forced down:`, ...shown.map((s) => `• ${describe(s, opts.now())}`)].join('\n');
      }
      await opts.postToResponseUrl(responseUrl, { response_type: 'ephemeral', text: text.slice(0, 3000) });
    },
  };
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
