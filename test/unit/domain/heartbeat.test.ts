import { describe, expect, it } from 'vitest';
import { judgeHeartbeat, recentHeartbeatAgeMs } from '../../../src/domain/heartbeat.js';

const T = Date.UTC(2026, 10, 25, 14, 0, 0);
/** Nova's naive UTC timestamps, as os-services shows them. */
const nova = (ms: number) => new Date(ms).toISOString().replace('Z', '000');
const up = (beatMs: number, over: { forcedDown?: boolean; state?: string } = {}) => ({ state: 'up', forcedDown: false, updatedAt: nova(beatMs), ...over });

describe('judgeHeartbeat', () => {
  it('a service Nova already counts down (not forced) is silent, whatever updated_at says (an admin change moves it too)', () => {
    expect(judgeHeartbeat({ state: 'down', forcedDown: false, updatedAt: nova(T - 1000) }, { now: T, waitMs: 20_000 })).toEqual({ kind: 'silent' });
  });

  it('a heartbeat older than the wait is silent; a younger one waits until the wait has passed since it', () => {
    expect(judgeHeartbeat(up(T - 25_000), { now: T, waitMs: 20_000 })).toEqual({ kind: 'silent' });
    expect(judgeHeartbeat(up(T - 4_000), { now: T, waitMs: 20_000 })).toEqual({ kind: 'wait', lastMs: T - 4_000, untilMs: T + 16_000 });
  });

  it('a heartbeat newer than the first one seen is the host alive', () => {
    expect(judgeHeartbeat(up(T + 6_000), { now: T + 8_000, waitMs: 20_000, firstSeenMs: T - 4_000 })).toEqual({ kind: 'alive', lastMs: T + 6_000, why: 'new-heartbeat' });
  });

  it('a heartbeat newer than the confirmation is the host alive, even on the first reading', () => {
    expect(judgeHeartbeat(up(T - 1_000), { now: T, waitMs: 20_000, confirmedAtMs: T - 5_000 })).toEqual({ kind: 'alive', lastMs: T - 1_000, why: 'after-confirmation' });
  });

  it('a forced-down service is still watched by its updated_at (a fenced host cannot move it)', () => {
    expect(judgeHeartbeat(up(T - 3_000, { forcedDown: true, state: 'down' }), { now: T, waitMs: 20_000 }).kind).toBe('wait');
  });

  it('a service that never reported is silent; a wait of 0 never waits', () => {
    expect(judgeHeartbeat({ state: 'up', forcedDown: false, updatedAt: null }, { now: T, waitMs: 20_000 })).toEqual({ kind: 'silent' });
    expect(judgeHeartbeat(up(T - 1), { now: T, waitMs: 0 })).toEqual({ kind: 'silent' });
  });
});

describe('recentHeartbeatAgeMs (the ⚠ on the card and in the modal)', () => {
  it('is the age of a heartbeat younger than Nova\'s service_down_time (60 s)', () => {
    expect(recentHeartbeatAgeMs(up(T - 4_000), T)).toBe(4_000);
    expect(recentHeartbeatAgeMs(up(T - 61_000), T)).toBeUndefined();
  });

  it('says nothing for a service Nova counts down or that is forced down (its updated_at moved with that change)', () => {
    expect(recentHeartbeatAgeMs({ state: 'down', forcedDown: false, updatedAt: nova(T - 4_000) }, T)).toBeUndefined();
    expect(recentHeartbeatAgeMs(up(T - 4_000, { forcedDown: true, state: 'down' }), T)).toBeUndefined();
  });
});
