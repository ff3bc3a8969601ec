import type { WebClient } from '@slack/web-api';
import type { Logger } from '../app/ports.js';

/**
 * Which approver user groups a user belongs to. Slack only lists a group's
 * members (usergroups.users.list, scope usergroups:read), so members of every
 * approver group are fetched together and cached for `ttlMs` — or, when a
 * group could not be read (which grants nobody), for {@link FAILED_LOOKUP_TTL_MS}
 * only, so that one Slack hiccup does not lock a group's approvers out for minutes.
 */
/** How long a lookup in which some approver group could not be read is kept. */
export const FAILED_LOOKUP_TTL_MS = 15_000;

export function createGroupResolver(opts: {
  client: Pick<WebClient, 'usergroups'>;
  groups: ReadonlySet<string>;
  ttlMs?: number;
  now: () => number;
  log: Logger;
}): (userId: string) => Promise<ReadonlySet<string>> {
  const ttl = opts.ttlMs ?? 5 * 60_000;
  let cache: { at: number; ttl: number; members: Map<string, Set<string>> } | undefined;
  let inflight: Promise<Map<string, Set<string>>> | undefined;

  async function load(): Promise<Map<string, Set<string>>> {
    const members = new Map<string, Set<string>>();
    let failed = false;
    for (const group of opts.groups) {
      try {
        const res = await opts.client.usergroups.users.list({ usergroup: group });
        members.set(group, new Set(res.users ?? []));
      } catch (err) {
        // An unreadable group grants nobody: fail closed, and say so in the log.
        opts.log.warn('cannot read approver group', { group, error: (err as { data?: { error?: string } }).data?.error ?? (err as Error).name });
        members.set(group, new Set());
        failed = true;
      }
    }
    cache = { at: opts.now(), ttl: failed ? Math.min(ttl, FAILED_LOOKUP_TTL_MS) : ttl, members };
    return members;
  }

  return async (userId) => {
    if (opts.groups.size === 0) return new Set();
    const members = cache && opts.now() - cache.at < cache.ttl ? cache.members : await (inflight ??= load().finally(() => (inflight = undefined)));
    return new Set([...members].filter(([, users]) => users.has(userId)).map(([group]) => group));
  };
}
