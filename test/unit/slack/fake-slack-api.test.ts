import { App, LogLevel as BoltLogLevel } from '@slack/bolt';
import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fenceModal, requestCard } from '../../../src/slack/blocks.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { NOW, aRequest, aService } from './builders.js';

const TOKEN = 'xoxb-0000-fake-bot-token';
const REVOKED = 'xoxb-revoked-token';

let fake: FakeSlackApi;

beforeAll(async () => {
  fake = await startFakeSlackApi({ invalidTokens: [REVOKED] });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

/** The real web-api client, pointed at the fake; no retries unless a test asks for them. */
function client(token: string | null = TOKEN, retries = 0, extra: ConstructorParameters<typeof WebClient>[1] = {}): WebClient {
  return new WebClient(token ?? undefined, { slackApiUrl: fake.apiUrl, retryConfig: { retries }, logLevel: LogLevel.ERROR, ...extra });
}

describe('fake Slack Web API, driven by the real @slack/web-api client', () => {
  it('chat.postMessage: records what the client sends (form-encoded, blocks as a JSON string) and answers like Slack', async () => {
    const card = requestCard(aRequest(), { service: aService(), now: NOW });
    const res = await client().chat.postMessage({ channel: 'C0ONCALL01', text: card.text, blocks: card.blocks });
    expect(res).toMatchObject({ ok: true, channel: 'C0ONCALL01', message: { text: card.text, bot_id: fake.botId } });
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);

    const [call] = fake.calls('chat.postMessage');
    expect(call?.contentType).toBe('application/x-www-form-urlencoded');
    expect(call?.token).toBe(TOKEN);
    // The fake parsed the JSON-string blocks back: they arrive exactly as built.
    expect(call?.body.blocks).toEqual(card.blocks);
    expect(call?.body.text).toBe(card.text);
    expect(fake.message('C0ONCALL01', res.ts!)).toMatchObject({ text: card.text, blocks: card.blocks, updates: 0 });
  });

  it('gives every message its own ts, and threads replies', async () => {
    const c = client();
    const a = await c.chat.postMessage({ channel: 'C1', text: 'a' });
    const b = await c.chat.postMessage({ channel: 'C1', text: 'b', thread_ts: a.ts! });
    expect(a.ts).not.toBe(b.ts);
    expect(b.message?.thread_ts).toBe(a.ts);
    expect(fake.calls('chat.postMessage')[1]?.body.thread_ts).toBe(a.ts);
  });

  it('chat.update: updates a posted message; an unknown ts is message_not_found', async () => {
    const c = client();
    const posted = await c.chat.postMessage({ channel: 'C1', text: 'pending' });
    const done = requestCard(aRequest({ state: 'cancelled' }), { now: NOW });
    const res = await c.chat.update({ channel: 'C1', ts: posted.ts!, text: done.text, blocks: done.blocks });
    expect(res).toMatchObject({ ok: true, channel: 'C1', ts: posted.ts, text: done.text });
    expect(fake.message('C1', posted.ts!)).toMatchObject({ text: done.text, blocks: done.blocks, updates: 1 });
    await expect(c.chat.update({ channel: 'C1', ts: '1.000000', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_platform_error',
      data: { ok: false, error: 'message_not_found' },
    });
  });

  it('chat.postEphemeral answers message_ts', async () => {
    const res = await client().chat.postEphemeral({ channel: 'C1', user: 'U0APPROVE1', text: 'not yours' });
    expect(res).toMatchObject({ ok: true });
    expect(res.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(fake.calls('chat.postEphemeral')[0]?.body).toMatchObject({ channel: 'C1', user: 'U0APPROVE1', text: 'not yours' });
  });

  it('views.open: the view arrives parsed, and comes back with an id', async () => {
    const view = fenceModal(aRequest());
    const res = await client().views.open({ trigger_id: '12345.98765.abcd2358fdea', view });
    expect(res.view).toMatchObject({ id: expect.stringMatching(/^V/), callback_id: 'fence_confirmation', private_metadata: 'req-0001', state: { values: {} } });
    expect(fake.calls('views.open')[0]?.body.view).toEqual(view);
    await expect(client().views.open({ trigger_id: '', view })).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
  });

  it('auth.test: the bot identity Bolt asks for at start-up', async () => {
    expect(await client().auth.test()).toMatchObject({ ok: true, user_id: fake.botUserId, bot_id: fake.botId, team_id: fake.teamId, url: expect.any(String) });
  });

  it('no token: not_authed; a revoked token: invalid_auth', async () => {
    await expect(client(null).auth.test()).rejects.toMatchObject({ code: 'slack_webapi_platform_error', data: { error: 'not_authed' } });
    await expect(client(REVOKED).auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    const rotated = 'xoxb-rotated-away';
    await expect(client(rotated).auth.test()).resolves.toMatchObject({ ok: true });
    fake.invalidateToken(rotated);
    await expect(client(rotated).auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    expect(fake.calls('auth.test').map((c) => c.error ?? 'ok')).toEqual(['not_authed', 'invalid_auth', 'ok', 'invalid_auth']);
  });

  it('answers Slack-style API errors for bad arguments and unknown methods', async () => {
    const c = client();
    await expect(c.chat.postMessage({ channel: '', text: 'x' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    await expect(c.chat.postMessage({ channel: 'C1' } as never)).rejects.toMatchObject({ data: { error: 'no_text' } });
    await expect(c.apiCall('chat.nonsense')).rejects.toMatchObject({ data: { error: 'unknown_method' } });
  });

  it('failNext 429: the client waits Retry-After seconds and retries', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const started = Date.now();
    const res = await client(TOKEN, 1).chat.postMessage({ channel: 'C1', text: 'after a rate limit' });
    expect(res.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.calls('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
  });

  it('failNext 429 with rejectRateLimitedCalls: a rate-limited error carrying retryAfter', async () => {
    fake.failNext('chat.update', { status: 429, retryAfter: 7 });
    await expect(client(TOKEN, 0, { rejectRateLimitedCalls: true }).chat.update({ channel: 'C1', ts: '1.1', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 7,
    });
  });

  it('failNext 500: an HTTP error without retries; the next call succeeds', async () => {
    fake.failNext('chat.postMessage', { status: 500 });
    const c = client();
    await expect(c.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({ code: 'slack_webapi_http_error', statusCode: 500 });
    await expect(c.chat.postMessage({ channel: 'C1', text: 'x' })).resolves.toMatchObject({ ok: true });
  });

  it('failNext error: an { ok: false } answer once, whatever the token', async () => {
    fake.failNext('views.open', { error: 'expired_trigger_id' });
    const view = fenceModal(aRequest());
    await expect(client().views.open({ trigger_id: 't1', view })).rejects.toMatchObject({ data: { ok: false, error: 'expired_trigger_id' } });
    await expect(client().views.open({ trigger_id: 't2', view })).resolves.toMatchObject({ ok: true });
  });

  it('waitFor: resolves on a call made later, or one already made; times out with what it saw', async () => {
    const c = client();
    const waiting = fake.waitFor('chat.update', (call) => call.body.text === 'y', 2000);
    const posted = await c.chat.postMessage({ channel: 'C1', text: 'x' });
    await c.chat.update({ channel: 'C1', ts: posted.ts!, text: 'y' });
    await expect(waiting).resolves.toMatchObject({ method: 'chat.update' });
    await expect(fake.waitFor('chat.postMessage')).resolves.toMatchObject({ body: { text: 'x' } });
    await expect(fake.waitFor('views.open', () => true, 50)).rejects.toThrow(/no matching views.open call within 50 ms \(calls so far: chat.postMessage, chat.update/);
  });

  it('response_url: takes JSON posts (Bolt respond()) on /response/<anything> and answers "ok"', async () => {
    const url = fake.responseUrl('T0FAKE/123/abc');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', text: 'Nova does not know *compute9*', replace_original: false }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    const [call] = fake.calls('response_url');
    expect(call).toMatchObject({ path: '/response/T0FAKE/123/abc', body: { response_type: 'ephemeral', text: 'Nova does not know *compute9*' } });
    expect(call?.token).toBeUndefined();
  });

  it('accepts JSON bodies on API methods too, with the token in the header', async () => {
    const blocks = [{ type: 'divider' }];
    const res = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: 'C1', text: 'json', blocks }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C1' });
    expect(fake.calls('chat.postMessage')[0]?.body).toEqual({ channel: 'C1', text: 'json', blocks });
  });

  it("Bolt's App uses the fake through clientOptions.slackApiUrl (auth.test at init)", async () => {
    const app = new App({
      token: TOKEN,
      signingSecret: 'test-signing-secret',
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
      deferInitialization: true,
      logLevel: BoltLogLevel.ERROR,
    });
    await app.init();
    expect(fake.calls('auth.test')).toHaveLength(1);
    await app.client.chat.postMessage({ channel: 'C1', text: 'from Bolt' });
    expect(fake.calls('chat.postMessage')[0]?.body).toMatchObject({ channel: 'C1', text: 'from Bolt' });
  });
});
