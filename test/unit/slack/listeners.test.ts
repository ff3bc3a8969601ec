// The bot's listeners (src/slack/listeners/{commands,actions,views}.ts) through createSlackBot's handle(),
// with bodies as the router hands them (signature already checked there), against the use cases' bench
// (memory store, fake Nova, recording notifier) and the fake Slack for views.open and response_url.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../../../src/app/ports.js';
import { type SlackBot, createSlackBot, VIEWS_OPEN_FAILED_TEXT } from '../../../src/slack/bot.js';
import { ACTION_IDS, FENCE_MODAL_CALLBACK_ID, MODAL_INPUTS, VERIFIED_OPTION_VALUE } from '../../../src/slack/ids.js';
import { FORM_OUT_OF_DATE_TEXT, refusalText } from '../../../src/slack/messages.js';
import { type FakeSlackApi, startFakeSlackApi } from '../../fakes/slack-api.js';
import { APPROVER, REQUESTER, setup } from '../app/harness.js';
import { aRequest } from '../store/builders.js';

const CHANNEL = 'C_ONCALL';
const STRANGER = 'U_STRANGER';
const GROUP_MEMBER = 'U_GROUPMEMBER';
const FORM = 'application/x-www-form-urlencoded';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(() => slack.close());
afterEach(() => slack.reset());

function bench(over: Partial<AppDeps> = {}) {
  const logs: Record<string, unknown>[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push({ level, message, ...data });
  const t = setup({ log: { info: log('info'), warn: log('warn'), error: log('error') }, ...over });
  const groupLookups: string[] = [];
  const errors: unknown[] = [];
  const bot: SlackBot = createSlackBot({
    botToken: 'xoxb-test',
    slackApiUrl: slack.apiUrl,
    deps: t.deps,
    groupsOf: async (userId) => {
      groupLookups.push(userId);
      return new Set(userId === GROUP_MEMBER ? ['S_ONCALL'] : []);
    },
    onError: (err) => void errors.push(err),
  });
  const post = (body: string) => bot.handle({ rawPath: '/slack/events', headers: { 'content-type': FORM }, body });
  const command = (text: string, user = REQUESTER, channel = CHANNEL) =>
    post(
      new URLSearchParams({
        team_id: 'T0FAKE0001',
        team_domain: 'fake',
        channel_id: channel,
        user_id: user,
        command: '/force-down',
        text,
        response_url: slack.responseUrl('cmd'),
        trigger_id: '1.2.3',
      }).toString(),
    );
  const interaction = (payload: unknown) => post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
  const click = (actionId: string, id: string, user: string, over: Record<string, unknown> = {}) =>
    interaction({
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), team_id: 'T0FAKE0001' },
      team: { id: 'T0FAKE0001', domain: 'fake' },
      channel: { id: CHANNEL, name: 'oncall' },
      container: { type: 'message', message_ts: '1700000000.000001', channel_id: CHANNEL },
      message: { ts: '1700000000.000001', blocks: [] },
      trigger_id: '1.2.3',
      response_url: slack.responseUrl(`click-${user}`),
      actions: [{ type: 'button', action_id: actionId, block_id: 'request_actions', value: id, action_ts: '1' }],
      ...over,
    });
  const submit = (user: string, privateMetadata: string, values: Record<string, unknown> = fencedValues()) =>
    interaction({
      type: 'view_submission',
      team: { id: 'T0FAKE0001', domain: 'fake' },
      user: { id: user },
      api_app_id: 'A0FAKEAPP1',
      trigger_id: '1.2.3',
      view: { id: 'V1', type: 'modal', callback_id: FENCE_MODAL_CALLBACK_ID, private_metadata: privateMetadata, state: { values }, hash: 'h', blocks: [] },
      response_urls: [],
      is_enterprise_install: false,
    });
  /** Opens a request as REQUESTER; its id. */
  const open = async () => {
    expect(await command('compute1 --reason BMC shows it off')).toMatchObject({ statusCode: 200, body: '' });
    const [r] = await t.deps.store.listByState('pending');
    return r!.id;
  };
  return { ...t, logs, groupLookups, errors, bot, post, command, click, submit, open };
}

/** `view.state.values` of a filled-in force-down modal. */
function fencedValues(ticked = true) {
  const { method: M, verified: V, note: N } = MODAL_INPUTS;
  return {
    [M.blockId]: { [M.actionId]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'BMC' }, value: 'bmc' } } },
    [V.blockId]: { [V.actionId]: { type: 'checkboxes', selected_options: ticked ? [{ text: { type: 'plain_text', text: 'verified' }, value: VERIFIED_OPTION_VALUE }] : [] } },
    [N.blockId]: { [N.actionId]: { type: 'plain_text_input', value: 'ipmitool power off' } },
  };
}

const ephemeral = (res: { body: string }) => JSON.parse(res.body) as { response_type: string; text: string };
const responses = (id: string) => slack.calls('response_url').filter((c) => c.path === `/response/${id}`).map((c) => c.body);

describe('slash command listener', () => {
  it('opens a request: an empty ack, a pending request, its card handed to the worker', async () => {
    const t = bench();
    const id = await t.open();
    const [r] = await t.deps.store.listByState('pending');
    expect(r).toMatchObject({ host: 'compute1', action: 'force-down', requestedBy: REQUESTER, channel: CHANNEL, reason: 'BMC shows it off' });
    expect(t.jobs).toEqual([{ kind: 'show-card', id }]);
  });

  it('a second request for the same host is answered with the open one, not opened', async () => {
    const t = bench();
    await t.open();
    const res = await t.command('compute1', APPROVER);
    expect(ephemeral(res)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('compute1') });
    expect(await t.deps.store.listByState('pending')).toHaveLength(1);
  });

  it('a channel not configured is refused with the use case\'s refusal', async () => {
    const t = bench();
    const res = await t.command('compute1', REQUESTER, 'C_ELSEWHERE');
    expect(ephemeral(res).text).toBe(refusalText('CHANNEL_NOT_ALLOWED', { host: 'compute1', action: 'force-down' }));
    expect(await t.deps.store.listByState('pending')).toHaveLength(0);
  });

  it('help is answered at once; status and list are handed to the worker with the response_url', async () => {
    const t = bench();
    expect(ephemeral(await t.command('help')).text).toContain('/force-down');
    expect(ephemeral(await t.command('status compute1')).text).toContain('compute1');
    expect(ephemeral(await t.command('list')).response_type).toBe('ephemeral');
    expect(t.jobs).toEqual([
      { kind: 'status', host: 'compute1', cloud: 'prod', responseUrl: slack.responseUrl('cmd') },
      { kind: 'list', cloud: 'prod', responseUrl: slack.responseUrl('cmd') },
    ]);
  });

  it('status of an unknown cloud is refused and nothing is enqueued', async () => {
    const t = bench();
    const res = await t.command('status compute1 --cloud nowhere');
    expect(ephemeral(res).text).toBe(refusalText('UNKNOWN_CLOUD', { host: 'compute1', action: 'force-down', cloud: 'nowhere' }));
    expect(t.jobs).toEqual([]);
  });
});

describe('card button listeners', () => {
  it('an approver\'s Confirm… opens the modal with views.open (the click\'s trigger_id) and asks the worker for the heartbeat', async () => {
    const t = bench();
    const id = await t.open();
    expect(await t.click(ACTION_IDS.confirmFenced, id, APPROVER)).toMatchObject({ statusCode: 200, body: '' });
    const [opened] = slack.calls('views.open');
    expect(opened!.body).toMatchObject({ trigger_id: '1.2.3', view: { callback_id: FENCE_MODAL_CALLBACK_ID } });
    const form = (await t.deps.store.get(id))!.openForms;
    expect(form).toHaveLength(1);
    expect(t.jobs).toContainEqual({ kind: 'check-modal', id, viewId: expect.stringMatching(/^V0FAKE/), form: form![0] });
    // A listed approver needs no group lookup.
    expect(t.groupLookups).toEqual([]);
  });

  it('a member of an approver group may confirm (the lookup\'s answer goes to the use case)', async () => {
    const t = bench();
    const id = await t.open();
    await t.click(ACTION_IDS.confirmFenced, id, GROUP_MEMBER);
    expect(slack.calls('views.open')).toHaveLength(1);
    expect(t.groupLookups).toEqual([GROUP_MEMBER]);
  });

  it('anybody else is refused on the response_url, ephemeral, and no modal opens', async () => {
    const t = bench();
    const id = await t.open();
    await t.click(ACTION_IDS.confirmFenced, id, STRANGER);
    await t.click(ACTION_IDS.confirmFenced, id, REQUESTER);
    expect(slack.calls('views.open')).toHaveLength(0);
    const r = (await t.deps.store.get(id))!;
    const ctx = { host: r.host, action: r.action, cloud: r.cloud, requestedBy: r.requestedBy, expiresAt: r.expiresAt, attempted: 'confirm' as const };
    expect(responses(`click-${STRANGER}`)).toEqual([{ response_type: 'ephemeral', replace_original: false, text: refusalText('NOT_AUTHORIZED', ctx) }]);
    expect(responses(`click-${REQUESTER}`)).toEqual([{ response_type: 'ephemeral', replace_original: false, text: refusalText('NOT_AUTHORIZED', ctx) }]);
    expect(r.openForms ?? []).toEqual([]);
  });

  it('a request that does not exist is said so', async () => {
    const t = bench();
    await t.click(ACTION_IDS.confirmRecovered, 'req-nope', APPROVER);
    expect(responses(`click-${APPROVER}`)).toEqual([{ response_type: 'ephemeral', replace_original: false, text: 'This request no longer exists.' }]);
  });

  it('when Slack does not open the modal, the clicker is told to press again and the error handler hears of it', async () => {
    const t = bench();
    const id = await t.open();
    slack.failNext('views.open', { error: 'expired_trigger_id' });
    await t.click(ACTION_IDS.confirmFenced, id, APPROVER);
    expect(responses(`click-${APPROVER}`)).toEqual([{ response_type: 'ephemeral', replace_original: false, text: VIEWS_OPEN_FAILED_TEXT }]);
    expect(t.errors).toHaveLength(1);
    expect(t.logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'slack listener failed' }));
    expect(t.jobs.filter((j) => j.kind === 'check-modal')).toEqual([]);
  });

  it('Cancel: a stranger is refused; the requester cancels a pending request', async () => {
    const t = bench();
    const id = await t.open();
    await t.click(ACTION_IDS.cancelRequest, id, STRANGER);
    expect(responses(`click-${STRANGER}`)).toHaveLength(1);
    expect((await t.deps.store.get(id))!.state).toBe('pending');
    await t.click(ACTION_IDS.cancelRequest, id, REQUESTER);
    expect((await t.deps.store.get(id))!.state).toBe('cancelled');
    expect(responses(`click-${REQUESTER}`)).toEqual([]);
    expect(t.jobs).toContainEqual({ kind: 'refresh-card', id });
  });
});

describe('modal submission listener', () => {
  /** Opens a request and its modal as APPROVER; the modal's private_metadata. */
  async function modal(t: ReturnType<typeof bench>) {
    const id = await t.open();
    await t.click(ACTION_IDS.confirmFenced, id, APPROVER);
    const view = slack.calls('views.open').at(-1)!.body.view as { private_metadata: string };
    return { id, meta: view.private_metadata };
  }

  it('a filled-in modal confirms the request (empty ack) and the worker is handed the Nova call', async () => {
    const t = bench();
    const { id, meta } = await modal(t);
    expect(await t.submit(APPROVER, meta)).toMatchObject({ statusCode: 200, body: '' });
    expect(await t.deps.store.get(id)).toMatchObject({ state: 'approved', confirmation: { by: APPROVER, method: 'bmc', note: 'ipmitool power off' } });
    expect(t.jobs).toContainEqual({ kind: 'execute', id });
  });

  it('the same submission again is refused in the modal: the form was used', async () => {
    const t = bench();
    const { meta } = await modal(t);
    await t.submit(APPROVER, meta);
    const again = JSON.parse((await t.submit(APPROVER, meta)).body);
    expect(again.response_action).toBe('errors');
    expect(t.jobs.filter((j) => j.kind === 'execute')).toHaveLength(1);
  });

  it('an unticked box is shown as the modal\'s own validation error; nothing is confirmed', async () => {
    const t = bench();
    const { id, meta } = await modal(t);
    const res = JSON.parse((await t.submit(APPROVER, meta, fencedValues(false))).body);
    expect(res).toMatchObject({ response_action: 'errors', errors: { [MODAL_INPUTS.verified.blockId]: expect.any(String) } });
    expect((await t.deps.store.get(id))!.state).toBe('pending');
  });

  it('a modal without this bot\'s metadata confirms nothing', async () => {
    const t = bench();
    const id = await t.open();
    const res = JSON.parse((await t.submit(APPROVER, id)).body);
    expect(res).toEqual({ response_action: 'errors', errors: { [MODAL_INPUTS.verified.blockId]: FORM_OUT_OF_DATE_TEXT } });
    expect((await t.deps.store.get(id))!.state).toBe('pending');
  });

  it('a submission by someone who may not approve is refused by the use case, in the modal', async () => {
    const t = bench();
    const { id, meta } = await modal(t);
    const res = JSON.parse((await t.submit(STRANGER, meta)).body);
    expect(res.response_action).toBe('errors');
    expect((await t.deps.store.get(id))!.state).toBe('pending');
  });
});

describe('/force-down evacuate', () => {
  /** A force-down of `host` that Nova carried out, as the worker leaves it; its id. */
  const forcedDown = async (t: ReturnType<typeof bench>, host = 'compute1') => {
    const id = await t.open();
    const at = new Date(t.now()).toISOString();
    await t.deps.store.transition(id, ['pending'], 'approved', at, { confirmation: { by: APPROVER, at, method: 'pdu' } }, APPROVER);
    await t.deps.store.transition(id, ['approved'], 'executing', at);
    await t.deps.store.transition(id, ['executing'], 'succeeded', at);
    return id;
  };

  it("opens the evacuation modal of the host's forced-down card for an approver, and hands the worker the modal to fill", async () => {
    const t = bench();
    const id = await forcedDown(t);
    t.jobs.length = 0;
    expect(await t.command('evacuate COMPUTE1', APPROVER)).toMatchObject({ statusCode: 200, body: '' });
    const [opened] = slack.calls('views.open');
    expect(opened?.body).toMatchObject({ trigger_id: '1.2.3', view: { callback_id: 'evacuate_confirmation', private_metadata: JSON.stringify({ id, round: 0 }) } });
    expect(t.jobs).toEqual([{ kind: 'check-evacuate-modal', id, viewId: expect.any(String), round: 0 }]);
  });

  it('says so when no card has the host forced down, and refuses a non-approver; nothing opens', async () => {
    const t = bench();
    expect(ephemeral(await t.command('evacuate compute9', APPROVER)).text).toContain('force it down first');
    await forcedDown(t);
    expect(ephemeral(await t.command('evacuate compute1', STRANGER)).text).toContain("cannot evacuate *compute1*'s instances");
    expect(slack.calls('views.open')).toHaveLength(0);
  });

  it('a host unset since its force-down has no card to evacuate from', async () => {
    const t = bench();
    await forcedDown(t);
    const unset = aRequest({ id: 'req-unset-1', cloud: 'prod', host: 'compute1', action: 'unset', state: 'pending' });
    await t.deps.store.create(unset);
    const at = new Date(t.now() + 60_000).toISOString();
    await t.deps.store.transition(unset.id, ['pending'], 'approved', at, { confirmation: { by: APPROVER, at } }, APPROVER);
    await t.deps.store.transition(unset.id, ['approved'], 'executing', at);
    await t.deps.store.transition(unset.id, ['executing'], 'succeeded', at);
    expect(ephemeral(await t.command('evacuate compute1', APPROVER)).text).toContain('force it down first');
    expect(slack.calls('views.open')).toHaveLength(0);
  });
});

describe('the edge stays thin', () => {
  it('no file under src/slack decides who may approve or cancel (only the use cases call the policy)', () => {
    const root = join(__dirname, '../../../src/slack');
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    expect(files).toContain(join('listeners', 'actions.ts'));
    for (const f of files) {
      const src = readFileSync(join(root, f), 'utf8');
      expect(src, f).not.toMatch(/\bcheck(Approver|Canceller)\b/);
    }
  });
});
