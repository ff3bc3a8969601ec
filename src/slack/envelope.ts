/**
 * The one strict parser of what Slack POSTs to /slack/events (after the
 * router checked its signature). Pure: no I/O. A body is exactly one of
 *
 * - a **slash command** form (`command=…&text=…&user_id=…&response_url=…`),
 * - an **interactivity** form, `payload=<JSON>` and nothing else, the JSON a
 *   `block_actions` (a card's button) or a `view_submission` (the modal),
 * - a bare **`ssl_check=1`** form (with Slack's `token`, nothing else),
 *
 * and anything else is refused, with a short reason for a 400: mixed forms
 * (`ssl_check` + `payload`, `command` + `payload`), a field given twice (in
 * the form, or a key twice in the payload's JSON), fields that would make the
 * request another kind of request (`event`, `name`, `command` in a payload, …),
 * a `response_url` that is not Slack's, and JSON bodies, `url_verification`
 * included: force-down does not use the Events API (its manifest subscribes
 * to no events), so it never has a challenge to answer.
 *
 * What the parser returns is what the listeners get (src/slack/bot.ts hands
 * it to Bolt as the request's body, never the raw bytes): only the fields
 * named here, so a field Slack may add later is dropped, not passed on.
 */
import { z } from 'zod';

/** Hosts Slack's response_urls live on (commercial and GovSlack), https only. */
export const SLACK_RESPONSE_HOSTS: ReadonlySet<string> = new Set(['hooks.slack.com', 'hooks.slack-gov.com']);

/**
 * Whether `url` is a Slack response_url: https on one of {@link SLACK_RESPONSE_HOSTS},
 * or on the scheme and host (port included) of `slackApiUrl` (`SLACK_API_URL`,
 * which tests point at a fake). No user name or password in it.
 */
export function isSlackResponseUrl(url: string, slackApiUrl: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username !== '' || u.password !== '') return false;
  if (u.protocol === 'https:' && SLACK_RESPONSE_HOSTS.has(u.host)) return true;
  try {
    const api = new URL(slackApiUrl);
    return (api.protocol === 'https:' || api.protocol === 'http:') && u.protocol === api.protocol && u.host === api.host;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// What the listeners read (and Bolt, to route and to answer on response_url)

const text = z.string();
const user = z.object({ id: text, username: text.optional(), name: text.optional(), team_id: text.optional() });
const team = z.object({ id: text, domain: text.optional() }).nullable().optional();
const enterprise = z.object({ id: text, name: text.optional() }).nullable().optional();

/** A slash command's form fields (Slack's documented set; others are dropped). */
const slashCommandSchema = z.object({
  command: text,
  text: text.default(''),
  user_id: text,
  channel_id: text,
  response_url: text,
  trigger_id: text.optional(),
  team_id: text.optional(),
  team_domain: text.optional(),
  enterprise_id: text.optional(),
  enterprise_name: text.optional(),
  channel_name: text.optional(),
  user_name: text.optional(),
  api_app_id: text.optional(),
  is_enterprise_install: text.optional(),
  token: text.optional(),
});

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user,
  team,
  enterprise,
  is_enterprise_install: z.boolean().optional(),
  api_app_id: text.optional(),
  token: text.optional(),
  channel: z.object({ id: text, name: text.optional() }).optional(),
  container: z.object({ type: text.optional(), message_ts: text.optional(), channel_id: text.optional() }).optional(),
  trigger_id: text.optional(),
  response_url: text.optional(),
  /** Slack sends one action per click. */
  actions: z.array(z.object({ action_id: text, type: text, block_id: text.optional(), value: text.optional(), action_ts: text.optional() })).length(1),
});

const viewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user,
  team,
  enterprise,
  is_enterprise_install: z.boolean().optional(),
  api_app_id: text.optional(),
  token: text.optional(),
  trigger_id: text.optional(),
  view: z.object({
    id: text.optional(),
    type: text.optional(),
    callback_id: text,
    /** Slack caps it at 3,000 characters; src/slack/blocks.ts writes {@link encodeModalMetadata}. */
    private_metadata: text.max(3000).default(''),
    state: z.object({ values: z.record(text, z.unknown()) }),
    hash: text.optional(),
    root_view_id: text.nullable().optional(),
    app_installed_team_id: text.optional(),
  }),
  /** Only with `response_url_enabled` inputs (force-down has none): checked, then dropped. */
  response_urls: z.array(z.object({ response_url: text }).loose()).optional(),
});

export type SlashCommandBody = z.infer<typeof slashCommandSchema>;
export type BlockActionsBody = z.infer<typeof blockActionsSchema>;
export type ViewSubmissionBody = Omit<z.infer<typeof viewSubmissionSchema>, 'response_urls'>;

export type SlackEnvelope =
  | { kind: 'ssl_check' }
  | { kind: 'command'; body: SlashCommandBody }
  | { kind: 'block_actions'; body: BlockActionsBody }
  | { kind: 'view_submission'; body: ViewSubmissionBody };

export type EnvelopeResult = { ok: true; envelope: SlackEnvelope } | { ok: false; error: string };

/** The fields that decide what kind of request a form is: exactly one of them. */
const FORM_KINDS = ['command', 'payload', 'ssl_check'] as const;

/**
 * Fields that make a body another kind of request for Bolt (helpers.js
 * getTypeAndConversation routes on `event`, `command`, `name`, `actions`,
 * `type`) or for another receiver (`challenge`, `ssl_check`), or that Bolt
 * would answer on (`response_url`, `response_urls`): refused where they do not belong.
 */
const FOREIGN_IN_COMMAND = ['type', 'event', 'name', 'actions', 'view', 'challenge', 'response_urls'];
const FOREIGN_IN_BLOCK_ACTIONS = ['command', 'event', 'name', 'view', 'challenge', 'ssl_check', 'response_urls', 'payload'];
const FOREIGN_IN_VIEW_SUBMISSION = ['command', 'event', 'name', 'actions', 'challenge', 'ssl_check', 'response_url', 'payload'];

/**
 * Parses a (signature-checked) body of `contentType` into the one envelope it
 * is, or says in a few words why it is none. `slackApiUrl` is `SLACK_API_URL`
 * (see {@link isSlackResponseUrl}). Never throws.
 */
export function parseSlackEnvelope(body: string, contentType: string | undefined, slackApiUrl: string): EnvelopeResult {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return { ok: false, error: jsonRefusal(body) };
  if (type !== 'application/x-www-form-urlencoded') return refuse('expected application/x-www-form-urlencoded');

  const form = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(body)) {
    if (form.has(key)) return refuse(`${fieldName(key)} appears more than once`);
    form.set(key, value);
  }
  const kinds = FORM_KINDS.filter((k) => form.has(k));
  if (kinds.length === 0) return refuse('not a slash command, an interaction or an ssl_check');
  if (kinds.length > 1) return refuse(`mixed request: ${kinds.join(' with ')}`);

  switch (kinds[0]!) {
    case 'ssl_check': {
      if (form.get('ssl_check') !== '1') return refuse('ssl_check must be 1');
      const extra = [...form.keys()].find((k) => k !== 'ssl_check' && k !== 'token');
      return extra === undefined ? { ok: true, envelope: { kind: 'ssl_check' } } : refuse(`an ssl_check carries no ${fieldName(extra)}`);
    }
    case 'payload': {
      const extra = [...form.keys()].find((k) => k !== 'payload');
      if (extra !== undefined) return refuse(`an interaction form carries only payload, not ${fieldName(extra)}`);
      return parsePayload(form.get('payload')!, slackApiUrl);
    }
    case 'command': {
      const foreign = FOREIGN_IN_COMMAND.find((k) => form.has(k));
      if (foreign !== undefined) return refuse(`a slash command carries no ${foreign}`);
      const parsed = slashCommandSchema.safeParse(Object.fromEntries(form));
      if (!parsed.success) return refuse(`slash command: ${issuePath(parsed.error)}`);
      if (!isSlackResponseUrl(parsed.data.response_url, slackApiUrl)) return refuse("response_url is not Slack's");
      return { ok: true, envelope: { kind: 'command', body: parsed.data } };
    }
  }
}

function parsePayload(raw: string, slackApiUrl: string): EnvelopeResult {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return refuse('payload is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return refuse('payload is not a JSON object');
  const duplicate = duplicateKey(raw);
  if (duplicate !== undefined) return refuse(`payload: ${fieldName(duplicate)} appears more than once`);
  const payload = json as Record<string, unknown>;
  switch (payload.type) {
    case 'block_actions': {
      const foreign = FOREIGN_IN_BLOCK_ACTIONS.find((k) => Object.hasOwn(payload, k));
      if (foreign !== undefined) return refuse(`block_actions carries no ${foreign}`);
      const parsed = blockActionsSchema.safeParse(payload);
      if (!parsed.success) return refuse(`block_actions: ${issuePath(parsed.error)}`);
      if (parsed.data.response_url !== undefined && !isSlackResponseUrl(parsed.data.response_url, slackApiUrl)) return refuse("response_url is not Slack's");
      return { ok: true, envelope: { kind: 'block_actions', body: parsed.data } };
    }
    case 'view_submission': {
      const foreign = FOREIGN_IN_VIEW_SUBMISSION.find((k) => Object.hasOwn(payload, k));
      if (foreign !== undefined) return refuse(`view_submission carries no ${foreign}`);
      const parsed = viewSubmissionSchema.safeParse(payload);
      if (!parsed.success) return refuse(`view_submission: ${issuePath(parsed.error)}`);
      const { response_urls: responseUrls, ...rest } = parsed.data;
      if (responseUrls?.some((r) => !isSlackResponseUrl(r.response_url, slackApiUrl))) return refuse("response_urls: not Slack's");
      return { ok: true, envelope: { kind: 'view_submission', body: rest } };
    }
    default:
      return refuse('payload type is not block_actions or view_submission');
  }
}

function jsonRefusal(body: string): string {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'url_verification') {
      return 'url_verification: force-down does not use the Events API';
    }
  } catch {
    // Not JSON either: the same answer.
  }
  return 'expected application/x-www-form-urlencoded';
}

const refuse = (error: string): EnvelopeResult => ({ ok: false, error });

/** Names a field in an error only when it is short and plain (never echoes a long or odd key). */
function fieldName(key: string): string {
  return /^[A-Za-z0-9_.-]{1,40}$/.test(key) ? key : 'a field';
}

function issuePath(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).map((p) => (typeof p === 'number' ? String(p) : fieldName(String(p)))).join('.');
  return path === '' ? 'not the expected shape' : `${path} is missing or malformed`;
}

/**
 * The first key that appears twice in one object of `json` (valid JSON: call
 * after JSON.parse succeeded), decoded; undefined when there is none.
 * JSON.parse keeps the last of two equal keys silently. Iterative, so any
 * nesting depth is fine.
 */
export function duplicateKey(json: string): string | undefined {
  /** One frame per open object (its keys so far) or array (null). */
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top && expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack.at(-1) instanceof Set;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The confirmation modal's private_metadata

/** What the confirmation modal carries in `private_metadata`: its request, and the form's single-use nonce. */
export interface ModalMetadata {
  id: string;
  nonce: string;
}

/** `private_metadata` of a confirmation modal: `{"id":…,"nonce":…}`. */
export function encodeModalMetadata(m: ModalMetadata): string {
  return JSON.stringify({ id: m.id, nonce: m.nonce });
}

const modalMetadataSchema = z.object({ id: z.string().min(1).max(200), nonce: z.string().min(1).max(200) });

/** The request and nonce of a submitted modal's `private_metadata`; undefined for anything else (a modal opened before nonces). */
export function decodeModalMetadata(privateMetadata: string): ModalMetadata | undefined {
  try {
    const parsed = modalMetadataSchema.safeParse(JSON.parse(privateMetadata));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The request id a confirmation modal's `private_metadata` names (tests find "the modal of request X" by it). */
export function modalRequestId(privateMetadata: unknown): string | undefined {
  return typeof privateMetadata === 'string' ? decodeModalMetadata(privateMetadata)?.id : undefined;
}
