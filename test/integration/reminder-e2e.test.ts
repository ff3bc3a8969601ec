// "Nothing is forgotten" end to end (issue 15): signed Slack requests to the REAL local bot (`startLocalBot`,
// as `npm start` runs it), its in-process worker and sweep, SQLite, and the REAL Keystone + Nova lab; a fake
// Slack Web API records what people see. With FORCE_DOWN_REMIND_HOURS shortened, a host forced down through
// the bot gets a reminder in its card's thread once per period (never twice for one period, whatever the
// number of sweeps), not while Nova says it is no longer forced down (unset by hand), `/force-down list` says how
// long it has been forced down, and nothing is reminded of once it is unset. Lab host: compute5 only (put back to forced_down=false at the end, so reruns work).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { localBotFiles } from './local-bot-env.js';
import { CHANNEL, buttonsOf, createSlackSender, fenceValues, recoveryValues, slashCommand, textOf, user, viewSubmission, blockActions } from './slack-helpers.js';

const SIGNING_SECRET = `e2e-signing-${randomBytes(16).toString('hex')}`;
const CLOUD = 'lab';
const HOST = 'compute5';
/** FORCE_DOWN_REMIND_HOURS: 0.01 h = 36 s. The bots' clock is moved past it: nothing waits for it. */
const REMIND_HOURS = '0.01';
const PERIOD_MS = 36_000;

const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
let dir: string;
let bot: Awaited<ReturnType<typeof startLocalBot>> | undefined;
const logLines: string[] = [];

/** The bot's clock: real time plus an offset the test moves forward (past a reminder period). */
const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  slack = await startFakeSlackApi();
  await probe.reset(HOST);
  dir = mkdtempSync(join(tmpdir(), 'fd-reminder-e2e-'));
});

afterAll(async () => {
  await bot?.close();
  await slack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await probe?.reset(HOST);
});

const cardText = (ts: string) => textOf(slack.message(CHANNEL.id, ts)?.blocks);
/** The card's thread, oldest first. */
const thread = (ts: string) => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === ts).map((c) => String(c.body.text));
const reminders = (ts: string) => thread(ts).filter((l) => l.includes('has been forced down for'));

describe('a host left forced down is not forgotten', () => {
  it('reminds in its card thread once per period, with the unset command; list says for how long; none once unset', async () => {
    const { env } = localBotFiles(dir, {
      secret: { slack: { signingSecret: SIGNING_SECRET, botToken: 'xoxb-test' }, clouds: { [CLOUD]: lab.clouds.admin } },
      slackApiUrl: slack.apiUrl,
      approvers: APPROVER.id,
      channel: CHANNEL.id,
    });
    bot = await startLocalBot({
      env: { ...env, FORCE_DOWN_TWO_PERSON: 'false', FORCE_DOWN_REMIND_HOURS: REMIND_HOURS },
      log: createJsonLogger({ write: (line) => logLines.push(line) }),
      now: clock.now,
    });
    const b = bot;
    const sender = createSlackSender({ url: () => b.url, signingSecret: SIGNING_SECRET, now: clock.now });
    const slash = async (text: string) => {
      const responseUrl = slack.responseUrl(`cmd-${randomBytes(4).toString('hex')}`);
      expect((await sender.command(slashCommand({ text, user: REQUESTER, responseUrl }))).status).toBe(200);
      return responseUrl;
    };
    /** Opens `action` on HOST and has the approver confirm it; returns the card's ts once the worker is done. */
    const through = async (action: 'force-down' | 'unset') => {
      await slash(action === 'unset' ? `--unset ${HOST}` : `${HOST} --reason PSU dead`);
      await b.queue.idle();
      const request = await b.deps.store.findOpen(CLOUD, HOST, action);
      const ts = request?.messageTs;
      expect(ts, `no card for ${action} ${HOST}`).toBeTruthy();
      const card = slack.message(CHANNEL.id, ts!);
      const actionId = action === 'unset' ? ACTION_IDS.confirmRecovered : ACTION_IDS.confirmFenced;
      const button = buttonsOf(card?.blocks).find((x) => x.action_id === actionId)!;
      const clicked = blockActions({ user: APPROVER, button, messageTs: ts!, responseUrl: slack.responseUrl(`click-${randomBytes(4).toString('hex')}`), messageBlocks: card?.blocks });
      expect((await sender.interact(clicked)).status).toBe(200);
      const opened = await slack.waitFor('views.open', (c) => modalRequestId((c.body.view as { private_metadata?: string }).private_metadata) === request!.id);
      const values = action === 'unset' ? recoveryValues({ verified: true }) : fenceValues({ method: 'bmc', verified: true });
      expect((await sender.interact(viewSubmission({ user: APPROVER, view: opened.body.view as Record<string, unknown>, values }))).status).toBe(200);
      await b.queue.idle();
      return ts!;
    };
    const sweep = async () => {
      await b.queue.enqueue({ kind: 'sweep' });
      await b.queue.idle();
    };

    const ts = await through('force-down');
    expect(await probe.service(HOST)).toMatchObject({ forced_down: true });
    expect(cardText(ts)).toContain(`✅ ${HOST} forced down`);
    expect(cardText(ts)).toContain(`When ${HOST} is repaired: \`/force-down --unset ${HOST}\``);

    // Within the first period: no reminder.
    await sweep();
    expect(reminders(ts)).toEqual([]);

    // One period on: one reminder, whatever the number of sweeps (three at once, then another).
    clock.offsetMs += PERIOD_MS + 2_000;
    await Promise.all([b.queue.enqueue({ kind: 'sweep' }), b.queue.enqueue({ kind: 'sweep' }), b.queue.enqueue({ kind: 'sweep' })]);
    await b.queue.idle();
    await sweep();
    expect(reminders(ts)).toHaveLength(1);
    expect(reminders(ts)[0]).toMatch(new RegExp(`^${HOST} has been forced down for \\d+ s\\. When it is repaired: \`/force-down --unset ${HOST}\`$`));

    // `/force-down list`: the counts, and how long compute5 has been forced down (from our records). Others share
    // the lab and may have many hosts forced down: page through (`and N more — /force-down list --page N`) to find it.
    let line: string | undefined;
    for (let page = 1; !line; page++) {
      const listUrl = await slash(page === 1 ? 'list' : `list --page ${page}`);
      const listed = await slack.waitFor('response_url', (c) => listUrl.endsWith(c.path));
      const texts = JSON.stringify(listed.body);
      expect(texts).toMatch(/\d+ forced down · \d+ down \(of \d+ compute hosts\)/);
      line = textOf((listed.body as { blocks?: unknown }).blocks)
        .split('\n')
        .find((l) => l.startsWith(`• *${HOST}*:`));
      if (!line) expect(texts, `${HOST} is on no page up to ${page}`).toContain(`/force-down list --page ${page + 1}`);
    }
    expect(line).toMatch(new RegExp(`^• \\*${HOST}\\*: forced down for \\d+ s \\(since `));

    // The next period: the next reminder.
    clock.offsetMs += PERIOD_MS;
    await sweep();
    await sweep();
    expect(reminders(ts)).toHaveLength(2);
    expect(reminders(ts)[1]).toMatch(/has been forced down for 1 min\./);

    // Someone unsets it by hand in Nova: Nova's list (read by the sweep) says it is not forced down, so no reminder.
    await probe.setForcedDown(HOST, false);
    clock.offsetMs += PERIOD_MS;
    await sweep();
    expect(reminders(ts)).toHaveLength(2);
    // Forced down again by hand: our records still say forced down since the bot did it, so the reminders resume.
    await probe.setForcedDown(HOST, true);
    clock.offsetMs += PERIOD_MS;
    await sweep();
    expect(reminders(ts)).toHaveLength(3);
    expect(reminders(ts)[2]).toMatch(/has been forced down for 2 min\./);

    // Unset through the bot: no more reminders, however long after.
    await through('unset');
    expect(await probe.service(HOST)).toMatchObject({ forced_down: false });
    clock.offsetMs += 5 * PERIOD_MS;
    await sweep();
    expect(reminders(ts)).toHaveLength(3);
    // No secret in what was logged.
    expect(logLines.join('\n')).not.toContain(SIGNING_SECRET);
  });
});
