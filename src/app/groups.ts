import { HOSTS_PER_MESSAGE } from '../slack/group-card.js';
import type { ForceDownRequest, RequestGroup } from '../domain/request.js';
import { viewOf } from './outcomes.js';
import type { AppDeps, HostView } from './ports.js';
import { sharedComputeServices } from './service-list.js';

/**
 * Grouped cards (alert storms): many requests shown in one set of Slack
 * messages. Rows keep the group's order (members, as they joined), so a state
 * change re-renders only the row's page and the first page (its counts).
 *
 * Renders of one group run one at a time in a process, so two jobs never both
 * post the same missing page. Only `post: true` renders (the show-group job)
 * post pages; the others (a confirm, an outcome) update pages already posted.
 */
const rendering = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = rendering.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.catch(() => undefined);
  rendering.set(key, settled);
  void settled.then(() => {
    if (rendering.get(key) === settled) rendering.delete(key);
  });
  return next;
}

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

/**
 * Nova's view of every member's host: one service list per cloud, not one
 * lookup per host. `shared`: a list of the last few seconds will do (a card's
 * first post: nothing shown yet that it could take back), so a flood of new
 * cards costs a handful of Nova lists, and a real alert's first card waits for
 * none of theirs.
 */
async function readHosts(deps: AppDeps, members: readonly ForceDownRequest[], shared = false): Promise<Map<string, HostView>> {
  const views = new Map<string, HostView>();
  for (const cloud of new Set(members.map((m) => m.cloud))) {
    const nova = deps.nova(cloud);
    if (!nova) continue;
    const list = shared ? await sharedComputeServices(nova, deps.now) : await nova.listComputeServices();
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

export interface RenderGroupOptions {
  /** Pages to update (default: all). Pages not posted yet are posted only with `post`. */
  pages?: readonly number[];
  /** Post pages not posted yet (the show-group job); otherwise only update posted ones. */
  post?: boolean;
  /** Requests new to the group: announced in its thread, and given the group's first message as their card. */
  joined?: readonly string[];
  /** A member whose state changed: update its row's page and the first page (the counts), instead of `pages`. */
  row?: string;
  /** Members whose state changed together (the sweep's expiry): each page holding one of their rows, and the first, once. */
  rows?: readonly string[];
}

/**
 * Worker: posts or updates a group's card. Resolves false when the group does
 * not exist (its members were recorded but the process stopped before the
 * group was): the caller then shows the request on a card of its own.
 */
export function renderGroup(deps: AppDeps, groupId: string, opts: RenderGroupOptions = {}): Promise<boolean> {
  return serialized(groupId, async () => {
    const group = await deps.store.getGroup(groupId);
    if (!group) return false;
    if (!opts.post && group.messages.length === 0) return true;
    if (opts.post && group.messages.length === 0 && opts.joined && !opts.joined.includes(group.members[0]!)) {
      // Hosts that joined a group whose first card is not posted yet: its creator's job (maybe running in
      // another Lambda right now) posts it. Posting here too could post the first page twice; fail so the
      // job is retried (Lambda's async retry) once the creator's card exists. Locally jobs of one group run in order.
      throw new GroupNotPostedYet(group.id);
    }
    const members = (await Promise.all(group.members.map((id) => deps.store.get(id)))).filter((r): r is ForceDownRequest => r !== undefined);
    if (members.length === 0) return true;
    const views = await readHosts(deps, members, group.messages.length === 0);
    const rows = opts.row !== undefined ? [opts.row] : opts.rows;
    const pages = rows ? [...new Set([0, ...rows.map((id) => pageOf(group, id))])] : opts.pages ? [...new Set(opts.pages)] : undefined;
    const ts = await deps.notifier.renderGroup(group, members, views, pages);
    if (ts.length !== group.messages.length || ts.some((t, i) => t !== group.messages[i])) await deps.store.setGroupMessages(groupId, ts);
    const first = ts[0];
    if (!first) return true;
    // Every member's card (and audit thread) is the group's first message.
    await Promise.all(members.filter((m) => m.messageTs !== first).map((m) => deps.store.setMessage(m.id, first)));
    const joinedIds = new Set(opts.joined);
    const joined = members.filter((m) => joinedIds.has(m.id));
    if (joined.length > 0) await deps.notifier.auditJoined({ ...group, messages: ts }, joined);
    return true;
  });
}

/**
 * Worker: shows a request's new state where its card is: its group's pages
 * (the row's and the first), or its own card.
 */
export async function renderCard(deps: AppDeps, request: ForceDownRequest, view?: HostView): Promise<string | undefined> {
  if (request.group && (await renderGroup(deps, request.group, { row: request.id }))) return request.messageTs;
  return deps.notifier.render(request, view);
}
