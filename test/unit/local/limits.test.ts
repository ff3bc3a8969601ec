// The inbound connection cap (issue #11, 1): well below the descriptor limit, a setting validated at start.
import { describe, expect, it } from 'vitest';
import { loadBotSettings } from '../../../src/config/env.js';
import { ConfigError } from '../../../src/config/schema.js';
import { connectionCap, DEFAULT_MAX_CONNECTIONS, openFileLimit } from '../../../src/local/limits.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

const env = (extra: Record<string, string> = {}) => ({ FORCE_DOWN_SECRET_FILE: 's.json', FORCE_DOWN_APPROVERS: 'U0APPROVE1', ...extra });

describe('the connection cap', () => {
  it('reads the soft open-file limit from /proc/self/limits (undefined when there is none)', () => {
    expect(openFileLimit(() => LIMITS)).toBe(20000);
    expect(openFileLimit(() => LIMITS.replace('20000                20000', 'unlimited            unlimited'))).toBeUndefined();
    expect(
      openFileLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    // This process (Linux in the test machine): a positive number.
    expect(openFileLimit()).toBeGreaterThan(0);
  });

  it('defaults to 1,000, or a quarter of the descriptor limit when that is lower', () => {
    expect(connectionCap(undefined, 20000)).toBe(DEFAULT_MAX_CONNECTIONS);
    expect(DEFAULT_MAX_CONNECTIONS).toBe(1000);
    expect(connectionCap(undefined, 1024)).toBe(256);
    expect(connectionCap(undefined, undefined)).toBe(1000);
  });

  it('FORCE_DOWN_MAX_CONNECTIONS may be at most half the descriptor limit; above, the bot does not start and says why', () => {
    expect(connectionCap(5000, 20000)).toBe(5000);
    expect(connectionCap(10000, 20000)).toBe(10000);
    let err: unknown;
    try {
      connectionCap(10001, 20000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(
      "FORCE_DOWN_MAX_CONNECTIONS: 10001 is too close to this process's open-file limit (20000): at most 10000, so that calls to Nova, Keystone and Slack always get a descriptor",
    );
  });

  it('FORCE_DOWN_MAX_CONNECTIONS is validated with the other settings: a whole number of at least 16', () => {
    expect(loadBotSettings(env()).maxConnections).toBeUndefined();
    expect(loadBotSettings(env({ FORCE_DOWN_MAX_CONNECTIONS: '800' })).maxConnections).toBe(800);
    for (const bad of ['lots', '12.5', '8', '-1']) {
      expect(() => loadBotSettings(env({ FORCE_DOWN_MAX_CONNECTIONS: bad })), bad).toThrow(/FORCE_DOWN_MAX_CONNECTIONS: /);
    }
  });
});
