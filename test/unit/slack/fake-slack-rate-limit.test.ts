// The fake Slack's opt-in per-channel message limit (test/fakes/slack-api.ts), driven by the real
// WebClient: what the storm tests rely on when they say "Slack answered 429".
import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../../integration/wait.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';

let fake: FakeSlackApi;
beforeAll(async () => {
  fake = await startFakeSlackApi();
});
afterAll(async () => fake.close());
beforeEach(() => {
  fake.reset();
  fake.setRateLimit(undefined);
});

/** No client-side retries, and a 429 comes back as an error rather than being waited out. */
const client = () => new WebClient('xoxb-rate-test', { slackApiUrl: fake.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });

describe('fake Slack per-channel rate limit', () => {
  it('is off by default: back-to-back posts in one channel all land', async () => {
    const c = client();
    for (let i = 0; i < 10; i++) await c.chat.postMessage({ channel: 'C1', text: `m${i}` });
    expect(fake.calls('chat.postMessage').every((x) => x.status === 200)).toBe(true);
  });

  it('answers 429 ratelimited with Retry-After once a channel’s burst is spent, per channel, and applies nothing', async () => {
    // One message a minute: the second call within the same minute is over the limit, whatever the machine's speed.
    fake.setRateLimit({ intervalMs: 60_000, burst: 2 });
    const c = client();
    const first = await c.chat.postMessage({ channel: 'C1', text: 'one' });
    await c.chat.postMessage({ channel: 'C1', text: 'two' });
    const err = await c.chat.postMessage({ channel: 'C1', text: 'three' }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; retryAfter?: number },
    );
    expect(err?.code).toBe('slack_webapi_rate_limited_error');
    expect(err?.retryAfter).toBeGreaterThanOrEqual(1);
    expect(err?.retryAfter).toBeLessThanOrEqual(60);
    // chat.update shares the channel's budget; another channel has its own.
    await expect(c.chat.update({ channel: 'C1', ts: first.ts!, text: 'edited' })).rejects.toMatchObject({ code: 'slack_webapi_rate_limited_error' });
    await expect(c.chat.postMessage({ channel: 'C2', text: 'elsewhere' })).resolves.toMatchObject({ ok: true });
    // Other methods are not limited.
    await expect(c.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'just you' })).resolves.toMatchObject({ ok: true });

    const limited = fake.calls().filter((x) => x.status === 429);
    expect(limited.map((x) => [x.method, x.body.channel, x.error])).toEqual([
      ['chat.postMessage', 'C1', 'ratelimited'],
      ['chat.update', 'C1', 'ratelimited'],
    ]);
    expect(fake.message('C1', first.ts!)?.text).toBe('one');
    expect(fake.calls('chat.postMessage').filter((x) => x.status === 200).map((x) => x.body.text)).toEqual(['one', 'two', 'elsewhere']);
  });

  it('refills: a channel over its limit accepts a message again later', async () => {
    fake.setRateLimit({ intervalMs: 200, burst: 1 });
    const c = client();
    await c.chat.postMessage({ channel: 'C1', text: 'first' });
    await until('the channel to accept a message again', () =>
      c.chat.postMessage({ channel: 'C1', text: 'again' }).then(
        () => true,
        () => false,
      ),
    );
    expect(fake.calls('chat.postMessage').filter((x) => x.status === 200)).toHaveLength(2);
  });

  it('reset() and setRateLimit() start every channel with a full bucket', async () => {
    fake.setRateLimit({ intervalMs: 60_000, burst: 1 });
    const c = client();
    await c.chat.postMessage({ channel: 'C1', text: 'a' });
    await expect(c.chat.postMessage({ channel: 'C1', text: 'b' })).rejects.toMatchObject({ code: 'slack_webapi_rate_limited_error' });
    fake.reset();
    await expect(c.chat.postMessage({ channel: 'C1', text: 'c' })).resolves.toMatchObject({ ok: true });
    fake.setRateLimit({ intervalMs: 60_000, burst: 1 });
    await expect(c.chat.postMessage({ channel: 'C1', text: 'd' })).resolves.toMatchObject({ ok: true });
  });
});
