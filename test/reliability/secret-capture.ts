// What the secret tests share (secrets.test.ts, bmc-secrets.test.ts): the secret values of a
// secret document, the forms each could take in text, everything a local bot process let out
// (its log lines and stderr, the fake Slack's requests, the bot's answers to Slack, the SQLite
// file), and which secret stands where in it.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { FakeSlackApi } from '../fakes/slack-api.js';
import type { ChildBot } from './child-bot.js';

/** A fresh value no other text could contain by chance: `prefix` and 144 random bits. */
export const random = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;

export interface Secret {
  /** Where it stands (a key path in the document, or what it is). */
  path: string;
  value: string;
}

/** Every string under a key that names a secret, anywhere in the document. */
export function secretValues(doc: unknown): Secret[] {
  const out: Secret[] = [];
  const walk = (v: unknown, path: string) => {
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    else if (typeof v === 'string' && /secret|token|password/i.test(path.split('.').at(-1) ?? '')) out.push({ path, value: v });
  };
  walk(doc, '');
  return out;
}

/** The forms a secret could take in a log line, a form body, JSON, or a header dump. */
export const encodings = (s: string) => [...new Set([s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1), Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url')])];

export interface Captured {
  where: string;
  text: string;
}

/**
 * Everything the (closed) bot let out: its log lines and stderr, every request the fake Slack
 * received, every answer it gave Slack (`answers`), and its SQLite file `db` with the WAL.
 */
export function captureOf(bot: ChildBot, slack: FakeSlackApi, answers: readonly string[], db: string): Captured[] {
  const store = [db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
  return [
    ...bot.lines.map((text) => ({ where: 'log', text })),
    { where: 'stderr', text: bot.stderr() },
    ...slack.calls().map((call) => ({ where: `slack ${call.method}`, text: `${call.path} ${JSON.stringify(call.body)}` })),
    ...answers.map((text) => ({ where: 'answer to Slack', text })),
    ...store.map((text) => ({ where: 'SQLite file', text })),
  ];
}

/** Each place a secret stands in the capture, in any of its forms: `<path> in <where>: <the text's start>`. */
export function leaks(captured: readonly Captured[], secrets: readonly Secret[]): string[] {
  const found: string[] = [];
  for (const { path, value } of secrets) {
    for (const form of encodings(value)) {
      for (const c of captured) if (c.text.includes(form)) found.push(`${path} in ${c.where}: ${c.text.slice(0, 200)}`);
    }
  }
  return found;
}
