import { describe, expect, it } from 'vitest';
import type { ForceDownRequest, RequestState } from '../../../src/domain/request.js';
import { LIMITS, QUOTED_BLOCK_ID, type CardMessage, type KnownBlock } from '../../../src/slack/blocks.js';
import { HOSTS_PER_MESSAGE, type GroupHostView, groupCard, groupCardMessageCount, moreHostsText } from '../../../src/slack/group-card.js';
import { ACTION_IDS, GROUP_ACTION_IDS, GROUP_ACTIONS_BLOCK_ID } from '../../../src/slack/ids.js';
import { outcomeShortText } from '../../../src/slack/messages.js';
import { CONFIRMATION, NOW, aRequest, aService, alertOrigin } from './builders.js';

type Json = Record<string, unknown>;

function walk(node: unknown, visit: (o: Json) => void): void {
  if (Array.isArray(node)) for (const item of node) walk(item, visit);
  else if (node && typeof node === 'object') {
    visit(node as Json);
    for (const v of Object.values(node)) walk(v, visit);
  }
}

const buttonsOf = (node: unknown): Json[] => {
  const found: Json[] = [];
  walk(node, (o) => {
    if (o.type === 'button') found.push(o);
  });
  return found;
};

const textOf = (node: unknown): string => {
  const parts: string[] = [];
  walk(node, (o) => {
    if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') parts.push(o.text);
  });
  return parts.join('\n');
};

/** The section of the row for `host`. */
const rowOf = (messages: CardMessage[], host: string): Json => {
  for (const m of messages)
    for (const b of m.blocks) {
      const text = (b as { text?: { text?: string } }).text?.text ?? '';
      if (b.type === 'section' && text.startsWith(`*${host}*`)) return b as unknown as Json;
    }
  throw new Error(`no row for ${host}`);
};

/** The text of the message's quoted block (what the alert wrote), '' when there is none. */
const quotedOf = (message: CardMessage): string => {
  const block = message.blocks.find((b) => b.block_id === QUOTED_BLOCK_ID) as { elements: { text: string }[] } | undefined;
  return block ? block.elements.map((e) => e.text).join('\n') : '';
};

function expectWithinLimits(message: CardMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
  expect(message.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
  for (const block of message.blocks as KnownBlock[]) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    if (block.type === 'context') expect(block.elements.length).toBeLessThanOrEqual(LIMITS.contextElements);
  }
  walk(message.blocks, (o) => {
    if (typeof o.text === 'string') expect(o.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    if (o.type === 'button') expect(((o.text as Json).text as string).length).toBeLessThanOrEqual(LIMITS.buttonText);
  });
}

const host = (i: number) => `compute${String(i).padStart(3, '0')}`;

/** `n` pending force-downs from one alert, ids req-0001…, hosts compute001…. */
function alertRequests(n: number, overrides: (i: number) => Partial<ForceDownRequest> = () => ({})): ForceDownRequest[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return aRequest({
      id: `req-${String(i).padStart(4, '0')}`,
      host: host(i),
      origin: alertOrigin({ summary: 'Rack B12 PDU feed A lost power' }),
      reason: undefined,
      ...overrides(i),
    });
  });
}

function viewsFor(requests: ForceDownRequest[]): Map<string, GroupHostView> {
  return new Map(requests.map((r) => [r.id, { service: aService({ host: r.host }) }]));
}

describe('groupCardMessageCount', () => {
  it('fits 22 hosts per message (two blocks a row: its section, its buttons)', () => {
    expect(HOSTS_PER_MESSAGE).toBe(22);
    expect([0, 1, 22, 23, 44, 45, 200].map(groupCardMessageCount)).toEqual([0, 1, 1, 2, 2, 3, 10]);
  });
});

describe('groupCard splitting', () => {
  it.each([
    [1, 1],
    [22, 1],
    [23, 2],
    [200, 10],
  ])('%i hosts → %i messages, each within Slack limits', (n, expected) => {
    const requests = alertRequests(n);
    const messages = groupCard(requests, viewsFor(requests), { now: NOW });
    expect(messages).toHaveLength(expected);
    expect(messages).toHaveLength(groupCardMessageCount(n));
    for (const m of messages) expectWithinLimits(m);

    // Every pending request has exactly one Confirm fenced… and one Cancel across all messages, carrying its id.
    const buttons = messages.flatMap((m) => buttonsOf(m.blocks));
    expect(buttons).toHaveLength(2 * n);
    const confirms = buttons.filter((b) => b.action_id === ACTION_IDS.confirmFenced);
    const cancels = buttons.filter((b) => b.action_id === ACTION_IDS.cancelRequest);
    expect(confirms.map((b) => b.value).sort()).toEqual(requests.map((r) => r.id).sort());
    expect(cancels.map((b) => b.value).sort()).toEqual(requests.map((r) => r.id).sort());
    for (const b of confirms) {
      expect(b.style).toBe('danger');
      expect((b.text as Json).text).toBe('Confirm fenced…');
    }
    for (const b of cancels) expect((b.text as Json).text).toBe('Cancel');
    // Every host has exactly one row.
    const rows = messages.flatMap((m) => m.blocks.filter((b) => b.type === 'section' && (b as { text?: { text: string } }).text?.text.startsWith('*compute')));
    expect(rows).toHaveLength(n);
  });

  it('gives continuation messages a range line and names their hosts in the fallback text', () => {
    const requests = alertRequests(200);
    const messages = groupCard(requests, viewsFor(requests), { now: NOW });
    expect(messages[0]?.blocks[0]?.type).toBe('header');
    expect(messages[0]?.text).toMatch(/^🔴 200 hosts down \(prod-east\): compute001, compute002, /);
    expect(messages[1]?.blocks[0]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: '(continued, hosts 23–44 of 200)' }] });
    expect(messages[9]?.blocks[0]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: '(continued, hosts 199–200 of 200)' }] });
    expect(messages[1]?.text).toContain('(continued, hosts 23–44 of 200)');
    expect(messages[1]?.text).toContain('compute023');
    expect(messages[1]?.text).toContain('compute044');
    expect(messages[1]?.text).not.toContain('compute045');
    expect(messages[1]?.blocks.some((b) => b.type === 'header')).toBe(false);
  });

  it('keeps the fallback text ≤ 3000 characters with long host names', () => {
    const requests = alertRequests(HOSTS_PER_MESSAGE, (i) => ({ host: `${'h'.repeat(240)}-${i}` }));
    const [message] = groupCard(requests, new Map(), { now: NOW });
    expect(message).toBeDefined();
    expectWithinLimits(message!);
    // 22 names of at most 100 characters each always fit: every host of the page is named.
    expect(message!.text).toContain(`${'h'.repeat(99)}…`);
    expect(message!.text.split(', ')).toHaveLength(HOSTS_PER_MESSAGE);
  });

  it('returns no messages for no requests', () => {
    expect(groupCard([], new Map(), { now: NOW })).toEqual([]);
  });

  it('is deterministic whatever the input order', () => {
    const requests = alertRequests(60);
    const a = groupCard(requests, viewsFor(requests), { now: NOW });
    const b = groupCard([...requests].reverse(), viewsFor(requests), { now: NOW });
    expect(b).toEqual(a);
  });
});

describe('groupCard: hosts beyond the cap (issue #11, finding 4)', () => {
  it('says "and N more hosts: too many to act on one by one; check the alert source" once, on the first page, with no row or button for them', () => {
    const requests = alertRequests(100);
    const plainCard = groupCard(requests, viewsFor(requests), { now: NOW, order: 'given' });
    const messages = groupCard(requests, viewsFor(requests), { now: NOW, order: 'given', moreHosts: 9_000 });
    expect(moreHostsText(9_000)).toBe('and 9,000 more hosts: too many to act on one by one; check the alert source');
    expect(moreHostsText(1)).toBe('and 1 more host: too many to act on one by one; check the alert source');
    expect(messages).toHaveLength(plainCard.length);
    for (const m of messages) expectWithinLimits(m);
    // The same blocks and buttons as without it: one more line in the counts' context, nothing else.
    expect(messages.map((m) => m.blocks.length)).toEqual(plainCard.map((m) => m.blocks.length));
    expect(messages.flatMap((m) => buttonsOf(m.blocks)).filter((b) => b.action_id === ACTION_IDS.confirmFenced)).toHaveLength(100);
    const all = messages.map((m) => textOf(m.blocks)).join('\n');
    expect(all.split(moreHostsText(9_000))).toHaveLength(2);
    expect(textOf(messages[0]!.blocks)).toContain(`⚠️ ${moreHostsText(9_000)}`);
    // Not in the quoted block (the alert's words): force-down's own line.
    expect(quotedOf(messages[0]!)).not.toContain('more hosts');
    // The notification says so too.
    expect(messages[0]!.text).toContain(moreHostsText(9_000));
  });

  it('says nothing of the kind without hosts left out', () => {
    const requests = alertRequests(3);
    for (const moreHosts of [undefined, 0]) {
      const messages = groupCard(requests, viewsFor(requests), { now: NOW, ...(moreHosts === undefined ? {} : { moreHosts }) });
      expect(messages.map((m) => textOf(m.blocks) + m.text).join('')).not.toContain('more host');
    }
  });
});

describe('groupCard states', () => {
  const FAILED_OUTCOME = { code: 'NOVA_UNAVAILABLE' as const, message: 'timeout', status: 503 };
  const states: [string, Partial<ForceDownRequest>][] = [
    ['h-pending', { state: 'pending' }],
    ['h-approved', { state: 'approved', confirmation: CONFIRMATION }],
    ['h-executing', { state: 'executing', confirmation: CONFIRMATION }],
    ['h-succeeded', { state: 'succeeded', confirmation: CONFIRMATION }],
    ['h-failed', { state: 'failed', confirmation: CONFIRMATION, outcome: FAILED_OUTCOME }],
    ['h-expired', { state: 'expired', history: [{ state: 'expired', at: '2026-11-25T15:00:00.000Z' }] }],
    ['h-cancelled', { state: 'cancelled', history: [{ state: 'cancelled', at: '2026-11-25T14:03:00.000Z', by: 'U0CANCEL01' }] }],
    // Still "pending" in the store, but its TTL has passed by `now`.
    ['h-stale', { state: 'pending', expiresAt: '2026-11-25T14:05:00.000Z' }],
    ['h-stale-failed', { state: 'failed', expiresAt: '2026-11-25T14:05:00.000Z', outcome: FAILED_OUTCOME }],
  ];
  const requests = states.map(([h, o]) => aRequest({ id: `req-${h}`, host: h, origin: alertOrigin(), reason: undefined, ...o }));
  const messages = groupCard(requests, new Map(), { now: NOW });

  it('renders each state in the single card’s words', () => {
    const row = (h: string) => ((rowOf(messages, h).text as Json).text as string);
    expect(row('h-pending')).toContain('Waiting for an approver to confirm it is fenced');
    expect(row('h-approved')).toContain('⏳ forcing down… (by <@U0APPROVE1>, fenced: ');
    expect(row('h-executing')).toContain('⏳ forcing down…');
    expect(row('h-succeeded')).toContain('✅ forced down in Nova (by <@U0APPROVE1>');
    expect(row('h-failed')).toContain("❌ Nova's API did not answer (HTTP 503)");
    expect(row('h-expired')).toContain('⌛ This request to force down *h-expired* expired at 2026-11-25 15:00 UTC');
    expect(row('h-cancelled')).toContain('🚫 Cancelled by <@U0CANCEL01>');
    expect(row('h-stale')).toContain('⌛ This request to force down *h-stale* expired at 2026-11-25 14:05 UTC');
    expect(row('h-stale-failed')).toContain('⌛');
    expect(row('h-pending')).toContain('Nova: not looked up yet');
  });

  it('shows buttons only where a click can still lead to a Nova call', () => {
    const buttons = messages.flatMap((m) => buttonsOf(m.blocks));
    expect(buttons.map((b) => [b.value, b.action_id, (b.text as Json).text])).toEqual([
      ['req-h-pending', ACTION_IDS.confirmFenced, 'Confirm fenced…'],
      ['req-h-pending', ACTION_IDS.cancelRequest, 'Cancel'],
      ['req-h-failed', ACTION_IDS.confirmFenced, 'Retry…'],
      ['req-h-failed', ACTION_IDS.cancelRequest, 'Cancel'],
    ]);
  });

  it('sorts pending first, then failed, then the rest; counts by state', () => {
    const order = messages[0]!.blocks
      .filter((b) => b.type === 'section' && ((b as { text?: { text: string } }).text?.text.startsWith('*h-') ?? false))
      .map((b) => /^\*([^*]+)\*/.exec((b as { text: { text: string } }).text.text)?.[1]);
    expect(order.slice(0, 2)).toEqual(['h-pending', 'h-failed']);
    expect(order).toHaveLength(states.length);
    expect(textOf(messages[0]!.blocks[1])).toMatch(/^\*1\* pending · \*2\* in progress · \*1\* forced down · \*1\* failed: Nova unavailable · \*1\* cancelled · \*3\* expired/);
  });

  it('offers Confirm recovered… for a pending unset', () => {
    const [m] = groupCard([aRequest({ action: 'unset' })], new Map(), { now: NOW });
    const [b] = buttonsOf(m!.blocks);
    expect(b).toMatchObject({ action_id: ACTION_IDS.confirmRecovered, value: 'req-0001', text: { text: 'Confirm recovered…' } });
  });
});

describe('groupCard Nova view', () => {
  it('puts state, forced_down and heartbeat age on one line, or the lookup failure', () => {
    const [a, b] = [aRequest({ id: 'r-a', host: 'a1' }), aRequest({ id: 'r-b', host: 'b1' })];
    const views = new Map<string, GroupHostView>([
      ['r-a', { service: aService({ host: 'a1', forcedDown: true }) }],
      ['r-b', { lookupFailure: { code: 'HOST_NOT_FOUND', message: 'no such host' } }],
    ]);
    const messages = groupCard([a!, b!], views, { now: NOW });
    expect((rowOf(messages, 'a1').text as Json).text).toContain('Nova: `down`, `enabled` · forced_down *yes* · heartbeat 10 min ago');
    expect((rowOf(messages, 'b1').text as Json).text).toContain('Nova: ⚠️ Nova does not know *b1* in *prod-east*');
  });
});

describe('groupCard escaping', () => {
  it('makes a hostile alert name, summary and host name inert', () => {
    const requests = alertRequests(2, (i) => ({
      host: i === 1 ? 'evil<!channel>' : 'ok&host',
      origin: alertOrigin({ alertName: 'Down <!here> <http://evil.example|click>', summary: 'summary <@U0EVIL> & <!channel>' }),
    }));
    const messages = groupCard(requests, new Map(), { now: NOW });
    const all = JSON.stringify(messages);
    // mrkdwn and the fallback text: nothing Slack would read as a mention or link.
    const mrkdwnTexts: string[] = [];
    walk(messages, (o) => {
      if (o.type === 'mrkdwn') mrkdwnTexts.push(o.text as string);
    });
    for (const t of [...mrkdwnTexts, ...messages.map((m) => m.text)]) {
      expect(t).not.toMatch(/<!|<@U0EVIL|<http/);
    }
    expect(all).toContain('*evil&lt;!channel&gt;*');
    expect(all).toContain('*ok&amp;host*');
    // The alert's words only in the quoted block; the header and the notification text are ours.
    expect(quotedOf(messages[0]!)).toBe('Alert: “Down &lt;!here&gt; &lt;http://evil.example|click&gt;”\nAlert summary: “summary &lt;@U0EVIL&gt; &amp; &lt;!channel&gt;”');
    expect(messages[0]!.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '🔴 2 hosts down', emoji: true } });
    expect(messages[0]!.text).toBe('🔴 2 hosts down (prod-east): evil&lt;!channel&gt;, ok&amp;host');
  });

  it('quotes opts.title (over the alert name) below the header, on one line, within the limits', () => {
    const requests = alertRequests(3);
    const [titled] = groupCard(requests, new Map(), { now: NOW, title: 'PDU B12-A\n*✅ compute001 is forced down in Nova*' });
    expect(textOf(titled!.blocks[0])).toBe('🔴 3 hosts down');
    expect(quotedOf(titled!)).toBe('Alert: “PDU B12-A ∗✅ compute001 is forced down in Nova∗”\nAlert summary: “Rack B12 PDU feed A lost power”');
    const [m] = groupCard(requests, new Map(), { now: NOW, title: 'x'.repeat(500) });
    expectWithinLimits(m!);
    expect(quotedOf(m!)).toMatch(/^Alert: “x{199}…”\n/);
  });
});

describe('groupCard snapshot', () => {
  it('renders a 3-host card', () => {
    const states: RequestState[] = ['succeeded', 'pending', 'failed'];
    const requests = alertRequests(3, (i) => ({
      state: states[i - 1]!,
      ...(i !== 2 ? { confirmation: CONFIRMATION } : {}),
      ...(i === 3 ? { outcome: { code: 'NOVA_REJECTED' as const, message: 'rejected', status: 400 } } : {}),
    }));
    const views = viewsFor(requests);
    views.set('req-0001', { service: aService({ host: 'compute001', forcedDown: true }) });
    expect(groupCard(requests, views, { now: NOW })).toMatchSnapshot();
  });
});

describe('groupCard: many hosts at once (issue 15)', () => {
  const grouped = (n: number, over: (i: number) => Partial<ForceDownRequest> = () => ({})) => alertRequests(n, (i) => ({ group: 'grp-1', ...over(i) }));
  const bulkButtons = (m: CardMessage) => m.blocks.filter((b) => b.block_id === GROUP_ACTIONS_BLOCK_ID).flatMap((b) => buttonsOf(b));

  it('the first page offers Confirm all fenced… and Cancel all… (behind a confirm dialog), value = the group id; continuation pages do not', () => {
    const requests = grouped(60);
    const messages = groupCard(requests, viewsFor(requests), { now: NOW, order: 'given' });
    expect(messages).toHaveLength(3);
    const [all, cancel] = bulkButtons(messages[0]!);
    expect(all).toMatchObject({ action_id: GROUP_ACTION_IDS.confirmAll, value: 'grp-1', text: { text: 'Confirm all fenced…' }, style: 'danger' });
    expect(cancel).toMatchObject({ action_id: GROUP_ACTION_IDS.cancelAll, value: 'grp-1', text: { text: 'Cancel all…' } });
    expect(cancel!.confirm).toMatchObject({ title: { text: 'Cancel every waiting row?' }, confirm: { text: 'Cancel them all' }, deny: { text: 'Keep them' } });
    expect(((cancel!.confirm as Json).text as Json).text).toContain('60 rows are waiting');
    for (const m of messages.slice(1)) expect(bulkButtons(m)).toEqual([]);
    for (const m of messages) expectWithinLimits(m);
    // Every actions block within Slack's 25 elements.
    for (const m of messages) for (const b of m.blocks) if (b.type === 'actions') expect(b.elements.length).toBeLessThanOrEqual(25);
  });

  it('a full first page with a quoted alert stays within 50 blocks', () => {
    const requests = grouped(HOSTS_PER_MESSAGE);
    const [m] = groupCard(requests, viewsFor(requests), { now: NOW, title: 'RackDown', moreHosts: 3 });
    expect(m!.blocks).toHaveLength(5 + 2 * HOSTS_PER_MESSAGE);
    expect(m!.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
  });

  it('no bulk buttons once nothing is pending, nor on a card without a group; Cancel all… only on a recovery card', () => {
    const done = grouped(3, () => ({ state: 'succeeded', confirmation: CONFIRMATION }));
    expect(bulkButtons(groupCard(done, new Map(), { now: NOW })[0]!)).toEqual([]);
    expect(bulkButtons(groupCard(alertRequests(3), new Map(), { now: NOW })[0]!)).toEqual([]);
    const recovery = grouped(3, () => ({ action: 'unset' }));
    expect(bulkButtons(groupCard(recovery, new Map(), { now: NOW })[0]!).map((b) => b.action_id)).toEqual([GROUP_ACTION_IDS.cancelAll]);
  });

  it('sums up the outcomes: "10 forced down · 2 refused: still reporting"', () => {
    const requests = grouped(12, (i) =>
      i <= 10
        ? { state: 'succeeded', confirmation: CONFIRMATION }
        : { state: 'failed', confirmation: CONFIRMATION, outcome: { code: 'HOST_STILL_REPORTING', message: 'still reporting' } },
    );
    const [m] = groupCard(requests, new Map(), { now: NOW });
    const counts = textOf(m!.blocks[1]).split(' · cloud')[0]!;
    expect(counts.replace(/\*/g, '')).toBe('10 forced down · 2 refused: still reporting');
    expect(outcomeShortText('HOST_STILL_REPORTING')).toBe('refused: still reporting');
    expect(outcomeShortText('NOVA_FORBIDDEN')).toBe('failed: Nova refused (policy)');
    expect(outcomeShortText(undefined)).toBe('failed');
  });
});
