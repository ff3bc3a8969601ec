import { describe, expect, it } from 'vitest';
import type { ForceDownRequest, RequestState } from '../../../src/domain/request.js';
import { FENCING_METHODS } from '../../../src/domain/fencing.js';
import { nextStep } from '../../../src/domain/runbook.js';
import { CARD_NEXT_BLOCK_ID, LIMITS, QUOTED_BLOCK_ID, auditLine, fenceModal, helpText, requestCard, type KnownBlock } from '../../../src/slack/blocks.js';
import { ACTION_IDS, FENCE_MODAL_CALLBACK_ID, MODAL_INPUTS, NOTE_MAX_LENGTH } from '../../../src/slack/ids.js';
import { CONFIRMATION, NOW, aRequest, aService, alertOrigin } from './builders.js';

type Json = Record<string, unknown>;

/** Every object in a tree of blocks. */
function walk(node: unknown, visit: (o: Json, parentKey: string) => void, parentKey = ''): void {
  if (Array.isArray(node)) for (const item of node) walk(item, visit, parentKey);
  else if (node && typeof node === 'object') {
    visit(node as Json, parentKey);
    for (const [k, v] of Object.entries(node)) walk(v, visit, k);
  }
}

const buttons = (blocks: unknown): Json[] => {
  const found: Json[] = [];
  walk(blocks, (o) => {
    if (o.type === 'button') found.push(o);
  });
  return found;
};

/** All the card's mrkdwn as one string, for `toContain`. */
const textOf = (blocks: KnownBlock[]): string => {
  const parts: string[] = [];
  walk(blocks, (o) => {
    if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') parts.push(o.text);
  });
  return parts.join('\n');
};

/** The quoted block's first element (what an alert or a person wrote), '' when there is none. */
const quotedOf = (blocks: KnownBlock[]): string => {
  const block = blocks.find((b) => b.block_id === QUOTED_BLOCK_ID) as { elements: { text: string }[] } | undefined;
  return block ? block.elements.map((e) => e.text).join('\n') : '';
};

/** The state line: the section after the divider. */
const stateLineOf = (blocks: KnownBlock[]): string => {
  const i = blocks.findIndex((b) => b.type === 'divider');
  const section = blocks[i + 1] as { text?: { text: string } } | undefined;
  return section?.text?.text ?? '';
};

/** Slack's length limits on every text object in a message or modal. */
function expectWithinLimits(blocks: KnownBlock[]): void {
  expect(blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
  for (const block of blocks) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    if (block.type === 'section') {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      expect((block.fields ?? []).length).toBeLessThanOrEqual(LIMITS.sectionFields);
      for (const f of block.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(LIMITS.sectionField);
    }
    if (block.type === 'context') expect(block.elements.length).toBeLessThanOrEqual(LIMITS.contextElements);
  }
  walk(blocks, (o, parentKey) => {
    if (typeof o.text === 'string') expect(o.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    if (o.type === 'button') expect((o.text as Json).text as string).toSatisfy((t: string) => t.length <= LIMITS.buttonText);
    if (parentKey === 'options' && typeof o.value === 'string') {
      expect(((o.text as Json).text as string).length).toBeLessThanOrEqual(LIMITS.optionText);
      if (o.description) expect(((o.description as Json).text as string).length).toBeLessThanOrEqual(LIMITS.optionText);
    }
  });
}

const approved = (state: RequestState, over: Partial<ForceDownRequest> = {}) => aRequest({ state, confirmation: CONFIRMATION, ...over });

describe('requestCard', () => {
  it('pending force-down: header, who and why, Nova view, Confirm fenced… (danger) and Cancel carrying the id', () => {
    const card = requestCard(aRequest(), { service: aService(), now: NOW, instances: { total: 12, ha: 2, byState: [{ state: 'ACTIVE', count: 10 }, { state: 'SHUTOFF', count: 2 }], text: 'ACTIVE 10 · SHUTOFF 2' } });
    expect(card.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '🟡 Force down compute1 · waiting', emoji: true } });
    const text = textOf(card.blocks);
    expect(text).toContain('*Cloud*\nprod-east');
    expect(text).toContain('*Asked by*\n<@U0REQUEST1>');
    expect(quotedOf(card.blocks)).toBe('Reason: “PSU alarm, host unreachable”');
    expect(text).toContain('*State*\n`down`');
    expect(text).toContain('*Status*\n`enabled`');
    expect(text).toContain('*Forced down*\nno');
    expect(text).toContain('*Last heartbeat*\n2026-11-25 14:00 UTC (10 min ago)');
    expect(text).toContain('*Instances*: 12 — ACTIVE 10 · SHUTOFF 2 · 2 marked HA');
    const [confirm, cancel] = buttons(card.blocks);
    expect(confirm).toMatchObject({ action_id: ACTION_IDS.confirmFenced, value: 'req-0001', style: 'danger', text: { text: 'Confirm fenced…' } });
    expect(cancel).toMatchObject({ action_id: ACTION_IDS.cancelRequest, value: 'req-0001', text: { text: 'Cancel' } });
    expect(cancel?.style).toBeUndefined();
    expect(card.text).toBe('🟡 Force down compute1 · waiting (prod-east): waiting for a fence confirmation');
    expect(card).toMatchSnapshot();
  });

  it('pending unset: 🟡 header, Confirm recovered… and Cancel', () => {
    const card = requestCard(aRequest({ action: 'unset' }), { service: aService({ forcedDown: true, state: 'down' }), now: NOW });
    expect(card.blocks[0]).toMatchObject({ type: 'header', text: { text: '🟡 Unset forced-down: compute1 · waiting' } });
    expect(textOf(card.blocks)).toContain('*Forced down*\n*yes*');
    expect(buttons(card.blocks).map((b) => [b.action_id, b.value, (b.text as Json).text])).toEqual([
      [ACTION_IDS.confirmRecovered, 'req-0001', 'Confirm recovered…'],
      [ACTION_IDS.cancelRequest, 'req-0001', 'Cancel'],
    ]);
    expect(card).toMatchSnapshot();
  });

  it.each([
    ['force-down', '⏳ Confirmed (by <@U0APPROVE1>, fenced: BMC power-off (IPMI/Redfish))', 'force-down has not started yet'],
    ['unset', '⏳ Confirmed (by <@U0APPROVE1>)', 'unset has not started yet'],
  ] as const)('approved %s, not started yet: "%s", says so, and only Cancel (an approver may take it back)', (action, line, notStarted) => {
    const card = requestCard(approved('approved', { action, ...(action === 'unset' ? { confirmation: { by: 'U0APPROVE1', at: CONFIRMATION.at } } : {}) }), { service: aService(), now: NOW });
    expect(stateLineOf(card.blocks).startsWith(line)).toBe(true);
    expect(stateLineOf(card.blocks)).toContain(notStarted);
    expect(buttons(card.blocks).map((b) => [b.action_id, b.value, (b.text as { text: string }).text])).toEqual([[ACTION_IDS.cancelRequest, 'req-0001', 'Cancel']]);
  });

  it.each([
    ['executing', 'force-down', '⏳ forcing down…'],
    ['executing', 'unset', '⏳ unsetting…'],
  ] as const)('%s %s: "%s" and no buttons', (state, action, line) => {
    const card = requestCard(approved(state, { action }), { service: aService(), now: NOW });
    expect(stateLineOf(card.blocks).startsWith(line)).toBe(true);
    expect(buttons(card.blocks)).toEqual([]);
    expect(card.blocks.some((b) => b.type === 'actions')).toBe(false);
  });

  it('succeeded force-down: who confirmed and how it was fenced; only Evacuate instances… (evacuation-blocks.test.ts)', () => {
    const card = requestCard(approved('succeeded'), { service: aService({ forcedDown: true }), now: NOW });
    expect(stateLineOf(card.blocks)).toBe('✅ *compute1* is forced down in Nova (by <@U0APPROVE1>, fenced: BMC power-off (IPMI/Redfish))');
    // The approver's note is theirs: quoted above the divider, not on our state line.
    expect(quotedOf(card.blocks)).toBe('Reason: “PSU alarm, host unreachable”\nConfirmation note: “ipmitool chassis power off, verified off”');
    expect(buttons(card.blocks).map((b) => [b.action_id, (b.text as Json).text])).toEqual([['evacuate_host', 'Evacuate instances…']]);
    expect(card.text).toBe('✅ compute1 forced down (prod-east): forced down in Nova');
    expect(card).toMatchSnapshot();
  });

  it('succeeded unset: no fencing method', () => {
    const card = requestCard(approved('succeeded', { action: 'unset', confirmation: { by: 'U0APPROVE1', at: CONFIRMATION.at } }), { now: NOW });
    expect(stateLineOf(card.blocks)).toBe('✅ *compute1* is no longer forced down in Nova (by <@U0APPROVE1>)');
  });

  it("failed: ❌ with messages.ts' headline and next step, Retry… on the same confirm action, Cancel; no raw detail", () => {
    const request = approved('failed', {
      outcome: {
        code: 'NOVA_FORBIDDEN',
        message: "Nova's policy does not allow …",
        detail: "Policy doesn't allow os_compute_api:os-services:update to be performed.",
        status: 403,
        request: 'PUT /os-services/{id}',
        microversion: '2.53',
      },
    });
    const card = requestCard(request, { service: aService(), now: NOW });
    const line = stateLineOf(card.blocks);
    expect(line.startsWith("❌ Nova's policy does not let force-down's credentials force down *compute1* in *prod-east*.")).toBe(true);
    expect(line).toContain(nextStep('NOVA_FORBIDDEN', 'compute1', 'force-down'));
    expect(JSON.stringify(card)).not.toContain("Policy doesn't allow");
    expect(buttons(card.blocks).map((b) => [b.action_id, b.value, (b.text as Json).text])).toEqual([
      [ACTION_IDS.confirmFenced, 'req-0001', 'Retry…'],
      [ACTION_IDS.cancelRequest, 'req-0001', 'Cancel'],
    ]);
    expect(card).toMatchSnapshot();
  });

  it('failed unset on pending evacuations says exactly that, and Retry… opens the recovery modal', () => {
    const card = requestCard(approved('failed', { action: 'unset', outcome: { code: 'EVACUATIONS_PENDING', message: 'x', status: 400 } }), { now: NOW });
    expect(stateLineOf(card.blocks)).toContain('Nova keeps *compute1* forced down until its evacuated instances are cleaned up');
    expect(stateLineOf(card.blocks)).toContain('Start nova-compute on the recovered compute1 first');
    expect(buttons(card.blocks)[0]).toMatchObject({ action_id: ACTION_IDS.confirmRecovered, text: { text: 'Retry…' } });
  });

  it('failed without a recorded outcome still explains itself', () => {
    const card = requestCard(approved('failed'), { now: NOW });
    expect(stateLineOf(card.blocks)).toMatch(/^❌ The request did not finish/);
    expect(buttons(card.blocks)).toHaveLength(2);
  });

  it('cancelled: by whom; nothing to click', () => {
    const request = aRequest({
      state: 'cancelled',
      history: [
        { state: 'pending', at: '2026-11-25T14:00:00.000Z', by: 'U0REQUEST1' },
        { state: 'cancelled', at: '2026-11-25T14:03:00.000Z', by: 'U0CANCEL01' },
      ],
    });
    const card = requestCard(request, { service: aService(), now: NOW });
    expect(stateLineOf(card.blocks)).toBe('🚫 Cancelled by <@U0CANCEL01>: Nova was not asked to force down *compute1*.');
    expect(buttons(card.blocks)).toEqual([]);
  });

  it('expired: says so and offers nothing to click (also after a failure)', () => {
    for (const over of [{}, { confirmation: CONFIRMATION, outcome: { code: 'NOVA_UNAVAILABLE' as const, message: 'x' } }]) {
      const card = requestCard(aRequest({ state: 'expired', ...over }), { now: NOW });
      expect(stateLineOf(card.blocks)).toContain('⌛ This request to force down *compute1* expired at 2026-11-25 15:00 UTC');
      expect(buttons(card.blocks)).toEqual([]);
      expect(card.text).toContain('expired');
    }
  });

  it('buttons appear only while a click can still change the outcome: pending, approved (Cancel) and failed; a succeeded force-down offers its evacuation', () => {
    const states: RequestState[] = ['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled', 'expired'];
    const withButtons = states.filter((state) => buttons(requestCard(approved(state), { now: NOW }).blocks).length > 0);
    expect(withButtons).toEqual(['pending', 'approved', 'succeeded', 'failed']);
    expect(buttons(requestCard(approved('succeeded'), { now: NOW }).blocks).map((b) => b.action_id)).toEqual(['evacuate_host']);
    expect(buttons(requestCard(approved('succeeded', { action: 'unset' }), { now: NOW }).blocks)).toEqual([]);
  });

  it.each([
    ['pending', 'force-down', '🟡 Force down compute1 · waiting'],
    ['approved', 'force-down', '⏳ Force down compute1 · in progress'],
    ['executing', 'force-down', '⏳ Force down compute1 · in progress'],
    ['succeeded', 'force-down', '✅ compute1 forced down'],
    ['failed', 'force-down', '❌ Force down compute1 · failed'],
    ['cancelled', 'force-down', '⚪ Force down compute1 · cancelled'],
    ['expired', 'force-down', '⚪ Force down compute1 · expired'],
    ['pending', 'unset', '🟡 Unset forced-down: compute1 · waiting'],
    ['executing', 'unset', '⏳ Unset forced-down: compute1 · in progress'],
    ['succeeded', 'unset', '✅ compute1 unset: no longer forced down'],
    ['failed', 'unset', '❌ Unset forced-down: compute1 · failed'],
  ] as const)('the header says where a %s %s stands: "%s" (and the notification text starts with it)', (state, action, header) => {
    const card = requestCard(approved(state, { action }), { now: NOW });
    expect(card.blocks[0]).toMatchObject({ type: 'header', text: { text: header } });
    expect(card.text.startsWith(`${header} (prod-east)`)).toBe(true);
  });

  it('a pending or failed request past its expiry is headed expired, as its buttons would only be refused', () => {
    const late = Date.parse('2026-11-25T15:00:01Z');
    for (const state of ['pending', 'failed'] as const) {
      expect(requestCard(approved(state), { now: late }).blocks[0]).toMatchObject({ text: { text: '⚪ Force down compute1 · expired' } });
    }
  });

  it('the expiry shows only while it can still end the request (pending, failed); a confirmed, running or finished card has none', () => {
    const expiry = (state: RequestState) => textOf(requestCard(approved(state), { now: NOW }).blocks).includes('expires 2026-11-25 15:00 UTC');
    const states: RequestState[] = ['pending', 'approved', 'executing', 'succeeded', 'failed', 'cancelled', 'expired'];
    expect(states.filter(expiry)).toEqual(['pending', 'failed']);
    expect(textOf(requestCard(approved('succeeded'), { now: NOW }).blocks)).toContain('Request `req-0001` · asked 2026-11-25 14:00 UTC');
  });

  it('a ✅ force-down says what comes next: the unset command once repaired, naming --cloud only for a cloud other than the default', () => {
    const next = (defaultCloud?: string) => {
      const card = requestCard(approved('succeeded'), { now: NOW, ...(defaultCloud ? { defaultCloud } : {}) });
      const block = card.blocks.find((b) => b.block_id === CARD_NEXT_BLOCK_ID) as { elements: { text: string }[] } | undefined;
      return block?.elements[0]?.text;
    };
    expect(next('prod-east')).toBe('When compute1 is repaired: `/force-down --unset compute1`');
    expect(next('prod-west')).toBe('When compute1 is repaired: `/force-down --unset compute1 --cloud prod-east`');
    expect(next()).toBe('When compute1 is repaired: `/force-down --unset compute1 --cloud prod-east`');
    // Not before it is forced down, nor on an unset's card.
    for (const [state, action] of [['pending', 'force-down'], ['failed', 'force-down'], ['succeeded', 'unset']] as const) {
      expect(requestCard(approved(state, { action }), { now: NOW, defaultCloud: 'prod-east' }).blocks.some((b) => b.block_id === CARD_NEXT_BLOCK_ID)).toBe(false);
    }
  });

  it('an alert request: source and since in our fields; its name, summary and link (showing its host) quoted', () => {
    const request = aRequest({ origin: alertOrigin(), requestedBy: 'alertmanager', reason: undefined });
    const card = requestCard(request, { service: aService(), now: NOW });
    const text = textOf(card.blocks);
    expect(text).toContain('*Alert*\nfrom alertmanager');
    expect(text).toContain('*Since*\n2026-11-25 13:55 UTC (15 min ago)');
    expect(quotedOf(card.blocks)).toBe(
      'Alert: “NovaComputeDown”\nAlert summary: “nova-compute on compute1 has not reported for 5 minutes”\n' +
        'Link: <https://alertmanager.example/#/alerts?filter={alertname=%22NovaComputeDown%22}|open in the alerting tool (alertmanager.example)>',
    );
    expect(card).toMatchSnapshot();
  });

  it('a link shows the host a browser would go to, whatever its user info or label says; only http(s) is linked', () => {
    const link = (url: string) => quotedOf(requestCard(aRequest({ origin: alertOrigin({ link: url, alertName: undefined, summary: undefined }), reason: undefined }), { now: NOW }).blocks);
    expect(link('https://alertmanager.example.com@evil.example:8443/x')).toBe('Link: <https://alertmanager.example.com@evil.example:8443/x|open in the alerting tool (evil.example:8443)>');
    expect(link('https://аlertmanager.example/')).toBe('Link: <https://xn--lertmanager-xij.example/|open in the alerting tool (xn--lertmanager-xij.example)>');
    expect(link('http://x.example/a|b>c&d')).toBe('Link: <http://x.example/a%7Cb%3Ec&amp;d|open in the alerting tool (x.example)>');
    expect(link('javascript:alert(1)')).toBe('Link (not http or https, so not linked): “javascript:alert(1)”');
    expect(link(`https://x.example/${'a'.repeat(2100)}`)).toBe('Link: open in the alerting tool (x.example): not linked, the address is longer than 2000 characters');
    expect(JSON.stringify(requestCard(aRequest({ origin: alertOrigin({ link: 'javascript:alert(1)' }) }), { now: NOW }))).not.toContain('<javascript');
  });

  it("Nova's view when the lookup failed: our headline and next step, not Nova's words", () => {
    const card = requestCard(aRequest({ host: 'compute9' }), {
      lookupFailure: { code: 'HOST_NOT_FOUND', message: "Host 'compute9' is not mapped to any cell" },
      now: NOW,
    });
    const text = textOf(card.blocks);
    expect(text).toContain("*Nova's view*\n⚠️ Nova does not know *compute9* in *prod-east*.");
    expect(text).toContain('Check the spelling');
    expect(text).not.toContain('not mapped to any cell');
  });

  it("Nova's view before the lookup, and with odd timestamps", () => {
    expect(textOf(requestCard(aRequest(), { now: NOW }).blocks)).toContain("*Nova's view*: not looked up yet");
    const never = textOf(requestCard(aRequest(), { service: aService({ updatedAt: null }), now: NOW }).blocks);
    expect(never).toContain('*Last heartbeat*\nnever');
    const zoned = textOf(requestCard(aRequest(), { service: aService({ updatedAt: '2026-11-25T16:05:00+02:00' }), now: NOW }).blocks);
    expect(zoned).toContain('*Last heartbeat*\n2026-11-25 14:05 UTC (5 min ago)');
    const days = textOf(requestCard(aRequest(), { service: aService({ updatedAt: '2026-11-22T11:00:00.000000' }), now: NOW }).blocks);
    expect(days).toContain('(3 d 3 h ago)');
    const junk = textOf(requestCard(aRequest(), { service: aService({ updatedAt: '<!channel>' }), now: NOW }).blocks);
    expect(junk).toContain('&lt;!channel&gt;');
  });

  it('escapes a reason that tries to ping @channel or forge a link', () => {
    const reason = 'urgent <!channel> <!here> <@U0BOSS0001> see <http://evil.example|the runbook> & <#C0SECRET1>';
    const card = requestCard(aRequest({ reason }), { service: aService(), now: NOW });
    const json = JSON.stringify(card);
    for (const bad of ['<!channel>', '<!here>', '<@U0BOSS0001>', '<http://evil', '<#C0SECRET1>']) expect(json).not.toContain(bad);
    expect(quotedOf(card.blocks)).toBe(
      'Reason: “urgent &lt;!channel&gt; &lt;!here&gt; &lt;@U0BOSS0001&gt; see &lt;http://evil.example|the runbook&gt; &amp; &lt;#C0SECRET1&gt;”',
    );
  });

  it('escapes alert labels, cloud names and notes as well', () => {
    const request = approved('succeeded', {
      cloud: 'prod<!channel>',
      origin: alertOrigin({ alertName: '<!everyone>', summary: '<http://evil|click>', source: 'generic' }),
      confirmation: { ...CONFIRMATION, note: 'done <!here>' },
    });
    const json = JSON.stringify(requestCard(request, { now: NOW }));
    for (const bad of ['<!channel>', '<!everyone>', '<http://evil', '<!here>']) expect(json).not.toContain(bad);
  });

  it('stays within Slack limits whatever the request holds', () => {
    const huge = `${'&<>'.repeat(2_000)}😀`;
    const host = `${'h'.repeat(63)}.${'o'.repeat(63)}.${'s'.repeat(63)}.${'t'.repeat(61)}`;
    for (const state of ['pending', 'failed', 'succeeded', 'cancelled', 'expired'] as const) {
      const request = approved(state, {
        id: 'r'.repeat(64),
        host,
        cloud: huge,
        reason: huge,
        origin: alertOrigin({ alertName: huge, summary: `${huge}!`, link: `https://x.example/${'a'.repeat(5000)}`, fingerprint: huge }),
        confirmation: { ...CONFIRMATION, note: huge },
        outcome: { code: 'NOVA_REJECTED', message: huge, detail: huge, status: 400 },
        history: [{ state, at: '2026-11-25T14:00:00.000Z', by: huge }],
      });
      const card = requestCard(request, { service: aService({ host, disabledReason: huge, zone: huge, state: huge, status: huge }), now: NOW, instances: { total: 1e9, ha: 1e9, byState: Array.from({ length: 50 }, (_, i) => ({ state: `${huge}${i}`, count: 1e9 })), text: huge } });
      expectWithinLimits(card.blocks);
      expect(card.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      // Truncation never leaves half an entity or half a surrogate pair behind.
      for (const t of textOf(card.blocks).split('\n')) {
        expect(t).not.toMatch(/&(a|am|l|g|lt|gt)?…/);
        expect(t).not.toMatch(/<[^>]*…/);
        expect(t).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
      }
    }
  });
});

describe('fenceModal', () => {
  it('force-down: callback_id, request id in private_metadata, method select, verification checkbox, optional note', () => {
    const modal = fenceModal(aRequest());
    expect(modal).toMatchObject({
      type: 'modal',
      callback_id: FENCE_MODAL_CALLBACK_ID,
      private_metadata: 'req-0001',
      title: { type: 'plain_text', text: 'Confirm fence' },
      submit: { text: 'Force down' },
    });
    expect(modal.title.text.length).toBeLessThanOrEqual(24);
    const inputs = modal.blocks.filter((b) => b.type === 'input');
    expect(inputs.map((b) => b.block_id)).toEqual([MODAL_INPUTS.method.blockId, MODAL_INPUTS.verified.blockId, MODAL_INPUTS.note.blockId]);
    const [method, verified, note] = inputs as unknown as Json[];
    expect(method).toMatchObject({ element: { type: 'static_select', action_id: MODAL_INPUTS.method.actionId } });
    expect(method?.optional).toBeUndefined();
    expect(((method?.element as Json).options as Json[]).map((o) => [o.value, (o.text as Json).text])).toEqual(Object.entries(FENCING_METHODS));
    expect(verified).toMatchObject({
      element: { type: 'checkboxes', action_id: MODAL_INPUTS.verified.actionId, options: [{ text: { text: 'I verified compute1 is powered off or isolated' }, value: 'verified' }] },
    });
    expect(note).toMatchObject({
      optional: true,
      element: { type: 'plain_text_input', action_id: MODAL_INPUTS.note.actionId, multiline: true, max_length: NOTE_MAX_LENGTH },
    });
    expect(textOf(modal.blocks)).toContain('Fence it first');
    expect(modal).toMatchSnapshot();
  });

  it('unset: recovery checkbox, optional note, no method', () => {
    const modal = fenceModal(aRequest({ action: 'unset' }));
    expect(modal.title.text).toBe('Confirm recovery');
    expect(modal.submit?.text).toBe('Unset forced-down');
    const inputs = modal.blocks.filter((b) => b.type === 'input') as unknown as Json[];
    expect(inputs.map((b) => b.block_id)).toEqual([MODAL_INPUTS.verified.blockId, MODAL_INPUTS.note.blockId]);
    const option = ((inputs[0]?.element as Json).options as Json[])[0] as Json;
    expect(`${(option.text as Json).text} ${(option.description as Json).text}`).toBe(
      'compute1 is healthy and its evacuated instances are cleaned up (nova-compute started on it)',
    );
    expect(modal).toMatchSnapshot();
  });

  it('keeps every option within 75 characters for a long FQDN, and the title within 24', () => {
    const host = 'compute-017.rack-42.dc-east.cloud.example.org';
    for (const action of ['force-down', 'unset'] as const) {
      const modal = fenceModal(aRequest({ host, action }));
      expectWithinLimits(modal.blocks);
      expect(modal.title.text.length).toBeLessThanOrEqual(24);
      expect(modal.submit!.text.length).toBeLessThanOrEqual(24);
      expect(JSON.stringify(modal)).toContain(host);
    }
  });
});

describe('auditLine', () => {
  const failed = approved('failed', {
    outcome: {
      code: 'NOVA_REJECTED',
      message: 'Nova rejected the request (HTTP 400)',
      detail: `Invalid input for field/attribute forced_down. <!channel> \`x\`\n${'y'.repeat(500)}`,
      status: 400,
      request: 'PUT /os-services/force-down',
      microversion: '2.11',
    },
  });

  it('requested (slash and alert), confirmed, executing', () => {
    expect(auditLine(aRequest(), { state: 'pending', at: '2026-11-25T14:00:00Z', by: 'U0REQUEST1' })).toBe(
      '`2026-11-25T14:00:00.000Z` <@U0REQUEST1> asked to force down *compute1* in prod-east',
    );
    expect(auditLine(aRequest({ origin: alertOrigin() }), { state: 'pending', at: '2026-11-25T14:00:00Z' })).toBe(
      '`2026-11-25T14:00:00.000Z` alertmanager alert asked to force down *compute1* in prod-east · alert: “NovaComputeDown” · fingerprint: “3f1c2a9d8e7b6c5a”',
    );
    expect(auditLine(approved('approved'), { state: 'approved', at: '2026-11-25T14:05:00Z', by: 'U0APPROVE1' })).toBe(
      '`2026-11-25T14:05:00.000Z` <@U0APPROVE1> confirmed *compute1* is fenced · fenced: BMC power-off (IPMI/Redfish) · note: “ipmitool chassis power off, verified off”',
    );
    expect(auditLine(approved('approved', { action: 'unset' }), { state: 'approved', at: '2026-11-25T14:05:00Z' })).toBe(
      '`2026-11-25T14:05:00.000Z` <@U0APPROVE1> confirmed *compute1* has recovered · note: “ipmitool chassis power off, verified off”',
    );
    expect(auditLine(approved('executing'), { state: 'executing', at: '2026-11-25T14:05:01Z' })).toBe(
      '`2026-11-25T14:05:01.000Z` calling Nova to force down *compute1*',
    );
  });

  it('succeeded: Nova path, microversion, outcome code', () => {
    const request = approved('succeeded', {
      outcome: { code: 'OK', message: 'forced down', status: 200, request: 'PUT /os-services/{id}', microversion: '2.53' },
    });
    expect(auditLine(request, { state: 'succeeded', at: '2026-11-25T14:05:02.345Z' })).toBe(
      '`2026-11-25T14:05:02.345Z` *compute1* forced down · Nova: `PUT /os-services/{id}` @ 2.53 → *OK* (HTTP 200)',
    );
  });

  it("failed: Nova's own words as a one-line, inert code span of at most 300 characters", () => {
    const line = auditLine(failed, { state: 'failed', at: '2026-11-25T14:05:02Z' });
    expect(line.startsWith('`2026-11-25T14:05:02.000Z` failed to force down *compute1* · Nova: `PUT /os-services/force-down` @ 2.11 → *NOVA_REJECTED* (HTTP 400) `Invalid input')).toBe(true);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('<!channel>');
    const span = /`(Invalid input[^`]*)`$/.exec(line)?.[1];
    expect(span).toBeDefined();
    expect(span!.length).toBeLessThanOrEqual(300);
  });

  it('cancelled and expired', () => {
    expect(auditLine(aRequest({ state: 'cancelled' }), { state: 'cancelled', at: '2026-11-25T14:02:00Z', by: 'U0CANCEL01' })).toBe(
      '`2026-11-25T14:02:00.000Z` <@U0CANCEL01> cancelled the request to force down *compute1*',
    );
    expect(auditLine(aRequest({ state: 'expired', action: 'unset' }), { state: 'expired', at: '2026-11-25T15:00:00Z' })).toBe(
      '`2026-11-25T15:00:00.000Z` the request to unset forced-down on *compute1* expired unconfirmed',
    );
  });
});

describe('helpText', () => {
  it('lists every form of the command, with <host> shown rather than read as a link', () => {
    const text = helpText();
    for (const usage of [
      '`/force-down &lt;host&gt; [nova-compute] [--cloud NAME] [--reason TEXT]`',
      '`/force-down --unset &lt;host&gt;',
      '`/force-down status &lt;host&gt;',
      '`/force-down list',
      '`/force-down help`',
    ]) {
      expect(text).toContain(usage);
    }
    expect(text).not.toMatch(/<host>/);
  });
});

describe('heartbeat watch on the card and in the modal', () => {
  /** Nova's naive UTC timestamps, as os-services shows them. */
  const beat = (agoMs: number) => new Date(NOW - agoMs).toISOString().replace('Z', '000');
  const reporting = (agoMs: number) => aService({ state: 'up', forcedDown: false, updatedAt: beat(agoMs) });

  it('a pending force-down whose host reported 4 s ago warns: "⚠ Nova heard from compute1 4 s ago: it may not be fenced"', () => {
    const card = requestCard(aRequest(), { service: reporting(4_000), now: NOW });
    expect(textOf(card.blocks)).toContain('⚠ Nova heard from *compute1* 4 s ago: it may not be fenced');
  });

  it('no warning for a heartbeat older than Nova\'s service_down_time, a host Nova counts down, an unset, or a finished card', () => {
    const warned = (request: ForceDownRequest, service = reporting(4_000)) => textOf(requestCard(request, { service, now: NOW }).blocks).includes('Nova heard from');
    expect(warned(aRequest(), reporting(61_000))).toBe(false);
    expect(warned(aRequest(), aService({ state: 'down', updatedAt: beat(4_000) }))).toBe(false);
    expect(warned(aRequest({ action: 'unset' }))).toBe(false);
    expect(warned(approved('succeeded'))).toBe(false);
    expect(warned(approved('failed'))).toBe(true); // still before a (retried) Nova call
  });

  it('while the worker watches the heartbeat, the card says it is waiting and until when', () => {
    const card = requestCard(approved('executing'), { service: reporting(5_000), now: NOW, heartbeatWaitUntil: NOW + 15_000 });
    expect(stateLineOf(card.blocks)).toMatch(/^⏳ waiting to see whether \*compute1\* still reports to Nova… \(deciding at 2026-11-25 14:10(:15)? UTC\)/);
    expect(card.text).toContain('waiting to see whether the host still reports to Nova');
    expect(buttons(card.blocks)).toEqual([]);
  });

  it('HOST_STILL_REPORTING and CONFIRMATION_STALE say what happened, with the age, and offer Retry…', () => {
    const still = requestCard(approved('failed', { outcome: { code: 'HOST_STILL_REPORTING', message: 'x', ageSeconds: 3 } }), { now: NOW });
    expect(stateLineOf(still.blocks)).toContain(
      '❌ *compute1* is not forced down: it still reports to Nova (last heartbeat 3 s ago) — check the fence (BMC power state, switch port) and confirm again',
    );
    const stale = requestCard(approved('failed', { outcome: { code: 'CONFIRMATION_STALE', message: 'x', ageSeconds: 840 } }), { now: NOW });
    expect(stateLineOf(stale.blocks)).toContain('the confirmation is too old to act on (14 min old), so Nova was not called — confirm again');
    for (const card of [still, stale]) expect(buttons(card.blocks).map((b) => (b.text as Json).text)).toEqual(['Retry…', 'Cancel']);
  });

  it('the modal opens saying it is checking, and the worker\'s reading replaces that line (same block, inputs untouched)', () => {
    const request = aRequest();
    const opened = fenceModal(request);
    expect(textOf(opened.blocks)).toContain('Checking when Nova last heard from *compute1*…');
    const warned = fenceModal(request, { service: reporting(4_000), now: NOW });
    expect(textOf(warned.blocks)).toContain('⚠ Nova heard from *compute1* 4 s ago: it may not be fenced');
    const quiet = fenceModal(request, { service: aService({ state: 'down', updatedAt: beat(12 * 60_000) }), now: NOW });
    expect(textOf(quiet.blocks)).toContain('Nova last heard from *compute1* 12 min ago (service `down`).');
    const unknown = fenceModal(request, { lookupFailure: { code: 'NOVA_UNAVAILABLE', message: 'x' }, now: NOW });
    expect(textOf(unknown.blocks)).toContain("⚠️ Nova's view could not be read");
    const ids = (m: typeof opened) => m.blocks.map((b) => b.block_id ?? b.type);
    expect(ids(warned)).toEqual(ids(opened));
    expect(warned.private_metadata).toBe(request.id);
    for (const m of [opened, warned, quiet, unknown]) expectWithinLimits(m.blocks);
  });

  it('the recovery modal has no heartbeat line (a recovered host reports, as expected)', () => {
    expect(textOf(fenceModal(aRequest({ action: 'unset' })).blocks)).not.toContain('Nova last heard');
    expect(textOf(fenceModal(aRequest({ action: 'unset' })).blocks)).not.toContain('Checking when');
  });
});
