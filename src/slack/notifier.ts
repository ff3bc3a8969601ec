import type { WebClient } from '@slack/web-api';
import type { HostView, Logger, Notifier } from '../app/ports.js';
import type { Outcome } from '../domain/failure.js';
import type { ForceDownRequest, HistoryEntry } from '../domain/request.js';
import type { ComputeService } from '../domain/service.js';
import { auditLine, requestCard } from './blocks.js';
import { failureText } from './messages.js';
import { escapeMrkdwn, formatAge, formatUtc, parseUtc } from './mrkdwn.js';

export interface SlackNotifierOptions {
  client: Pick<WebClient, 'chat'>;
  /** Posts JSON to a slash command's response_url. */
  postToResponseUrl: (url: string, message: Record<string, unknown>) => Promise<void>;
  now: () => number;
  log: Logger;
}

/**
 * The worker's Slack side: the request card (posted once, then updated in
 * place), its audit thread, and answers to status/list. The WebClient retries
 * rate-limited (429, honouring Retry-After) and failed calls itself.
 */
export function createSlackNotifier(opts: SlackNotifierOptions): Notifier {
  const { client } = opts;
  return {
    async render(request: ForceDownRequest, view?: HostView) {
      const card = requestCard(request, { ...(view ?? {}), now: opts.now() });
      if (request.messageTs) {
        await client.chat.update({ channel: request.channel, ts: request.messageTs, text: card.text, blocks: card.blocks });
        return request.messageTs;
      }
      const res = await client.chat.postMessage({ channel: request.channel, text: card.text, blocks: card.blocks, unfurl_links: false });
      return res.ts;
    },
    async audit(request: ForceDownRequest, entry: HistoryEntry) {
      if (!request.messageTs) return;
      await client.chat.postMessage({ channel: request.channel, thread_ts: request.messageTs, text: auditLine(request, entry), unfurl_links: false });
    },
    async replyStatus(responseUrl: string, cloud: string, host: string, result: Outcome<ComputeService>) {
      const text = result.ok
        ? describe(result.value, opts.now())
        : `${failureText(result.failure, { host, action: 'force-down', cloud }).headline}.`;
      await opts.postToResponseUrl(responseUrl, { response_type: 'ephemeral', text: `${text} (cloud ${escapeMrkdwn(cloud)})` });
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

function describe(s: ComputeService, now: number): string {
  const beat = parseUtc(s.updatedAt);
  const heartbeat = beat === undefined ? 'never' : `${formatUtc(s.updatedAt)} (${formatAge(beat, now)})`;
  const reason = s.disabledReason ? ` (${escapeMrkdwn(s.disabledReason)})` : '';
  return `*${escapeMrkdwn(s.host)}*: \`${escapeMrkdwn(s.state ?? '?')}\`, ${escapeMrkdwn(s.status ?? '?')}${reason}, forced down: ${s.forcedDown ? '*yes*' : 'no'}, last heartbeat ${heartbeat}`;
}
