import type { WebClient } from '@slack/web-api';
import type { HostView, Logger, Notifier } from '../app/ports.js';
import type { Outcome } from '../domain/failure.js';
import type { ForceDownRequest, HistoryEntry, RequestGroup } from '../domain/request.js';
import type { ComputeService } from '../domain/service.js';
import { auditLine, auditMessage, fenceModal, requestCard, type CardMessage } from './blocks.js';
import { groupCard, type GroupHostView } from './group-card.js';
import { failureText } from './messages.js';
import { escapeMrkdwn, formatAge, formatUtc, parseUtc } from './mrkdwn.js';
import type { ChannelPacer } from './pacer.js';

export interface SlackNotifierOptions {
  client: Pick<WebClient, 'chat' | 'views'>;
  /** Posts JSON to a slash command's response_url. */
  postToResponseUrl: (url: string, message: Record<string, unknown>) => Promise<void>;
  now: () => number;
  log: Logger;
  /**
   * Spaces posts and updates per channel (Slack: about one message a second
   * per channel, short bursts aside); queues, never drops. Default: none.
   */
  pacer?: ChannelPacer;
  /** Waits between the retries of an outcome's card update. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Waits before each retry of an outcome's card update. Default {@link OUTCOME_RETRY_DELAYS_MS}. */
  outcomeRetryDelaysMs?: readonly number[];
}

/**
 * An outcome (✅/❌) that Slack failed to show is shown again after these
 * waits (30 s in all, on top of the WebClient's own retries of each call):
 * the store already holds the outcome, only the card is missing it.
 */
export const OUTCOME_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 15_000];

/** Slack's platform errors worth another try; any other (invalid_auth, message_not_found…) will not change. */
const TRANSIENT_SLACK_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** A failure that may pass: the network, an HTTP error or rate limit, or one of Slack's transient platform errors. */
export function isTransientSlackError(err: unknown): boolean {
  const platform = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof platform !== 'string' || TRANSIENT_SLACK_ERRORS.has(platform);
}

/**
 * The Slack Web API's reason for a failed call (`invalid_auth`, `http_503`,
 * `ratelimited`, …): the platform error code or the HTTP status, never the
 * error's message (which may quote a URL or a body).
 */
export function slackErrorCode(err: unknown): string {
  const e = err as { code?: unknown; data?: { error?: unknown }; statusCode?: unknown; name?: unknown } | undefined;
  if (typeof e?.data?.error === 'string') return e.data.error;
  if (typeof e?.statusCode === 'number') return `http_${e.statusCode}`;
  if (e?.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : 'unknown';
}

/** A sender's new card goes ahead of a channel's queue at most once per this long (see `firstCardAhead`). */
export const PRIORITY_SENDER_GAP_MS = 10_000;

/** Progress states: their card is a courtesy, and must never stop the Nova call that follows it. */
const PROGRESS = new Set<ForceDownRequest['state']>(['approved', 'executing']);
/** Outcome states: their card update is retried until it is shown (bounded). */
const OUTCOME = new Set<ForceDownRequest['state']>(['succeeded', 'failed']);

/**
 * The worker's Slack side: the request card (posted once, then updated in
 * place), its audit thread, and answers to status/list. The WebClient retries
 * rate-limited (429, honouring Retry-After) and failed calls itself.
 *
 * When a call still fails, the log says which request, in which state, with
 * which outcome (the store keeps the full record). Updating a card to
 * "⏳ forcing down…" and posting audit lines are best effort (the thread
 * repeats the stored history): their failure is logged and swallowed, so a
 * Slack outage or a revoked token never keeps an approved force-down from
 * reaching Nova. Posting a card and showing an outcome throw, so that the job
 * fails visibly (Lambda retries it, then dead-letters it).
 */
export function createSlackNotifier(opts: SlackNotifierOptions): Notifier {
  const { client } = opts;
  // `priority`: a new incident's first card, ahead of the channel's queued continuation pages and updates.
  const paced = <T>(channel: string, call: () => Promise<T>, priority = false): Promise<T> =>
    opts.pacer ? opts.pacer.schedule(channel, call, { priority }) : call();
  // Fair among senders: a new card goes ahead of the queue only if its sender (an alert source, Slack, the
  // CLI) had no card go ahead in this channel for a while. A flood of new cards from one source (many alert
  // names) is then queued like any other call, and a real alert from another source still goes first.
  const lastAhead = new Map<string, number>();
  const firstCardAhead = (channel: string, request: ForceDownRequest | undefined): boolean => {
    if (!request) return false;
    const key = `${channel}\u0000${request.origin.kind === 'alert' ? `alert:${request.origin.source}` : request.origin.kind}`;
    const t = opts.now();
    const last = lastAhead.get(key);
    if (last !== undefined && t - last < PRIORITY_SENDER_GAP_MS) return false;
    lastAhead.set(key, t);
    return true;
  };
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  /** Runs `call`, and again after each of the outcome retry delays while it fails transiently. */
  const untilShown = async <T>(request: ForceDownRequest, call: () => Promise<T>): Promise<T> => {
    const delays = opts.outcomeRetryDelaysMs ?? OUTCOME_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (attempt >= delays.length || !isTransientSlackError(err)) throw err;
        opts.log.warn('outcome card update failed; retrying', { requestId: request.id, state: request.state, outcome: request.outcome?.code, slackError: slackErrorCode(err), attempt: attempt + 1 });
        await sleep(delays[attempt]!);
      }
    }
  };
  const failed = (call: string, request: ForceDownRequest, err: unknown, swallowed: boolean) => {
    const data = {
      call,
      requestId: request.id,
      host: request.host,
      action: request.action,
      state: request.state,
      ...(request.outcome ? { outcome: request.outcome.code } : {}),
      slackError: slackErrorCode(err),
      swallowed,
    };
    if (swallowed) opts.log.warn('slack call failed', data);
    else opts.log.error('slack call failed', data);
  };
  return {
    async render(request: ForceDownRequest, view?: HostView) {
      const card = requestCard(request, { ...(view ?? {}), now: opts.now() });
      const call = request.messageTs ? 'chat.update' : 'chat.postMessage';
      try {
        if (request.messageTs) {
          const ts = request.messageTs;
          const update = () => paced(request.channel, () => client.chat.update({ channel: request.channel, ts, text: card.text, blocks: card.blocks }));
          await (OUTCOME.has(request.state) ? untilShown(request, update) : update());
          return request.messageTs;
        }
        const res = await paced(request.channel, () => client.chat.postMessage({ channel: request.channel, text: card.text, blocks: card.blocks, unfurl_links: false }), firstCardAhead(request.channel, request));
        return res.ts;
      } catch (err) {
        const swallowed = PROGRESS.has(request.state) && request.messageTs !== undefined;
        failed(call, request, err, swallowed);
        if (swallowed) return request.messageTs;
        throw err;
      }
    },
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
    async renderGroup(group: RequestGroup, members: readonly ForceDownRequest[], views: ReadonlyMap<string, HostView>, pages?: readonly number[]) {
      const now = opts.now();
      // One host: the full single card (Nova's view in detail, Cancel); more, or hosts left out: the grouped card.
      const cards: CardMessage[] =
        members.length === 1 && !group.overflow
          ? [requestCard(members[0]!, { ...(views.get(members[0]!.id) ?? {}), now })]
          : groupCard(members, views as ReadonlyMap<string, GroupHostView>, { now, order: 'given', title: group.title, moreHosts: group.overflow ?? 0 });
      const ts = [...group.messages];
      const wanted = new Set(pages ?? cards.map((_, i) => i));
      for (let i = 0; i < cards.length; i++) {
        const card = cards[i]!;
        const existing = ts[i];
        if (existing) {
          if (wanted.has(i)) await paced(group.channel, () => client.chat.update({ channel: group.channel, ts: existing, text: card.text, blocks: card.blocks }));
          continue;
        }
        // Pages are posted in order, so they read top to bottom in the channel. A new card's first
        // page goes ahead of the channel's queue (another card's pages and updates): a new incident
        // shows within seconds whatever else is queued.
        const res = await paced(group.channel, () => client.chat.postMessage({ channel: group.channel, text: card.text, blocks: card.blocks, unfurl_links: false }), i === 0 && firstCardAhead(group.channel, members[0]));
        if (!res.ts) break;
        ts[i] = res.ts;
      }
      return ts;
    },
    async auditJoined(group: RequestGroup, joined: readonly ForceDownRequest[]) {
      const thread = group.messages[0];
      const first = joined[0];
      if (!thread || !first) return;
      // The first request's opening line, naming every host that joined: one line, not one per host.
      const line = auditLine(first, first.history[0]!);
      const text = joined.length === 1 ? line : line.replace(`*${escapeMrkdwn(first.host)}*`, `${joined.length} hosts: ${joined.map((r) => `*${escapeMrkdwn(r.host)}*`).join(', ')}`);
      try {
        await paced(group.channel, () => client.chat.postMessage({ channel: group.channel, thread_ts: thread, text: text.length > 3000 ? `${text.slice(0, 2990)}…` : text, unfurl_links: false }));
      } catch (err) {
        failed('chat.postMessage (audit)', first, err, true);
      }
    },
    async auditGroup(group: RequestGroup, requests: readonly ForceDownRequest[], entry: HistoryEntry) {
      const thread = group.messages[0];
      const first = requests[0];
      if (!thread || !first) return;
      const text = requests.length === 1 ? auditLine(first, entry) : manyHostsLine(auditLine(first, entry), first, requests);
      try {
        await paced(group.channel, () => client.chat.postMessage({ channel: group.channel, thread_ts: thread, text, unfurl_links: false }));
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
  const reason = s.disabledReason ? ` (${escapeMrkdwn(s.disabledReason)})` : '';
  return `*${escapeMrkdwn(s.host)}*: \`${escapeMrkdwn(s.state ?? '?')}\`, ${escapeMrkdwn(s.status ?? '?')}${reason}, forced down: ${s.forcedDown ? '*yes*' : 'no'}, last heartbeat ${heartbeat}`;
}
