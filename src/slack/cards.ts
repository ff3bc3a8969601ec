import type { WebClient } from '@slack/web-api';
import type { BmcView, Cards, GroupChange, HostView, InstancesView, Logger, NovaGateway, Notifier, ShowGroupJob } from '../app/ports.js';
import type { RequestStore, StoredGroup } from '../app/store-port.js';
import { viewOf } from '../app/outcomes.js';
import { sharedComputeServices } from '../app/service-list.js';
import type { ForceDownRequest, RequestGroup } from '../domain/request.js';
import { requestCard, type CardMessage } from './blocks.js';
import { offersEvacuation } from './evacuation-blocks.js';
import type { Evacuation } from '../domain/evacuation.js';
import { groupCard, groupCardMessageCount, HOSTS_PER_MESSAGE, type GroupHostView } from './group-card.js';
import { isTransientSlackError, logFailedCall, slackErrorCode } from './slack-calls.js';
import type { ChannelPacer } from './pacer.js';

/**
 * The display: how requests are shown in Slack. A request has a card of its
 * own (blocks.ts `requestCard`: posted once, then updated in place), or a row
 * on its group's card (alert storms, group-card.ts `groupCard`): one set of
 * messages, {@link HOSTS_PER_MESSAGE} rows a page. This module alone knows
 * pages, their message ts (the group record's `messages`), which page a row
 * is on, which of Nova's views a render needs (one service list per cloud per
 * render), the order renders of one group run in, and the pace of Slack calls
 * (the channel pacer). The use cases only say what changed (app/ports.ts `Cards`).
 */

export interface SlackCardsOptions {
  client: Pick<WebClient, 'chat'>;
  store: RequestStore;
  /** The Nova gateway of a configured cloud, or undefined for an unknown cloud name. */
  nova: (cloud: string) => NovaGateway | undefined;
  /**
   * The BMC's reading of a request's host, for a group shown as one host's full
   * card (an alert for one host): the same BMC line a card of its own has.
   * Undefined (or resolving undefined): no BMC line. Never read per row of a
   * grouped card (a flood would read a hundred BMCs for one render).
   */
  bmc?: (request: ForceDownRequest) => Promise<BmcView | undefined>;
  /**
   * The instances on a request's host (what is at stake), for a group shown as
   * one host's full card, read beside Nova's view. Undefined (or resolving
   * undefined): no instances line. Never read per row of a grouped card.
   */
  instances?: (request: ForceDownRequest) => Promise<InstancesView | undefined>;
  /** The audit threads: a group's line for requests that joined it. */
  notifier: Pick<Notifier, 'auditJoined'>;
  now: () => number;
  log: Logger;
  /** FORCE_DOWN_DEFAULT_CLOUD: a ✅ card's unset command names `--cloud` for other clouds only (absent: always). */
  defaultCloud?: string;
  /** Spaces posts and updates per channel (Slack: about a message a second per channel, short bursts aside); queues, never drops. Default: none. */
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

/** A sender's new card goes ahead of a channel's queue at most once per this long (see `firstCardAhead`). */
export const PRIORITY_SENDER_GAP_MS = 10_000;

/** Progress states: their card is a courtesy, and must never stop the Nova call that follows it. */
const PROGRESS = new Set<ForceDownRequest['state']>(['approved', 'executing']);
/** Outcome states: their card update is retried until it is shown (bounded). */
const OUTCOME = new Set<ForceDownRequest['state']>(['succeeded', 'failed']);

/** A job for hosts that joined a group found the group's first card not posted yet: retry the job later. */
export class GroupNotPostedYet extends Error {
  override readonly name = 'GroupNotPostedYet';
  constructor(readonly groupId: string) {
    super(`grouped card ${groupId} is not posted yet; retry`);
  }
}

/** The page (message index) of a member's row. */
export function pageOf(group: RequestGroup, requestId: string): number {
  const i = group.members.indexOf(requestId);
  return i < 0 ? 0 : Math.floor(i / HOSTS_PER_MESSAGE);
}

/** The pages `ids`' rows are on, and the first (the counts), once each. */
function pagesOf(group: RequestGroup, ids: readonly string[]): number[] {
  return [...new Set([0, ...ids.map((id) => pageOf(group, id))])];
}

/**
 * Renders of one group run one at a time in a process, so two jobs never both
 * post the same missing page. Only `post` renders (the show-group job) post a
 * card not shown yet; the others (a confirm, an outcome) update pages already posted.
 */
function serializer() {
  const rendering = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = rendering.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    rendering.set(key, settled);
    void settled.then(() => {
      if (rendering.get(key) === settled) rendering.delete(key);
    });
    return next;
  };
}

/**
 * Requests are shown in Slack: single cards and grouped cards (see the top of
 * this file). The WebClient retries rate-limited (429, honouring Retry-After)
 * and failed calls itself.
 *
 * When a call still fails, the log says which request, in which state, with
 * which outcome (the store keeps the full record). Updating a card to
 * "⏳ forcing down…" is best effort: its failure is logged and swallowed, so a
 * Slack outage or a revoked token never keeps an approved force-down from
 * reaching Nova. Posting a card and showing an outcome throw, so that the job
 * fails visibly (Lambda retries it, then dead-letters it).
 */
export function createSlackCards(opts: SlackCardsOptions): Cards {
  const { client, store } = opts;
  const serialized = serializer();
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

  /**
   * A succeeded force-down's evacuation, for its card (one read per render;
   * none for other cards). A store error is logged, and the card is shown without it.
   */
  async function evacuationOf(request: ForceDownRequest): Promise<Evacuation | undefined> {
    if (!offersEvacuation(request)) return undefined;
    try {
      return await store.getEvacuation(request.id);
    } catch (err) {
      opts.log.warn('evacuation not read for the card', { requestId: request.id, error: err instanceof Error ? err.name : 'unknown' });
      return undefined;
    }
  }

  /** A request's own card: posted, or updated when it has a messageTs. Returns the card's ts. */
  async function single(request: ForceDownRequest, view?: HostView): Promise<string | undefined> {
    const evacuation = await evacuationOf(request);
    const card = requestCard(request, { ...(view ?? {}), now: opts.now(), ...(evacuation ? { evacuation } : {}), ...(opts.defaultCloud ? { defaultCloud: opts.defaultCloud } : {}), ...unknownCloud(request) });
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
      logFailedCall(opts.log, call, request, err, swallowed);
      if (swallowed) return request.messageTs;
      throw err;
    }
  }

  /**
   * Nova's view of every member's host: one service list per cloud, not one
   * lookup per host. `shared`: a list of the last few seconds will do (a card's
   * first post: nothing shown yet that it could take back), so a flood of new
   * cards costs a handful of Nova lists, and a real alert's first card waits for
   * none of theirs.
   */
  /** A request whose cloud force-down has no gateway for (an alert named it): its card says so, with no Confirm. */
  function unknownCloud(request: ForceDownRequest): { unknownCloud?: true } {
    return opts.nova(request.cloud) ? {} : { unknownCloud: true };
  }

  /** The rows' views, those of a cloud not configured marked so. */
  function withUnknownClouds(members: readonly ForceDownRequest[], views: ReadonlyMap<string, HostView>): ReadonlyMap<string, GroupHostView> {
    if (members.every((m) => opts.nova(m.cloud))) return views as ReadonlyMap<string, GroupHostView>;
    const marked = new Map(views as ReadonlyMap<string, GroupHostView>);
    for (const m of members) if (!opts.nova(m.cloud)) marked.set(m.id, { ...(marked.get(m.id) ?? {}), unknownCloud: true });
    return marked;
  }

  async function readHosts(members: readonly ForceDownRequest[], shared: boolean): Promise<Map<string, HostView>> {
    const views = new Map<string, HostView>();
    for (const cloud of new Set(members.map((m) => m.cloud))) {
      const nova = opts.nova(cloud);
      if (!nova) continue;
      const list = shared ? await sharedComputeServices(nova, opts.now) : await nova.listComputeServices();
      for (const m of members) {
        if (m.cloud !== cloud) continue;
        if (!list.ok) {
          views.set(m.id, viewOf(list));
          continue;
        }
        const service = list.value.find((s) => s.host === m.host && s.binary === m.binary);
        views.set(m.id, service ? { service } : { lookupFailure: { code: 'HOST_NOT_FOUND', message: `no ${m.binary} service on host ${m.host}` } });
      }
    }
    return views;
  }

  /**
   * Posts or updates a group's messages: `pages` (default all), plus any page
   * not posted yet. `members` in the group's order. Returns every page's ts, in order.
   */
  async function pages(
    group: StoredGroup,
    members: readonly ForceDownRequest[],
    views: ReadonlyMap<string, HostView>,
    wantedPages?: readonly number[],
    evacuation?: Evacuation,
  ): Promise<string[]> {
    const now = opts.now();
    // One host: the full single card (Nova's view in detail, Cancel, its evacuation); more, or hosts left out: the grouped card.
    const cards: CardMessage[] =
      members.length === 1 && !group.overflow
        ? [requestCard(members[0]!, { ...(views.get(members[0]!.id) ?? {}), now, ...(evacuation ? { evacuation } : {}), ...(opts.defaultCloud ? { defaultCloud: opts.defaultCloud } : {}), ...unknownCloud(members[0]!) })]
        : groupCard(members, withUnknownClouds(members, views), { now, order: 'given', title: group.title, moreHosts: group.overflow ?? 0 });
    const ts = [...group.messages];
    const wanted = new Set(wantedPages ?? cards.map((_, i) => i));
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
  }

  /**
   * `shown`: a view the caller read for one member (its progress, its
   * outcome's BMC evidence): used when the group shows as that host's full card.
   */
  function group(groupId: string, change: GroupChange = {}, job?: ShowGroupJob, shown?: { id: string; view: HostView }): Promise<boolean> {
    return serialized(groupId, () => render(groupId, change, job, shown));
  }

  /**
   * Rows of a group that changed while a render of it is already queued join
   * that render instead of queuing one each: it reads every member from the
   * store when it starts, so one render shows them all. (A rack confirmed at
   * once changes 40 rows twice within seconds; each render costs a Slack
   * call a page at Slack's pace.) Only the render that has not started takes
   * more rows; the latest caller's view is the one shown.
   */
  const waitingRows = new Map<string, { rows: Set<string>; shown?: { id: string; view: HostView }; done: Promise<boolean> }>();
  function rowChanged(groupId: string, id: string, shown?: { id: string; view: HostView }): Promise<boolean> {
    const waiting = waitingRows.get(groupId);
    if (waiting) {
      waiting.rows.add(id);
      if (shown) waiting.shown = shown;
      return waiting.done;
    }
    const entry: { rows: Set<string>; shown?: { id: string; view: HostView }; done: Promise<boolean> } = { rows: new Set([id]), ...(shown ? { shown } : {}), done: Promise.resolve(false) };
    waitingRows.set(groupId, entry);
    entry.done = serialized(groupId, () => {
      if (waitingRows.get(groupId) === entry) waitingRows.delete(groupId);
      return render(groupId, { rows: [...entry.rows] }, undefined, entry.shown);
    });
    return entry.done;
  }

  async function render(groupId: string, change: GroupChange, job?: ShowGroupJob, shown?: { id: string; view: HostView }): Promise<boolean> {
    const group = await store.getGroup(groupId);
    if (!group) return false;
    if (!change.post && group.messages.length === 0) return true;
    if (change.post && group.messages.length === 0 && change.joined && !change.joined.includes(group.members[0]!)) {
      // Hosts that joined a group whose first card is not posted yet: its creator's job (maybe running in
      // another Lambda right now) posts it. Posting here too could post the first page twice; fail so the
      // job is retried (Lambda's async retry) once the creator's card exists. Locally jobs of one group run in order.
      throw new GroupNotPostedYet(group.id);
    }
    const members = (await Promise.all(group.members.map((id) => store.get(id)))).filter((r): r is ForceDownRequest => r !== undefined);
    if (members.length === 0) return true;
    // One host's full card: its instances are listed beside Nova's view (the caller's view may hold them already).
    const one = members.length === 1 && !group.overflow ? members[0]! : undefined;
    const listed = one && opts.instances && !(shown?.id === one.id && shown.view.instances) ? opts.instances(one) : undefined;
    const [views, instances, evacuation] = await Promise.all([readHosts(members, group.messages.length === 0), listed, one ? evacuationOf(one) : undefined]);
    if (one) await oneHost(one, views, shown, instances);
    // A change of rows re-renders their pages and the first (its counts); a job names its pages; else every page.
    const wanted = job?.pages ? [...new Set(job.pages)] : change.rows ? pagesOf(group, change.rows) : undefined;
    const ts = await pages(group, members, views, wanted, evacuation);
    if (ts.length !== group.messages.length || ts.some((t, i) => t !== group.messages[i])) await store.setGroupMessages(groupId, ts);
    const first = ts[0];
    if (!first) return true;
    // Every member's card (and audit thread) is the group's first message.
    await Promise.all(members.filter((m) => m.messageTs !== first).map((m) => store.setMessage(m.id, first)));
    const joinedIds = new Set(change.joined);
    const joined = members.filter((m) => joinedIds.has(m.id)).map((m) => ({ ...m, messageTs: first }));
    if (joined.length > 0) await opts.notifier.auditJoined(joined);
    return true;
  }

  /**
   * A group shown as one host's full card gets what a card of its own has: its
   * instances, the view its caller read (progress, the outcome's BMC evidence) over Nova's,
   * else, while a person may still decide (pending, failed), a fresh BMC reading.
   */
  async function oneHost(member: ForceDownRequest, views: Map<string, HostView>, shown?: { id: string; view: HostView }, instances?: InstancesView): Promise<void> {
    if (instances) views.set(member.id, { ...(views.get(member.id) ?? {}), instances } as HostView);
    const nova = views.get(member.id);
    if (shown && shown.id === member.id) {
      views.set(member.id, { ...(nova ?? {}), ...shown.view } as HostView);
      if (shown.view.bmc) return;
    }
    if (!opts.bmc || (member.state !== 'pending' && member.state !== 'failed') || views.get(member.id)?.bmc) return;
    const bmc = await opts.bmc(member);
    if (bmc) views.set(member.id, { ...(views.get(member.id) ?? {}), bmc } as HostView);
  }

  return {
    async request(request, view) {
      if (request.group && (await rowChanged(request.group, request.id, view ? { id: request.id, view } : undefined))) return request.messageTs;
      return single(request, view);
    },
    group,
    later(group, change, settleUntil) {
      const ids = [...(change.rows ?? []), ...(change.joined ?? [])];
      const all = groupCardMessageCount(group.members.length);
      const wanted = change.rows || change.joined ? pagesOf(group, ids) : undefined;
      return {
        kind: 'show-group',
        id: group.id,
        // Joiners and changed rows touch the first page (its counts) and their rows' pages; never every page
        // of a big card (a host-by-host storm would cost pages × hosts updates). Pages not posted yet are posted anyway.
        ...(wanted && wanted.length < all ? { pages: wanted } : {}),
        ...(change.joined ? { joined: [...change.joined] } : {}),
        ...(settleUntil !== undefined ? { settleUntil } : {}),
      };
    },
  };
}
