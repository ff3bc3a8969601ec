import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countByState,
  evacuateBody,
  evacuateMicroversion,
  formatStateCounts,
  isHaEnabled,
  migrationPhase,
  serversMicroversion,
  summarizeInstances,
} from '../../../src/domain/instance.js';

const inst = (status: string, ha = false) => ({ status, ha });
const many = (n: number, status: string, ha = false) => Array.from({ length: n }, () => inst(status, ha));

describe('what is at stake on a host', () => {
  it('counts ACTIVE, SHUTOFF, ERROR first, then other states by count and name', () => {
    const instances = [...many(1, 'ERROR'), ...many(2, 'PAUSED'), ...many(4, 'SHUTOFF'), ...many(31, 'ACTIVE'), ...many(2, 'BUILD'), ...many(5, 'SUSPENDED')];
    expect(formatStateCounts(countByState(instances))).toBe('ACTIVE 31 · SHUTOFF 4 · ERROR 1 · SUSPENDED 5 · BUILD 2 · PAUSED 2');
  });
  it('leaves out states with no instance, and says "no instances" for none', () => {
    expect(formatStateCounts(countByState([...many(3, 'ERROR'), ...many(1, 'ACTIVE')]))).toBe('ACTIVE 1 · ERROR 3');
    expect(formatStateCounts(countByState([]))).toBe('no instances');
  });
  it('summarizes the total and how many are marked for HA', () => {
    const s = summarizeInstances([...many(3, 'ACTIVE', true), ...many(2, 'SHUTOFF'), inst('ERROR', true)]);
    expect(s).toEqual({ total: 6, ha: 4, byState: [{ state: 'ACTIVE', count: 3 }, { state: 'SHUTOFF', count: 2 }, { state: 'ERROR', count: 1 }], text: 'ACTIVE 3 · SHUTOFF 2 · ERROR 1' });
  });
  it('counts every instance once, whatever the order they come in', () => {
    const states = fc.constantFrom('ACTIVE', 'SHUTOFF', 'ERROR', 'PAUSED', 'REBUILD', '');
    fc.assert(
      fc.property(fc.array(states, { maxLength: 60 }), (list) => {
        const counts = countByState(list.map((s) => inst(s)));
        expect(counts.reduce((n, c) => n + c.count, 0)).toBe(list.length);
        const reversed = countByState([...list].reverse().map((s) => inst(s)));
        expect(reversed).toEqual(counts);
      }),
    );
  });
});

describe("Masakari's HA_Enabled", () => {
  it.each([
    [{ HA_Enabled: 'True' }, true],
    [{ HA_Enabled: 'true' }, true],
    [{ HA_Enabled: ' YES ' }, true],
    [{ HA_Enabled: '1' }, true],
    [{ HA_Enabled: 'on' }, true],
    [{ HA_Enabled: 'False' }, false],
    [{ HA_Enabled: 'enabled' }, false],
    [{ HA_Enabled: '' }, false],
    [{ ha_enabled: 'True' }, false],
    [{}, false],
    [undefined, false],
  ])('%j → %s', (metadata, ha) => {
    expect(isHaEnabled(metadata as Record<string, unknown> | undefined)).toBe(ha);
  });
});

describe('the evacuate microversion and body', () => {
  it('takes the lowest of Nova, the pin and 2.68; listing works at any microversion', () => {
    expect(serversMicroversion('2.93')).toBe('2.68');
    expect(serversMicroversion('2.60')).toBe('2.60');
    expect(serversMicroversion('2.93', '2.53')).toBe('2.53');
    expect(serversMicroversion('2.1')).toBe('2.1');
    expect(serversMicroversion('')).toBeUndefined();
  });
  it('refuses to evacuate below 2.14 (NOVA_TOO_OLD), naming a pin that is the cause', () => {
    expect(evacuateMicroversion('2.93')).toEqual({ ok: true, value: '2.68' });
    expect(evacuateMicroversion('2.14')).toEqual({ ok: true, value: '2.14' });
    expect(evacuateMicroversion('2.13')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD', message: expect.stringContaining('2.13') } });
    expect(evacuateMicroversion('2.1')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
    expect(evacuateMicroversion('')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
    expect(evacuateMicroversion('2.93', '2.11')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD', message: expect.stringContaining('pinned') } });
  });
  it('sends host only with a target, and never force or onSharedStorage, at every microversion from 2.14', () => {
    for (let minor = 14; minor <= 100; minor++) {
      const v = `2.${minor}`;
      expect(evacuateBody(v)).toEqual({ ok: true, value: { evacuate: {} } });
      expect(evacuateBody(v, 'compute7')).toEqual({ ok: true, value: { evacuate: { host: 'compute7' } } });
      expect(evacuateBody(v, '  ')).toEqual({ ok: true, value: { evacuate: {} } });
    }
  });
  it('refuses a body below 2.14, where Nova wants onSharedStorage', () => {
    expect(evacuateBody('2.13')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
    expect(evacuateBody('2.1', 'compute7')).toMatchObject({ ok: false, failure: { code: 'NOVA_TOO_OLD' } });
  });
});

describe('migration phases', () => {
  it.each([
    ['done', 'done'],
    ['completed', 'done'],
    ['failed', 'failed'],
    ['error', 'failed'],
    ['Error', 'failed'],
    ['accepted', 'in-progress'],
    ['pre-migrating', 'in-progress'],
    ['migrating', 'in-progress'],
    ['post-migrating', 'in-progress'],
    ['something-new', 'in-progress'],
  ])('%s → %s', (status, phase) => {
    expect(migrationPhase(status)).toBe(phase);
  });
});
