import { describe, expect, it } from 'vitest';
import { chooseCloud, cloudContextOf, namedCloud } from '../../../src/config/cloud-choice.js';
import { catchConfigError } from './builders.js';

describe('namedCloud: the one precedence for every credential source', () => {
  const all = { OS_CLOUD: 'from-os-cloud', FORCE_DOWN_DEFAULT_CLOUD: 'from-default' };

  it('--cloud / --os-cloud, then OS_CLOUD, then FORCE_DOWN_DEFAULT_CLOUD, else nothing', () => {
    expect(namedCloud({ name: 'flagged', flag: '--cloud' }, all)).toEqual({ name: 'flagged', namedBy: '--cloud' });
    expect(namedCloud({ name: 'flagged', flag: '--os-cloud' }, all)).toEqual({ name: 'flagged', namedBy: '--os-cloud' });
    expect(namedCloud(undefined, all)).toEqual({ name: 'from-os-cloud', namedBy: 'OS_CLOUD' });
    expect(namedCloud(undefined, { FORCE_DOWN_DEFAULT_CLOUD: 'from-default' })).toEqual({ name: 'from-default', namedBy: 'FORCE_DOWN_DEFAULT_CLOUD' });
    expect(namedCloud(undefined, {})).toBeUndefined();
  });

  it('empty values count as unset', () => {
    expect(namedCloud({ name: '', flag: '--cloud' }, { OS_CLOUD: '', FORCE_DOWN_DEFAULT_CLOUD: 'd' })).toEqual({ name: 'd', namedBy: 'FORCE_DOWN_DEFAULT_CLOUD' });
    expect(namedCloud(undefined, { OS_CLOUD: '', FORCE_DOWN_DEFAULT_CLOUD: '' })).toBeUndefined();
  });
});

describe('chooseCloud', () => {
  const clouds = { a: 1, b: 2 };

  it('the only cloud when none is named, and says so', () => {
    expect(chooseCloud({ solo: 1 }, undefined, {}, 'src')).toEqual({ name: 'solo', cloud: 1, namedBy: 'the only cloud' });
  });

  it('errors carry the names there are, for --json', () => {
    const several = catchConfigError(() => chooseCloud(clouds, undefined, {}, 'src'));
    expect(several.message).toBe('src has several clouds (a, b): name one with --cloud, OS_CLOUD or FORCE_DOWN_DEFAULT_CLOUD');
    expect(cloudContextOf(several)).toEqual({ clouds: ['a', 'b'] });
    const unknown = catchConfigError(() => chooseCloud(clouds, undefined, { OS_CLOUD: 'c' }, 'src'));
    expect(unknown.message).toBe('src has no cloud named "c" (named by OS_CLOUD; it has: a, b)');
    expect(cloudContextOf(unknown)).toEqual({ clouds: ['a', 'b'] });
  });
});
