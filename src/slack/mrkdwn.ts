/**
 * Safe mrkdwn from untrusted text. Slack reads `<…>` as a mention, a special
 * command (`<!channel>`) or a link (`<http://evil|label>`), and `&` starts an
 * entity; escaping exactly `&`, `<`, `>` (Slack's rule) makes such text inert.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes `&`, `<` and `>` as Slack's mrkdwn rules ask. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => ESCAPES[c] ?? c);
}

/**
 * Escapes `text` and cuts it to at most `max` characters (UTF-16 code units,
 * which is what Slack's limits count) ending in `…` when cut. It cuts between
 * code points and never inside an entity, so the result stays valid.
 */
export function escapeAndTruncate(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  let out = '';
  for (const ch of text) {
    const piece = ESCAPES[ch] ?? ch;
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/**
 * Cuts our own (already escaped) mrkdwn to `max` characters, ending in `…`
 * when cut. Cuts between code points, and backs off so that no entity
 * (`&amp;`) or `<…>` token (mention, link) is left half-open.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  const open = out.lastIndexOf('<');
  if (open > out.lastIndexOf('>')) out = out.slice(0, open);
  out = out.replace(/&[a-z]*$/i, '');
  return `${out}…`;
}

/** A code span for untrusted text: backticks would end the span, so they become `ˋ`; newlines become spaces. */
export function codeSpan(text: string, max: number): string {
  const flat = text.replace(/`/g, 'ˋ').replace(/\s+/g, ' ').trim();
  return `\`${escapeAndTruncate(flat, max)}\``;
}

const SLACK_USER_RE = /^[UW][A-Z0-9]{2,20}$/;

/** `<@U123>` for a Slack user id; anything else (a CLI user, an alert source) as inert text ({@link inert}). */
export function mentionOrName(who: string): string {
  return SLACK_USER_RE.test(who) ? `<@${who}>` : inert(who, 100);
}

/*
 * Untrusted text: what an alert or a person wrote (alert names, summaries,
 * labels, links, reasons, notes). It is shown so that it can never pass for
 * force-down's own words:
 *
 *  - where: only in the card's quoted block (blocks.ts QUOTED_BLOCK_ID), after
 *    a label of ours ("Alert summary: “…”"), never in the header, the state
 *    line or a message's notification text;
 *  - as what: {@link inert} text, between curly quotes ({@link quoted}).
 */

/**
 * Characters that hide or reorder text: C0 and C1 controls (whitespace aside:
 * it is folded), bidi embeddings, overrides, isolates and marks, zero-width
 * spaces, the word joiner and invisible operators, the soft hyphen, BOM,
 * interlinear annotations, Hangul fillers. Removed.
 */
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\uffa0\ufeff\ufff9-\ufffb]/g;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Look-alikes for mrkdwn's formatting characters: they read the same and format nothing. */
export const INERT_LOOKALIKES: Readonly<Record<string, string>> = { '*': '∗', _: 'ˍ', '~': '∼', '`': 'ˋ', '“': '"', '”': '"' };

const ALNUM = /^[A-Za-z0-9]$/;

/**
 * Untrusted text made inert for mrkdwn, on one line, at most `max` characters
 * (UTF-16 code units, as Slack counts; ends in `…` when cut):
 *
 * 1. invisible and bidi control characters removed ({@link INVISIBLE}), a lone
 *    UTF-16 surrogate (not text: Slack could refuse the whole message) → `�`;
 * 2. every run of whitespace (newlines, tabs, U+2028…) folded into one space,
 *    ends trimmed: it stays one line, so it cannot start a line of its own;
 * 3. `` ` `` → `ˋ` always (no code span can open), and `*` → `∗`, `_` → `ˍ`,
 *    `~` → `∼` unless between two ASCII letters or digits (`node_down`,
 *    `2*3`), where Slack never reads them as formatting (it needs a word
 *    boundary on the outer side of a marker): no bold, italics, strike or code;
 * 4. `“` and `”` → `"`: the text cannot close the quote it is shown in;
 * 5. `@` before `channel`, `here`, `everyone` → `＠`, in case a client or
 *    option parses plain mentions;
 * 6. `&`, `<`, `>` escaped (Slack's rule): no link, mention (`<!channel>`,
 *    `<@U…>`), date or entity, and `>` is never a quote (the text never starts
 *    a line: a label of ours comes first).
 *
 * Emoji (`✅`, `:white_check_mark:`) are kept: the sender can type ✅ itself,
 * so rewriting shortcodes would not keep one out; what tells it apart from the
 * bot's ✅ is where it is shown (see above).
 */
export function inert(text: string, max: number): string {
  const flat = text.replace(INVISIBLE, '').replace(LONE_SURROGATE, '\ufffd').replace(/\s+/g, ' ').trim();
  const plain = flat.replace(/[`“”]/g, (c) => INERT_LOOKALIKES[c] ?? c);
  // Markers are judged on the final text (after the cut's `…`); a look-alike has the same length.
  return escapeAndTruncate(plain, max)
    .replace(/[*_~]/g, (c, i: number, s: string) => (ALNUM.test(s[i - 1] ?? '') && ALNUM.test(s[i + 1] ?? '') ? c : (INERT_LOOKALIKES[c] ?? c)))
    .replace(/@(?=channel|here|everyone)/gi, '＠');
}

/** `“inert text”` ({@link inert}, at most `max` characters inside the quotes), or undefined when nothing is left to show. */
export function quoted(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const shown = inert(text, max);
  return shown ? `“${shown}”` : undefined;
}

/** Longest link target {@link linkShowingHost} links to (Slack's practical limit on a URL in a text object). */
export const LINK_MAX = 2000;

/**
 * An untrusted URL as a link whose text says where it goes:
 * `<https://…|open in the alerting tool (alertmanager.example.com)>`. Only
 * http(s); the host is the one a browser would contact (WHATWG parsing:
 * user info dropped, IDNs in punycode, port kept), made {@link inert}. The
 * characters that would end the link (`>`), start a label (`|`) or an entity
 * (`&`) are encoded in the target. Undefined when it is not an http(s) URL;
 * the host alone, unlinked, when the URL is longer than {@link LINK_MAX}.
 */
export function linkShowingHost(url: string, label: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.host) return undefined;
  const host = inert(parsed.host, 255).replace(/\|/g, '¦');
  const text = `${inert(label, 200).replace(/\|/g, '¦')} (${host})`;
  const href = parsed.href.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/&/g, '&amp;');
  if (href.length > LINK_MAX) return `${text}: not linked, the address is longer than ${LINK_MAX} characters`;
  return `<${href}|${text}>`;
}

/**
 * A mrkdwn link for an untrusted URL: only http(s), and the characters that
 * would end the link (`>`), start a label (`|`) or an entity (`&`) are encoded.
 * Anything else is shown as escaped text, never as a link.
 */
export function safeLink(url: string, label: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return escapeAndTruncate(url, 300);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return escapeAndTruncate(url, 300);
  const href = parsed.href.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/&/g, '&amp;');
  if (href.length > 2000) return escapeAndTruncate(label, 200);
  return `<${href}|${escapeAndTruncate(label, 200).replace(/\|/g, '¦')}>`;
}

export { formatAge, parseUtc } from '../domain/time.js';
import { parseUtc } from '../domain/time.js';

/** `2026-11-25 14:00 UTC` for people; the raw text (escaped) when it does not parse. */
export function formatUtc(iso: string | null | undefined): string {
  const ms = parseUtc(iso);
  if (ms === undefined) return iso ? inert(iso, 64) : 'unknown';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Full ISO 8601 UTC (`2026-11-25T14:00:00.000Z`) for the audit trail; escaped raw text when it does not parse. */
export function isoUtc(iso: string | null | undefined): string {
  const ms = parseUtc(iso);
  if (ms === undefined) return iso ? inert(iso, 64) : 'unknown';
  return new Date(ms).toISOString();
}

