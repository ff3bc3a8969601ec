// The display's show-group jobs (src/slack/cards.ts `later`): the use cases say which rows changed or
// joined; the job names the pages those rows are on and the first (its counts), or none (every page)
// when that is all of them. Jobs queued before this change (explicit `pages`) run as they did: see
// test/unit/app/alerts.test.ts and expiry.test.ts for the cards they show.
import { describe, expect, it } from 'vitest';
import type { RequestGroup } from '../../../src/domain/request.js';
import { createSlackCards, pageOf } from '../../../src/slack/cards.js';
import { HOSTS_PER_MESSAGE } from '../../../src/slack/group-card.js';
import { createMemoryStore } from '../../fakes/memory-store.js';

const cards = createSlackCards({
  client: { chat: {} } as never,
  store: createMemoryStore(),
  nova: () => undefined,
  notifier: { auditJoined: async () => undefined },
  now: () => 0,
  log: { info() {}, warn() {}, error() {} },
});

const group = (n: number): RequestGroup => ({ id: 'grp-1', channel: 'C1', title: 'HostDown', createdAt: '2026-11-25T14:00:00.000Z', members: Array.from({ length: n }, (_, i) => `r${i}`) });

describe('cards.later: the show-group job for a change', () => {
  it('a new group (every member joined): no pages named, so every page is posted', () => {
    const g = group(3 * HOSTS_PER_MESSAGE);
    expect(cards.later(g, { joined: g.members })).toEqual({ kind: 'show-group', id: 'grp-1', joined: g.members });
  });

  it('hosts that joined the last page: that page and the first (the counts), never the pages between', () => {
    const g = group(3 * HOSTS_PER_MESSAGE);
    const joined = g.members.slice(-2);
    expect(cards.later(g, { joined })).toEqual({ kind: 'show-group', id: 'grp-1', joined, pages: [0, 2] });
  });

  it('rows that changed (repeats, resolutions): their pages and the first, nothing announced', () => {
    const g = group(3 * HOSTS_PER_MESSAGE);
    const rows = [g.members[HOSTS_PER_MESSAGE + 1]!, g.members[HOSTS_PER_MESSAGE + 2]!];
    expect(cards.later(g, { rows })).toEqual({ kind: 'show-group', id: 'grp-1', pages: [0, 1] });
    expect(rows.map((id) => pageOf(g, id))).toEqual([1, 1]);
  });

  it('only the count of hosts left out changed: the first page, after the window; a card not posted yet is left to its creator', () => {
    const g = group(2 * HOSTS_PER_MESSAGE);
    expect(cards.later(g, { joined: [] }, 12_000)).toEqual({ kind: 'show-group', id: 'grp-1', joined: [], pages: [0], settleUntil: 12_000 });
  });

  it('a one-page card: every page is the first, so none is named', () => {
    expect(cards.later(group(3), { rows: ['r1'] })).toEqual({ kind: 'show-group', id: 'grp-1' });
  });
});
