import { describe, expect, it } from 'vitest';
import { describePowerState, isGraceful, isKnownPowerState, isOff, strongestHardOff } from '../../../src/domain/power.js';

describe('isOff', () => {
  it('only PowerState "Off", exactly, is off', () => {
    expect(isOff({ powerState: 'Off' })).toBe(true);
    for (const s of ['On', 'PoweringOff', 'PoweringOn', 'off', 'OFF', ' Off', '', 'Paused', null]) expect(isOff({ powerState: s })).toBe(false);
  });
});

describe('strongestHardOff', () => {
  it('ForceOff first, then GracefulShutdown, then PushPowerButton; never a restart or an on', () => {
    expect(strongestHardOff(['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn'])).toBe('ForceOff');
    expect(strongestHardOff(['PushPowerButton', 'GracefulShutdown', 'On'])).toBe('GracefulShutdown');
    expect(strongestHardOff(['PushPowerButton', 'On'])).toBe('PushPowerButton');
    expect(strongestHardOff(['On', 'ForceOn', 'ForceRestart', 'GracefulRestart', 'PowerCycle', 'FullPowerCycle', 'Nmi', 'Suspend', 'Pause'])).toBeUndefined();
    expect(strongestHardOff([])).toBeUndefined();
  });

  it('no allowable values listed: ForceOff (Redfish: every value allowed)', () => {
    expect(strongestHardOff(undefined)).toBe('ForceOff');
  });

  it('graceful: all but ForceOff', () => {
    expect(isGraceful('ForceOff')).toBe(false);
    expect(isGraceful('GracefulShutdown')).toBe(true);
    expect(isGraceful('PushPowerButton')).toBe(true);
  });
});

describe('describePowerState', () => {
  it('names the four states, quotes anything else printable and bounded', () => {
    expect(describePowerState('PoweringOff')).toBe('PoweringOff');
    expect(isKnownPowerState('PoweringOff')).toBe(true);
    expect(describePowerState(null)).toBe('no power state');
    expect(describePowerState('Paused')).toBe('"Paused"');
    expect(describePowerState('a\u0000<!channel>' + 'x'.repeat(100))).toMatch(/^"a\?<!channel>x+"$/);
    expect(describePowerState('x'.repeat(100)).length).toBeLessThanOrEqual(42);
  });
});
