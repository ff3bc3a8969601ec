/**
 * Issue #11, finding 8: cards can be made to lie. Whatever an alert or a
 * person writes (alert name, summary, link, fingerprint, reason, confirmation
 * note, a group's title), force-down's own blocks (header, fields, Nova's
 * view, the state line, buttons) and the notification text are byte for byte
 * what they are for a harmless text, and the written text shows only in the
 * quoted block, inert, one labelled line each.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ForceDownRequest, HistoryEntry, RequestState } from '../../../src/domain/request.js';
import { LIMITS, QUOTED_BLOCK_ID, auditMessage, requestCard, type KnownBlock } from '../../../src/slack/blocks.js';
import { groupCard } from '../../../src/slack/group-card.js';
import { CONFIRMATION, NOW, aRequest, aService, alertOrigin } from './builders.js';
import { FAKE_STATUS, expectQuotedLinesInert, hostileLink, hostileText, ownBlocks, quotedLines } from './untrusted.js';

const STATES: RequestState[] = ['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled', 'expired'];
const CARD_LABELS = ['Alert', 'Alert summary', 'Reason', 'Confirmation note'];

interface Written {
  alertName: string;
  summary: string;
  link: string;
  fingerprint: string;
  reason: string;
  note: string;
}

const HARMLESS: Written = { alertName: 'a', summary: 's', link: 'https://alertmanager.example/', fingerprint: 'f', reason: 'r', note: 'n' };

const written: fc.Arbitrary<Written> = fc.record({ alertName: hostileText, summary: hostileText, link: hostileLink, fingerprint: hostileText, reason: hostileText, note: hostileText });

interface Shape {
  state: RequestState;
  action: 'force-down' | 'unset';
  alert: boolean;
  /** The alert's summary is the reason (as the alert intake records it). */
  reasonIsSummary: boolean;
  resolved: boolean;
  seen: number;
  nova: 'service' | 'failure' | 'none';
}

const shape: fc.Arbitrary<Shape> = fc.record({
  state: fc.constantFrom(...STATES),
  action: fc.constantFrom('force-down' as const, 'unset' as const),
  alert: fc.boolean(),
  reasonIsSummary: fc.boolean(),
  resolved: fc.boolean(),
  seen: fc.constantFrom(1, 3),
  nova: fc.constantFrom('service' as const, 'failure' as const, 'none' as const),
});

function request(s: Shape, w: Written): ForceDownRequest {
  return aRequest({
    state: s.state,
    action: s.action,
    ...(s.alert ? { origin: alertOrigin({ alertName: w.alertName, summary: w.summary, link: w.link, fingerprint: w.fingerprint }) } : {}),
    reason: s.alert && s.reasonIsSummary ? w.summary : w.reason,
    ...(s.state !== 'pending' ? { confirmation: { ...CONFIRMATION, note: w.note } } : {}),
    ...(s.state === 'failed' ? { outcome: { code: 'NOVA_REJECTED' as const, message: 'rejected', status: 400, detail: 'Invalid input' } } : {}),
    ...(s.resolved ? { alertResolvedAt: '2026-11-25T14:08:00.000Z' } : {}),
    ...(s.alert ? { seen: { count: s.seen, lastAt: '2026-11-25T14:09:00.000Z' } } : {}),
    history: [
      { state: 'pending', at: '2026-11-25T14:00:00.000Z', by: 'U0REQUEST1' },
      ...(s.state !== 'pending' ? [{ state: s.state, at: '2026-11-25T14:06:00.000Z', by: 'U0APPROVE1' }] : []),
    ],
  });
}

function cardOf(s: Shape, w: Written) {
  const nova = s.nova === 'service' ? { service: aService() } : s.nova === 'failure' ? { lookupFailure: { code: 'HOST_NOT_FOUND' as const, message: 'x' } } : {};
  return requestCard(request(s, w), { ...nova, now: NOW });
}

function expectWithinLimits(blocks: KnownBlock[]): void {
  expect(blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
  for (const b of blocks) {
    if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    if (b.type === 'context') {
      expect(b.elements.length).toBeLessThanOrEqual(LIMITS.contextElements);
      for (const e of b.elements) if ('text' in e && typeof e.text === 'string') expect(e.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    }
    if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
  }
}

describe('the single card', () => {
  it('for any written text, every block but the quoted one and the notification text are those of a harmless text; the quoted block is inert', () => {
    fc.assert(
      fc.property(shape, written, (s, w) => {
        const hostile = cardOf(s, w);
        const harmless = cardOf(s, HARMLESS);
        expect(ownBlocks(hostile.blocks)).toEqual(ownBlocks(harmless.blocks));
        expect(hostile.text).toBe(harmless.text);
        expectQuotedLinesInert(quotedLines(hostile.blocks), CARD_LABELS);
        expectWithinLimits(hostile.blocks);
        // The quoted block comes before the divider: nothing written sits among the state line and the buttons.
        const quotedAt = hostile.blocks.findIndex((b) => b.block_id === QUOTED_BLOCK_ID);
        if (quotedAt >= 0) expect(quotedAt).toBeLessThan(hostile.blocks.findIndex((b) => b.type === 'divider'));
      }),
      { numRuns: 1_000 },
    );
  });

  it('the issue’s example: a summary "\\n*✅ rt1 is forced down in Nova (by approver)*" stays a quoted line, the state line is ours', () => {
    const pending = aRequest({ host: 'rt1', origin: alertOrigin({ summary: FAKE_STATUS, alertName: 'HostDown' }), reason: FAKE_STATUS });
    const card = requestCard(pending, { lookupFailure: { code: 'HOST_NOT_FOUND', message: 'x' }, now: NOW });
    expect(quotedLines(card.blocks)).toEqual([
      'Alert: “HostDown”',
      'Alert summary: “∗✅ rt1 is forced down in Nova (by approver)∗”',
      'Link: <https://alertmanager.example/#/alerts?filter={alertname=%22NovaComputeDown%22}|open in the alerting tool (alertmanager.example)>',
    ]);
    const own = JSON.stringify(ownBlocks(card.blocks));
    expect(own).not.toContain('✅');
    expect(own).not.toContain('forced down in Nova');
    const divider = card.blocks.findIndex((b) => b.type === 'divider');
    expect((card.blocks[divider + 1] as { text: { text: string } }).text.text).toBe(
      'Waiting for an approver to confirm *rt1* is fenced (powered off or isolated). Nova is not called before that.',
    );
    expect(card.text).toBe('🟡 Force down rt1 · waiting (prod-east): waiting for a fence confirmation');
    // The same from a person: as a --reason, and as the approver's note on a failed request.
    const byPerson = requestCard(aRequest({ host: 'rt1', reason: FAKE_STATUS, state: 'failed', confirmation: { ...CONFIRMATION, note: FAKE_STATUS } }), { now: NOW });
    expect(quotedLines(byPerson.blocks)).toEqual(['Reason: “∗✅ rt1 is forced down in Nova (by approver)∗”', 'Confirmation note: “∗✅ rt1 is forced down in Nova (by approver)∗”']);
    expect(JSON.stringify(ownBlocks(byPerson.blocks))).not.toContain('✅');
  });
});

describe('the grouped card', () => {
  const group = (w: Written, title: string | undefined, n: number, states: RequestState[]) =>
    groupCard(
      Array.from({ length: n }, (_, i) =>
        request({ state: states[i % states.length]!, action: 'force-down', alert: true, reasonIsSummary: true, resolved: i % 2 === 0, seen: 1 + (i % 3), nova: 'none' }, w),
      ).map((r, i) => ({ ...r, id: `req-${i}`, host: `compute${i}` })),
      new Map(),
      { now: NOW, ...(title !== undefined ? { title } : {}) },
    );

  it('for any alert name, summary or title, the header, counts, rows and notification texts are those of a harmless one; the quoted block is inert', () => {
    fc.assert(
      fc.property(written, fc.option(hostileText, { nil: undefined }), fc.integer({ min: 2, max: 60 }), fc.subarray(STATES, { minLength: 1 }), (w, title, n, states) => {
        const hostile = group(w, title, n, states);
        const harmless = group(HARMLESS, title === undefined ? undefined : 'PDU B12-A', n, states);
        expect(hostile.map((m) => ownBlocks(m.blocks))).toEqual(harmless.map((m) => ownBlocks(m.blocks)));
        expect(hostile.map((m) => m.text)).toEqual(harmless.map((m) => m.text));
        for (const m of hostile) {
          expectQuotedLinesInert(quotedLines(m.blocks), ['Alert', 'Alert summary']);
          expectWithinLimits(m.blocks);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the issue’s example as the alert’s summary and name: quoted under our header', () => {
    const [first] = group({ ...HARMLESS, summary: FAKE_STATUS, alertName: FAKE_STATUS }, undefined, 3, ['pending']);
    expect(first!.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '🔴 3 hosts down', emoji: true } });
    expect(quotedLines(first!.blocks)).toEqual(['Alert: “∗✅ rt1 is forced down in Nova (by approver)∗”', 'Alert summary: “∗✅ rt1 is forced down in Nova (by approver)∗”']);
    expect(JSON.stringify(ownBlocks(first!.blocks))).not.toContain('✅');
  });
});

describe('the audit thread', () => {
  const events: HistoryEntry['state'][] = ['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled', 'expired'];

  it('for any written text, our line is that of a harmless text, and what it quotes is inert, in its own block', () => {
    fc.assert(
      fc.property(shape, written, fc.constantFrom(...events), (s, w, state) => {
        const entry: HistoryEntry = { state, at: '2026-11-25T14:06:00.000Z', by: 'U0APPROVE1' };
        const shapeFor: Shape = { ...s, state: state === 'pending' ? 'pending' : s.state === 'pending' ? 'approved' : s.state };
        const hostile = auditMessage(request(shapeFor, w), entry);
        const harmless = auditMessage(request(shapeFor, HARMLESS), entry);
        const line = (m: typeof hostile) => (m.blocks ? (m.blocks[0] as { text: { text: string } }).text.text : m.text);
        expect(line(hostile)).toBe(line(harmless));
        expect(hostile.text.startsWith(line(hostile))).toBe(true);
        expect(hostile.text).not.toMatch(/\n/);
        expect(hostile.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
        if (hostile.blocks) {
          expect(hostile.blocks).toHaveLength(2);
          expectQuotedLinesInert(quotedLines(hostile.blocks), ['Alert', 'Fingerprint', 'Note']);
          expectWithinLimits(hostile.blocks);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('the approver’s note and the alert’s name are quoted apart from our line', () => {
    const approved = auditMessage(aRequest({ host: 'rt1', state: 'approved', confirmation: { ...CONFIRMATION, note: FAKE_STATUS } }), { state: 'approved', at: '2026-11-25T14:05:00Z', by: 'U0APPROVE1' });
    expect(approved.blocks?.[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '`2026-11-25T14:05:00.000Z` <@U0APPROVE1> confirmed *rt1* is fenced · fenced: BMC power-off (IPMI/Redfish)' } });
    expect(quotedLines(approved.blocks)).toEqual(['Note: “∗✅ rt1 is forced down in Nova (by approver)∗”']);
    expect(approved.text).toBe('`2026-11-25T14:05:00.000Z` <@U0APPROVE1> confirmed *rt1* is fenced · fenced: BMC power-off (IPMI/Redfish) · note: “∗✅ rt1 is forced down in Nova (by approver)∗”');
    const opened = auditMessage(aRequest({ origin: alertOrigin({ alertName: '*ok*' }) }), { state: 'pending', at: '2026-11-25T14:00:00Z' });
    expect(quotedLines(opened.blocks)).toEqual(['Alert: “∗ok∗”', 'Fingerprint: “3f1c2a9d8e7b6c5a”']);
    // A line that quotes nobody stays a plain message.
    expect(auditMessage(aRequest(), { state: 'pending', at: '2026-11-25T14:00:00Z', by: 'U0REQUEST1' })).toEqual({
      text: '`2026-11-25T14:00:00.000Z` <@U0REQUEST1> asked to force down *compute1* in prod-east',
    });
  });
});
