// A rack outage end to end (issue 15, "Many hosts at once"): the local bot (`startLocalBot`, as `npm
// start` runs it: HTTP server, SQLite, in-process worker) gets one alert webhook for rack01..rack41,
// posts one grouped card (two pages) to a fake Slack Web API, and calls the real Nova + Keystone lab
// through a counting proxy. Confirm all fenced… opens one modal listing the 41 hosts; its submission has
// every host checked and forced down on its own: rack17 keeps reporting to Nova (its heartbeats written
// into the lab's cell DB as nova-compute would) and is refused, the other 40 are forced down in Nova, and
// the card sums up. Cancel all… on a fresh rack card cancels every row with 0 calls to Nova's PUT.
//
// The lab seeds rack01..rack41 (test/lab/setup_nova.py, kept up like compute1..6); a lab started before
// they were seeded gets the same rows from this test (the services table of the cell DB and the API DB's
// host mappings), which removes them again at the end, so a running lab is never restarted for it.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ForceDownRequest } from '../../src/domain/request.js';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { BULK_INPUTS, BULK_MODAL_CALLBACK_ID, GROUP_ACTION_IDS, GROUP_ACTIONS_BLOCK_ID, VERIFIED_OPTION_VALUE } from '../../src/slack/ids.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { BUSY_TIMEOUT_MS, withCellDb } from './cell-db.js';
import { keepReporting, novaTime, type Reporting } from './heartbeat.js';
import { createNovaProbe, loadLab, type Lab } from './lab.js';
import { localBotFiles } from './local-bot-env.js';
import { CHANNEL, blockActions, buttonsOf, createSlackSender, textOf, user, viewSubmission } from './slack-helpers.js';
import { until } from './wait.js';

const SIGNING_SECRET = `rack-e2e-signing-${randomBytes(16).toString('hex')}`;
const BOT_TOKEN = `xoxb-rack-e2e-${randomBytes(8).toString('hex')}`;
const ALERT_TOKEN = `rack-e2e-alerts-${randomBytes(12).toString('hex')}`;
const CLOUD = 'lab';
const APPROVER = user('U0APPROVE1', 'bob');
const OUTSIDER = user('U0OUTSIDE1', 'mallory');
/** The rack, as test/lab/setup_nova.py seeds it. */
const RACK_HOSTS = Array.from({ length: 41 }, (_, i) => `rack${String(i + 1).padStart(2, '0')}`);
/** The host that keeps reporting to Nova: not fenced, whatever the approver ticked. */
const ALIVE = 'rack17';
/**
 * Generous: the 41 hosts' card updates and thread lines go out at Slack's pace (about one call a second
 * per channel), and each host's outcome is recorded once its "⏳" row and thread line went out (~3.5 min here).
 */
const DEADLINE_MS = 480_000;

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;
let rack: string[];
/** Rows this test added to a lab started before the rack was seeded (removed in afterAll). */
let added: string[] = [];
const logLines: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

/** The API DB (host mappings) next to the cell1 DB. */
const apiDbOf = (l: Lab) => l.novaCell1Db.replace(/nova_cell1\.sqlite$/, 'nova_api.sqlite');

/**
 * Adds the rack's nova-compute services to a lab started before they were seeded, as setup_nova.py
 * seeds them: a services row like compute1's (a new uuid; last heartbeat 10 minutes old, silent) and
 * a host mapping to the same cell. Returns the hosts it added.
 */
function ensureRack(l: Lab): string[] {
  const missing = withCellDb(l, (db) => RACK_HOSTS.filter((h) => !db.prepare("SELECT 1 FROM services WHERE host = ? AND binary = 'nova-compute' AND deleted = 0").get(h)));
  if (missing.length === 0) return [];
  const then = novaTime(new Date(Date.now() - 600_000));
  withCellDb(l, (db) =>
    db.transaction(() => {
      const insert = db.prepare(
        `INSERT INTO services (created_at, updated_at, deleted_at, host, binary, topic, report_count, disabled, deleted, disabled_reason, last_seen_up, forced_down, version, uuid)
         SELECT ?, ?, NULL, ?, binary, topic, 1, 0, 0, NULL, ?, 0, version, ? FROM services WHERE host = 'compute1' AND binary = 'nova-compute' AND deleted = 0`,
      );
      for (const h of missing) if (insert.run(then, then, h, then, randomUUID()).changes !== 1) throw new Error(`could not add ${h} to ${l.novaCell1Db}`);
    }).immediate(),
  );
  const api = new Database(apiDbOf(l), { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    const map = api.prepare("INSERT OR IGNORE INTO host_mappings (created_at, cell_id, host) SELECT ?, cell_id, ? FROM host_mappings WHERE host = 'compute1'");
    api.transaction(() => {
      for (const h of missing) map.run(then, h);
    }).immediate();
  } finally {
    api.close();
  }
  return missing;
}

/** Removes the rows {@link ensureRack} added, and their host mappings: the lab is left as it was. */
function removeRack(l: Lab, hosts: readonly string[]): void {
  if (hosts.length === 0) return;
  const marks = hosts.map(() => '?').join(',');
  withCellDb(l, (db) => db.prepare(`DELETE FROM services WHERE binary = 'nova-compute' AND host IN (${marks})`).run(...hosts));
  const api = new Database(apiDbOf(l), { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    api.prepare(`DELETE FROM host_mappings WHERE host IN (${marks})`).run(...hosts);
  } finally {
    api.close();
  }
}

/** The rack as the lab seeds it: not forced down, last heartbeat old (silent). */
async function resetRack(): Promise<void> {
  for (const h of rack) await probe.reset(h);
  const then = novaTime(new Date(Date.now() - 600_000));
  const marks = rack.map(() => '?').join(',');
  withCellDb(lab, (db) => db.prepare(`UPDATE services SET updated_at = ? WHERE binary = 'nova-compute' AND deleted = 0 AND host IN (${marks})`).run(then, ...rack));
}

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  added = ensureRack(lab);
  rack = RACK_HOSTS;
  slack = await startFakeSlackApi();
  await resetRack();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  slack.reset();
  await resetRack();
});

afterAll(async () => {
  await slack?.close();
  if (lab) removeRack(lab, added);
});

/** The local bot as `npm start` runs it, with the generic alert source, its Nova reached through a counting proxy. */
async function startBot() {
  const dir = mkdtempSync(join(tmpdir(), 'fd-rack-e2e-'));
  const proxy: FaultyOpenStack = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  const admin = lab.clouds.admin;
  const { env } = localBotFiles(dir, {
    secret: {
      slack: { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN },
      alerts: { generic: { token: ALERT_TOKEN } },
      clouds: { [CLOUD]: { ...admin, auth: { ...admin.auth, auth_url: proxy.authUrl } } },
    },
    slackApiUrl: slack.apiUrl,
    approvers: APPROVER.id,
    channel: CHANNEL.id,
  });
  const bot = await startLocalBot({
    env: { ...env, FORCE_DOWN_GROUP_WINDOW_SECONDS: '30', FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '10' },
    log: createJsonLogger({ write: (line) => logLines.push(line) }),
  });
  cleanups.push(async () => {
    await bot.close();
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const sender = createSlackSender({ url: () => bot.url, signingSecret: SIGNING_SECRET, now: Date.now });

  const requests = async (): Promise<ForceDownRequest[]> => {
    const states = ['pending', 'approved', 'executing', 'failed', 'succeeded', 'cancelled', 'expired'] as const;
    return (await Promise.all(states.map((s) => bot.deps.store.listByState(s)))).flat().filter((r) => rack.includes(r.host));
  };

  return {
    bot,
    proxy,
    requests,
    /** One webhook (POST /alerts/generic) firing for every host of the rack at once. */
    async alertRack() {
      const res = await fetch(`${bot.url}/alerts/generic`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ALERT_TOKEN}` },
        body: JSON.stringify(rack.map((host) => ({ host, status: 'firing', summary: 'rack B12 lost both PDU feeds', id: `rack-e2e-${host}-${randomBytes(4).toString('hex')}` }))),
      });
      expect(res.status).toBe(200);
    },
    /** The rack's grouped card once every page is posted: its pages' ts, in order. */
    async card(): Promise<{ group: string; pages: string[] }> {
      return until(
        'the rack card, every page posted',
        async () => {
          const all = await requests();
          const groups = new Set(all.map((r) => r.group));
          if (all.length !== rack.length || groups.size !== 1) return undefined;
          const group = [...groups][0]!;
          const pages = (await bot.deps.store.getGroup(group))?.messages ?? [];
          return pages.length === 2 && all.every((r) => r.messageTs === pages[0]) ? { group, pages } : undefined;
        },
        { timeoutMs: DEADLINE_MS },
      );
    },
    /** `who` clicks the card's own button `actionId` (first page); resolves with the click's response_url. */
    async click(ts: string, actionId: string, who = APPROVER) {
      const button = buttonsOf(slack.message(CHANNEL.id, ts)?.blocks).find((b) => b.action_id === actionId);
      if (!button) throw new Error(`the card has no ${actionId} button`);
      const responseUrl = slack.responseUrl(`click-${randomBytes(4).toString('hex')}`);
      const res = await sender.interact(blockActions({ user: who, button, messageTs: ts, responseUrl, blockId: GROUP_ACTIONS_BLOCK_ID, messageBlocks: slack.message(CHANNEL.id, ts)?.blocks }));
      expect(res).toMatchObject({ status: 200, body: '' });
      return responseUrl;
    },
    submit: (view: Record<string, unknown>, values: Record<string, Record<string, unknown>>, who = APPROVER) => sender.interact(viewSubmission({ user: who, view, values })),
  };
}

const cardText = (ts: string) => textOf(slack.message(CHANNEL.id, ts)?.blocks);
const thread = (ts: string) => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === ts && c.status === 200).map((c) => String(c.body.text));
const novaPuts = (proxy: FaultyOpenStack) => proxy.nova.count('PUT', /\/os-services/);

/** The bulk modal's values: `ids` selected, a method, the box ticked. */
function bulkValues(ids: readonly string[], method = 'pdu', note = 'rack B12: both PDU feeds switched off at the PDU') {
  return {
    [BULK_INPUTS.hosts.blockId]: { [BULK_INPUTS.hosts.actionId]: { type: 'multi_static_select', selected_options: ids.map((value) => ({ value, text: { type: 'plain_text', text: value, emoji: true } })) } },
    [BULK_INPUTS.method.blockId]: { [BULK_INPUTS.method.actionId]: { type: 'static_select', selected_option: { value: method, text: { type: 'plain_text', text: method, emoji: true } } } },
    [BULK_INPUTS.verified.blockId]: { [BULK_INPUTS.verified.actionId]: { type: 'checkboxes', selected_options: [{ value: VERIFIED_OPTION_VALUE, text: { type: 'plain_text', text: 'I verified …', emoji: true } }] } },
    [BULK_INPUTS.note.blockId]: { [BULK_INPUTS.note.actionId]: { type: 'plain_text_input', value: note } },
  };
}

describe('a rack outage on one grouped card (real Nova lab)', () => {
  it(
    `Confirm all fenced… with one modal: ${RACK_HOSTS.length - 1} hosts forced down in Nova, ${ALIVE}, still reporting, refused; the card sums up`,
    async () => {
      const b = await startBot();
      await b.alertRack();
      const { group, pages } = await b.card();
      expect(cardText(pages[0]!)).toContain('Confirm all fenced…');
      expect(cardText(pages[0]!)).toContain('Cancel all…');
      expect(novaPuts(b.proxy)).toBe(0);

      // A non-approver's click opens nothing: the refusal comes back privately.
      const refusedUrl = await b.click(pages[0]!, GROUP_ACTION_IDS.confirmAll, OUTSIDER);
      const refusal = await slack.waitFor('response_url', (c) => c.path.includes(refusedUrl.split('/').at(-1)!));
      expect(String(refusal.body.text)).toMatch(/approver/i);
      expect(slack.calls('views.open')).toEqual([]);

      // rack17 is not fenced: its nova-compute keeps reporting, as a live one does every few seconds.
      const alive: Reporting = await keepReporting(lab, ALIVE, 2_000);
      cleanups.push(() => alive.stop());

      await b.click(pages[0]!, GROUP_ACTION_IDS.confirmAll);
      const opened = await slack.waitFor('views.open', (c) => (c.body.view as { callback_id?: string } | undefined)?.callback_id === BULK_MODAL_CALLBACK_ID);
      const view = opened.body.view as Record<string, unknown>;
      const select = (view.blocks as { block_id?: string; element?: { options: { value: string; text: { text: string } }[]; initial_options: unknown[] } }[]).find((bl) => bl.block_id === BULK_INPUTS.hosts.blockId)!.element!;
      expect(select.options.map((o) => o.text.text)).toEqual(rack);
      expect(select.initial_options).toEqual(select.options);
      expect(textOf(view.blocks)).toContain(`I verified these ${rack.length} hosts are powered off or isolated`);
      expect(novaPuts(b.proxy)).toBe(0); // opening the modal calls nobody

      const ids = select.options.map((o) => o.value);
      const submittedAt = Date.now();
      const seconds = () => ((Date.now() - submittedAt) / 1000).toFixed(1);
      const submitted = await b.submit(view, bulkValues(ids));
      // For the report only (no timed assertion): when Nova had every PUT, as the worker goes at Nova's pace.
      const putsSeen = until('every PUT at Nova', () => (novaPuts(b.proxy) >= rack.length - 1 ? seconds() : undefined), { timeoutMs: DEADLINE_MS }).catch(() => 'never');
      expect(submitted).toMatchObject({ status: 200, body: '' });
      // The same form submitted again confirms nothing twice.
      const again = await b.submit(view, bulkValues(ids));
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ response_action: 'errors' });

      // Each host ends on its own: forced down, or refused before Nova was called.
      const done = await until(
        'every host of the rack to finish',
        async () => {
          const all = await b.requests();
          return all.length === rack.length && all.every((r) => r.state === 'succeeded' || r.state === 'failed') ? all : undefined;
        },
        { timeoutMs: DEADLINE_MS },
      );
      const recordedAfter = seconds();
      const failed = done.filter((r) => r.state === 'failed');
      expect(failed.map((r) => [r.host, r.outcome?.code])).toEqual([[ALIVE, 'HOST_STILL_REPORTING']]);
      expect(done.filter((r) => r.state === 'succeeded')).toHaveLength(rack.length - 1);
      for (const r of done) {
        expect(r.confirmation).toMatchObject({ by: APPROVER.id, method: 'pdu', note: 'rack B12: both PDU feeds switched off at the PDU' });
        expect(r.history.filter((h) => h.state === 'approved')).toHaveLength(1);
        expect(r.group).toBe(group);
      }
      // Nova: one PUT per forced-down host, none for the one still reporting.
      expect(novaPuts(b.proxy)).toBe(rack.length - 1);
      for (const h of rack) expect((await probe.service(h)).forced_down).toBe(h !== ALIVE);

      // The card sums up, and each row says how its host ended.
      const summary = `${rack.length - 1} forced down · 1 refused: still reporting`;
      await until('the summary on the card', () => cardText(pages[0]!).replace(/\*/g, '').includes(summary) || undefined, { timeoutMs: DEADLINE_MS });
      console.log(`rack-e2e: ${rack.length} hosts confirmed in one modal: Nova had its ${rack.length - 1} PUTs ${await putsSeen} s after the submission; every outcome recorded after ${recordedAfter} s; the card's summary shown after ${seconds()} s (card updates and thread lines at Slack's pace)`);
      await b.bot.queue.idle();
      const text = pages.map(cardText).join('\n');
      expect(text.match(/✅ forced down in Nova/g)).toHaveLength(rack.length - 1);
      expect(text).not.toContain('Confirm all fenced…');
      expect(thread(pages[0]!).some((t) => t.includes(`*${ALIVE}*`) && t.includes('HOST_STILL_REPORTING'))).toBe(true);
    },
    DEADLINE_MS * 2,
  );

  it(
    'Cancel all… (a false alarm): every row cancelled, one line in the thread naming the hosts, 0 calls to Nova\'s PUT',
    async () => {
      const b = await startBot();
      await b.alertRack();
      const { pages } = await b.card();
      await b.bot.queue.idle();
      const threadBefore = thread(pages[0]!).length;
      const updatesBefore = slack.calls('chat.update').length;

      await b.click(pages[0]!, GROUP_ACTION_IDS.cancelAll);
      const all = await until(
        'every row cancelled',
        async () => {
          const rs = await b.requests();
          return rs.length === rack.length && rs.every((r) => r.state === 'cancelled') ? rs : undefined;
        },
        { timeoutMs: DEADLINE_MS },
      );
      for (const r of all) expect(r.history.at(-1)).toMatchObject({ state: 'cancelled', by: APPROVER.id });
      await until('the card to show the cancellations', () => (pages.map(cardText).join('\n').match(/Cancelled by/g)?.length === rack.length ? true : undefined), { timeoutMs: DEADLINE_MS });
      await b.bot.queue.idle();

      // One render of the card (each page once) and one thread line for the 41 hosts.
      expect(slack.calls('chat.update').slice(updatesBefore).map((c) => c.body.ts).sort()).toEqual([...pages].sort());
      const lines = thread(pages[0]!).slice(threadBefore);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/cancel/i);
      for (const h of rack.slice(0, 5)) expect(lines[0]).toContain(h);
      expect(pages.map(cardText).join('\n')).not.toMatch(/Confirm fenced…|Cancel all…/);

      expect(novaPuts(b.proxy)).toBe(0);
      for (const h of rack) expect((await probe.service(h)).forced_down).toBe(false);
    },
    DEADLINE_MS * 2,
  );
});
