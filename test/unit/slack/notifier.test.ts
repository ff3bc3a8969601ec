// The worker's Slack side (src/slack/cards.ts and notifier.ts) against the fake Slack, through the real WebClient:
// one card per request, posted once and updated in place; audit lines in its thread; which failures
// are swallowed (progress cards, audit lines, the modal's reading) and which are thrown (a new card,
// a pending card's update, an outcome once its retries are spent; those are in cards-outcome-retry.test.ts).
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { createSlackCards } from '../../../src/slack/cards.js';
import { createSlackNotifier } from '../../../src/slack/notifier.js';
import { createMemoryStore } from '../../fakes/memory-store.js';
import { type FakeSlackApi, startFakeSlackApi } from '../../fakes/slack-api.js';
import { aRequest, aService, CONFIRMATION, NOW } from './builders.js';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(() => slack.close());
afterEach(() => slack.reset());

function setup() {
  const logs: Record<string, unknown>[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push({ level, message, ...data });
  const responses: { url: string; message: Record<string, unknown> }[] = [];
  // No WebClient retries: each fault below is the call's final answer.
  const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const logger = { info: log('info'), warn: log('warn'), error: log('error') };
  const notifier = createSlackNotifier({
    client,
    postToResponseUrl: async (url, message) => void responses.push({ url, message }),
    now: () => NOW,
    log: logger,
  });
  const cards = createSlackCards({ client, store: createMemoryStore(), nova: () => undefined, notifier, now: () => NOW, log: logger, sleep: async () => undefined, outcomeRetryDelaysMs: [] });
  return { notifier, cards, logs, responses };
}

/** A new request: no card yet. */
const fresh = (over: Partial<ForceDownRequest> = {}): ForceDownRequest => {
  const { messageTs: _, ...r } = aRequest(over);
  return r;
};

describe('the request card', () => {
  it('is posted once, then every later state updates that same message in place', async () => {
    const t = setup();
    const ts = await t.cards.request(fresh());
    expect(ts).toMatch(/^\d+\.\d{6}$/);
    expect(slack.calls('chat.postMessage')).toHaveLength(1);
    expect(slack.calls('chat.postMessage')[0]!.body).toMatchObject({ channel: 'C0ONCALL01', unfurl_links: 'false' });

    const approved = aRequest({ messageTs: ts!, state: 'approved', confirmation: CONFIRMATION });
    expect(await t.cards.request(approved)).toBe(ts);
    const succeeded = aRequest({ messageTs: ts!, state: 'succeeded', confirmation: CONFIRMATION, outcome: { code: 'OK', message: 'forced down' } });
    expect(await t.cards.request(succeeded)).toBe(ts);

    expect(slack.calls('chat.postMessage')).toHaveLength(1);
    expect(slack.calls('chat.update').map((c) => c.body.ts)).toEqual([ts, ts]);
    const shown = slack.message('C0ONCALL01', ts!)!;
    expect(shown.updates).toBe(2);
    expect(JSON.stringify(shown.blocks)).toContain('✅');
    expect(t.logs).toEqual([]);
  });

  it('a new card that Slack refuses is thrown and logged as an error (the job fails visibly)', async () => {
    const t = setup();
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    await expect(t.cards.request(fresh())).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    expect(t.logs).toEqual([expect.objectContaining({ level: 'error', message: 'slack call failed', call: 'chat.postMessage', requestId: 'req-0001', slackError: 'channel_not_found', swallowed: false })]);
  });

  it.each(['approved', 'executing'] as const)('a progress card (%s) that Slack fails to update is swallowed and logged as a warning: Nova is called anyway', async (state) => {
    const t = setup();
    const ts = (await t.cards.request(fresh()))!;
    slack.failNext('chat.update', { status: 500 });
    expect(await t.cards.request(aRequest({ messageTs: ts, state, confirmation: CONFIRMATION }))).toBe(ts);
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', message: 'slack call failed', call: 'chat.update', state, slackError: 'http_500', swallowed: true })]);
  });

  it('a pending card that Slack fails to update is thrown (not a progress state)', async () => {
    const t = setup();
    const ts = (await t.cards.request(fresh()))!;
    slack.failNext('chat.update', { error: 'invalid_auth' });
    await expect(t.cards.request(aRequest({ messageTs: ts }))).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    expect(t.logs).toEqual([expect.objectContaining({ level: 'error', call: 'chat.update', state: 'pending', swallowed: false })]);
  });

  it('an outcome that Slack will not show is thrown once its retries are spent', async () => {
    const t = setup();
    const ts = (await t.cards.request(fresh()))!;
    slack.failNext('chat.update', { error: 'message_not_found' });
    const failed = aRequest({ messageTs: ts, state: 'failed', outcome: { code: 'NOVA_UNAVAILABLE', message: 'nova down' } });
    await expect(t.cards.request(failed)).rejects.toMatchObject({ data: { error: 'message_not_found' } });
    expect(t.logs.at(-1)).toMatchObject({ level: 'error', call: 'chat.update', state: 'failed', outcome: 'NOVA_UNAVAILABLE', swallowed: false });
  });
});

describe('the audit thread', () => {
  it('each history entry is a reply in the card\'s thread', async () => {
    const t = setup();
    const ts = (await t.cards.request(fresh()))!;
    const r = aRequest({ messageTs: ts, state: 'approved', confirmation: CONFIRMATION });
    await t.notifier.audit(r, r.history[0]!);
    await t.notifier.audit(r, { state: 'approved', at: CONFIRMATION.at, by: CONFIRMATION.by });
    const replies = slack.calls('chat.postMessage').slice(1);
    expect(replies).toHaveLength(2);
    for (const reply of replies) expect(reply.body).toMatchObject({ channel: 'C0ONCALL01', thread_ts: ts, unfurl_links: 'false' });
    expect(String(replies[1]!.body.text)).toContain('compute1');
  });

  it('nothing is posted for a request without a card', async () => {
    const t = setup();
    const r = fresh();
    await t.notifier.audit(r, r.history[0]!);
    expect(slack.calls()).toHaveLength(0);
  });

  it('an audit line that Slack refuses is swallowed and logged as a warning (the store keeps the history)', async () => {
    const t = setup();
    const ts = (await t.cards.request(fresh()))!;
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 0 });
    const r = aRequest({ messageTs: ts });
    await expect(t.notifier.audit(r, r.history[0]!)).resolves.toBeUndefined();
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', message: 'slack call failed', call: 'chat.postMessage (audit)', swallowed: true })]);
  });
});

describe('the confirmation modal\'s heartbeat reading', () => {
  it('a views.update that Slack refuses (the modal was closed) is swallowed and logged', async () => {
    const t = setup();
    await expect(t.notifier.updateModal('V0UNKNOWN1', aRequest(), { service: aService() }, 'nonce-1')).resolves.toBeUndefined();
    expect(slack.calls('views.update')).toHaveLength(1);
    expect(t.logs).toEqual([expect.objectContaining({ level: 'warn', call: 'views.update', slackError: 'not_found', swallowed: true })]);
  });

  it('without its form nonce the modal is left as it is', async () => {
    const t = setup();
    await t.notifier.updateModal('V0UNKNOWN1', aRequest(), { service: aService() });
    expect(slack.calls()).toHaveLength(0);
  });
});

describe('/force-down status', () => {
  it("shows a service's disabled reason (an operator's free text) inert and quoted: no mention, link or formatting", async () => {
    const t = setup();
    const hostile = aService({ status: 'disabled', disabledReason: '<!channel> *urgent* <https://evil.example|login here> `x`' });
    await t.notifier.replyStatus('https://hooks.slack.com/commands/T0/1/x', 'prod', 'compute1', { ok: true, value: hostile });
    const text = JSON.stringify(t.responses.at(-1)!.message);
    expect(text).toContain('(disabled: “&lt;!channel&gt;');
    expect(text).not.toMatch(/<!channel>|<https:/);
    expect(text).not.toContain('*urgent*');
  });
});
