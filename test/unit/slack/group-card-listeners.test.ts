// Issue 15: the grouped card's own buttons through createSlackBot's handle() (listeners/group.ts), with
// bodies as the router hands them, against the use cases' bench (memory store, fake Nova) and the fake
// Slack for views.open and response_url.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRequest } from '../../../src/app/requests.js';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { type SlackBot, createSlackBot, VIEWS_OPEN_FAILED_TEXT } from '../../../src/slack/bot.js';
import { decodeBulkMetadata } from '../../../src/slack/bulk-blocks.js';
import { BULK_INPUTS, BULK_MODAL_CALLBACK_ID, GROUP_ACTION_IDS, GROUP_ACTIONS_BLOCK_ID, VERIFIED_OPTION_VALUE } from '../../../src/slack/ids.js';
import { BULK_NOT_AUTHORIZED_TEXT, FORM_OUT_OF_DATE_TEXT } from '../../../src/slack/messages.js';
import { type FakeSlackApi, startFakeSlackApi } from '../../fakes/slack-api.js';
import { APPROVER, fakeNova, setup } from '../app/harness.js';

const CHANNEL = 'C_ONCALL';
const STRANGER = 'U_STRANGER';
const FORM = 'application/x-www-form-urlencoded';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(() => slack.close());
afterEach(() => slack.reset());

async function bench(n: number) {
  const t = setup({}, { nova: fakeNova({}, { anyHost: true }) });
  const members: ForceDownRequest[] = [];
  for (let i = 1; i <= n; i++) {
    const host = `rack${String(i).padStart(2, '0')}`;
    const res = await openRequest(
      t.deps,
      { host, action: 'force-down', origin: { kind: 'alert', source: 'generic', fingerprint: host }, requestedBy: 'generic', channel: CHANNEL, group: 'grp-1' },
      { card: false },
    );
    if (res.kind !== 'opened') throw new Error(res.kind);
    members.push(res.request);
  }
  await t.deps.store.createGroup({ id: 'grp-1', channel: CHANNEL, title: 'RackDown', createdAt: members[0]!.createdAt, members: members.map((m) => m.id), messages: ['1700000000.000001'] });
  const bot: SlackBot = createSlackBot({ botToken: 'xoxb-test', slackApiUrl: slack.apiUrl, deps: t.deps, groupsOf: async () => new Set() });
  const interaction = (payload: unknown) => bot.handle({ rawPath: '/slack/events', headers: { 'content-type': FORM }, body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString() });
  const click = (actionId: string, user: string) =>
    interaction({
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), team_id: 'T0FAKE0001' },
      team: { id: 'T0FAKE0001', domain: 'fake' },
      channel: { id: CHANNEL, name: 'oncall' },
      container: { type: 'message', message_ts: '1700000000.000001', channel_id: CHANNEL },
      message: { ts: '1700000000.000001', blocks: [] },
      trigger_id: '1.2.3',
      response_url: slack.responseUrl(`click-${user}`),
      actions: [{ type: 'button', action_id: actionId, block_id: GROUP_ACTIONS_BLOCK_ID, value: 'grp-1', action_ts: '1' }],
    });
  const submit = (user: string, privateMetadata: string, values: Record<string, unknown>) =>
    interaction({
      type: 'view_submission',
      team: { id: 'T0FAKE0001', domain: 'fake' },
      user: { id: user },
      api_app_id: 'A0FAKEAPP1',
      trigger_id: '1.2.3',
      view: { id: 'V1', type: 'modal', callback_id: BULK_MODAL_CALLBACK_ID, private_metadata: privateMetadata, state: { values }, hash: 'h', blocks: [] },
      response_urls: [],
      is_enterprise_install: false,
    });
  return { ...t, members, click, submit };
}

function values(ids: readonly string[], ticked = true) {
  return {
    [BULK_INPUTS.hosts.blockId]: { [BULK_INPUTS.hosts.actionId]: { type: 'multi_static_select', selected_options: ids.map((value) => ({ value, text: { type: 'plain_text', text: value } })) } },
    [BULK_INPUTS.method.blockId]: { [BULK_INPUTS.method.actionId]: { type: 'static_select', selected_option: { value: 'network', text: { type: 'plain_text', text: 'network' } } } },
    [BULK_INPUTS.verified.blockId]: { [BULK_INPUTS.verified.actionId]: { type: 'checkboxes', selected_options: ticked ? [{ value: VERIFIED_OPTION_VALUE, text: { type: 'plain_text', text: 'v' } }] : [] } },
    [BULK_INPUTS.note.blockId]: { [BULK_INPUTS.note.actionId]: { type: 'plain_text_input', value: null } },
  };
}

const responses = (id: string) => slack.calls('response_url').filter((c) => c.path === `/response/${id}`).map((c) => c.body);

describe('Confirm all fenced… (listeners/group.ts)', () => {
  it("an approver's click opens the bulk modal with views.open; its submission confirms every selected host, one execute job each", async () => {
    const t = await bench(12);
    expect(await t.click(GROUP_ACTION_IDS.confirmAll, APPROVER)).toMatchObject({ statusCode: 200, body: '' });
    const [opened] = slack.calls('views.open');
    const view = opened!.body.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(BULK_MODAL_CALLBACK_ID);
    const meta = decodeBulkMetadata(view.private_metadata)!;
    expect(meta).toMatchObject({ group: 'grp-1', count: 12 });
    expect(t.nova.calls).toEqual([]);

    const ids = t.members.map((m) => m.id);
    expect(await t.submit(APPROVER, view.private_metadata, values(ids))).toMatchObject({ statusCode: 200, body: '' });
    expect(t.jobs.filter((j) => j.kind === 'execute')).toHaveLength(12);
    for (const m of t.members) expect((await t.deps.store.get(m.id))!.confirmation).toMatchObject({ by: APPROVER, method: 'network' });

    // The same form again: refused in the modal, nothing confirmed twice.
    const again = await t.submit(APPROVER, view.private_metadata, values(ids));
    expect(JSON.parse(again.body)).toMatchObject({ response_action: 'errors', errors: { [BULK_INPUTS.verified.blockId]: FORM_OUT_OF_DATE_TEXT } });
    expect(t.jobs.filter((j) => j.kind === 'execute')).toHaveLength(12);
  });

  it('a stranger is told privately, and no modal opens', async () => {
    const t = await bench(3);
    await t.click(GROUP_ACTION_IDS.confirmAll, STRANGER);
    expect(slack.calls('views.open')).toEqual([]);
    expect(responses(`click-${STRANGER}`)).toEqual([expect.objectContaining({ response_type: 'ephemeral', text: BULK_NOT_AUTHORIZED_TEXT })]);
  });

  it('Slack not opening the modal: the clicker is asked to press again', async () => {
    const t = await bench(3);
    slack.failNext('views.open', { error: 'internal_error' });
    await t.click(GROUP_ACTION_IDS.confirmAll, APPROVER);
    expect(responses(`click-${APPROVER}`)).toEqual([expect.objectContaining({ text: VIEWS_OPEN_FAILED_TEXT })]);
  });

  it('a submission without the tick or with metadata not ours is answered with errors, nothing confirmed', async () => {
    const t = await bench(3);
    await t.click(GROUP_ACTION_IDS.confirmAll, APPROVER);
    const view = slack.calls('views.open')[0]!.body.view as { private_metadata: string };
    const unticked = JSON.parse((await t.submit(APPROVER, view.private_metadata, values(t.members.map((m) => m.id), false))).body);
    expect(unticked).toMatchObject({ response_action: 'errors', errors: { [BULK_INPUTS.verified.blockId]: expect.stringContaining('Tick the box') } });
    const forged = JSON.parse((await t.submit(APPROVER, t.members[0]!.id, values(t.members.map((m) => m.id)))).body);
    expect(forged).toMatchObject({ response_action: 'errors', errors: { [BULK_INPUTS.verified.blockId]: FORM_OUT_OF_DATE_TEXT } });
    expect(t.jobs.filter((j) => j.kind === 'execute')).toEqual([]);
  });
});

describe('Cancel all… (listeners/group.ts)', () => {
  it('an approver cancels every pending row (one refresh-group job, no answer needed); a stranger cancels nothing and is told', async () => {
    const t = await bench(5);
    await t.click(GROUP_ACTION_IDS.cancelAll, STRANGER);
    expect(responses(`click-${STRANGER}`)).toEqual([expect.objectContaining({ text: expect.stringContaining('Nothing was cancelled') })]);
    for (const m of t.members) expect((await t.deps.store.get(m.id))!.state).toBe('pending');

    await t.click(GROUP_ACTION_IDS.cancelAll, APPROVER);
    for (const m of t.members) expect((await t.deps.store.get(m.id))!.state).toBe('cancelled');
    expect(t.jobs.filter((j) => j.kind === 'refresh-group')).toEqual([{ kind: 'refresh-group', id: 'grp-1', ids: t.members.map((m) => m.id) }]);
    expect(responses(`click-${APPROVER}`)).toEqual([]);
    expect(t.nova.calls).toEqual([]);
  });
});
