import { describe, expect, it } from 'vitest';
import { hostFromLabels, stripPort } from '../../../src/alerts/host.js';

const DEFAULT = ['host', 'hostname', 'nodename', 'instance'];

describe('hostFromLabels', () => {
  it.each([
    [{ instance: 'compute1:9100' }, 'compute1'],
    [{ instance: 'compute1.example.org:9100' }, 'compute1.example.org'],
    [{ instance: 'compute1.example.org' }, 'compute1.example.org'],
    [{ instance: 'Compute_1' }, 'Compute_1'],
    [{ instance: '10.0.0.5:9100' }, '10.0.0.5'],
    [{ nodename: 'node-a', instance: 'x:1' }, 'node-a'],
    [{ hostname: 'h', nodename: 'n' }, 'h'],
    [{ host: 'compute7', hostname: 'h' }, 'compute7'],
  ])('%j → %s', (labels, host) => {
    expect(hostFromLabels(labels, DEFAULT)).toMatchObject({ host });
  });

  it('returns no-host when no label is present or all are empty', () => {
    expect(hostFromLabels({ job: 'node' }, DEFAULT)).toEqual({ problem: 'no-host' });
    expect(hostFromLabels({ host: '', instance: '' }, DEFAULT)).toEqual({ problem: 'no-host' });
    expect(hostFromLabels({}, [])).toEqual({ problem: 'no-host' });
  });

  it('does not read inherited properties as labels', () => {
    expect(hostFromLabels({}, ['constructor', 'toString'])).toEqual({ problem: 'no-host' });
  });

  it.each(['[::1]:9100', '[fe80::1%eth0]:9100', '::1', 'fe80::1', 'compute 1', 'a/b', 'a?b', 'x'.repeat(254), 'compute1:', ':9100', '-bad'])(
    'refuses %s as bad-host',
    (instance) => {
      expect(hostFromLabels({ instance }, DEFAULT)).toMatchObject({ problem: 'bad-host', label: 'instance' });
    },
  );

  it('does not fall through to a later label when the first present one is bad', () => {
    expect(hostFromLabels({ host: 'bad host', instance: 'compute1:9100' }, DEFAULT)).toMatchObject({ problem: 'bad-host', label: 'host' });
  });

  it('strips only a numeric port', () => {
    expect(stripPort('compute1:9100')).toBe('compute1');
    expect(stripPort('compute1:http')).toBe('compute1:http');
    expect(stripPort('a:b:9100')).toBe('a:b:9100');
  });
});
