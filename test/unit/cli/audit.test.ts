// The CLI's Slack audit line: posted after Nova answered, with who, host,
// cloud, fence method, note and outcome code; a hung or failing Slack only
// adds a warning. Order is asserted on recorded events, never on timings.
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTarget, auditText, postAudit, whoRanIt } from '../../../src/cli/audit.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { harness, secretFile } from './harness.js';

const TOKEN = 'xoxb-SEKRET-bot-000';

interface Posted {
  url: string;
  headers: Record<string, string>;
  body: { channel: string; text: string };
}

/** A fetch that records its calls in `events`; `answer` decides what Slack does. */
function fakeFetch(events: string[], answer: (posted: Posted) => Promise<Response> | 'hang' = async () => Response.json({ ok: true, ts: '1.000001' })) {
  const posted: Posted[] = [];
  const f = (async (url: string | URL | Request, init?: RequestInit) => {
    events.push('slack start');
    const p: Posted = { url: String(url), headers: Object.fromEntries(new Headers(init?.headers).entries()), body: JSON.parse(String(init?.body)) };
    posted.push(p);
    const a = answer(p);
    if (a === 'hang') return new Promise<Response>(() => {}); // never answers, ignores the abort signal
    const res = await a;
    events.push('slack done');
    return res;
  }) as typeof fetch;
  return { fetch: f, posted };
}

const auditEnv = (extra: Record<string, string> = {}) => ({
  FORCE_DOWN_SECRET_FILE: secretFile(['prod', 'dr'], { botToken: TOKEN }),
  FORCE_DOWN_CHANNEL: 'C0AUDIT001',
  SLACK_API_URL: 'http://slack.test/api/',
  OS_CLOUD: 'dr',
  USER: 'alice',
  ...extra,
});

describe('the audit line', () => {
  it('force-down: posts one line to FORCE_DOWN_CHANNEL with chat.postMessage and the bot token, after the Nova call and the answer', async () => {
    const h = harness();
    const slack = fakeFetch(h.events);
    const r = await h.run(['compute1', '--fenced', 'pdu', '--note', 'PDU 7 outlet 3'], auditEnv(), { fetch: slack.fetch });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(h.events).toEqual(['nova GET compute1', 'nova PUT compute1 true', 'out', 'slack start', 'slack done', 'close']);
    expect(slack.posted).toHaveLength(1);
    const [p] = slack.posted;
    expect(p!.url).toBe('http://slack.test/api/chat.postMessage');
    expect(p!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(p!.headers['content-type']).toMatch(/^application\/json/);
    expect(p!.body.channel).toBe('C0AUDIT001');
    const text = p!.body.text;
    expect(text).toMatch(/^`2026-11-25T14:00:00\.000Z` breakglass CLI: /);
    expect(text).toContain(`alice@${hostname()} forced down *compute1* in dr`);
    expect(text).toContain('fenced: PDU outlet switched off');
    expect(text).toContain('note: “PDU 7 outlet 3”');
    expect(text).toContain('Nova: `PUT /os-services/{id}` @ 2.53 → *OK*');
  });

  it('--unset is audited too (no fence method), and a failure carries its code; the exit code is Nova\'s', async () => {
    const h = harness({ putFailure: { code: 'EVACUATIONS_PENDING', message: 'Nova refused: evacuations not cleaned up', request: 'PUT /os-services/{id}', status: 400 } });
    const slack = fakeFetch(h.events);
    const r = await h.run(['--unset', 'compute1', '--note', 'repaired'], auditEnv(), { fetch: slack.fetch });
    expect(r.code).toBe(3);
    const text = slack.posted[0]!.body.text;
    expect(text).toContain(`alice@${hostname()} failed to unset forced-down on *compute1* in dr`);
    expect(text).not.toContain('fenced:');
    expect(text).toContain('note: “repaired”');
    expect(text).toContain('Nova: `PUT /os-services/{id}` → *EVACUATIONS_PENDING* (HTTP 400): Nova refused');
    expect(h.events.indexOf('nova PUT compute1 false')).toBeLessThan(h.events.indexOf('slack start'));
  });

  it('a hung Slack: the answer and exit code stand, a warning says so; the Nova call came before the post began', async () => {
    const h = harness();
    const slack = fakeFetch(h.events, () => 'hang');
    const r = await h.run(['compute1', '--fenced', 'bmc', '--json'], auditEnv(), { fetch: slack.fetch, auditTimeoutMs: 5 });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, forcedDown: true, cloud: 'dr' });
    expect(h.events).toEqual(['nova GET compute1', 'nova PUT compute1 true', 'out', 'slack start', 'err', 'close']);
    expect(h.events).not.toContain('slack done');
    expect(r.err).toBe('force-down: warning: the audit line was not posted to Slack channel C0AUDIT001: Slack did not answer within 0.005 s');
  });

  it.each([
    ['an API error', async () => Response.json({ ok: false, error: 'invalid_auth' }), 'Slack answered invalid_auth'],
    ['HTTP 500', async () => new Response('oops', { status: 500 }), 'Slack answered HTTP 500'],
    ['a network error', async () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })), 'Slack could not be reached (ECONNREFUSED)'],
  ] as const)('a failing Slack (%s) is a warning only, never the token', async (_what, answer, why) => {
    for (const [argv, exit] of [
      [['compute1', '--fenced', 'bmc'], 0],
      [['compute1', '--fenced', 'bmc'], 3],
    ] as const) {
      const h = harness(exit === 3 ? { putFailure: { code: 'NOVA_FORBIDDEN', message: 'Nova refused the credentials', status: 403 } } : {});
      const slack = fakeFetch(h.events, answer);
      const r = await h.run([...argv], auditEnv(), { fetch: slack.fetch });
      expect(r.code).toBe(exit);
      expect(r.err).toContain(`force-down: warning: the audit line was not posted to Slack channel C0AUDIT001: ${why}`);
      expect(`${r.out}\n${r.err}`).not.toContain('SEKRET');
      expect(h.events.indexOf('nova PUT compute1 true')).toBeLessThan(h.events.indexOf('slack start'));
    }
  });

  it('HOST_STILL_REPORTING is audited with its code (Nova\'s PUT never made)', async () => {
    const h = harness({ updatedAt: (_read, now) => now - 1_000 });
    const slack = fakeFetch(h.events);
    const r = await h.run(['compute1', '--fenced', 'bmc'], auditEnv(), { fetch: slack.fetch });
    expect(r.code).toBe(3);
    expect(h.events).not.toContain('nova PUT compute1 true');
    expect(slack.posted[0]!.body.text).toMatch(/failed to force down \*compute1\* in dr · fenced: BMC power-off \(IPMI\/Redfish\) · Nova: `GET \/os-services` → \*HOST_STILL_REPORTING\*: compute1 still reports to Nova/);
  });

  it('--ignore-heartbeat is in the line', async () => {
    const h = harness();
    const slack = fakeFetch(h.events);
    await h.run(['compute1', '--fenced', 'dead', '--ignore-heartbeat'], auditEnv(), { fetch: slack.fetch });
    expect(slack.posted[0]!.body.text).toContain('heartbeat watch skipped (--ignore-heartbeat) · Nova: `PUT /os-services/{id}` @ 2.53 → *OK*');
  });

  it('status and list are not audited; usage and configuration errors neither', async () => {
    const h = harness();
    const slack = fakeFetch(h.events);
    await h.run(['status', 'compute1'], auditEnv(), { fetch: slack.fetch });
    await h.run(['list'], auditEnv(), { fetch: slack.fetch });
    await h.run(['compute1'], auditEnv(), { fetch: slack.fetch });
    await h.run(['compute1', '--fenced', 'bmc'], auditEnv({ OS_CLOUD: 'nope' }), { fetch: slack.fetch });
    expect(slack.posted).toEqual([]);
  });

  it('without FORCE_DOWN_CHANNEL, or without a bot token, nothing is posted and stderr says why', async () => {
    const h = harness();
    const slack = fakeFetch(h.events);
    const noChannel = await h.run(['compute1', '--fenced', 'bmc'], { ...auditEnv(), FORCE_DOWN_CHANNEL: '' }, { fetch: slack.fetch });
    expect(noChannel.code).toBe(0);
    expect(noChannel.err).toBe('force-down: no Slack audit line: FORCE_DOWN_CHANNEL is not set');
    const noToken = await h.run(['compute1', '--fenced', 'bmc'], { ...auditEnv(), FORCE_DOWN_SECRET_FILE: secretFile(['dr'], { botToken: false }) }, { fetch: slack.fetch });
    expect(noToken.code).toBe(0);
    expect(noToken.err).toBe('force-down: no Slack audit line: FORCE_DOWN_CHANNEL is set, but there is no slack.botToken in FORCE_DOWN_SECRET_FILE');
    expect(slack.posted).toEqual([]);
  });

  it('with clouds.yaml and no FORCE_DOWN_CHANNEL, nothing is said', async () => {
    const h = harness();
    const r = await h.run(['compute1', '--fenced', 'bmc'], { OS_AUTH_URL: 'https://keystone.example:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 'admin' });
    expect(r).toMatchObject({ code: 0, err: '' });
  });
});

describe('audit pieces', () => {
  it('whoRanIt: $USER first, then the OS account, @ the host name', () => {
    expect(whoRanIt({ USER: 'bob' })).toBe(`bob@${hostname()}`);
    expect(whoRanIt({ USER: '' })).toMatch(new RegExp(`^[^@]+@${hostname().replace(/[.]/g, '\\.')}$`));
  });

  it('auditTarget: SLACK_API_URL (with or without its slash) or slack.com', () => {
    expect(auditTarget('xoxb-1', { FORCE_DOWN_CHANNEL: 'C1' }).target).toEqual({ token: 'xoxb-1', channel: 'C1', apiUrl: 'https://slack.com/api/' });
    expect(auditTarget('xoxb-1', { FORCE_DOWN_CHANNEL: 'C1', SLACK_API_URL: 'http://x/api' }).target?.apiUrl).toBe('http://x/api/');
    expect(auditTarget(undefined, {})).toEqual({});
  });

  it('auditText escapes what the operator typed: no mention, no link', () => {
    const text = auditText({
      at: 0,
      who: 'eve@<!channel>',
      action: 'force-down',
      host: 'compute1',
      binary: 'nova-compute',
      cloud: 'prod',
      fenced: 'other',
      note: 'see <https://evil|here> & <!here>',
      outcome: { ok: true, request: 'PUT /os-services/{id}', microversion: '2.53' },
    });
    expect(text).not.toMatch(/<[!@h]/);
    expect(text).toContain('eve@&lt;!channel&gt;');
    expect(text).toContain('note: “see &lt;https://evil|here&gt; &amp; &lt;!here&gt;”');
  });
});

describe('postAudit against the fake Slack Web API', () => {
  let slack: FakeSlackApi | undefined;
  afterEach(async () => {
    await slack?.close();
    slack = undefined;
  });

  it('the real fetch reaches chat.postMessage with the token and the text', async () => {
    slack = await startFakeSlackApi();
    const why = await postAudit({ token: TOKEN, channel: 'C0AUDIT001', apiUrl: slack.apiUrl }, 'a line');
    expect(why).toBeUndefined();
    const [call] = slack.calls('chat.postMessage');
    expect(call).toMatchObject({ token: TOKEN, body: { channel: 'C0AUDIT001', text: 'a line' } });
  });

  it('Slack\'s own error is the warning (invalid_auth), and a refused connection is one too', async () => {
    slack = await startFakeSlackApi({ invalidTokens: [TOKEN] });
    expect(await postAudit({ token: TOKEN, channel: 'C1', apiUrl: slack.apiUrl }, 'x')).toBe('Slack answered invalid_auth');
    expect(await postAudit({ token: TOKEN, channel: 'C1', apiUrl: 'http://127.0.0.1:9/api/' }, 'x')).toMatch(/^Slack could not be reached/);
  });
});
