/**
 * The Slack side of a request, driven from outside a local bot process:
 * slash command, the card's buttons, the modal, as Slack sends them (signed),
 * with the card's ts read from the bot's SQLite file.
 */
import type { Action } from '../../src/domain/request.js';
import { modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS } from '../../src/slack/ids.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import type { FakeSlackApi } from '../fakes/slack-api.js';
import { EVENT_DEADLINE_MS, until } from '../integration/wait.js';
import {
  blockActions,
  buttonsOf,
  createSlackSender,
  fenceValues,
  recoveryValues,
  slashCommand,
  viewSubmission,
  type SlackResponse,
  type SlackUser,
} from '../integration/slack-helpers.js';

export const FLOW_CHANNEL = { id: 'C0ONCALL01', name: 'oncall' };

export function createSlackFlow(opts: { slack: FakeSlackApi; url: () => string; signingSecret: string; db: string; cloud?: string; freshConnections?: boolean }) {
  const { slack } = opts;
  const sender = createSlackSender({ url: opts.url, signingSecret: opts.signingSecret, now: Date.now, ...(opts.freshConnections ? { freshConnections: true } : {}) });
  const card = (ts: string) => slack.message(FLOW_CHANNEL.id, ts);
  /** Every answer the bot gave Slack (HTTP bodies). */
  const answers: string[] = [];
  const keep = (r: SlackResponse) => (answers.push(r.body), r);

  /** The open request for `host` once its card is posted, read from the bot's SQLite file. */
  async function cardOf(host: string, action: Action = 'force-down', cloud = opts.cloud ?? 'lab'): Promise<{ requestId: string; cardTs: string }> {
    const peek = createSqliteStore({ path: opts.db });
    try {
      return await until(`the card of ${action} ${host} (cloud ${cloud})`, async () => {
        const open = await peek.findOpen(cloud, host, action);
        return open?.messageTs ? { requestId: open.id, cardTs: open.messageTs } : undefined;
      });
    } finally {
      peek.close();
    }
  }

  async function slash(text: string, who: SlackUser) {
    return keep(await sender.command(slashCommand({ text, user: who, responseUrl: slack.responseUrl(), channel: FLOW_CHANNEL })));
  }

  async function click(cardTs: string, actionId: string, who: SlackUser) {
    const button = buttonsOf(card(cardTs)?.blocks).find((b) => b.action_id === actionId);
    if (!button) throw new Error(`the card has no ${actionId} button`);
    return keep(await sender.interact(blockActions({ user: who, button, messageTs: cardTs, responseUrl: slack.responseUrl(), channel: FLOW_CHANNEL, messageBlocks: card(cardTs)?.blocks })));
  }

  /** Confirm… on the card, then the modal submitted (fenced by BMC, or recovered): the worker goes on to call Nova. */
  async function confirmOnCard(requestId: string, cardTs: string, who: SlackUser, action: Action = 'force-down') {
    const opened = slack.calls('views.open').length;
    const res = await click(cardTs, action === 'force-down' ? ACTION_IDS.confirmFenced : ACTION_IDS.confirmRecovered, who);
    if (res.status !== 200) throw new Error(`click answered ${res.status}`);
    const modal = await slack.waitFor(
      'views.open',
      (c) => slack.calls('views.open').indexOf(c) >= opened && modalRequestId((c.body.view as { private_metadata?: string }).private_metadata) === requestId,
      EVENT_DEADLINE_MS,
    );
    const values = action === 'force-down' ? fenceValues({ method: 'bmc', verified: true, note: 'PSU dead' }) : recoveryValues({ verified: true });
    return keep(await sender.interact(viewSubmission({ user: who, view: modal.body.view as Record<string, unknown>, values })));
  }

  return { sender, card, cardOf, slash, click, confirmOnCard, answers };
}
