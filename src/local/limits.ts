import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/schema.js';

/** The inbound connection cap when FORCE_DOWN_MAX_CONNECTIONS is not set (or a quarter of the descriptor limit, if lower). */
export const DEFAULT_MAX_CONNECTIONS = 1000;

/**
 * This process's open-file limit (the soft RLIMIT_NOFILE, which Node raises to
 * the hard limit at start), read from /proc/self/limits; undefined where
 * there is no such file (not Linux) or it cannot be read.
 */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? undefined : Number(m[1]);
}

/**
 * The local server's inbound connection cap. Every inbound socket is a file
 * descriptor, and so is every call to Nova, Keystone and Slack: the cap keeps
 * at least half of the process's descriptors for those calls and the store.
 * Default: {@link DEFAULT_MAX_CONNECTIONS}, or a quarter of the limit if lower.
 * A configured cap above half the limit is a configuration error.
 */
export function connectionCap(configured: number | undefined, limit: number | undefined): number {
  if (limit === undefined) return configured ?? DEFAULT_MAX_CONNECTIONS;
  const most = Math.floor(limit / 2);
  if (configured === undefined) return Math.max(1, Math.min(DEFAULT_MAX_CONNECTIONS, Math.floor(limit / 4)));
  if (configured > most) {
    throw new ConfigError('the bot is not configured', [
      `FORCE_DOWN_MAX_CONNECTIONS: ${configured} is too close to this process's open-file limit (${limit}): at most ${most}, so that calls to Nova, Keystone and Slack always get a descriptor`,
    ]);
  }
  return configured;
}
