// An outcome that reaches the card (src/slack/cards.ts) even after a failed update (issue #11, 1): the ✅/❌ card update
// is retried (bounded, with backoff) when Slack fails; progress updates are not; permanent errors are not.
import { describe, expect, it } from 'vitest';
import type { ForceDownRequest } from '../../../src/domain/request.js';
import { createSlackCards, OUTCOME_RETRY_DELAYS_MS } from '../../../src/slack/cards.js';
import { isTransientSlackError } from '../../../src/slack/slack-calls.js';
import { createMemoryStore } from '../../fakes/memory-store.js';
import { aRequest, NOW } from './builders.js';

const platform = (error: string) => Object.assign(new Error(`An API error occurred: ${error}`), { code: 'slack_webapi_platform_error', data: { ok: false, error } });
const network = () => Object.assign(new Error('A request error occurred: connect EMFILE 127.0.0.1:443 - Local (undefined:undefined)'), { code: 'slack_webapi_request_error' });
const http503 = () => Object.assign(new Error('An HTTP protocol error occurred: statusCode = 503'), { code: 'slack_webapi_http_error', statusCode: 503 });

function setup(failures: Error[]) {
  const updates: Record<string, unknown>[] = [];
  const waits: number[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push({ level, message, ...data });
  const client = {
    chat: {
      update: async (args: Record<string, unknown>) => {
        const failure = failures.shift();
        if (failure) throw failure;
        updates.push(args);
        return { ok: true, ts: args.ts };
      },
      postMessage: async () => ({ ok: true, ts: '1.000001' }),
    },
    views: {},
  };
  const cards = createSlackCards({
    client: client as never,
    store: createMemoryStore(),
    nova: () => undefined,
    notifier: { auditJoined: async () => undefined },
    now: () => NOW,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    sleep: async (ms) => void waits.push(ms),
  });
  return { cards, updates, waits, logs, failures };
}

const succeeded = (): ForceDownRequest =>
  aRequest({ state: 'succeeded', outcome: { code: 'OK', message: 'forced down' }, confirmation: { by: 'U0APPROVE1', at: '2026-11-25T14:05:00.000Z', method: 'bmc' } });

describe('the outcome card update', () => {
  it('Slack fails twice (internal_error, then the network): the ✅ card is shown on the third try, after waiting 1 s then 2 s', async () => {
    const t = setup([platform('internal_error'), network()]);
    expect(await t.cards.request(succeeded())).toBe('1795600000.000100');
    expect(t.updates).toHaveLength(1);
    expect(String(t.updates[0]!.text)).toContain('compute1');
    expect(JSON.stringify(t.updates[0]!.blocks)).toContain('✅');
    expect(t.waits).toEqual([1_000, 2_000]);
    expect(t.logs.filter((l) => l.message === 'outcome card update failed; retrying')).toEqual([
      expect.objectContaining({ level: 'warn', requestId: 'req-0001', outcome: 'OK', slackError: 'internal_error', attempt: 1 }),
      expect.objectContaining({ level: 'warn', requestId: 'req-0001', outcome: 'OK', slackError: 'slack_webapi_request_error', attempt: 2 }),
    ]);
  });

  it('a failed request\'s ❌ card too', async () => {
    const t = setup([http503()]);
    await t.cards.request(aRequest({ state: 'failed', outcome: { code: 'NOVA_UNAVAILABLE', message: 'connect EMFILE' } }));
    expect(t.updates).toHaveLength(1);
    expect(t.waits).toEqual([1_000]);
  });

  it('bounded: after the last retry the failure is thrown (the job fails visibly; the store has the outcome)', async () => {
    const t = setup(Array.from({ length: 10 }, () => network()));
    await expect(t.cards.request(succeeded())).rejects.toMatchObject({ code: 'slack_webapi_request_error' });
    expect(t.waits).toEqual([...OUTCOME_RETRY_DELAYS_MS]);
    expect(t.failures).toHaveLength(10 - (OUTCOME_RETRY_DELAYS_MS.length + 1));
    expect(t.logs.at(-1)).toMatchObject({ level: 'error', message: 'slack call failed', call: 'chat.update', outcome: 'OK', swallowed: false });
  });

  it('an error that will not pass (invalid_auth, message_not_found) is not retried', async () => {
    for (const code of ['invalid_auth', 'message_not_found']) {
      const t = setup([platform(code)]);
      await expect(t.cards.request(succeeded())).rejects.toMatchObject({ data: { error: code } });
      expect(t.waits).toEqual([]);
    }
  });

  it('a progress card (⏳) is not retried: its failure is swallowed so that Nova is called at once', async () => {
    const t = setup([network()]);
    expect(await t.cards.request(aRequest({ state: 'executing' }))).toBe('1795600000.000100');
    expect(t.updates).toEqual([]);
    expect(t.waits).toEqual([]);
  });

  it('transient: the network, HTTP errors, rate limits and Slack\'s internal errors; not: auth, missing messages, bad blocks', () => {
    for (const e of [network(), http503(), { code: 'slack_webapi_rate_limited_error', retryAfter: 1 }, platform('ratelimited'), platform('internal_error'), platform('service_unavailable')]) {
      expect(isTransientSlackError(e)).toBe(true);
    }
    for (const e of [platform('invalid_auth'), platform('token_revoked'), platform('message_not_found'), platform('channel_not_found'), platform('invalid_blocks')]) {
      expect(isTransientSlackError(e)).toBe(false);
    }
  });
});
