import { describe, expect, it } from 'vitest';
import { hostFromLabels, hostFromValue, isIpAddress, stripPort } from '../../../src/alerts/host.js';
import { compileHostPattern, hostPatternProblem } from '../../../src/alerts/types.js';

const DEFAULT = ['host', 'hostname', 'nodename', 'instance'];

describe('hostFromLabels', () => {
  it.each([
    [{ instance: 'compute1:9100' }, 'compute1'],
    [{ instance: 'compute1.example.org:9100' }, 'compute1.example.org'],
    [{ instance: 'compute1.example.org' }, 'compute1.example.org'],
    [{ instance: 'Compute_1' }, 'Compute_1'],
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

  it.each(['compute 1', 'a/b', 'a?b', 'x'.repeat(254), 'compute1:', ':9100', '-bad', 'compute1:9100:1'])(
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

describe('IP addresses are never hosts', () => {
  it.each(['10.0.0.5', '10.0.0.5:9100', '192.168.1.254:80', 'fe80::1', '::1', 'fe80::1%eth0', '2001:db8::1', '::ffff:10.0.0.5', '[2001:db8::1]:9100', '[::1]:9100', '[fe80::1%eth0]:9100', '[2001:db8::1]'])(
    '%s is an IP address: ignored, not a host',
    (instance) => {
      expect(isIpAddress(instance)).toBe(true);
      expect(hostFromLabels({ instance }, DEFAULT)).toEqual({ problem: 'ip-address', label: 'instance', value: instance });
      expect(hostFromLabels({ instance }, DEFAULT, compileHostPattern('^([^.:]+)'))).toMatchObject({ problem: 'ip-address' });
    },
  );

  it.each(['compute1', 'compute1:9100', 'compute1.dc1.example:9100', '10.0.0', '10-0-0-5.example', 'c10.0.0.5'])('%s is not an IP address', (v) => {
    expect(isIpAddress(v)).toBe(false);
  });

  it('an IP address captured by hostPattern is not a host either', () => {
    // The value is not an address, but what the pattern takes of it is.
    expect(hostFromValue('node-10.0.0.5', 'host', compileHostPattern('^node-(.+)$'))).toEqual({ problem: 'ip-address', label: 'host', value: 'node-10.0.0.5' });
  });
});

describe('hostPattern', () => {
  const FIRST_LABEL = compileHostPattern('^([^.:]+)');

  it.each([
    ['compute1.dc1.example:9100', 'compute1'],
    ['compute1:9100', 'compute1'],
    ['compute1', 'compute1'],
    ['alert3.dc1.example:9100', 'alert3'],
  ])('node_exporter instance %s with ^([^.:]+) → %s', (instance, host) => {
    expect(hostFromLabels({ instance }, DEFAULT, FIRST_LABEL)).toEqual({ host, label: 'instance' });
  });

  it('the capture group is the host, wherever it is in the value', () => {
    expect(hostFromValue('prod/compute7/nova', 'host', compileHostPattern('^prod/([^/]+)/'))).toEqual({ host: 'compute7', label: 'host' });
    expect(hostFromValue('Host compute7 is down', 'host', compileHostPattern('Host (\\S+) is down'))).toEqual({ host: 'compute7', label: 'host' });
  });

  it('a value the pattern does not match is ignored with the reason', () => {
    expect(hostFromLabels({ instance: 'compute1.dc1.example:9100' }, DEFAULT, compileHostPattern('^(cmp\\d+)\\.'))).toEqual({
      problem: 'host-pattern',
      label: 'instance',
      value: 'compute1.dc1.example:9100',
    });
    // A group that matches but captures nothing is no host either.
    expect(hostFromValue('compute1', 'host', compileHostPattern('^(x*)'))).toMatchObject({ problem: 'host-pattern' });
    expect(hostFromValue('compute1', 'host', compileHostPattern('^(?:x(y))?'))).toMatchObject({ problem: 'host-pattern' });
  });

  it('what the pattern captures must still be a host name', () => {
    expect(hostFromValue('compute 1.example', 'host', compileHostPattern('^([^.]+)'))).toMatchObject({ problem: 'bad-host', detail: 'bad-label' });
  });

  it('without a pattern, the port is stripped as before; with one, the capture is taken as it is', () => {
    expect(hostFromValue('compute1.dc1.example:9100', 'instance')).toEqual({ host: 'compute1.dc1.example', label: 'instance' });
    expect(hostFromValue('compute1.dc1.example:9100', 'instance', compileHostPattern('^(.+)$'))).toMatchObject({ problem: 'bad-host' });
  });

  it.each([
    ['^([^.:]+)', undefined],
    ['(?<host>[a-z0-9-]+)\\.', undefined],
    ['^(?:node-)?([^.]+)', undefined],
    ['^[^.:]+', 'exactly one capture group'],
    ['^([^.]+)\\.(dc\\d)', 'exactly one capture group'],
    ['^([^.:]+', 'not a valid JavaScript regular expression'],
    ['(?<x>a)(?<y>b)', 'exactly one capture group'],
  ])('hostPatternProblem(%s)', (pattern, problem) => {
    const found = hostPatternProblem(pattern);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
