// Issue #11, finding 8: cards can be made to lie. Against the local bot as its own process (SQLite,
// in-process worker, the real lab's Nova): an Alertmanager webhook (bearer token) and signed slash
// commands and modal submissions carry text written to pass for the bot's own words — the issue's
// summary "\n*✅ rt1 is forced down in Nova (by approver)*", mentions, links, code spans, quotes — and
// the test reads what the fake Slack received. Invented hosts (Nova does not know them: the card
// still renders) for the alert cards; the lab's alert3 and alert4 for a force-down carried through to
// ✅ with a hostile reason and note (reset afterwards).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFakeSlackApi, type FakeSlackApi, type StoredMessage } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { localBotFiles } from '../integration/local-bot-env.js';
import { fenceValues, user, viewSubmission } from '../integration/slack-helpers.js';
import { EVENT_DEADLINE_MS, until } from '../integration/wait.js';
import { FAKE_STATUS, expectQuotedLinesInert, ownBlocks, quotedLines } from '../unit/slack/untrusted.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { createSlackFlow, FLOW_CHANNEL } from './slack-flow.js';

const SIGNING = 'lying-cards-signing-secret-7c1d';
const AM_TOKEN = 'lying-cards-alertmanager-token-2b9e4f';
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');
const CARD_LABELS = ['Alert', 'Alert summary', 'Reason', 'Confirmation note'];

/** Hostile text: the fake status line, then everything else mrkdwn would act on. */
const HOSTILE = `${FAKE_STATUS}\n> ✅ *done* <!channel> <@${APPROVER.id}> <http://evil.example|runbook> \`code\` ~x~ _y_ :white_check_mark: @here “closed”\u202e`;
/** The same, as the words of a slash command (the parser splits on blanks). */
const HOSTILE_WORDS = HOSTILE.replace(/\s+/g, ' ').trim();
const HOSTILE_LINK = 'https://alertmanager.example.com@evil.example:8443/#/alerts?x=1&y=2';

const suffix = randomBytes(3).toString('hex');
const invented = (name: string) => `${name}-${suffix}.invalid.example`;

/** An Alertmanager v4 notification: one alert per host, as Alertmanager posts it. */
function alertmanagerBody(hosts: string[], text: { name: string; summary: string; link: string }): string {
  return JSON.stringify({
    receiver: 'force-down',
    status: 'firing',
    alerts: hosts.map((host, i) => ({
      status: 'firing',
      labels: { alertname: text.name, instance: `${host}:9100`, severity: 'critical' },
      annotations: { summary: text.summary },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: text.link,
      fingerprint: `${suffix}${host.length}${i}`,
    })),
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example.org:9093',
    version: '4',
    groupKey: `{}:{instance="${hosts[0]}"}`,
    truncatedAlerts: 0,
  });
}

/** A message's blocks as the same card for another host would read: host names, ids, times and ages masked. */
function normalised(blocks: unknown, hosts: readonly string[]): string {
  let json = JSON.stringify(blocks);
  for (const h of hosts) json = json.split(h).join('HOST');
  return json.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID').replace(/\d+/g, '#');
}

describe('cards cannot be made to lie (issue #11, finding 8): the local bot process', () => {
  let lab: Lab;
  let probe: ReturnType<typeof createNovaProbe>;
  let slack: FakeSlackApi;
  let bot: ChildBot;
  let dir: string;
  let db: string;
  let flow: ReturnType<typeof createSlackFlow>;
  const LAB_HOSTS = ['alert3', 'alert4'] as const;

  beforeAll(async () => {
    lab = loadLab();
    probe = createNovaProbe(lab);
    for (const h of LAB_HOSTS) {
      expect(lab.hosts.alert).toContain(h);
      await probe.reset(h);
    }
    slack = await startFakeSlackApi();
    dir = mkdtempSync(join(tmpdir(), 'fd-lying-'));
    const files = localBotFiles(dir, {
      secret: { slack: { signingSecret: SIGNING, botToken: 'xoxb-lying' }, alerts: { alertmanager: { token: AM_TOKEN } }, clouds: { lab: lab.clouds.admin } },
      slackApiUrl: slack.apiUrl,
      approvers: APPROVER.id,
      channel: FLOW_CHANNEL.id,
    });
    db = files.db;
    bot = await startChildBot({
      ...files.env,
      // Each webhook its own card: the hostile and the harmless alert must not share one.
      FORCE_DOWN_GROUP_WINDOW_SECONDS: '0',
      // alert3/4 were just reset (which moves the updated_at the heartbeat watch reads); the watch is not what this is about.
      FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
    });
    flow = createSlackFlow({ slack, url: () => bot.url, signingSecret: SIGNING, db, cloud: 'lab' });
  });

  afterAll(async () => {
    await bot?.close();
    await slack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const h of LAB_HOSTS) await probe?.reset(h);
  });

  const card = (ts: string): StoredMessage => slack.message(FLOW_CHANNEL.id, ts)!;

  async function postAlert(hosts: string[], text: { name: string; summary: string; link: string }) {
    const res = await fetch(`${bot.url}/alerts/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AM_TOKEN}`, 'content-type': 'application/json' },
      body: alertmanagerBody(hosts, text),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ opened: hosts.length, failed: 0 });
  }

  /** The request's state in the bot's SQLite file. */
  async function stateOf(requestId: string): Promise<string | undefined> {
    const peek = createSqliteStore({ path: db });
    try {
      return (await peek.get(requestId))?.state;
    } finally {
      peek.close();
    }
  }

  /** Every chat.postMessage / chat.update the bot sent about message `ts` (the card, and its thread). */
  const callsAbout = (ts: string) =>
    [...slack.calls('chat.postMessage'), ...slack.calls('chat.update')].filter((c) => c.error === undefined && (c.body.ts === ts || c.body.thread_ts === ts));

  /** What every message the bot sent about `ts` must hold: the written words only in quoted blocks, never in a notification text. */
  function expectNoLieSent(ts: string) {
    const calls = callsAbout(ts);
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) {
      const text = String(c.body.text ?? '');
      expect(text).not.toContain('\n*✅');
      expect(text).not.toContain('rt1 is forced down in Nova (by approver)*');
      expect(text).not.toMatch(/<!channel>|<http:\/\/evil|\u202e/);
      for (const own of ownBlocks(c.body.blocks)) {
        const json = JSON.stringify(own);
        expect(json).not.toContain('rt1 is forced down');
        expect(json).not.toContain('evil.example');
        expect(json).not.toContain('white_check_mark');
      }
      expectQuotedLinesInert(quotedLines(c.body.blocks), [...CARD_LABELS, 'Alert', 'Fingerprint', 'Note']);
    }
  }

  it(
    'an alert whose name, summary and link pass for the bot: its card reads as a harmless alert’s but for the quoted block, where the text is inert and the link shows evil.example',
    async () => {
      const [liar, honest] = [invented('lying-am'), invented('honest-am')];
      await postAlert([liar], { name: `HostDown${FAKE_STATUS}`, summary: HOSTILE, link: HOSTILE_LINK });
      await postAlert([honest], { name: 'HostDown', summary: 'node_exporter unreachable', link: 'https://alertmanager.example.org/#/alerts' });
      const [a, b] = [await flow.cardOf(liar), await flow.cardOf(honest)];
      await bot.idle();
      // The worker looked the hosts up: Nova does not know them, and the cards say so.
      for (const c of [a, b]) await until(`Nova's view on the card ${c.cardTs}`, () => JSON.stringify(card(c.cardTs).blocks).includes('Nova does not know'));
      await bot.idle();

      const lying = card(a.cardTs);
      const honestCard = card(b.cardTs);
      expect(normalised(ownBlocks(lying.blocks), [liar])).toBe(normalised(ownBlocks(honestCard.blocks), [honest]));
      expect(normalised(lying.text, [liar])).toBe(normalised(honestCard.text, [honest]));

      const lines = quotedLines(lying.blocks);
      expectQuotedLinesInert(lines, CARD_LABELS);
      expect(lines[0]).toBe('Alert: “HostDown ∗✅ rt1 is forced down in Nova (by approver)∗”');
      expect(lines[1]).toMatch(/^Alert summary: “∗✅ rt1 is forced down in Nova \(by approver\)∗ &gt; ✅ ∗done∗ &lt;!channel&gt; &lt;@U0APPROVE1&gt; /);
      expect(lines[2]).toBe('Link: <https://alertmanager.example.com@evil.example:8443/#/alerts?x=1&amp;y=2|open in the alerting tool (evil.example:8443)>');
      expectNoLieSent(a.cardTs);
    },
    3 * EVENT_DEADLINE_MS,
  );

  it(
    'a grouped card: our header ("🔴 3 hosts down"), counts and rows whatever the alert says; its name and summary quoted once under the header',
    async () => {
      const liars = [1, 2, 3].map((i) => invented(`lying-rack${i}`));
      const honest = [1, 2, 3].map((i) => invented(`honest-rack${i}`));
      await postAlert(liars, { name: FAKE_STATUS, summary: HOSTILE, link: HOSTILE_LINK });
      await postAlert(honest, { name: 'RackDown', summary: 'PDU feed A lost power', link: 'https://alertmanager.example.org/' });
      const [a, b] = [await flow.cardOf(liars[0]!), await flow.cardOf(honest[0]!)];
      const rowsLookedUp = (ts: string) => JSON.stringify(card(ts).blocks).split('Nova does not know').length - 1 === 3;
      for (const c of [a, b]) await until(`three rows looked up on ${c.cardTs}`, () => rowsLookedUp(c.cardTs));
      await bot.idle();

      const lying = card(a.cardTs);
      expect((lying.blocks as { type: string; text?: { text: string } }[])[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '🔴 3 hosts down', emoji: true } });
      expect(normalised(ownBlocks(lying.blocks), liars)).toBe(normalised(ownBlocks(card(b.cardTs).blocks), honest));
      expect(normalised(lying.text, liars)).toBe(normalised(card(b.cardTs).text, honest));
      const lines = quotedLines(lying.blocks);
      expectQuotedLinesInert(lines, CARD_LABELS);
      expect(lines[0]).toBe('Alert: “∗✅ rt1 is forced down in Nova (by approver)∗”');
      expectNoLieSent(a.cardTs);
    },
    3 * EVENT_DEADLINE_MS,
  );

  it(
    'a force-down carried to ✅ with a hostile --reason and confirmation note: the state line and thread lines are the bot’s, the note quoted apart',
    async () => {
      async function forceDown(host: string, reason: string, note: string) {
        expect(await flow.slash(`${host} --reason ${reason}`, REQUESTER)).toMatchObject({ status: 200, body: '' });
        const { requestId, cardTs } = await flow.cardOf(host);
        await bot.idle();
        const opened = slack.calls('views.open').length;
        expect((await flow.click(cardTs, ACTION_IDS.confirmFenced, APPROVER)).status).toBe(200);
        const modal = await slack.waitFor('views.open', (c) => slack.calls('views.open').indexOf(c) >= opened, EVENT_DEADLINE_MS);
        const submitted = await flow.sender.interact(viewSubmission({ user: APPROVER, view: modal.body.view as Record<string, unknown>, values: fenceValues({ method: 'bmc', verified: true, note }) }));
        expect(submitted).toMatchObject({ status: 200, body: '' });
        await until(`${host} to be forced down`, async () => (await stateOf(requestId)) === 'succeeded');
        await bot.idle();
        return cardTs;
      }
      const [liar, honest] = LAB_HOSTS;
      const a = await forceDown(liar, HOSTILE_WORDS, HOSTILE);
      const b = await forceDown(honest, 'PSU dead', 'ipmitool chassis power off');
      expect((await probe.service(liar)).forced_down).toBe(true);

      const lying = card(a);
      const divider = (lying.blocks as { type: string }[]).findIndex((x) => x.type === 'divider');
      expect((lying.blocks as { text?: { text: string } }[])[divider + 1]?.text?.text).toBe(`✅ *${liar}* is forced down in Nova (by <@${APPROVER.id}>, fenced: BMC power-off (IPMI/Redfish))`);
      expect(normalised(ownBlocks(lying.blocks), [liar])).toBe(normalised(ownBlocks(card(b).blocks), [honest]));
      expect(normalised(lying.text, [liar])).toBe(normalised(card(b).text, [honest]));
      const lines = quotedLines(lying.blocks);
      expectQuotedLinesInert(lines, CARD_LABELS);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^Reason: “∗✅ rt1 is forced down in Nova \(by approver\)∗ /);
      expect(lines[1]).toMatch(/^Confirmation note: “∗✅ rt1 is forced down in Nova \(by approver\)∗ /);

      // The thread: our lines alike for both; the note only in the confirmation line's quoted block.
      const thread = (ts: string) => slack.calls('chat.postMessage').filter((c) => c.error === undefined && c.body.thread_ts === ts);
      await until('both threads to reach the outcome', () => [a, b].every((ts) => thread(ts).some((c) => String(c.body.text).includes('forced down · Nova'))));
      const ours = (ts: string, host: string) => thread(ts).map((c) => normalised((c.body.blocks as { text: { text: string } }[] | undefined)?.[0]?.text.text ?? c.body.text, [host]));
      expect(ours(a, liar)).toEqual(ours(b, honest));
      const confirmed = thread(a).find((c) => String(c.body.text).includes(' confirmed '))!;
      expect(quotedLines(confirmed.body.blocks)).toEqual([expect.stringMatching(/^Note: “∗✅ rt1 is forced down in Nova \(by approver\)∗ /)]);
      expectNoLieSent(a);
    },
    4 * EVENT_DEADLINE_MS,
  );
});
