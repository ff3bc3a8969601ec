// Case variants of a host name, from outside the bot's process (issue #11, finding 10). The local
// bot (`npm start`'s startLocalBot: SQLite, in-process worker, real Slack listener) runs as a child
// process; this test is Slack: three signed slash commands at once, /force-down RT1, Rt1 and rt1.
// Nova is a fake Keystone + Nova on 127.0.0.1 that knows one host, `rt1`, and matches host names
// exactly (as on PostgreSQL or SQLite), so no lab host is touched.
//
// Wanted: one request, one card; the other two commands answer "already open"; the card, the
// audit line and the force-down use Nova's spelling, rt1; Nova never hears of RT1 or Rt1 in a PUT.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFakeOpenStack, type FakeOpenStack } from '../fakes/fake-openstack.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { fenceValues, user, viewSubmission } from '../integration/slack-helpers.js';
import { until } from '../integration/wait.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { textOf } from './harness.js';
import { createSlackFlow, FLOW_CHANNEL } from './slack-flow.js';

const SIGNING = `case-signing-${randomBytes(8).toString('hex')}`;
const BOT_TOKEN = 'xoxb-host-case-bot-token';
const REQUESTERS = [user('U0REQUEST1', 'alice'), user('U0REQUEST2', 'carol'), user('U0REQUEST3', 'dave')];
const APPROVER = user('U0APPROVE1', 'bob');

let slack: FakeSlackApi;
let openstack: FakeOpenStack;
let bot: ChildBot;
let dir: string;

beforeAll(async () => {
  slack = await startFakeSlackApi();
  openstack = await startFakeOpenStack({ hosts: ['rt1'] });
  dir = mkdtempSync(join(tmpdir(), 'fd-host-case-'));
  const secretFile = join(dir, 'secret.json');
  writeFileSync(
    secretFile,
    JSON.stringify({
      slack: { signingSecret: SIGNING, botToken: BOT_TOKEN },
      clouds: { lab: { auth: { auth_url: openstack.authUrl, username: 'admin', password: 'host-case-pass', project_name: 'admin' }, region_name: 'RegionOne' } },
    }),
    { mode: 0o600 },
  );
  bot = await startChildBot({
    PORT: '0',
    FORCE_DOWN_DB: join(dir, 'force-down.sqlite'),
    FORCE_DOWN_SECRET_FILE: secretFile,
    SLACK_API_URL: slack.apiUrl,
    FORCE_DOWN_APPROVERS: APPROVER.id,
    FORCE_DOWN_CHANNEL: FLOW_CHANNEL.id,
  });
}, 120_000);

afterAll(async () => {
  await bot?.close();
  await openstack?.close();
  await slack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('/force-down RT1, Rt1 and rt1 at once, signed, from outside the bot', () => {
  it('one request and one card, in Nova\'s spelling; the other two answer "already open"; the force-down names rt1', async () => {
    const db = join(dir, 'force-down.sqlite');
    const flow = createSlackFlow({ slack, url: () => bot.url, signingSecret: SIGNING, db, cloud: 'lab' });
    const spellings = ['RT1', 'Rt1', 'rt1'];

    const answers = await Promise.all(spellings.map((host, i) => flow.slash(host, REQUESTERS[i]!)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const already = answers.filter((a) => /There is already an open request to force down/.test(a.body));
    expect(already).toHaveLength(2);

    // The card (found by any spelling: the lock is case-folded), once the worker has posted it.
    const { requestId, cardTs } = await flow.cardOf('RT1');
    expect(requestId).toBeTruthy();
    await bot.idle();
    const cards = slack.calls('chat.postMessage').filter((c) => c.body.channel === FLOW_CHANNEL.id && c.body.thread_ts === undefined);
    expect(cards).toHaveLength(1);

    const peek = createSqliteStore({ path: db });
    try {
      const open = [...(await peek.listByState('pending'))];
      expect(open.map((r) => r.id)).toEqual([requestId]);
      // Nova's spelling recorded; the spelling asked for kept when it was another.
      expect(open[0]!.host).toBe('rt1');
      if (open[0]!.requestedHost !== undefined) expect(['RT1', 'Rt1']).toContain(open[0]!.requestedHost);
    } finally {
      peek.close();
    }

    const card = textOf(slack.message(FLOW_CHANNEL.id, cardTs)?.blocks);
    expect(card).toContain('rt1');
    expect(card).not.toMatch(/\bRT1\b|\bRt1\b/);
    // The audit thread's first line (the request opened) names rt1 too.
    const thread = await until('the audit line of the opened request', () =>
      slack.calls('chat.postMessage').find((c) => c.body.thread_ts === cardTs && /rt1/.test(JSON.stringify(c.body))),
    );
    expect(JSON.stringify(thread.body)).not.toMatch(/\bRT1\b|\bRt1\b/);

    // Confirmed on the card: Nova forces rt1 down, by the UUID it listed for rt1; no other name reaches Nova.
    // (The modal is the one views.open shows after the click, whatever its private_metadata holds.)
    const opened = slack.calls('views.open').length;
    expect((await flow.click(cardTs, ACTION_IDS.confirmFenced, APPROVER)).status).toBe(200);
    const modal = await slack.waitFor('views.open', (c) => slack.calls('views.open').indexOf(c) >= opened);
    const submitted = await flow.sender.interact(
      viewSubmission({ user: APPROVER, view: modal.body.view as Record<string, unknown>, values: fenceValues({ method: 'bmc', verified: true, note: 'PSU dead' }) }),
    );
    expect(submitted.status).toBe(200);
    expect(submitted.body).not.toMatch(/errors/);
    await until('Nova to have rt1 forced down', () => openstack.service('rt1')?.forced_down === true);
    await until('the card to say rt1 is forced down', () => /✅ \*rt1\* is forced down in Nova/.test(textOf(slack.message(FLOW_CHANNEL.id, cardTs)?.blocks)));
    expect(openstack.service('RT1')).toBeUndefined();
    expect(openstack.service('Rt1')).toBeUndefined();
    const puts = openstack.calls().filter((c) => c.method === 'PUT');
    expect(puts.map((c) => c.host)).toEqual(['rt1']);
    // The bot neither erred nor logged a secret-looking failure on the way.
    expect(bot.entries().filter((e) => e.level === 'error')).toEqual([]);
  }, 180_000);
});
