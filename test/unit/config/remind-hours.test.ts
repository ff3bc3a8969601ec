import { describe, expect, it } from 'vitest';
import { loadBotSettings } from '../../../src/config/env.js';
import { catchConfigError } from './builders.js';

describe('FORCE_DOWN_REMIND_HOURS', () => {
  const base = { FORCE_DOWN_SECRET_FILE: 'x', FORCE_DOWN_APPROVERS: 'U0APPROVER' };

  it('defaults to 24 h; takes hours, fractions too, from 0.001 (3.6 s, for tests) to 720 (30 days)', () => {
    expect(loadBotSettings(base).remindEveryMs).toBe(24 * 3_600_000);
    expect(loadBotSettings({ ...base, FORCE_DOWN_REMIND_HOURS: '8' }).remindEveryMs).toBe(8 * 3_600_000);
    expect(loadBotSettings({ ...base, FORCE_DOWN_REMIND_HOURS: '0.5' }).remindEveryMs).toBe(1_800_000);
    expect(loadBotSettings({ ...base, FORCE_DOWN_REMIND_HOURS: '0.001' }).remindEveryMs).toBe(3_600);
    expect(loadBotSettings({ ...base, FORCE_DOWN_REMIND_HOURS: '720' }).remindEveryMs).toBe(720 * 3_600_000);
  });

  it.each([
    ['0', 'at least 0.001'],
    ['0.0001', 'at least 0.001'],
    ['-1', 'at least 0.001'],
    ['721', 'at most 720'],
    ['daily', 'number of hours'],
  ])('refuses %s, naming the variable and why', (value, why) => {
    const err = catchConfigError(() => loadBotSettings({ ...base, FORCE_DOWN_REMIND_HOURS: value }));
    const problem = err.problems.find((p) => p.startsWith('FORCE_DOWN_REMIND_HOURS:'));
    expect(problem).toContain(why);
  });
});
