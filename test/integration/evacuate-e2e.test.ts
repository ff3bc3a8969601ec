// Evacuating a forced-down host from its Slack card, end to end (issue 14): signed Slack requests to
// the REAL local bot (`startLocalBot`, as `npm start` runs it: HTTP server, SQLite, in-process
// worker) and the REAL Keystone + Nova lab's evacuation hosts evac2 (3 ACTIVE instances) and evac3
// (60 ACTIVE). A fake Slack Web API records what people see; every call that reached Nova is seen
// at a proxy in front of it, and Nova's own record (its migrations, its instances) is read back.
// Nova's conductor does not run in the lab: the test plays it (test/integration/evacuation.ts) once
// Nova shows the evacuations it accepted. evac1 and evac4 are the CLI's (cli-evacuate.test.ts).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBot } from '../../src/local/bot.js';
import { modalRequestId } from '../../src/slack/envelope.js';
import {
  ACTION_IDS,
  CARD_EVACUATION_BLOCK_ID,
  EVACUATE_CONFIRM_VALUE,
  EVACUATE_INPUTS,
  EVACUATE_MODAL_CALLBACK_ID,
  MODAL_EVACUATE_CHECK_BLOCK_ID,
  SCHEDULER_TARGET_VALUE,
} from '../../src/slack/ids.js';
import type { FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi, type RecordedSlackCall } from '../fakes/slack-api.js';
import { evacuationMigrations, finishEvacuation, instanceRow, instancesOn, pauseInstance, resetEvacuations, seeded, type EvacuationEnd } from './evacuation.js';
import { createNovaProbe, loadLab, type Lab, type SeededInstance } from './lab.js';
import { startProxiedBot } from './local-bot-env.js';
import { CHANNEL, blockActions, buttonsOf, fenceValues, slashCommand, textOf, user, viewSubmission, type SlackUser } from './slack-helpers.js';
import { until } from './wait.js';

const SIGNING_SECRET = `evacuate-e2e-signing-${randomBytes(16).toString('hex')}`;
const BOT_TOKEN = `xoxb-evacuate-e2e-${randomBytes(8).toString('hex')}`;
const CLOUD = 'lab';
const REQUESTER = user('U0REQUEST1', 'alice');
const APPROVER = user('U0APPROVE1', 'bob');
/** The worker reads each migration every 5 s (its default): an evacuation's end reaches the card within a few polls. */
const EVACUATION_DEADLINE_MS = 180_000;

/** evac2 (3 instances) and evac3 (60): this file's hosts; each one's instances are "rebuilt" on the other. */
let EVAC2: string;
let EVAC3: string;
let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let slack: FakeSlackApi;

type LocalBot = Awaited<ReturnType<typeof startLocalBot>>;
const running: { bot: LocalBot; dir: string }[] = [];
const proxies: FaultyOpenStack[] = [];
const logLines: string[] = [];

/** Every seeded instance of this file's hosts. */
const ourInstances = (): SeededInstance[] => [...seeded(lab, EVAC2), ...seeded(lab, EVAC3)];

/** Puts evac2 and evac3 back as seeded: their instances home, no migration, not forced down (migrations first: Nova refuses to force a host up while a `done` evacuation away from it remains). */
async function resetHosts(): Promise<void> {
  for (const host of [EVAC2, EVAC3]) await resetEvacuations(lab, host);
  for (const host of [EVAC2, EVAC3]) await probe.reset(host);
}

/**
 * Stops a bot whose worker may still be following evacuations: while it winds down, the test's
 * conductor ends every evacuation Nova still has pending (as `error`), so the job ends at its next
 * read instead of following them until its slice runs out.
 */
async function stopBot(bot: LocalBot): Promise<void> {
  let closed = false;
  const closing = bot.close().finally(() => {
    closed = true;
  });
  while (!closed) {
    for (const i of ourInstances()) {
      const pending = (await evacuationMigrations(lab, i.id)).filter((m) => m.status === 'accepted');
      for (const m of pending) await finishEvacuation(lab, i.id, { status: 'error' }, m.id).catch(() => undefined);
    }
    await Promise.race([closing, new Promise((r) => setTimeout(r, 500))]);
  }
  await closing;
}

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  expect(lab.hosts.evac, 'the lab seeds evac1..evac4 with instances (a lab older than issue 14 has none: restart it)').toEqual(expect.arrayContaining(['evac2', 'evac3']));
  EVAC2 = 'evac2';
  EVAC3 = 'evac3';
  // The lab's own record of the two hosts, which the assertions below restate in the card's words.
  expect(seeded(lab, EVAC2).map((i) => i.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
  expect(seeded(lab, EVAC3)).toHaveLength(60);
  expect(new Set(seeded(lab, EVAC3).map((i) => i.status))).toEqual(new Set(['ACTIVE']));
  slack = await startFakeSlackApi();
  await resetHosts();
});

afterEach(async () => {
  for (const { bot, dir } of running.splice(0)) {
    await stopBot(bot);
    rmSync(dir, { recursive: true, force: true });
  }
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  slack.reset();
  await resetHosts();
});

afterAll(async () => {
  await slack?.close();
  if (lab && probe) await resetHosts();
});

/** The local bot as `npm start` runs it, its Nova reached through a proxy that sees every call. */
async function startBot() {
  const { bot, proxy, sender } = await startProxiedBot({
    prefix: 'fd-evacuate-e2e-',
    lab,
    cloud: CLOUD,
    slack,
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    approver: APPROVER.id,
    channel: CHANNEL.id,
    logLines,
    env: {
      // The evac hosts are kept up by the lab: the force-down here is the evacuation's precondition, not the heartbeat watch's test.
      FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
      FORCE_DOWN_GROUP_WINDOW_SECONDS: '0',
      // evac3's 60 instances: 50 in progress at once (the most the setting allows), the other 10 as those end.
      FORCE_DOWN_EVACUATE_CONCURRENCY: '50',
    },
    started: { proxy: (p) => void proxies.push(p), bot: (bot, dir) => void running.push({ bot, dir }) },
  });

  return {
    bot,
    proxy,
    sender,
    async slash(text: string, who: SlackUser = REQUESTER) {
      const res = await sender.command(slashCommand({ text, user: who, responseUrl: slack.responseUrl(`cmd-${randomBytes(4).toString('hex')}`) }));
      expect(res.status).toBe(200);
      return res;
    },
    /**
     * `/force-down <host>`, Confirm fenced… and its modal (PDU outlet off, verified), then the
     * outcome: resolves once Nova has the host forced down and the card says ✅.
     */
    async forceDown(host: string) {
      await this.slash(`${host} --reason PSU failure, evacuate its instances`);
      const request = await until(`the card of ${host}`, async () => {
        const r = await bot.deps.store.findOpen(CLOUD, host, 'force-down');
        return r?.messageTs ? r : undefined;
      });
      const ts = request.messageTs!;
      const confirm = await until('Confirm fenced… on the card', () => buttonsOf(slack.message(CHANNEL.id, ts)?.blocks).find((b) => b.action_id === ACTION_IDS.confirmFenced));
      const clicked = await sender.interact(blockActions({ user: APPROVER, button: confirm, messageTs: ts, responseUrl: slack.responseUrl(`click-${randomBytes(4).toString('hex')}`) }));
      expect(clicked).toMatchObject({ status: 200, body: '' });
      const opened = await slack.waitFor('views.open', (c) => modalRequestId((c.body.view as { private_metadata?: string } | undefined)?.private_metadata) === request.id);
      const res = await sender.interact(viewSubmission({ user: APPROVER, view: opened.body.view as Record<string, unknown>, values: fenceValues({ method: 'pdu', verified: true }) }));
      expect(res.status).toBe(200);
      const done = await until(`the force-down of ${host} to end`, async () => {
        const r = await bot.deps.store.get(request.id);
        return r && (r.state === 'succeeded' || r.state === 'failed') ? r : undefined;
      });
      expect(done.state, `the force-down of ${host} failed: ${JSON.stringify(done.history.at(-1))}`).toBe('succeeded');
      expect((await probe.service(host)).forced_down).toBe(true);
      await until('the ✅ card', () => cardText(ts).includes('✅'));
      return { id: request.id, ts };
    },
    /** `who` clicks a button of the card `ts`; resolves with the response_url the click carried. */
    async click(ts: string, actionId: string, who: SlackUser = APPROVER) {
      const button = buttonsOf(slack.message(CHANNEL.id, ts)?.blocks).find((b) => b.action_id === actionId);
      if (!button) throw new Error(`the card has no ${actionId} button: ${cardText(ts)}`);
      const responseUrl = slack.responseUrl(`click-${randomBytes(4).toString('hex')}`);
      const res = await sender.interact(blockActions({ user: who, button, messageTs: ts, responseUrl, messageBlocks: slack.message(CHANNEL.id, ts)?.blocks }));
      expect(res).toMatchObject({ status: 200, body: '' });
      return responseUrl;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What Slack holds, and what Nova holds

const cardText = (ts: string) => textOf(slack.message(CHANNEL.id, ts)?.blocks);
/** The card's Instances line as Slack holds it now. */
const stakeLine = (ts: string) => cardText(ts).split('\n').find((l) => l.startsWith('*Instances*'));
/** The card's evacuation line (its section `evacuation`), or undefined. */
function evacuationLine(ts: string): string | undefined {
  const blocks = slack.message(CHANNEL.id, ts)?.blocks;
  const block = Array.isArray(blocks) ? (blocks as { block_id?: string; text?: { text?: string } }[]).find((b) => b.block_id === CARD_EVACUATION_BLOCK_ID) : undefined;
  return block?.text?.text;
}
/** The messages posted in the card's thread, in order. */
const threadOf = (ts: string) =>
  slack
    .calls('chat.postMessage')
    .filter((c) => c.body.thread_ts === ts && c.error === undefined)
    .map((c) => String(c.body.text ?? ''));

/** Whether a views.open / views.update call carries the evacuation modal. */
const isEvacuateModal = (call: RecordedSlackCall) => (call.body.view as { callback_id?: string } | undefined)?.callback_id === EVACUATE_MODAL_CALLBACK_ID;

/** The evacuation modal's private_metadata: `{ id, round }`. */
function evacuateMeta(call: RecordedSlackCall): { id?: string; round?: number } {
  try {
    return JSON.parse(String((call.body.view as { private_metadata?: string } | undefined)?.private_metadata ?? '')) as { id?: string; round?: number };
  } catch {
    return {};
  }
}

/** The target select's option values of an evacuation modal view. */
function targetOptions(view: unknown): string[] {
  const blocks = ((view as { blocks?: unknown[] } | undefined)?.blocks ?? []) as { block_id?: string; element?: { options?: { value: string }[] } }[];
  return (blocks.find((b) => b.block_id === EVACUATE_INPUTS.target.blockId)?.element?.options ?? []).map((o) => o.value);
}

/** The modal's summary section (what the worker read of the host). */
function checkText(view: unknown): string {
  const blocks = ((view as { blocks?: unknown[] } | undefined)?.blocks ?? []) as { block_id?: string; text?: { text?: string } }[];
  return blocks.find((b) => b.block_id === MODAL_EVACUATE_CHECK_BLOCK_ID)?.text?.text ?? '';
}

/** The modal as Slack echoes it in a view_submission: the worker's update of it, with the view's id. */
const asSubmitted = (updated: RecordedSlackCall) => ({ ...(updated.body.view as Record<string, unknown>), id: String(updated.body.view_id) });

/** `view.state.values` of the evacuation modal, as Slack sends them. */
function evacuateValues(o: { scope?: 'all' | 'ha-only'; target?: string; confirmed?: boolean }): Record<string, Record<string, unknown>> {
  const target = o.target ?? SCHEDULER_TARGET_VALUE;
  return {
    [EVACUATE_INPUTS.scope.blockId]: {
      [EVACUATE_INPUTS.scope.actionId]: { type: 'radio_buttons', selected_option: { text: { type: 'mrkdwn', text: o.scope ?? 'all' }, value: o.scope ?? 'all' } },
    },
    [EVACUATE_INPUTS.target.blockId]: {
      [EVACUATE_INPUTS.target.actionId]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: target, emoji: true }, value: target } },
    },
    [EVACUATE_INPUTS.confirm.blockId]: {
      [EVACUATE_INPUTS.confirm.actionId]: {
        type: 'checkboxes',
        selected_options: o.confirmed === false ? [] : [{ text: { type: 'plain_text', text: 'I confirm …', emoji: true }, value: EVACUATE_CONFIRM_VALUE }],
      },
    },
  };
}

/** Nova's evacuation migrations of each instance of `ids` (its cell DB, which `GET /os-migrations` reads). */
async function migrationsOf(ids: readonly string[]) {
  return Promise.all(ids.map((id) => evacuationMigrations(lab, id)));
}

/** The evacuate actions that reached Nova through the bot's proxy, by server id. */
function evacuatePosts(proxy: FaultyOpenStack): Map<string, number> {
  const count = new Map<string, number>();
  for (const c of proxy.nova.calls()) {
    const m = /\/servers\/([^/]+)\/action$/.exec(c.path);
    if (c.method !== 'POST' || !m || !c.body.includes('"evacuate"')) continue;
    count.set(m[1]!, (count.get(m[1]!) ?? 0) + 1);
  }
  return count;
}

/**
 * Plays Nova's conductor for `ids` until each has ended once: whenever Nova shows an accepted
 * evacuation of one, ends it as `end` says.
 */
async function conduct(ids: readonly string[], end: (id: string) => EvacuationEnd): Promise<void> {
  const ended = new Set<string>();
  await until(
    `the conductor to end the evacuations of ${ids.length} instances`,
    async () => {
      for (const [i, ms] of (await migrationsOf(ids)).entries()) {
        const id = ids[i]!;
        if (ended.has(id)) continue;
        const pending = ms.find((m) => m.status === 'accepted');
        if (!pending) continue;
        await finishEvacuation(lab, id, end(id), pending.id);
        ended.add(id);
      }
      return ended.size === ids.length;
    },
    { timeoutMs: EVACUATION_DEADLINE_MS, everyMs: 500 },
  );
}

/**
 * Clicks Evacuate N instances… and waits for the modal: opened (views.open) with the request's
 * id and round 0, then filled in by the worker (views.update of that view). Returns both.
 */
async function openEvacuateModal(b: Awaited<ReturnType<typeof startBot>>, card: { id: string; ts: string }) {
  await b.click(card.ts, ACTION_IDS.evacuate);
  const opened = await slack.waitFor('views.open', (c) => isEvacuateModal(c) && evacuateMeta(c).id === card.id);
  expect(opened.error).toBeUndefined();
  expect(evacuateMeta(opened)).toEqual({ id: card.id, round: 0 });
  const updated = await slack.waitFor('views.update', (c) => isEvacuateModal(c) && evacuateMeta(c).id === card.id);
  expect(updated.error, 'views.update of the modal views.open opened').toBeUndefined();
  return { opened, updated };
}

describe('evacuating a forced-down host from its card (real Nova)', () => {
  it('evac2: ✅ card → Evacuate 3 instances… → modal filled by the worker → each instance evacuated once by Nova → ✅ Evacuated 3 instances', async () => {
    const b = await startBot();
    const instances = seeded(lab, EVAC2);
    const ids = instances.map((i) => i.id);
    const card = await b.forceDown(EVAC2);

    // The ✅ card: what is at stake, and the button to evacuate it.
    expect(stakeLine(card.ts)).toBe('*Instances*: 3 — ACTIVE 3 · none marked HA');
    const evacuate = buttonsOf(slack.message(CHANNEL.id, card.ts)?.blocks).find((x) => x.action_id === ACTION_IDS.evacuate);
    expect(evacuate).toMatchObject({ value: card.id, text: { text: 'Evacuate 3 instances…' } });
    expect(evacuationLine(card.ts)).toBeUndefined();

    // Approvers only: the requester's click opens nothing and says why.
    const refusedAt = await b.click(card.ts, ACTION_IDS.evacuate, REQUESTER);
    const refusal = await slack.waitFor('response_url', (c) => c.path === new URL(refusedAt).pathname);
    expect(String(refusal.body.text)).toContain("You are not on force-down's approver list");
    expect(slack.calls('views.open').filter(isEvacuateModal)).toEqual([]);

    // The approver's click: the modal opens at once, then the worker fills in what Nova says.
    const { opened, updated } = await openEvacuateModal(b, card);
    expect(checkText(opened.body.view)).toContain('Reading what is on');
    expect(checkText(updated.body.view)).toBe(`*3 instances* on *${EVAC2}*: ACTIVE 3 · none marked for HA.`);
    const targets = targetOptions(updated.body.view);
    expect(targets[0]).toBe(SCHEDULER_TARGET_VALUE);
    expect(targets).toContain(EVAC3);
    expect(targets).not.toContain(EVAC2);
    // Nothing is sent to Nova before the submission.
    expect(evacuatePosts(b.proxy).size).toBe(0);
    expect((await migrationsOf(ids)).flat()).toEqual([]);

    // Submitted, to evac3: the card says it is under way, and Nova accepts one evacuate per instance.
    const submitted = await b.sender.interact(viewSubmission({ user: APPROVER, view: asSubmitted(updated), values: evacuateValues({ target: EVAC3 }) }));
    expect(submitted).toMatchObject({ status: 200, body: '' });
    await until('Nova to accept an evacuation of each of evac2\'s instances', async () => (await migrationsOf(ids)).every((ms) => ms.length === 1), {
      timeoutMs: EVACUATION_DEADLINE_MS,
      everyMs: 250,
    });
    for (const [i, ms] of (await migrationsOf(ids)).entries()) {
      expect(ms, instances[i]!.name).toMatchObject([{ migrationType: 'evacuation', status: 'accepted', sourceCompute: EVAC2 }]);
      const row = await instanceRow(lab, ids[i]!);
      expect(row).toMatchObject({ host: EVAC2, taskState: 'rebuilding' });
    }
    // Nova's API says the same: REBUILD, task state rebuilding.
    for (const id of ids) {
      const server = await probe.request('GET', `/servers/${id}`);
      expect(server.body?.server).toMatchObject({ status: 'REBUILD', 'OS-EXT-STS:task_state': 'rebuilding' });
    }
    expect(Object.fromEntries(evacuatePosts(b.proxy))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
    // None of evac3's instances was touched.
    expect((await migrationsOf(seeded(lab, EVAC3).map((i) => i.id))).flat()).toEqual([]);
    await until('the card to show the evacuation in progress', () => evacuationLine(card.ts)?.startsWith('⏳ Evacuating 3 instances: 0 done · 3 in progress'));
    expect(evacuationLine(card.ts)).toContain(`rebuilt on *${EVAC3}*`);
    expect(buttonsOf(slack.message(CHANNEL.id, card.ts)?.blocks).map((x) => x.action_id)).not.toContain(ACTION_IDS.evacuate);
    await until('🛟 in the thread', () => threadOf(card.ts).find((t) => t.startsWith('🛟')));
    expect(threadOf(card.ts).filter((t) => t.startsWith('🛟'))).toEqual([`🛟 <@${APPROVER.id}> asked to evacuate 3 instances of *${EVAC2}* (all; to *${EVAC3}*)`]);

    // The conductor rebuilds them on evac3: the card ends ✅, the thread says so.
    await conduct(ids, () => ({ status: 'done', dest: EVAC3 }));
    await until('the card to say every instance was evacuated', () => evacuationLine(card.ts)?.startsWith('✅ Evacuated 3 instances: 3 done'), { timeoutMs: EVACUATION_DEADLINE_MS });
    const ended = await until('the end in the thread', () => threadOf(card.ts).find((t) => t.startsWith('✅ Evacuated')), { timeoutMs: EVACUATION_DEADLINE_MS });
    expect(ended).toBe(`✅ Evacuated 3 instances: 3 done (rebuilt on *${EVAC3}*)`);
    expect(buttonsOf(slack.message(CHANNEL.id, card.ts)?.blocks).map((x) => x.action_id)).not.toContain(ACTION_IDS.retryEvacuation);
    expect(await instancesOn(lab, EVAC2)).toEqual([]);
    // Still exactly one evacuation per instance, now done; nothing more was sent.
    for (const ms of await migrationsOf(ids)) expect(ms).toMatchObject([{ status: 'done', destCompute: EVAC3 }]);
    expect(Object.fromEntries(evacuatePosts(b.proxy))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
  });

  it("evac3: a migration ended in error by Nova's conductor and a PAUSED instance Nova refuses (409): ⚠️ on the card, each named with Nova's reason in the thread, Retry failed… sends those two only", async () => {
    const b = await startBot();
    const instances = seeded(lab, EVAC3);
    const ids = instances.map((i) => i.id);
    const broken = instances[4]!;
    // evac3 has no PAUSED instance of its own: one is paused as `nova pause` leaves it (the reset puts it back).
    const paused = instances.at(-1)!;
    expect(await pauseInstance(lab, paused.id)).toMatchObject({ vmState: 'paused', host: EVAC3 });
    const evacuable = ids.filter((id) => id !== paused.id);
    const card = await b.forceDown(EVAC3);
    expect(stakeLine(card.ts)).toBe('*Instances*: 60 — ACTIVE 59 · PAUSED 1 · none marked HA');

    const { updated } = await openEvacuateModal(b, card);
    expect(checkText(updated.body.view)).toBe(`*60 instances* on *${EVAC3}*: ACTIVE 59 · PAUSED 1 · none marked for HA.`);
    expect(targetOptions(updated.body.view)).toContain(EVAC2);
    const submitted = await b.sender.interact(viewSubmission({ user: APPROVER, view: asSubmitted(updated), values: evacuateValues({}) }));
    expect(submitted).toMatchObject({ status: 200, body: '' });

    // Nova's scheduler chooses (the lab's conductor is this test): evac2 takes them, but for one that ends in error.
    await conduct(evacuable, (id) => (id === broken.id ? { status: 'error' } : { status: 'done', dest: EVAC2 }));
    const line = await until('the card to say the evacuation ended', () => evacuationLine(card.ts)?.startsWith('⚠️') && evacuationLine(card.ts), { timeoutMs: EVACUATION_DEADLINE_MS });
    expect(line).toBe("⚠️ Evacuation ended: 58 done · 2 failed\nNova's scheduler chooses");
    expect(buttonsOf(slack.message(CHANNEL.id, card.ts)?.blocks).find((x) => x.action_id === ACTION_IDS.retryEvacuation)).toMatchObject({ value: card.id, text: { text: 'Retry failed…' } });

    // The thread: the end, then each instance that did not evacuate, named, with Nova's reason in plain words.
    const ended = await until('the end in the thread', () => threadOf(card.ts).find((t) => t.startsWith('⚠️ Evacuation ended')), { timeoutMs: EVACUATION_DEADLINE_MS });
    const lines = ended.split('\n');
    expect(lines[0]).toBe("⚠️ Evacuation ended: 58 done · 2 failed (Nova's scheduler chooses)");
    expect(lines.slice(1).sort()).toEqual(
      [
        // The conductor's fault on the instance, read back from Nova, is the reason.
        `• ${broken.name} (\`${broken.id}\`): Nova found no host with room for this instance of *${EVAC3}* · \`Nova's evacuation of ${broken.name} ended with migration status error (Nova said: No valid host was found.)\``,
        `• ${paused.name} (\`${paused.id}\`): Nova will not evacuate this instance from *${EVAC3}* in its current state · ` +
          `\`Nova will not evacuate the instance while its state is paused (Nova said: Cannot 'evacuate' instance ${paused.id} while it is in vm_state paused)\``,
      ].sort(),
    );
    // Nova's record: one evacuation per evacuable instance, none of the paused one (refused, 409); one evacuate sent to each of the 60.
    const rows = await migrationsOf(ids);
    for (const [i, ms] of rows.entries()) {
      const id = ids[i]!;
      if (id === paused.id) expect(ms).toEqual([]);
      else expect(ms, instances[i]!.name).toMatchObject([{ status: id === broken.id ? 'error' : 'done', sourceCompute: EVAC3 }]);
    }
    const refused = b.proxy.nova.calls().filter((c) => c.method === 'POST' && c.path.endsWith(`/servers/${paused.id}/action`));
    expect(refused.map((c) => c.upstreamStatus)).toEqual([409]);
    expect(Object.fromEntries(evacuatePosts(b.proxy))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
    // evac2's own instances were not touched.
    expect((await migrationsOf(seeded(lab, EVAC2).map((i) => i.id))).flat()).toEqual([]);

    // Retry failed…: the modal names the two, and only they are sent again.
    await b.click(card.ts, ACTION_IDS.retryEvacuation);
    const retryOpened = await slack.waitFor('views.open', (c) => isEvacuateModal(c) && evacuateMeta(c).id === card.id && evacuateMeta(c).round === 1);
    const retryUpdated = await slack.waitFor('views.update', (c) => isEvacuateModal(c) && evacuateMeta(c).id === card.id && evacuateMeta(c).round === 1);
    expect(retryOpened.error).toBeUndefined();
    expect(checkText(retryUpdated.body.view)).toMatch(new RegExp(`^Retry the 2 failed instances of \\*${EVAC3}\\*: `));
    for (const name of [broken.name, paused.name]) expect(checkText(retryUpdated.body.view)).toContain(name);
    const retried = await b.sender.interact(viewSubmission({ user: APPROVER, view: asSubmitted(retryUpdated), values: evacuateValues({}) }));
    expect(retried).toMatchObject({ status: 200, body: '' });
    await conduct([broken.id], () => ({ status: 'done', dest: EVAC2 }));
    const second = await until('the second round to end on the card', () => evacuationLine(card.ts)?.startsWith('⚠️ Evacuation ended: 59 done') && evacuationLine(card.ts), {
      timeoutMs: EVACUATION_DEADLINE_MS,
    });
    expect(second).toBe("⚠️ Evacuation ended: 59 done · 1 failed\nNova's scheduler chooses · round 2");
    expect(await migrationsOf([broken.id, paused.id])).toMatchObject([[{ status: 'error' }, { status: 'done', destCompute: EVAC2 }], []]);
    const posts = evacuatePosts(b.proxy);
    expect(Object.fromEntries(posts)).toEqual(Object.fromEntries(ids.map((id) => [id, id === broken.id || id === paused.id ? 2 : 1])));
    expect(await instancesOn(lab, EVAC3)).toMatchObject([{ id: paused.id, vmState: 'paused' }]);
  });

  it('evac2: 50 concurrent submissions of the evacuation modal → one evacuation, one evacuate per instance at Nova', async () => {
    const b = await startBot();
    const ids = seeded(lab, EVAC2).map((i) => i.id);
    const card = await b.forceDown(EVAC2);
    const { updated } = await openEvacuateModal(b, card);
    const view = asSubmitted(updated);
    // Slack retries, double clicks, several approvers' tabs: 50 submissions of the same modal at once.
    const answers = await Promise.all(Array.from({ length: 50 }, () => b.sender.interact(viewSubmission({ user: APPROVER, view, values: evacuateValues({}) }))));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const accepted = answers.filter((a) => a.body === '');
    const refused = answers.filter((a) => a.json?.response_action === 'errors');
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused) {
      expect(String((r.json!.errors as Record<string, string>)[EVACUATE_INPUTS.confirm.blockId])).toBe(
        `*${EVAC2}*'s evacuation was already asked for by <@${APPROVER.id}> — see the card; failed instances can be retried with *Retry failed…*.`,
      );
    }

    await until('Nova to accept an evacuation of each of evac2\'s instances', async () => (await migrationsOf(ids)).every((ms) => ms.length >= 1), {
      timeoutMs: EVACUATION_DEADLINE_MS,
      everyMs: 250,
    });
    await until('the card to show the evacuation in progress', () => evacuationLine(card.ts)?.startsWith('⏳ Evacuating 3 instances'));
    // Before the conductor runs: exactly one accepted evacuation per instance, at Nova and on the wire.
    expect((await migrationsOf(ids)).map((ms) => ms.map((m) => m.status))).toEqual(ids.map(() => ['accepted']));
    expect(Object.fromEntries(evacuatePosts(b.proxy))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
    await conduct(ids, () => ({ status: 'done', dest: EVAC3 }));
    await until('the card to say every instance was evacuated', () => evacuationLine(card.ts)?.startsWith('✅ Evacuated 3 instances: 3 done'), { timeoutMs: EVACUATION_DEADLINE_MS });
    // The thread's end line follows the card's update at the channel's pace: waited for, not assumed.
    await until('the end in the thread', () => threadOf(card.ts).find((t) => t.startsWith('✅ Evacuated')), { timeoutMs: EVACUATION_DEADLINE_MS });
    expect(threadOf(card.ts).filter((t) => t.startsWith('🛟'))).toHaveLength(1);
    expect(threadOf(card.ts).filter((t) => t.startsWith('✅ Evacuated'))).toHaveLength(1);
    expect((await migrationsOf(ids)).map((ms) => ms.map((m) => m.status))).toEqual(ids.map(() => ['done']));
    expect(Object.fromEntries(evacuatePosts(b.proxy))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
  });
});
