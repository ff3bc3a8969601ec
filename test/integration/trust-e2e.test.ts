// Trust end to end (issue 10): Nova's heartbeat against a fence confirmation, confirmed requests
// whose job never ran, and stale confirmations — through the REAL local HTTP server (`startLocalBot`,
// as `npm start` runs it), its SQLite store and in-process worker, the REAL Keystone + Nova lab, and
// a fake Slack Web API that records what people see. Hosts hb1..hb4 are the lab's heartbeat hosts:
// silent (Nova counts them down) until a test makes them report (test/integration/heartbeat.ts).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { heartbeat, keepReporting, silence, type Reporting } from './heartbeat.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { CHANNEL, blockActions, buttonsOf, createSlackSender, fenceValues, slashCommand, textOf, user, viewSubmission, type SlackUser } from './slack-helpers.js';
import { until } from './wait.js';

const SIGNING_SECRET = `trust-signing-${randomBytes(16).toString('hex')}`;
const CLOUD = 'lab';
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
let hb: string[];
const reporting: Reporting[] = [];
const dirs: string[] = [];
const logLines: string[] = [];

type LocalBot = Awaited<ReturnType<typeof startLocalBot>>;
const bots: LocalBot[] = [];

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  hb = lab.hosts.heartbeat;
  expect(hb.length).toBeGreaterThanOrEqual(4);
  slack = await startFakeSlackApi();
});

afterEach(async () => {
  await Promise.all(reporting.splice(0).map((r) => r.stop()));
  for (const b of bots.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  slack.reset();
  for (const h of hb) {
    await probe.reset(h);
    await silence(lab, h, 600);
  }
});

afterAll(async () => {
  await slack?.close();
});

/** A bot directory: its secret file and SQLite file (kept across a restart). */
function botDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fd-trust-e2e-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'secret.json'), JSON.stringify({ slack: { signingSecret: SIGNING_SECRET, botToken: 'xoxb-test' }, clouds: { [CLOUD]: lab.clouds.admin } }), { mode: 0o600 });
  return dir;
}

const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };

async function startBot(dir = botDir(), env: Record<string, string> = {}) {
  const bot = await startLocalBot({
    env: {
      PORT: '0',
      FORCE_DOWN_DB: join(dir, 'force-down.sqlite'),
      FORCE_DOWN_SECRET_FILE: join(dir, 'secret.json'),
      SLACK_API_URL: slack.apiUrl,
      FORCE_DOWN_APPROVERS: APPROVER.id,
      FORCE_DOWN_CHANNEL: CHANNEL.id,
      ...env,
    },
    log: createJsonLogger({ write: (line) => logLines.push(line) }),
    now: clock.now,
  });
  bots.push(bot);
  const sender = createSlackSender({ url: () => bot.url, signingSecret: SIGNING_SECRET, now: clock.now });
  return {
    bot,
    dir,
    async slash(text: string, who: SlackUser = REQUESTER) {
      return sender.command(slashCommand({ text, user: who, responseUrl: slack.responseUrl(`cmd-${randomBytes(4).toString('hex')}`) }));
    },
    async card(host: string) {
      await bot.queue.idle();
      const request = await until(`a card for ${host}`, async () => {
        const r = await bot.deps.store.findOpen(CLOUD, host, 'force-down');
        return r?.messageTs ? r : undefined;
      });
      return { request, ts: request.messageTs! };
    },
    async click(ts: string, actionId: string, who: SlackUser) {
      const card = slack.message(CHANNEL.id, ts);
      const button = buttonsOf(card?.blocks).find((b) => b.action_id === actionId);
      if (!button) throw new Error(`the card has no ${actionId} button`);
      const responseUrl = slack.responseUrl(`click-${randomBytes(4).toString('hex')}`);
      return { res: await sender.interact(blockActions({ user: who, button, messageTs: ts, responseUrl, messageBlocks: card?.blocks })), responseUrl };
    },
    async submit(view: Record<string, unknown>, who: SlackUser, method: 'bmc' | 'pdu' = 'bmc') {
      return sender.interact(viewSubmission({ user: who, view, values: fenceValues({ method, verified: true }) }));
    },
  };
}

const cardText = (ts: string) => textOf(slack.message(CHANNEL.id, ts)?.blocks);
const buttonLabels = (ts: string) => buttonsOf(slack.message(CHANNEL.id, ts)?.blocks).map((b) => b.text?.text);
/** Every version of the card people saw (posts and updates), oldest first. */
const versions = (ts: string) =>
  slack
    .calls()
    .filter((c) => (c.method === 'chat.update' && c.body.ts === ts) || (c.method === 'chat.postMessage' && c.body.thread_ts === undefined))
    .map((c) => textOf(c.body.blocks));
const thread = (ts: string) => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === ts).map((c) => String(c.body.text));
const modalFor = (requestId: string) => slack.waitFor('views.open', (c) => modalRequestId((c.body.view as { private_metadata?: string } | undefined)?.private_metadata) === requestId);
const modalUpdate = (requestId: string) => slack.waitFor('views.update', (c) => modalRequestId((c.body.view as { private_metadata?: string } | undefined)?.private_metadata) === requestId);

/** `/force-down host` → card → Confirm fenced… → the modal as opened and as the worker updated it. */
async function askAndOpenModal(b: Awaited<ReturnType<typeof startBot>>, host: string) {
  expect((await b.slash(host)).status).toBe(200);
  const { request, ts } = await b.card(host);
  expect((await b.click(ts, ACTION_IDS.confirmFenced, APPROVER)).res.status).toBe(200);
  const opened = await modalFor(request.id);
  const view = opened.body.view as Record<string, unknown>;
  const updated = await modalUpdate(request.id);
  expect(String(updated.body.view_id)).toMatch(/^V0FAKE/);
  return { request, ts, view, updatedView: updated.body.view as Record<string, unknown> };
}

describe('heartbeat watch: Nova\'s own evidence against the confirmation', () => {
  it('a host that keeps reporting to Nova is not forced down: ⚠ on the card and in the modal, then ❌ HOST_STILL_REPORTING with Retry…', async () => {
    const host = hb[0]!;
    reporting.push(await keepReporting(lab, host, 3_000));
    const b = await startBot();
    const { request, ts, view, updatedView } = await askAndOpenModal(b, host);
    expect(cardText(ts)).toMatch(new RegExp(`⚠ Nova heard from \\*${host}\\* \\d+ s ago: it may not be fenced`));
    expect(textOf(view)).toContain(`Checking when Nova last heard from *${host}*…`);
    expect(textOf(updatedView)).toMatch(new RegExp(`⚠ Nova heard from \\*${host}\\* \\d+ s ago: it may not be fenced`));

    expect((await b.submit(view, APPROVER)).status).toBe(200);
    const failed = await until('the outcome', async () => {
      const r = await b.bot.deps.store.get(request.id);
      return r?.state === 'failed' ? r : undefined;
    });
    await b.bot.queue.idle();
    expect(failed.outcome?.code).toBe('HOST_STILL_REPORTING');
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
    // (Whether the card showed "⏳ waiting…" first depends on when the next report lands: a report between
    // the confirmation and the job's first read refuses at once. The next test shows the wait.)
    expect(cardText(ts)).toMatch(new RegExp(`❌ \\*${host}\\* is not forced down: it still reports to Nova \\(last heartbeat \\d+ s ago\\) — check the fence \\(BMC power state, switch port\\) and confirm again`));
    expect(buttonLabels(ts)).toEqual(['Retry…', 'Cancel']);
    expect(thread(ts).some((l) => l.includes('HOST_STILL_REPORTING'))).toBe(true);
  });

  it('a host that stopped reporting just before the confirmation: the worker waits the heartbeat wait out, reading Nova, then forces it down', async () => {
    const host = hb[1]!;
    const b = await startBot(); // the default wait, 20 s
    const { request, ts, view } = await askAndOpenModal(b, host);
    // Its last report lands just before the approver submits: the worker must wait 20 s from it.
    const last = await heartbeat(lab, host);
    expect(last.lastSeenUp).toBeTruthy();
    expect((await b.submit(view, APPROVER)).status).toBe(200);
    await until('forced down in Nova', async () => (await probe.service(host)).forced_down === true);
    await b.bot.queue.idle();
    expect((await b.bot.deps.store.get(request.id))?.state).toBe('succeeded');
    expect(versions(ts).some((v) => v.includes(`⏳ waiting to see whether *${host}* still reports to Nova…`))).toBe(true);
    expect(cardText(ts)).toContain(`✅ *${host}* is forced down in Nova`);
  });

  it('a silent host: no warning, the modal says when Nova last heard from it, forced down without a wait', async () => {
    const host = hb[2]!;
    await silence(lab, host, 600);
    const b = await startBot();
    const { request, ts, view, updatedView } = await askAndOpenModal(b, host);
    expect(cardText(ts)).not.toContain('Nova heard from');
    expect(textOf(updatedView)).toContain(`Nova last heard from *${host}* 10 min ago (service \`down\`).`);
    expect((await b.submit(view, APPROVER)).status).toBe(200);
    await until('forced down in Nova', async () => (await probe.service(host)).forced_down === true);
    await b.bot.queue.idle();
    expect((await b.bot.deps.store.get(request.id))?.state).toBe('succeeded');
    expect(versions(ts).some((v) => v.includes('waiting to see whether'))).toBe(false);
  });
});

describe('a confirmed request never hangs', () => {
  /** Records an approver's confirmation the way the modal does, as a bot that died before its job ran left it. */
  async function confirmedButNeverRun(dir: string, id: string, confirmedAt: number) {
    const store = createSqliteStore({ path: join(dir, 'force-down.sqlite') });
    try {
      const at = new Date(confirmedAt).toISOString();
      const res = await store.transition(id, ['pending'], 'approved', at, { confirmation: { by: APPROVER.id, at, method: 'bmc' } }, APPROVER.id);
      expect(res.ok).toBe(true);
    } finally {
      store.close();
    }
  }

  /** `/force-down host` on a bot that then died with the request confirmed at `confirmedAt` and its job never run; a new bot on the same store. */
  async function restartedAfterConfirming(host: string, confirmedAt: number) {
    const first = await startBot();
    expect((await first.slash(host)).status).toBe(200);
    const { request, ts } = await first.card(host);
    await first.bot.close();
    bots.splice(bots.indexOf(first.bot), 1);
    await confirmedButNeverRun(first.dir, request.id, confirmedAt);
    return { request, ts, second: await startBot(first.dir) };
  }

  it('the bot died after the confirmation, before its job ran: the restarted bot runs it (confirmation fresh) — forced down, card ✅ in place', async () => {
    const host = hb[3]!;
    const { request, ts, second } = await restartedAfterConfirming(host, Date.now());
    await until('forced down in Nova', async () => (await probe.service(host)).forced_down === true);
    await until('the card shows it', async () => cardText(ts).includes(`✅ *${host}* is forced down in Nova`));
    expect((await second.bot.deps.store.get(request.id))?.state).toBe('succeeded');
  });

  it('…and with a stale confirmation: ❌ CONFIRMATION_STALE, Nova untouched, Retry… asks for a new confirmation that then forces it down', async () => {
    const host = hb[3]!;
    const { request, ts, second } = await restartedAfterConfirming(host, Date.now() - 15 * 60_000);
    await until('the card says the confirmation is too old', async () => cardText(ts).includes('the confirmation is too old to act on'));
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
    expect((await second.bot.deps.store.get(request.id))?.outcome?.code).toBe('CONFIRMATION_STALE');
    expect(buttonLabels(ts)).toEqual(['Retry…', 'Cancel']);

    expect((await second.click(ts, ACTION_IDS.confirmFenced, APPROVER)).res.status).toBe(200);
    const view = (await modalFor(request.id)).body.view as Record<string, unknown>;
    expect((await second.submit(view, APPROVER, 'pdu')).status).toBe(200);
    await until('forced down in Nova', async () => (await probe.service(host)).forced_down === true);
    await until('the card shows it', async () => cardText(ts).includes(`✅ *${host}* is forced down in Nova`));
  });

  it('an approver cancels a confirmed request whose job has not started; the requester may not; Nova is never called', async () => {
    const host = hb[3]!;
    const b = await startBot();
    expect((await b.slash(host)).status).toBe(200);
    const { request, ts } = await b.card(host);
    // Confirmed, and its job lost (as when Lambda's Invoke was throttled): the card still shows Cancel.
    const at = new Date(clock.now()).toISOString();
    expect((await b.bot.deps.store.transition(request.id, ['pending'], 'approved', at, { confirmation: { by: APPROVER.id, at, method: 'bmc' } }, APPROVER.id)).ok).toBe(true);

    const refused = await b.click(ts, ACTION_IDS.cancelRequest, REQUESTER);
    expect(refused.res.status).toBe(200);
    const answer = await slack.waitFor('response_url', (c) => refused.responseUrl.endsWith(c.path));
    expect(String(answer.body.text)).toContain('only an approver may cancel it now, before it runs');
    expect((await b.bot.deps.store.get(request.id))?.state).toBe('approved');

    expect((await b.click(ts, ACTION_IDS.cancelRequest, APPROVER)).res.status).toBe(200);
    await until('cancelled', async () => (await b.bot.deps.store.get(request.id))?.state === 'cancelled');
    await b.bot.queue.idle();
    expect(cardText(ts)).toContain(`Cancelled by <@${APPROVER.id}>`);
    // The sweep, long after: nothing left to run.
    clock.offsetMs = 5 * 60_000;
    try {
      await b.bot.queue.enqueue({ kind: 'sweep' });
      await b.bot.queue.idle();
    } finally {
      clock.offsetMs = 0;
    }
    expect((await b.bot.deps.store.get(request.id))?.state).toBe('cancelled');
    expect(await probe.service(host)).toMatchObject({ forced_down: false });
  });
});

describe('no secret in what people or logs see', () => {
  it('the signing secret and the lab password never appear in a log line or a Slack call', () => {
    const seen = [...logLines, ...slack.calls().map((c) => JSON.stringify(c.body))].join('\n');
    expect(seen).not.toContain(SIGNING_SECRET);
    expect(seen).not.toContain(String(lab.clouds.admin.auth.password));
  });
});
