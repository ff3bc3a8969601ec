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

/** `<@U123>` for a Slack user id; anything else (a CLI user, an alert source) as escaped text. */
export function mentionOrName(who: string): string {
  return SLACK_USER_RE.test(who) ? `<@${who}>` : escapeAndTruncate(who, 100);
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
  if (ms === undefined) return iso ? escapeAndTruncate(iso, 64) : 'unknown';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Full ISO 8601 UTC (`2026-11-25T14:00:00.000Z`) for the audit trail; escaped raw text when it does not parse. */
export function isoUtc(iso: string | null | undefined): string {
  const ms = parseUtc(iso);
  if (ms === undefined) return iso ? escapeAndTruncate(iso, 64) : 'unknown';
  return new Date(ms).toISOString();
}

