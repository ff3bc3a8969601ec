import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insecureBmcEntries, insecureBmcWarning, resolveBmcTarget } from '../../../src/config/bmc.js';
import { loadBotSettings } from '../../../src/config/env.js';
import { parseSecretDocument } from '../../../src/config/secret-document.js';
import { PEM, SECRETS, appCredCloud, catchConfigError, expectNoSecrets, tempDir } from './builders.js';

const BMC_PW = 'SEKRET-bmc-pw';
const HOST_PW = 'SEKRET-host-pw';

const parse = (bmc: unknown, baseDir?: string) =>
  parseSecretDocument(JSON.stringify({ clouds: { prod: appCredCloud(), lab: appCredCloud() }, bmc }), 'test secret', baseDir);
const parseError = (bmc: unknown) => catchConfigError(() => parse(bmc));

const template = { url: 'https://{host}-bmc.mgmt.example', username: 'redfish', password: BMC_PW, caCert: PEM };

describe('the bmc section of the secret document', () => {
  it('is optional: a document without it has no BMC for any host', () => {
    const doc = parse(undefined);
    expect(doc.bmc).toBeUndefined();
    expect(resolveBmcTarget(doc.bmc, 'prod', 'compute7')).toBeUndefined();
  });

  it('a host entry over the template, {host} replaced; the host entry wins field by field', () => {
    const doc = parse({
      prod: { template, hosts: { compute7: { url: 'https://10.20.0.7', system: '/redfish/v1/Systems/1', username: 'root', password: HOST_PW } } },
    });

    expect(resolveBmcTarget(doc.bmc, 'prod', 'compute7')).toEqual({
      host: 'compute7',
      url: 'https://10.20.0.7',
      system: '/redfish/v1/Systems/1',
      auth: { username: 'root', password: HOST_PW },
      tls: { ca: PEM, insecure: false },
    });
    // Any other host of the cloud: the template, with its name.
    expect(resolveBmcTarget(doc.bmc, 'prod', 'compute12')).toEqual({
      host: 'compute12',
      url: 'https://compute12-bmc.mgmt.example',
      auth: { username: 'redfish', password: BMC_PW },
      tls: { ca: PEM, insecure: false },
    });
    // Another cloud has no BMCs.
    expect(resolveBmcTarget(doc.bmc, 'lab', 'compute7')).toBeUndefined();
  });

  it('host names compare case-insensitively, and {host} is the lower-case name', () => {
    const doc = parse({ prod: { template, hosts: { Compute7: { url: 'https://10.20.0.7' } } } });
    expect(resolveBmcTarget(doc.bmc, 'prod', 'COMPUTE7')?.url).toBe('https://10.20.0.7');
    expect(resolveBmcTarget(doc.bmc, 'prod', 'Compute12')?.url).toBe('https://compute12-bmc.mgmt.example');
  });

  it('without a template url, only the listed hosts have a BMC', () => {
    const doc = parse({ prod: { template: { username: 'redfish', password: BMC_PW, insecure: true }, hosts: { compute7: { url: 'https://10.20.0.7' } } } });
    expect(resolveBmcTarget(doc.bmc, 'prod', 'compute7')).toMatchObject({ url: 'https://10.20.0.7', tls: { insecure: true } });
    expect(resolveBmcTarget(doc.bmc, 'prod', 'compute8')).toBeUndefined();
  });

  it('a host caCert replaces a template insecure (and insecure a template caCert)', () => {
    const doc = parse({
      prod: {
        template: { ...template, caCert: undefined, insecure: true },
        hosts: { a: { caCert: PEM }, b: {} },
      },
      lab: { template, hosts: { c: { insecure: true } } },
    });
    expect(resolveBmcTarget(doc.bmc, 'prod', 'a')?.tls).toEqual({ ca: PEM, insecure: false });
    expect(resolveBmcTarget(doc.bmc, 'prod', 'b')?.tls).toEqual({ insecure: true });
    expect(resolveBmcTarget(doc.bmc, 'lab', 'c')?.tls).toEqual({ insecure: true });
    expect(insecureBmcEntries(doc.bmc)).toEqual(['bmc.prod.template', 'bmc.prod.hosts.b', 'bmc.lab.hosts.c']);
    const warning = insecureBmcWarning(doc.bmc)!;
    expect(warning).toContain('bmc.prod.hosts.b');
    expectNoSecrets(warning, BMC_PW);
  });

  it('no warning when every BMC is verified', () => {
    expect(insecureBmcWarning(parse({ prod: { template } }).bmc)).toBeUndefined();
  });

  it('an invalid host name gets no BMC (it could not be put in a URL safely)', () => {
    const doc = parse({ prod: { template } });
    expect(resolveBmcTarget(doc.bmc, 'prod', 'x/../evil')).toBeUndefined();
    expect(resolveBmcTarget(doc.bmc, 'prod', '')).toBeUndefined();
  });

  it('caCert may be a path to a PEM file, relative to the secret file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bmc-ca.pem'), PEM);
    const doc = parse({ prod: { template: { ...template, caCert: 'bmc-ca.pem' } } }, dir);
    expect(resolveBmcTarget(doc.bmc, 'prod', 'c1')?.tls.ca).toBe(PEM);
  });
});

describe('the bmc section: problems name the field, never a value', () => {
  it('an incomplete host entry: url, username and password each named', () => {
    const err = parseError({ prod: { hosts: { compute7: { system: '/redfish/v1/Systems/1' } } } });
    expect(err.problems).toEqual(
      expect.arrayContaining(['bmc.prod.hosts.compute7.url: required (here or in the template)', 'bmc.prod.hosts.compute7.username: required (here or in the template)', 'bmc.prod.hosts.compute7.password: required (here or in the template)']),
    );
  });

  it('a template with a url must be complete on its own (it covers every host)', () => {
    const err = parseError({ prod: { template: { url: 'https://{host}-bmc.example', password: BMC_PW } } });
    expect(err.problems).toEqual(['bmc.prod.template.username: required (here or in the template)']);
    expectNoSecrets(err.message, BMC_PW);
  });

  it('http, or credentials in the URL, are refused; the password is never quoted', () => {
    const err = parseError({
      prod: { hosts: { a: { url: 'http://10.0.0.1', username: 'u', password: BMC_PW }, b: { url: `https://root:${BMC_PW}@10.0.0.2`, username: 'u', password: BMC_PW } } },
    });
    expect(err.problems.some((p) => p.startsWith('bmc.prod.hosts.a.url: must be an https URL'))).toBe(true);
    expect(err.problems.some((p) => p.startsWith('bmc.prod.hosts.b.url: must be an https URL'))).toBe(true);
    expectNoSecrets(err.message, BMC_PW);
  });

  it('unknown fields (a typo such as cacert) are named', () => {
    const err = parseError({ prod: { template: { ...template, caCert: undefined, cacert: PEM } } });
    expect(err.problems).toContain('bmc.prod.template: unknown field(s) cacert');
  });

  it('caCert and insecure together are refused', () => {
    const err = parseError({ prod: { template: { ...template, insecure: true } } });
    expect(err.problems).toContain('bmc.prod.template.insecure: set caCert or insecure: true, not both');
  });

  it('a system that is not a Redfish system path', () => {
    const err = parseError({ prod: { template: { ...template, system: '1' } } });
    expect(err.problems).toContain('bmc.prod.template.system: must be a Redfish system path like /redfish/v1/Systems/1');
  });

  it('two host entries differing in case only', () => {
    const err = parseError({ prod: { template, hosts: { compute7: {}, COMPUTE7: {} } } });
    expect(err.problems.some((p) => p.startsWith('bmc.prod.hosts.COMPUTE7: names the same host as "compute7"'))).toBe(true);
  });

  it('a cloud name that is not among clouds', () => {
    const err = parseError({ prd: { template } });
    expect(err.problems).toEqual(['bmc.prd: names no cloud of clouds (prod, lab)']);
  });

  it('a password of the wrong type is named without its value', () => {
    const err = parseError({ prod: { template: { ...template, password: 12345 } } });
    expect(err.problems).toContain('bmc.prod.template.password: expected string');
    expect(err.message).not.toContain('12345');
    expectNoSecrets(err.message, BMC_PW, ...Object.values(SECRETS));
  });
});

describe('FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS', () => {
  const base = { FORCE_DOWN_SECRET_FILE: 'x', FORCE_DOWN_APPROVERS: 'U0APPROVER' };
  it('defaults to 120 s and takes 10-900', () => {
    expect(loadBotSettings(base).bmcPowerOffTimeoutMs).toBe(120_000);
    expect(loadBotSettings({ ...base, FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: '300' }).bmcPowerOffTimeoutMs).toBe(300_000);
    for (const bad of ['5', '901', 'soon']) {
      const err = catchConfigError(() => loadBotSettings({ ...base, FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: bad }));
      expect(err.problems.some((p) => p.startsWith('FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS:'))).toBe(true);
    }
  });
});
