// "Nothing is forgotten", the Slack side: `/force-down list` (counts, order, how long, pages) and the
// reminder line in a forced-down host's card thread.
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ComputeService } from '../../../src/domain/service.js';
import { LIMITS } from '../../../src/slack/card-parts.js';
import { createSlackNotifier, forDuration, LIST_PAGE_SIZE, listAnswer, reminderText } from '../../../src/slack/notifier.js';
import { type FakeSlackApi, startFakeSlackApi } from '../../fakes/slack-api.js';
import { aRequest, aService, NOW } from './builders.js';

const HOUR = 3_600_000;
const RESPONSE_URL = 'https://hooks.slack.com/commands/T0/1/x';

let slack: FakeSlackApi;
beforeAll(async () => {
  slack = await startFakeSlackApi();
});
afterAll(() => slack.close());
afterEach(() => slack.reset());

function notifierBench(defaultCloud?: string) {
  const responses: Record<string, unknown>[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => void logs.push({ level, message, ...data });
  const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const notifier = createSlackNotifier({
    client,
    postToResponseUrl: async (_url, message) => void responses.push(message),
    now: () => NOW,
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    ...(defaultCloud ? { defaultCloud } : {}),
  });
  return { notifier, responses, logs };
}

/** Every mrkdwn text of a list answer, in order. */
const textsOf = (answer: { blocks: unknown[] }): string[] =>
  (answer.blocks as { text?: { text: string }; elements?: { text: string }[] }[]).flatMap((b) => (b.text ? [b.text.text] : (b.elements ?? []).map((e) => e.text)));

const up = (host: string): ComputeService => aService({ host, state: 'up', updatedAt: '2026-11-25T14:09:50.000000' });
const iso = (ms: number) => new Date(ms).toISOString();

describe('the reminder', () => {
  it('says how long and what to type once it is repaired, in the card thread', async () => {
    const t = notifierBench('prod-east');
    await t.notifier.remind(aRequest({ messageTs: '1740823200.000100', state: 'succeeded' }), 26 * HOUR + 59 * 60_000);
    const posts = slack.calls('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toMatchObject({ channel: 'C0ONCALL01', thread_ts: '1740823200.000100' });
    expect(posts[0]!.body.text).toBe('compute1 has been forced down for 26 h. When it is repaired: `/force-down --unset compute1`');
  });

  it('names --cloud for a cloud other than the default', () => {
    expect(reminderText({ host: 'compute1', cloud: 'prod-west' }, 30 * HOUR, 'prod-east')).toBe(
      'compute1 has been forced down for 30 h. When it is repaired: `/force-down --unset compute1 --cloud prod-west`',
    );
  });

  it('a request without a card: nothing posted, logged', async () => {
    const t = notifierBench();
    const { messageTs: _, ...request } = aRequest();
    await t.notifier.remind(request, 25 * HOUR);
    expect(slack.calls('chat.postMessage')).toHaveLength(0);
    expect(t.logs).toContainEqual(expect.objectContaining({ message: 'reminder not posted: the request has no card' }));
  });

  it('Slack refusing it is swallowed and logged (the next period reminds again)', async () => {
    const t = notifierBench();
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 0 });
    await expect(t.notifier.remind(aRequest({ messageTs: '1740823200.000100' }), 25 * HOUR)).resolves.toBeUndefined();
    expect(t.logs).toContainEqual(expect.objectContaining({ level: 'warn', call: 'chat.postMessage (reminder)', swallowed: true }));
  });

  it.each([
    [0, '0 s'],
    [59_999, '59 s'],
    [60_000, '1 min'],
    [HOUR - 1, '59 min'],
    [HOUR, '1 h'],
    [26 * HOUR + 3_599_000, '26 h'],
    [71 * HOUR, '71 h'],
    [72 * HOUR, '3 d 0 h'],
    [100 * HOUR, '4 d 4 h'],
  ])('forDuration(%d) = %s', (ms, words) => {
    expect(forDuration(ms)).toBe(words);
  });
});

describe('/force-down list', () => {
  it('counts at the top; forced down first, longest first (our records, else "since ~" Nova\'s update); then down, longest silent first', () => {
    const services = [
      up('compute9'),
      aService({ host: 'down-recent', state: 'down', updatedAt: '2026-11-25T14:00:00.000000' }),
      aService({ host: 'fd-ours-short', forcedDown: true, updatedAt: '2026-11-25T14:05:00.000000' }),
      aService({ host: 'down-old', state: 'down', updatedAt: '2026-11-24T10:00:00.000000' }),
      aService({ host: 'fd-by-hand', forcedDown: true, updatedAt: '2026-11-24T14:10:00.000000' }),
      aService({ host: 'FD-Ours-Long', forcedDown: true, updatedAt: '2026-11-25T14:05:00.000000' }),
      up('compute8'),
    ];
    const since = new Map([
      ['fd-ours-short', NOW - 2 * HOUR],
      ['fd-ours-long', NOW - 50 * HOUR],
    ]);
    const answer = listAnswer('prod-east', services, { page: 1, forcedDownSince: since, now: NOW, defaultCloud: 'prod-east' });
    const [head, body, ...rest] = textsOf(answer);
    expect(head).toBe('*3 forced down · 2 down (of 7 compute hosts)* in *prod-east*');
    expect(answer.text).toBe('3 forced down · 2 down (of 7 compute hosts) in *prod-east*');
    expect(rest).toEqual([]); // one page: no "more"
    const lines = body!.split('\n');
    expect(lines.map((l) => l.match(/^• \*([^*]+)\*/)?.[1])).toEqual(['FD-Ours-Long', 'fd-by-hand', 'fd-ours-short', 'down-old', 'down-recent']);
    expect(lines[0]).toContain(`forced down for 50 h (since ${iso(NOW - 50 * HOUR).slice(0, 16).replace('T', ' ')} UTC)`);
    expect(lines[1]).toContain('forced down since ~2026-11-24 14:10 UTC');
    expect(lines[2]).toContain('forced down for 2 h');
    expect(lines[3]).toContain('down, not forced down');
    expect(lines[3]).toContain('last heartbeat 2026-11-24 10:00 UTC');
  });

  it('all up: says so, with the counts', () => {
    const answer = listAnswer('lab', [up('a'), up('b')], { page: 1, forcedDownSince: new Map(), now: NOW });
    expect(answer.text).toBe('0 forced down · 0 down (of 2 compute hosts) in *lab*: all nova-compute services are up; none is forced down.');
  });

  it(`pages of ${LIST_PAGE_SIZE}, never cut silently: "and N more — \`/force-down list --page 2\`", each page within Slack's limits`, () => {
    // 45 forced down, each with the longest reason Nova may hold: every line long.
    const services = Array.from({ length: 45 }, (_, i) =>
      aService({ host: `compute${String(i).padStart(2, '0')}-${'x'.repeat(200)}`, forcedDown: true, status: 'disabled', disabledReason: 'r'.repeat(255), updatedAt: iso(NOW - (i + 1) * HOUR).slice(0, 19) }),
    );
    const all: string[] = [];
    for (const [page, more] of [[1, 25], [2, 5], [3, 0]] as const) {
      const answer = listAnswer('prod-east', [...services, up('compute-up')], { page, forcedDownSince: new Map(), now: NOW, defaultCloud: 'prod-east' });
      const texts = textsOf(answer);
      expect(texts[0]).toBe(`*45 forced down · 0 down (of 46 compute hosts)* in *prod-east* · page ${page} of 3`);
      if (more) expect(texts.at(-1)).toBe(`and ${more} more — \`/force-down list --page ${page + 1}\``);
      else expect(texts.at(-1)).not.toContain('more —');
      expect(answer.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
      for (const t of texts) expect(t.length).toBeLessThanOrEqual(LIMITS.sectionText);
      all.push(...texts.filter((t) => t.startsWith('• ')).flatMap((t) => t.split('\n')));
    }
    // Every host exactly once across the pages, longest forced down first.
    expect(all).toHaveLength(45);
    expect(all.map((l) => l.slice(3, 12))).toEqual(services.map((s) => s.host.slice(0, 9)).reverse());
  });

  it('another cloud than the default: the next page names it; a page past the end says how many there are', () => {
    const services = Array.from({ length: LIST_PAGE_SIZE + 1 }, (_, i) => aService({ host: `c${i}`, forcedDown: true }));
    const first = textsOf(listAnswer('prod-west', services, { page: 1, forcedDownSince: new Map(), now: NOW, defaultCloud: 'prod-east' }));
    expect(first.at(-1)).toBe('and 1 more — `/force-down list --cloud prod-west --page 2`');
    const past = listAnswer('prod-west', services, { page: 7, forcedDownSince: new Map(), now: NOW, defaultCloud: 'prod-east' });
    expect(past.text).toBe('21 forced down · 0 down (of 21 compute hosts) in *prod-west*. There are 2 pages: page 7 is past the end — `/force-down list --cloud prod-west --page 1`');
  });

  it('replyList posts the page asked for to the response_url; a Nova failure is our headline', async () => {
    const t = notifierBench('prod-east');
    const services = Array.from({ length: 30 }, (_, i) => aService({ host: `c${String(i).padStart(2, '0')}`, forcedDown: true }));
    await t.notifier.replyList(RESPONSE_URL, 'prod-east', { ok: true, value: services }, { page: 2, forcedDownSince: new Map() });
    expect(t.responses[0]).toMatchObject({ response_type: 'ephemeral', text: '30 forced down · 0 down (of 30 compute hosts) in *prod-east*' });
    expect(JSON.stringify(t.responses[0])).toContain('page 2 of 2');
    await t.notifier.replyList(RESPONSE_URL, 'prod-east', { ok: false, failure: { code: 'NOVA_UNAVAILABLE', message: 'x' } });
    expect(t.responses[1]).toMatchObject({ response_type: 'ephemeral' });
    expect(String(t.responses[1]!.text)).not.toContain('forced down ·');
  });
});
