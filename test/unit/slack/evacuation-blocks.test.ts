// Evacuating a forced-down host from its card (issue 14), the Slack side: the card's Evacuate button and
// evacuation line in each phase, the evacuation modal (ids, limits, metadata), its submission's check, and
// the thread lines posted through the real WebClient against the fake Slack.
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EvacuateModalCheck, InstancesView } from '../../../src/app/ports.js';
import { newEvacuation, retryableEntries, type Evacuation, type InstanceEntry } from '../../../src/domain/evacuation.js';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { LIMITS, requestCard, type KnownBlock } from '../../../src/slack/blocks.js';
import { createSlackCards } from '../../../src/slack/cards.js';
import {
  decodeEvacuateMetadata,
  encodeEvacuateMetadata,
  evacuateModal,
  evacuationEventTexts,
  validateEvacuateSubmission,
} from '../../../src/slack/evacuation-blocks.js';
import {
  ACTION_IDS,
  CARD_ACTIONS_BLOCK_ID,
  CARD_EVACUATION_BLOCK_ID,
  EVACUATE_CONFIRM_VALUE,
  EVACUATE_INPUTS,
  EVACUATE_MODAL_CALLBACK_ID,
  MODAL_EVACUATE_CHECK_BLOCK_ID,
  SCHEDULER_TARGET_VALUE,
} from '../../../src/slack/ids.js';
import { refusalText } from '../../../src/slack/messages.js';
import { createSlackNotifier } from '../../../src/slack/notifier.js';
import { createMemoryStore } from '../../fakes/memory-store.js';
import { type FakeSlackApi, startFakeSlackApi } from '../../fakes/slack-api.js';
import { CONFIRMATION, NOW, aRequest, aService } from './builders.js';

type Json = Record<string, unknown>;

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

const evacuationLine = (blocks: KnownBlock[]): string | undefined => {
  const b = blocks.find((x) => x.block_id === CARD_EVACUATION_BLOCK_ID) as { text?: { text: string } } | undefined;
  return b?.text?.text;
};

/** Block Kit's rules a message or modal must keep (Slack answers invalid_blocks otherwise). */
function expectValidBlocks(blocks: KnownBlock[], max: number = LIMITS.messageBlocks): void {
  expect(blocks.length).toBeLessThanOrEqual(max);
  const ids = blocks.map((b) => b.block_id).filter((id) => id !== undefined);
  expect(new Set(ids).size).toBe(ids.length);
  for (const block of blocks) {
    if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    if (block.type === 'context') expect(block.elements.length).toBeLessThanOrEqual(LIMITS.contextElements);
    if (block.type === 'actions') expect(block.elements.length).toBeLessThanOrEqual(25);
    if (block.type === 'input') expect(block.label.text.length).toBeLessThanOrEqual(2000);
  }
  walk(blocks, (o, parentKey) => {
    if (typeof o.text === 'string') {
      expect(o.text.length).toBeGreaterThan(0);
      expect(o.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    }
    if (o.type === 'button') {
      expect(((o.text as Json).text as string).length).toBeLessThanOrEqual(LIMITS.buttonText);
      expect((o.value as string).length).toBeLessThanOrEqual(2000);
    }
    if (parentKey === 'options' && typeof o.value === 'string') {
      expect(((o.text as Json).text as string).length).toBeLessThanOrEqual(LIMITS.optionText);
      expect(o.value.length).toBeLessThanOrEqual(150);
      if (o.description) expect(((o.description as Json).text as string).length).toBeLessThanOrEqual(LIMITS.optionText);
    }
    if (Array.isArray(o.options)) {
      expect(o.options.length).toBeLessThanOrEqual(100);
      if (o.initial_option) expect(o.options).toContainEqual(o.initial_option);
    }
  });
}

const succeeded = (over: Partial<ForceDownRequest> = {}) => aRequest({ state: 'succeeded', confirmation: CONFIRMATION, outcome: { code: 'OK', message: 'forced down' }, ...over });

const instancesView = (total: number, ha = 0): InstancesView => ({ total, ha, byState: total ? [{ state: 'ACTIVE', count: total }] : [], text: total ? `ACTIVE ${total}` : '' });

const AT = '2026-11-25T14:20:00.000Z';

/** An evacuation of compute1 whose instances are in the given states (vm-1…), round 1 checked unless `over` says otherwise. */
function anEvacuation(states: InstanceEntry['state'][], over: Partial<Evacuation> = {}): Evacuation {
  const ev = newEvacuation(
    { id: 'ev-1', requestId: 'req-0001', cloud: 'prod-east', host: 'compute1', scope: 'all', by: 'U0APPROVE1', at: AT },
    states.map((_, i) => ({ id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`, name: `vm-${i + 1}` })),
  );
  const ids = Object.keys(ev.instances);
  states.forEach((state, i) => (ev.instances[ids[i]!]!.state = state));
  return { ...ev, checkedRound: 1, ...over };
}

const many = (counts: Partial<Record<InstanceEntry['state'], number>>): InstanceEntry['state'][] =>
  Object.entries(counts).flatMap(([state, n]) => Array.from({ length: n }, () => state as InstanceEntry['state']));

describe('the card of a succeeded force-down', () => {
  it('without an evacuation: Evacuate N instances… (primary, value = request id), from the instances listed', () => {
    const card = requestCard(succeeded(), { service: aService({ forcedDown: true }), now: NOW, instances: instancesView(36, 2) });
    expect(buttons(card.blocks)).toEqual([
      { type: 'button', text: { type: 'plain_text', text: 'Evacuate 36 instances…', emoji: true }, action_id: ACTION_IDS.evacuate, value: 'req-0001', style: 'primary' },
    ]);
    expect(card.blocks.find((b) => b.type === 'actions')?.block_id).toBe(CARD_ACTIONS_BLOCK_ID);
    expect(evacuationLine(card.blocks)).toBeUndefined();
    expectValidBlocks(card.blocks);
  });

  it('says "1 instance"; no button when the host has none; "Evacuate instances…" when the count is unknown', () => {
    const text = (instances?: InstancesView) => buttons(requestCard(succeeded(), { now: NOW, ...(instances ? { instances } : {}) }).blocks).map((b) => (b.text as Json).text);
    expect(text(instancesView(1))).toEqual(['Evacuate 1 instance…']);
    expect(text(instancesView(0))).toEqual([]);
    expect(text(undefined)).toEqual(['Evacuate instances…']);
    expect(text({ failure: { code: 'NOVA_UNAVAILABLE', message: 'Nova did not answer' } })).toEqual(['Evacuate instances…']);
  });

  it('no evacuation on other cards: an unset, a failed or a pending force-down (even with an evacuation passed)', () => {
    const ev = anEvacuation(['failed']);
    for (const request of [succeeded({ action: 'unset' }), aRequest({ state: 'failed', confirmation: CONFIRMATION, outcome: { code: 'NOVA_UNAVAILABLE', message: 'x' } }), aRequest()]) {
      const card = requestCard(request, { now: NOW, instances: instancesView(3), evacuation: ev });
      expect(buttons(card.blocks).map((b) => b.action_id)).not.toContain(ACTION_IDS.evacuate);
      expect(buttons(card.blocks).map((b) => b.action_id)).not.toContain(ACTION_IDS.retryEvacuation);
      expect(evacuationLine(card.blocks)).toBeUndefined();
    }
  });

  const show = (ev: Evacuation, over: Partial<ForceDownRequest> = {}) => {
    const card = requestCard(succeeded(over), { service: aService({ forcedDown: true }), now: NOW, instances: instancesView(36), evacuation: ev });
    expectValidBlocks(card.blocks);
    return { line: evacuationLine(card.blocks), buttons: buttons(card.blocks) };
  };

  it('asked for, round not decided yet: who asked, checking the host is still fenced; no button', () => {
    const ev = { ...anEvacuation([]), checkedRound: undefined } as Evacuation;
    delete ev.checkedRound;
    const { line, buttons: b } = show(ev);
    expect(line).toBe("⏳ Evacuation asked for by <@U0APPROVE1>: checking *compute1* is still fenced…\nNova's scheduler chooses");
    expect(b).toEqual([]);
  });

  it('in progress: the exact tally (in progress = planned + sending + accepted; failed = failed + refused); no Retry while any runs', () => {
    const ev = anEvacuation(many({ done: 30, failed: 1, refused: 1, planned: 1, sending: 1, accepted: 2 }));
    const { line, buttons: b } = show(ev);
    expect(line).toBe("⏳ Evacuating 36 instances: 30 done · 2 failed · 4 in progress\nNova's scheduler chooses");
    expect(b).toEqual([]);
    expect(show(anEvacuation(many({ done: 2, timeout: 1, accepted: 1 }))).line).toBe("⏳ Evacuating 4 instances: 2 done · 1 not ended in time · 1 in progress\nNova's scheduler chooses");
    expect(show(anEvacuation(many({ planned: 3 }))).line).toBe("⏳ Evacuating 3 instances: 0 done · 3 in progress\nNova's scheduler chooses");
  });

  it('ended, all done: ✅ and no button', () => {
    const { line, buttons: b } = show(anEvacuation(many({ done: 36 }), { target: 'compute7' }));
    expect(line).toBe('✅ Evacuated 36 instances: 36 done\nrebuilt on *compute7*');
    expect(b).toEqual([]);
  });

  it('ended with failures: ⚠️, target, scope, round; Retry failed… (value = request id)', () => {
    const ev = anEvacuation(many({ done: 34, failed: 1, refused: 1 }), { scope: 'ha-only', round: 2, checkedRound: 2 });
    const { line, buttons: b } = show(ev);
    expect(line).toBe("⚠️ Evacuation ended: 34 done · 2 failed\nNova's scheduler chooses · HA-marked instances only · round 2");
    expect(b).toEqual([{ type: 'button', text: { type: 'plain_text', text: 'Retry failed…', emoji: true }, action_id: ACTION_IDS.retryEvacuation, value: 'req-0001' }]);
  });

  it('ended with only timeouts: no Retry (a timed-out evacuation may still run in Nova)', () => {
    const { line, buttons: b } = show(anEvacuation(many({ done: 3, timeout: 1 })));
    expect(line).toBe("⚠️ Evacuation ended: 3 done · 1 not ended in time\nNova's scheduler chooses");
    expect(b).toEqual([]);
  });

  it('a round refused by its checks: ❌ with the refusal inert, and Retry failed… (even with no instance listed yet)', () => {
    const ev = anEvacuation([], { refusal: { round: 1, code: 'HOST_STILL_IN_USE', message: 'Nova hears from <!channel> *compute1* again', at: AT } });
    delete ev.checkedRound;
    const { line, buttons: b } = show(ev);
    expect(line).toBe("❌ Evacuation refused before anything was sent: Nova hears from &lt;!channel&gt; ∗compute1∗ again\nNova's scheduler chooses");
    expect(b.map((x) => x.action_id)).toEqual([ACTION_IDS.retryEvacuation]);
  });

  it('a retry round not decided yet says so; none of the retried instances counts as failed meanwhile', () => {
    const ev = anEvacuation(many({ done: 2, planned: 1 }), { round: 2 });
    delete ev.checkedRound;
    expect(show(ev).line).toBe("⏳ Retry of the failed instances asked for: checking *compute1* is still fenced…\nNova's scheduler chooses · round 2");
  });

  it("a target's name and who asked are inert; a huge evacuation stays within Slack's limits", () => {
    const { line } = show(anEvacuation(many({ done: 5000, failed: 300 }), { target: '<https://evil.example|x>*' }));
    expect(line).toBe('⚠️ Evacuation ended: 5000 done · 300 failed\nrebuilt on *&lt;https://evil.example|x&gt;∗*');
    const asked = anEvacuation([], { by: '<!here> someone' });
    delete asked.checkedRound;
    expect(show(asked).line).toContain('asked for by &lt;!here&gt; someone: checking');
  });
});

describe('cards.ts reads the evacuation for a succeeded force-down card', () => {
  let slack: FakeSlackApi;
  beforeAll(async () => {
    slack = await startFakeSlackApi();
  });
  afterAll(() => slack.close());
  afterEach(() => slack.reset());

  function cardsWith(store: ReturnType<typeof createMemoryStore>) {
    const logs: Json[] = [];
    const log = (level: string) => (message: string, data?: Json) => void logs.push({ level, message, ...data });
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const logger = { info: log('info'), warn: log('warn'), error: log('error') };
    const notifier = createSlackNotifier({ client, postToResponseUrl: async () => undefined, now: () => NOW, log: logger });
    return { cards: createSlackCards({ client, store, nova: () => undefined, notifier, now: () => NOW, log: logger, sleep: async () => undefined, outcomeRetryDelaysMs: [] }), logs };
  }

  it('shows the stored evacuation (one read per render), and the card without it when the store fails', async () => {
    const store = createMemoryStore();
    await store.createEvacuation(anEvacuation(many({ done: 1, failed: 1 })));
    let reads = 0;
    let broken = false;
    const counted = Object.assign(Object.create(store) as typeof store, {
      getEvacuation: async (id: string) => {
        reads++;
        if (broken) throw new Error('store down');
        return store.getEvacuation(id);
      },
    });
    const t = cardsWith(counted);
    const ts = (await t.cards.request(succeeded({ messageTs: undefined as unknown as string })))!;
    expect(reads).toBe(1);
    const shown = () => slack.message('C0ONCALL01', ts)!.blocks as KnownBlock[];
    expect(evacuationLine(shown())).toBe("⚠️ Evacuation ended: 1 done · 1 failed\nNova's scheduler chooses");
    expect(buttons(shown()).map((b) => b.action_id)).toEqual([ACTION_IDS.retryEvacuation]);

    broken = true;
    await t.cards.request(succeeded({ messageTs: ts }));
    expect(reads).toBe(2);
    expect(evacuationLine(shown())).toBeUndefined();
    expect(buttons(shown()).map((b) => b.action_id)).toEqual([ACTION_IDS.evacuate]);
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', message: 'evacuation not read for the card', requestId: 'req-0001' })]);

    // Cards that cannot evacuate never read it.
    await t.cards.request(aRequest({ messageTs: ts }));
    expect(reads).toBe(2);
  });
});

describe('the evacuation modal', () => {
  const check = (over: Partial<EvacuateModalCheck> = {}): EvacuateModalCheck => ({ instances: instancesView(36, 2), targets: { hosts: ['compute2', 'compute3'] }, ...over });
  const input = (view: ReturnType<typeof evacuateModal>, blockId: string) => view.blocks.find((b) => b.block_id === blockId) as Json | undefined;
  const checkText = (view: ReturnType<typeof evacuateModal>) => ((input(view, MODAL_EVACUATE_CHECK_BLOCK_ID)!.text as Json).text as string);

  it('opened: callback id, metadata {id, round}, title, buttons, reading…, scope (all first), target (scheduler first), the box', () => {
    const view = evacuateModal(succeeded(), { round: 0 });
    expect(view).toMatchObject({ type: 'modal', callback_id: EVACUATE_MODAL_CALLBACK_ID, title: { text: 'Evacuate compute1' }, submit: { text: 'Evacuate' }, close: { text: 'Cancel' } });
    expect(JSON.parse(view.private_metadata!)).toEqual({ id: 'req-0001', round: 0 });
    expect(checkText(view)).toBe('Reading what is on *compute1* and which hosts can take its instances…');
    const scope = input(view, EVACUATE_INPUTS.scope.blockId)!.element as Json;
    expect(scope).toMatchObject({ type: 'radio_buttons', action_id: EVACUATE_INPUTS.scope.actionId, initial_option: { value: 'all' } });
    expect((scope.options as Json[]).map((o) => [o.value, (o.text as Json).text])).toEqual([
      ['all', 'All instances (like `nova host-evacuate`)'],
      ['ha-only', 'Only instances marked for HA (metadata HA_Enabled=True)'],
    ]);
    const target = input(view, EVACUATE_INPUTS.target.blockId)!;
    expect(target.optional).toBeUndefined();
    expect(target.element).toMatchObject({ type: 'static_select', action_id: EVACUATE_INPUTS.target.actionId, initial_option: { value: SCHEDULER_TARGET_VALUE, text: { text: "Let Nova's scheduler choose" } } });
    const confirm = input(view, EVACUATE_INPUTS.confirm.blockId)!.element as Json;
    expect(confirm).toMatchObject({ type: 'checkboxes', action_id: EVACUATE_INPUTS.confirm.actionId });
    expect(confirm.options).toEqual([{ text: { type: 'plain_text', text: 'I confirm compute1 stays fenced while its instances are rebuilt elsewhere', emoji: true }, value: EVACUATE_CONFIRM_VALUE }]);
    expectValidBlocks(view.blocks, 100);
  });

  it("with the worker's check: the instances on the host, counts on the scope, the targets after the scheduler", () => {
    const view = evacuateModal(succeeded(), { round: 0 }, check());
    expect(checkText(view)).toBe('*36 instances* on *compute1*: ACTIVE 36 · 2 marked for HA.');
    const scope = input(view, EVACUATE_INPUTS.scope.blockId)!.element as Json;
    expect((scope.options as Json[]).map((o) => (o.text as Json).text)).toEqual(['All instances (like `nova host-evacuate`): 36', 'Only instances marked for HA (metadata HA_Enabled=True): 2']);
    expect(scope.initial_option).toEqual((scope.options as Json[])[0]);
    const target = input(view, EVACUATE_INPUTS.target.blockId)!.element as Json;
    expect((target.options as Json[]).map((o) => o.value)).toEqual([SCHEDULER_TARGET_VALUE, 'compute2', 'compute3']);
    expectValidBlocks(view.blocks, 100);
  });

  it('150 targets: at most 100 options (the scheduler and 99 hosts), and a line for the rest', () => {
    const hosts = Array.from({ length: 150 }, (_, i) => `compute${String(i + 2).padStart(3, '0')}`);
    const view = evacuateModal(succeeded(), { round: 0 }, check({ targets: { hosts } }));
    const target = input(view, EVACUATE_INPUTS.target.blockId)!.element as Json;
    expect(target.options).toHaveLength(100);
    expect((target.options as Json[])[99]!.value).toBe(hosts[98]);
    expect(JSON.stringify(view.blocks)).toContain("51 more hosts: use the CLI's `--target` to name one of them.");
    expectValidBlocks(view.blocks, 100);
  });

  it('targets that could not be listed: only the scheduler, and why; instances that could not be listed: why', () => {
    const view = evacuateModal(succeeded(), { round: 0 }, { instances: { failure: { code: 'NOVA_UNAVAILABLE', message: 'Nova did not answer <@U0EVIL>' } }, targets: { failure: { code: 'NOVA_UNAVAILABLE', message: 'Nova did not answer' } } });
    expect(checkText(view)).toBe('⚠️ The instances on *compute1* could not be listed (Nova did not answer &lt;@U0EVIL&gt;).');
    expect(((input(view, EVACUATE_INPUTS.target.blockId)!.element as Json).options as Json[]).map((o) => o.value)).toEqual([SCHEDULER_TARGET_VALUE]);
    expect(JSON.stringify(view.blocks)).toContain("could not be listed (Nova did not answer): Nova's scheduler can still choose.");
    // Counts unknown: the scope says none.
    expect(JSON.stringify(input(view, EVACUATE_INPUTS.scope.blockId))).not.toContain('): ');
    expectValidBlocks(view.blocks, 100);
  });

  it('a retry: no scope, the failed instances named (inert, cut), metadata carries the round', () => {
    const ev = anEvacuation(many({ done: 2, failed: 30, refused: 1 }));
    ev.instances[Object.keys(ev.instances)[2]!]!.name = '<!channel> *vm*';
    // The worker names them in its check: the ledger's failed and refused instances.
    const view = evacuateModal(succeeded(), { round: 1 }, { ...check(), retry: { instances: retryableEntries(ev) } });
    expect(input(view, EVACUATE_INPUTS.scope.blockId)).toBeUndefined();
    expect(decodeEvacuateMetadata(view.private_metadata)).toEqual({ id: 'req-0001', round: 1 });
    const text = checkText(view);
    expect(text).toMatch(/^Retry the 31 failed instances of \*compute1\*: &lt;!channel&gt; ∗vm∗, vm-4, vm-5, .* and 11 more\.$/);
    const fromCheck = evacuateModal(succeeded(), { round: 1 }, { ...check(), retry: { instances: [{ id: 'a', name: 'vm-a' }, { id: 'b', name: 'vm-b' }] } } as EvacuateModalCheck);
    expect(checkText(fromCheck)).toBe('Retry the 2 failed instances of *compute1*: vm-a, vm-b.');
    expect(checkText(evacuateModal(succeeded(), { round: 1 }))).toBe('Reading which instances of *compute1* failed, and which hosts can take them…');
    expectValidBlocks(view.blocks, 100);
  });

  it('a long host name: title cut to 24, the box says "the host" and names it in the description', () => {
    const host = `compute-${'x'.repeat(90)}.example.org`;
    const view = evacuateModal(succeeded({ host }), { round: 0 }, check());
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    expect(view.title.text.startsWith('Evacuate compute-')).toBe(true);
    const option = ((input(view, EVACUATE_INPUTS.confirm.blockId)!.element as Json).options as Json[])[0]!;
    expect((option.text as Json).text).toBe('I confirm the host stays fenced while its instances are rebuilt elsewhere');
    expectValidBlocks(view.blocks, 100);
  });

  it('metadata round-trips, and garbage decodes to undefined', () => {
    expect(decodeEvacuateMetadata(encodeEvacuateMetadata({ id: 'req-1', round: 3 }))).toEqual({ id: 'req-1', round: 3 });
    for (const bad of ['', 'req-1', '{', 'null', '[]', '{"id":"req-1"}', '{"id":"","round":0}', '{"id":"r","round":-1}', '{"id":"r","round":1.5}', '{"id":"r","round":"1"}', JSON.stringify({ id: 'x'.repeat(201), round: 0 }), 42, undefined]) {
      expect(decodeEvacuateMetadata(bad)).toBeUndefined();
    }
  });
});

describe('validateEvacuateSubmission', () => {
  const values = (o: { scope?: string; target?: string; confirm?: boolean }) => ({
    ...(o.scope !== undefined ? { [EVACUATE_INPUTS.scope.blockId]: { [EVACUATE_INPUTS.scope.actionId]: { type: 'radio_buttons', selected_option: { value: o.scope } } } } : {}),
    ...(o.target !== undefined ? { [EVACUATE_INPUTS.target.blockId]: { [EVACUATE_INPUTS.target.actionId]: { type: 'static_select', selected_option: { value: o.target } } } } : {}),
    [EVACUATE_INPUTS.confirm.blockId]: { [EVACUATE_INPUTS.confirm.actionId]: { type: 'checkboxes', selected_options: o.confirm ? [{ value: EVACUATE_CONFIRM_VALUE }] : [] } },
  });

  it('the scheduler is no target; a host is', () => {
    expect(validateEvacuateSubmission(values({ scope: 'all', target: 'scheduler', confirm: true }), { retry: false })).toEqual({ ok: true, scope: 'all' });
    expect(validateEvacuateSubmission(values({ scope: 'ha-only', target: 'compute7', confirm: true }), { retry: false })).toEqual({ ok: true, scope: 'ha-only', target: 'compute7' });
  });

  it('the box must be ticked: the error says what is missing, on its block', () => {
    const r = validateEvacuateSubmission(values({ scope: 'all', target: 'scheduler' }), { retry: false, host: 'compute1' });
    expect(r).toEqual({ ok: false, errors: { [EVACUATE_INPUTS.confirm.blockId]: expect.stringMatching(/^Tick the box to confirm compute1 stays fenced/) } });
  });

  it('a retry has no scope (all); a first evacuation needs one of the two', () => {
    expect(validateEvacuateSubmission(values({ target: 'scheduler', confirm: true }), { retry: true })).toEqual({ ok: true, scope: 'all' });
    expect(validateEvacuateSubmission(values({ scope: 'everything', target: 'scheduler', confirm: true }), { retry: false })).toMatchObject({ ok: false, errors: { [EVACUATE_INPUTS.scope.blockId]: expect.any(String) } });
    expect(validateEvacuateSubmission(values({ target: 'scheduler', confirm: true }), { retry: false })).toMatchObject({ ok: false, errors: { [EVACUATE_INPUTS.scope.blockId]: expect.any(String) } });
  });

  it('a target that is no host name is refused', () => {
    for (const bad of ['compute1/../x', 'a b', '', 'x'.repeat(300)]) {
      const r = validateEvacuateSubmission(values({ scope: 'all', target: bad, confirm: true }), { retry: false });
      expect(r).toMatchObject({ ok: false, errors: { [EVACUATE_INPUTS.target.blockId]: expect.stringContaining("Choose Nova's scheduler or one of the hosts listed") } });
    }
  });

  it('garbage never throws: every input is missing', () => {
    for (const garbage of [null, undefined, 42, 'x', [], { a: 1 }, { [EVACUATE_INPUTS.confirm.blockId]: 'no' }, { [EVACUATE_INPUTS.confirm.blockId]: { [EVACUATE_INPUTS.confirm.actionId]: { selected_options: [{ value: 3 }] } } }]) {
      const r = validateEvacuateSubmission(garbage, { retry: false });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual([EVACUATE_INPUTS.confirm.blockId, EVACUATE_INPUTS.scope.blockId].sort());
    }
  });
});

describe('refusals of the evacuation buttons', () => {
  const ctx = { host: 'compute1', action: 'force-down' as const };
  it('say what to do', () => {
    expect(refusalText('NOT_FORCED_DOWN', ctx)).toBe('*compute1* is not forced down by this card, so there is nothing to evacuate from it: force it down first (`/force-down compute1`).');
    expect(refusalText('EVACUATION_STARTED', { ...ctx, handledBy: 'U0APPROVE1' })).toBe("*compute1*'s evacuation was already asked for by <@U0APPROVE1> — see the card; failed instances can be retried with *Retry failed…*.");
    expect(refusalText('EVACUATION_STARTED', ctx)).not.toContain(' by ');
    expect(refusalText('NOTHING_TO_RETRY', ctx)).toBe("Nothing to retry: no instance of *compute1*'s evacuation failed, or some are still in progress — see the card.");
  });
});

describe("the evacuation's steps in the card's thread", () => {
  let slack: FakeSlackApi;
  beforeAll(async () => {
    slack = await startFakeSlackApi();
  });
  afterAll(() => slack.close());
  afterEach(() => slack.reset());

  function setup() {
    const logs: Json[] = [];
    const log = (level: string) => (message: string, data?: Json) => void logs.push({ level, message, ...data });
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const notifier = createSlackNotifier({ client, postToResponseUrl: async () => undefined, now: () => NOW, log: { info: log('info'), warn: log('warn'), error: log('error') } });
    return { notifier, client, logs };
  }
  const thread = () => slack.calls('chat.postMessage').map((c) => ({ thread: c.body.thread_ts, channel: c.body.channel, text: c.body.text as string }));

  it('requested, refused, ended: one line each in the thread, failures with our words and Nova\'s message inert', async () => {
    const t = setup();
    const request = succeeded();
    await t.notifier.evacuationEvent(request, anEvacuation(many({ planned: 36 })), { kind: 'requested', by: 'U0APPROVE1' });
    await t.notifier.evacuationEvent(request, anEvacuation(many({ done: 1, planned: 2 }), { round: 2, target: 'compute7' }), { kind: 'requested', by: 'U0OTHER01' });
    await t.notifier.evacuationEvent(request, anEvacuation([], { scope: 'ha-only', refusal: { round: 1, code: 'HOST_STILL_IN_USE', message: 'Nova still sees compute1 up', at: AT } }), { kind: 'refused' });
    const ended = anEvacuation(many({ done: 34, failed: 1, refused: 1, timeout: 1 }));
    const ids = Object.keys(ended.instances);
    ended.instances[ids[34]!] = { ...ended.instances[ids[34]!]!, name: 'vm-a', code: 'NO_VALID_HOST', message: 'No valid host was found. `<!channel>`' };
    ended.instances[ids[35]!] = { ...ended.instances[ids[35]!]!, name: 'vm-b', code: 'INSTANCE_STATE_CONFLICT', message: "Cannot 'evacuate' instance 1 while it is in task_state rebuilding" };
    await t.notifier.evacuationEvent(request, ended, { kind: 'ended' });

    const lines = thread();
    expect(lines.every((l) => l.thread === request.messageTs && l.channel === 'C0ONCALL01')).toBe(true);
    expect(lines.map((l) => l.text.split('\n'))).toEqual([
      ["🛟 <@U0APPROVE1> asked to evacuate 36 instances of *compute1* (all; Nova's scheduler chooses)"],
      ['🛟 <@U0OTHER01> asked to retry 2 failed instances of *compute1* (round 2; all; to *compute7*)'],
      ['❌ Evacuation of *compute1* refused before anything was sent: Nova still sees compute1 up'],
      [
        "⚠️ Evacuation ended: 34 done · 2 failed · 1 not ended in time (Nova's scheduler chooses)",
        '• vm-a (`00000000-0000-4000-8000-000000000035`): Nova found no host with room for this instance of *compute1* · `No valid host was found. ˋ&lt;!channel&gt;ˋ`',
        "• vm-b (`00000000-0000-4000-8000-000000000036`): Nova will not evacuate this instance from *compute1* in its current state · `Cannot 'evacuate' instance 1 while it is in task_state rebuilding`",
        '• vm-37 (`00000000-0000-4000-8000-000000000037`): Nova accepted the evacuation from *compute1*, but its migration did not finish in time',
      ],
    ]);
    expect(t.logs).toEqual([]);
  });

  it('many failures: split over several messages, each within 3,000 characters, at most 10, the rest counted', async () => {
    const t = setup();
    const ev = anEvacuation(many({ done: 1, failed: 400 }));
    for (const e of Object.values(ev.instances)) if (e.state === 'failed') Object.assign(e, { code: 'NO_VALID_HOST', message: `No valid host was found. ${'x'.repeat(400)}` });
    await t.notifier.evacuationEvent(succeeded(), ev, { kind: 'ended' });
    const texts = thread().map((l) => l.text);
    expect(texts.length).toBe(10);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(3000);
    expect(texts[0]).toMatch(/^⚠️ Evacuation ended: 1 done · 400 failed/);
    const listed = texts.join('\n').split('\n').filter((l) => l.startsWith('• ')).length;
    expect(texts.at(-1)).toContain(`… and ${400 - listed} more instances that did not evacuate (not listed here).`);

    // A few: one message.
    slack.reset();
    await t.notifier.evacuationEvent(succeeded(), anEvacuation(many({ done: 1, failed: 3 })), { kind: 'ended' });
    expect(thread()).toHaveLength(1);
    expect(evacuationEventTexts(succeeded(), anEvacuation(many({ done: 3 })), { kind: 'ended' })).toEqual(["✅ Evacuated 3 instances: 3 done (Nova's scheduler chooses)"]);
  });

  it('no card yet: nothing posted; Slack failing: logged as a warning and swallowed', async () => {
    const t = setup();
    const { messageTs: _, ...noCard } = succeeded();
    await t.notifier.evacuationEvent(noCard, anEvacuation(['planned']), { kind: 'requested', by: 'U0APPROVE1' });
    expect(slack.calls()).toHaveLength(0);
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    await expect(t.notifier.evacuationEvent(succeeded(), anEvacuation(['planned']), { kind: 'requested', by: 'U0APPROVE1' })).resolves.toBeUndefined();
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', call: 'chat.postMessage (evacuation)', requestId: 'req-0001', slackError: 'channel_not_found', swallowed: true })]);
  });

  it("updateEvacuateModal: the open modal gets the worker's reading; a closed one is swallowed and logged", async () => {
    const t = setup();
    const opened = await t.client.views.open({ trigger_id: 'trigger-1', view: evacuateModal(succeeded(), { round: 0 }) });
    const viewId = opened.view!.id!;
    await t.notifier.updateEvacuateModal(viewId, succeeded(), { instances: instancesView(5, 1), targets: { hosts: ['compute2'] } }, { round: 0 });
    const update = slack.calls('views.update').at(-1)!.body;
    expect(update.view_id).toBe(viewId);
    const view = (typeof update.view === 'string' ? JSON.parse(update.view) : update.view) as ReturnType<typeof evacuateModal>;
    expect(view.callback_id).toBe(EVACUATE_MODAL_CALLBACK_ID);
    expect(decodeEvacuateMetadata(view.private_metadata)).toEqual({ id: 'req-0001', round: 0 });
    expect(JSON.stringify(view.blocks)).toContain('*5 instances* on *compute1*: ACTIVE 5 · 1 marked for HA.');
    expect(t.logs).toEqual([]);

    await expect(t.notifier.updateEvacuateModal('V0UNKNOWN1', succeeded(), { targets: { hosts: [] } }, { round: 0 })).resolves.toBeUndefined();
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', call: 'views.update', slackError: 'not_found', swallowed: true })]);
  });
});
