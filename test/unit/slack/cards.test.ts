// The display's show-group jobs (src/slack/cards.ts `later`): the use cases say which rows changed or
// joined; the job names the pages those rows are on and the first (its counts), or none (every page)
// when that is all of them. Jobs queued before this change (explicit `pages`) run as they did: see
// test/unit/app/alerts.test.ts and expiry.test.ts for the cards they show.
import { describe, expect, it } from 'vitest';
import type { RequestGroup } from '../../../src/domain/request.js';
import { createSlackCards, pageOf } from '../../../src/slack/cards.js';
import { HOSTS_PER_MESSAGE } from '../../../src/slack/group-card.js';
import { createMemoryStore } from '../../fakes/memory-store.js';
import { aRequest } from '../store/builders.js';

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

describe('cards.request on a grouped card: rows that change while a render waits join it', () => {
  it('twenty rows changed while the card is being updated: one more update of the card, showing every one of them', async () => {
    const store = createMemoryStore();
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const at = '2026-11-25T14:00:00.000Z';
    for (const [i, id] of ids.entries()) {
      await store.create({ ...aRequest({ id, host: `rack${String(i).padStart(2, '0')}`, channel: 'C1', messageTs: '1700000000.000001' }), group: 'grp-r' });
    }
    await store.createGroup({ id: 'grp-r', channel: 'C1', title: 'HostDown', createdAt: at, members: ids, messages: ['1700000000.000001'] });
    const updates: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const client = {
      chat: {
        update: async (args: { blocks: unknown[] }) => {
          updates.push(JSON.stringify(args.blocks));
          if (updates.length === 1) await held; // the first update is in flight while the rows change
          return { ok: true, ts: '1700000000.000001' };
        },
      },
    };
    const shown = createSlackCards({ client: client as never, store, nova: () => undefined, notifier: { auditJoined: async () => undefined } as never, now: () => Date.parse(at), log: { info() {}, warn() {}, error() {} } });
    const first = shown.request((await store.get('r0'))!);
    await until(() => updates.length === 1);
    // Every row moves on (cancelled) while the first render holds the card.
    for (const id of ids) await store.transition(id, ['pending'], 'cancelled', at);
    const rest = ids.map(async (id) => shown.request((await store.get(id))!));
    release();
    await Promise.all([first, ...rest]);
    expect(updates).toHaveLength(2);
    // The second render read every row as it is now: twenty cancelled, none waiting.
    expect(updates[1]!.match(/Cancelled/g) ?? []).toHaveLength(20);
    expect(updates[0]!.match(/Cancelled/g) ?? []).toHaveLength(0);
  });
});

/** Waits for `cond` (event-driven: a microtask turn at a time), generous deadline. */
async function until(cond: () => boolean, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setImmediate(r));
  }
}
