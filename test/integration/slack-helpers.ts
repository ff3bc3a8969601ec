/**
 * Builders of Slack requests exactly as Slack sends them to a request URL:
 * form-encoded bodies (`Content-Type: application/x-www-form-urlencoded`,
 * nothing appended), slash-command fields, `payload=<JSON>` for
 * interactivity, and the v0 signature headers. Every builder takes overrides.
 */
import { randomBytes } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { CARD_ACTIONS_BLOCK_ID, FENCE_MODAL_CALLBACK_ID, MODAL_INPUTS, VERIFIED_OPTION_VALUE } from '../../src/slack/ids.js';
import { signSlackRequest } from '../fakes/slack-signature.js';
import { FENCING_METHODS, type FencingMethod } from '../../src/domain/fencing.js';

export const TEAM = { id: 'T0FAKE0001', domain: 'fake-workspace' };
export const APP_ID = 'A0FAKEAPP1';
export const CHANNEL = { id: 'C0ONCALL01', name: 'oncall' };
/** The deprecated verification token Slack still sends in every payload (force-down ignores it). */
export const VERIFICATION_TOKEN = 'legacy-verification-token';

export interface SlackUser {
  id: string;
  name: string;
}

export const user = (id: string, name = id.toLowerCase()): SlackUser => ({ id, name });

const triggerId = () => `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString('hex')}`;

/** The form fields of a slash command (`/force-down <text>`). */
export function slashCommand(overrides: {
  text: string;
  user: SlackUser;
  responseUrl: string;
  channel?: { id: string; name: string };
  command?: string;
  triggerId?: string;
}): Record<string, string> {
  const channel = overrides.channel ?? CHANNEL;
  return {
    token: VERIFICATION_TOKEN,
    team_id: TEAM.id,
    team_domain: TEAM.domain,
    channel_id: channel.id,
    channel_name: channel.name,
    user_id: overrides.user.id,
    user_name: overrides.user.name,
    command: overrides.command ?? '/force-down',
    text: overrides.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: overrides.responseUrl,
    trigger_id: overrides.triggerId ?? triggerId(),
  };
}

/** A button as the card carries it (`actions` block elements). */
export interface CardButton {
  action_id: string;
  value: string;
  text?: { type: 'plain_text'; text: string; emoji?: boolean };
  style?: string;
}

/** The actions block's buttons of a card's blocks (empty when the card has none). */
export function buttonsOf(blocks: unknown): CardButton[] {
  if (!Array.isArray(blocks)) return [];
  return blocks
    .filter((b): b is { type: 'actions'; block_id?: string; elements: CardButton[] } => b?.type === 'actions')
    .flatMap((b) => b.elements.filter((e) => (e as { type?: string }).type === 'button'));
}

/** A `block_actions` payload: `user` clicked `button` on the card `messageTs` in the channel. */
export function blockActions(overrides: {
  user: SlackUser;
  button: CardButton;
  messageTs: string;
  responseUrl: string;
  channel?: { id: string; name: string };
  messageBlocks?: unknown;
  blockId?: string;
}): Record<string, unknown> {
  const channel = overrides.channel ?? CHANNEL;
  const { button } = overrides;
  return {
    type: 'block_actions',
    user: { id: overrides.user.id, username: overrides.user.name, name: overrides.user.name, team_id: TEAM.id },
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: overrides.messageTs, channel_id: channel.id, is_ephemeral: false },
    trigger_id: triggerId(),
    team: TEAM,
    enterprise: null,
    is_enterprise_install: false,
    channel,
    message: {
      type: 'message',
      subtype: 'bot_message',
      ts: overrides.messageTs,
      bot_id: 'B0FAKEBOT1',
      text: '',
      ...(overrides.messageBlocks !== undefined ? { blocks: overrides.messageBlocks } : {}),
    },
    state: { values: {} },
    response_url: overrides.responseUrl,
    actions: [
      {
        action_id: button.action_id,
        block_id: overrides.blockId ?? CARD_ACTIONS_BLOCK_ID,
        text: button.text ?? { type: 'plain_text', text: button.action_id, emoji: true },
        value: button.value,
        ...(button.style ? { style: button.style } : {}),
        type: 'button',
        action_ts: `${(Date.now() / 1000).toFixed(6)}`,
      },
    ],
  };
}

/** `view.state.values` of the fence modal, keyed by block_id then action_id as Slack sends them. */
export function fenceValues(opts: { method?: FencingMethod; verified?: boolean; note?: string }): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = {};
  values[MODAL_INPUTS.method.blockId] = {
    [MODAL_INPUTS.method.actionId]: {
      type: 'static_select',
      selected_option: opts.method ? { text: { type: 'plain_text', text: FENCING_METHODS[opts.method], emoji: true }, value: opts.method } : null,
    },
  };
  values[MODAL_INPUTS.verified.blockId] = {
    [MODAL_INPUTS.verified.actionId]: {
      type: 'checkboxes',
      selected_options: opts.verified ? [{ text: { type: 'plain_text', text: 'I verified …', emoji: true }, value: VERIFIED_OPTION_VALUE }] : [],
    },
  };
  values[MODAL_INPUTS.note.blockId] = { [MODAL_INPUTS.note.actionId]: { type: 'plain_text_input', value: opts.note ?? null } };
  return values;
}

/** Recovery modal values: only the checkbox and the note. */
export function recoveryValues(opts: { verified?: boolean; note?: string }): Record<string, Record<string, unknown>> {
  const values = fenceValues(opts);
  delete values[MODAL_INPUTS.method.blockId];
  return values;
}

/**
 * A `view_submission` payload: `user` submitted `view` (the modal the bot
 * opened with views.open, as Slack echoes it back: id, callback_id,
 * private_metadata, blocks) with `values` as its state.
 */
export function viewSubmission(overrides: {
  user: SlackUser;
  view: { id?: string; callback_id?: string; private_metadata?: string; blocks?: unknown; [k: string]: unknown };
  values: Record<string, Record<string, unknown>>;
}): Record<string, unknown> {
  const { view } = overrides;
  const id = view.id ?? 'V0FAKE00001';
  return {
    type: 'view_submission',
    team: TEAM,
    user: { id: overrides.user.id, username: overrides.user.name, name: overrides.user.name, team_id: TEAM.id },
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: triggerId(),
    view: {
      ...view,
      id,
      team_id: TEAM.id,
      type: 'modal',
      callback_id: view.callback_id ?? FENCE_MODAL_CALLBACK_ID,
      private_metadata: view.private_metadata ?? '',
      state: { values: overrides.values },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      root_view_id: id,
      app_id: APP_ID,
      bot_id: 'B0FAKEBOT1',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** `application/x-www-form-urlencoded` bytes of a slash command's fields. */
export const formBody = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

/** Interactivity bytes: `payload=<url-encoded JSON>`. */
export const payloadBody = (payload: unknown): string => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

export interface SlackResponse {
  status: number;
  /** The raw body (an ack: empty, or JSON). */
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json: Record<string, unknown> | undefined;
  /** Milliseconds from sending to the full answer. */
  ms: number;
}

export interface SendOptions {
  /** X-Slack-Request-Timestamp (Unix seconds); default: the sender's clock. */
  timestamp?: number | string;
  /** X-Slack-Signature; default: the correct v0 signature of the body. */
  signature?: string;
  /** Secret to sign with; default: the bot's. */
  signingSecret?: string;
  /** Extra headers, e.g. `X-Slack-Retry-Num`. */
  headers?: Record<string, string>;
}

/**
 * Posts bodies to `<botUrl>/slack/events` as Slack does: exactly
 * `application/x-www-form-urlencoded`, `X-Slack-Request-Timestamp`,
 * `X-Slack-Signature: v0=…` over `v0:<ts>:<body>`.
 */
export function createSlackSender(opts: {
  url: () => string;
  signingSecret: string;
  now: () => number;
  /**
   * Each request on a connection of its own (no keep-alive), as Slack's
   * requests arrive from its fleet. For a bot under a connection flood that
   * closes the oldest idle connections: a pooled one could be closed between
   * two requests, and a POST sent on it is lost (no HTTP client resends one).
   */
  freshConnections?: boolean;
}) {
  const dispatcher = opts.freshConnections ? new Agent({ pipelining: 0 }) : undefined;
  async function send(body: string, options: SendOptions = {}): Promise<SlackResponse> {
    const timestamp = String(options.timestamp ?? Math.floor(opts.now() / 1000));
    const signature = options.signature ?? signSlackRequest(options.signingSecret ?? opts.signingSecret, body, timestamp);
    const started = performance.now();
    const init = {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': signature,
        ...options.headers,
      },
      body,
    };
    const url = `${opts.url()}/slack/events`;
    const res = dispatcher ? await undiciFetch(url, { ...init, dispatcher }) : await fetch(url, init);
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, body: text, json, ms: performance.now() - started };
  }
  return {
    send,
    command: (fields: Record<string, string>, options?: SendOptions) => send(formBody(fields), options),
    interact: (payload: unknown, options?: SendOptions) => send(payloadBody(payload), options),
  };
}

/** Every text in a Block Kit structure (mrkdwn and plain_text), one per line: what a person reads (a button's "are you sure?" dialog left out: it is not on the card). */
export function textOf(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'text' && typeof x === 'string') out.push(x);
        else if (k !== 'confirm') walk(x);
      }
    }
  };
  walk(value);
  return out.join('\n');
}
