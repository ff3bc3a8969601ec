import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/schema.js';
import { chooseCloud } from '../../../src/config/cloud-choice.js';
import { loadSecretFile, parseSecretDocument } from '../../../src/config/secret-document.js';
import {
  PEM,
  SECRETS,
  appCredCloud,
  catchConfigError,
  expectNoSecrets,
  passwordCloud,
  secretDoc,
  tempDir,
} from './builders.js';

const parse = (doc: unknown) => parseSecretDocument(JSON.stringify(doc), 'test secret');
const parseError = (doc: unknown) => catchConfigError(() => parse(doc));

describe('parseSecretDocument: a valid document', () => {
  it('parses application-credential and password clouds as given', () => {
    const doc = parse(secretDoc());

    expect(doc.slack).toEqual({ signingSecret: SECRETS.signingSecret, botToken: SECRETS.botToken });
    expect(Object.keys(doc.clouds)).toEqual(['prod', 'lab']);
    expect(doc.clouds.prod?.auth).toMatchObject({
      auth_url: 'https://keystone.example:5000/v3',
      application_credential_id: 'ac-0123',
      application_credential_secret: SECRETS.appCredSecret,
    });
    expect(doc.clouds.prod?.region_name).toBe('RegionOne');
    expect(doc.clouds.lab?.auth).toMatchObject({
      username: 'force-down',
      password: SECRETS.password,
      project_name: 'admin',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    });
    expect(doc.alerts.grafana).toMatchObject({ token: SECRETS.alertToken, hmacSecret: SECRETS.hmacSecret });
  });

  it('fills the defaults: interface public, verify true, alerts {}, autoForceDown false', () => {
    const doc = parse({ clouds: { prod: appCredCloud() } });

    expect(doc.clouds.prod?.interface).toBe('public');
    expect(doc.clouds.prod?.verify).toBe(true);
    expect(doc.alerts).toEqual({});
    expect(doc.slack).toBeUndefined();

    const withAlerts = parse(secretDoc({ alerts: { generic: { token: SECRETS.alertToken } } }));
    expect(withAlerts.alerts.generic?.autoForceDown).toBe(false);
  });

  it.each([
    ['publicURL', 'public'],
    ['internalURL', 'internal'],
    ['adminURL', 'admin'],
    ['internal', 'internal'],
  ])('normalizes interface %s to %s', (given, expected) => {
    const doc = parse(secretDoc({ clouds: { prod: appCredCloud({ interface: given }) } }));
    expect(doc.clouds.prod?.interface).toBe(expected);
  });

  it('keeps verify false and a pinned compute microversion', () => {
    const doc = parse(secretDoc({ clouds: { prod: appCredCloud({ verify: false, compute_api_version: '2.53' }) } }));
    expect(doc.clouds.prod?.verify).toBe(false);
    expect(doc.clouds.prod?.compute_api_version).toBe('2.53');
  });

  it('accepts application credentials by name with a username', () => {
    const doc = parse(
      secretDoc({
        clouds: {
          prod: appCredCloud({}, { application_credential_id: undefined, application_credential_name: 'force-down', username: 'svc' }),
        },
      }),
    );
    expect(doc.clouds.prod?.auth.application_credential_name).toBe('force-down');
  });

  it('keeps clouds.yaml keys it does not use (pasted as-is)', () => {
    const doc = parse(secretDoc({ clouds: { prod: appCredCloud({ identity_api_version: 3 }, { system_scope: 'all' }) } }));
    expect(doc.clouds.prod).toMatchObject({ identity_api_version: 3, auth: { system_scope: 'all' } });
  });
});

describe('the README\'s secret.example.json', () => {
  it('is a valid secret document with every alert source, its clouds and a BMC section', () => {
    const doc = parseSecretDocument(readFileSync(join(__dirname, '../../../secret.example.json'), 'utf8'), 'secret.example.json');
    expect(Object.keys(doc.alerts ?? {}).sort()).toEqual(['alertmanager', 'doctor', 'generic', 'grafana', 'pagerduty']);
    expect(Object.keys(doc.clouds).length).toBeGreaterThan(0);
    expect(doc.bmc).toBeDefined();
  });
});

describe('parseSecretDocument: bad fields name the field path and never a secret value', () => {
  const prodPassword = (overrides: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) =>
    secretDoc({ clouds: { prod: passwordCloud(overrides, auth) } });
  const prodAppCred = (overrides: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) =>
    secretDoc({ clouds: { prod: appCredCloud(overrides, auth) } });

  it.each<[string, unknown, string]>([
    ['auth_url missing', prodPassword({}, { auth_url: undefined }), 'clouds.prod.auth.auth_url'],
    ['auth_url not http(s), credentials inside', prodPassword({}, { auth_url: `ftp://admin:${SECRETS.password}@keystone` }), 'clouds.prod.auth.auth_url'],
    ['auth_url not a URL at all', prodPassword({}, { auth_url: 'SEKRET-not-a-url' }), 'clouds.prod.auth.auth_url'],
    ['password missing', prodPassword({}, { password: undefined }), 'clouds.prod.auth.password'],
    ['password empty', prodPassword({}, { password: '' }), 'clouds.prod.auth.password'],
    ['password not a string', prodPassword({}, { password: 987654321 }), 'clouds.prod.auth.password'],
    ['username missing', prodPassword({}, { username: undefined }), 'clouds.prod.auth.username'],
    ['project missing', prodPassword({}, { project_name: undefined }), 'clouds.prod.auth.project_name'],
    ['app credential secret without id', prodAppCred({}, { application_credential_id: undefined }), 'clouds.prod.auth.application_credential_id'],
    ['app credential id without secret', prodAppCred({}, { application_credential_secret: undefined }), 'clouds.prod.auth.application_credential_secret'],
    [
      'app credential name without username',
      prodAppCred({}, { application_credential_id: undefined, application_credential_name: 'force-down' }),
      'clouds.prod.auth.username',
    ],
    ['auth block missing', prodPassword({ auth: undefined }), 'clouds.prod.auth'],
    ['interface unknown', prodAppCred({ interface: 'SEKRET-iface' }), 'clouds.prod.interface'],
    ['verify not a boolean', prodAppCred({ verify: 'SEKRET-yes' }), 'clouds.prod.verify'],
    ['auth_type unknown', prodAppCred({ auth_type: 'SEKRET-oidc' }), 'clouds.prod.auth_type'],
    ['compute_api_version malformed', prodAppCred({ compute_api_version: 'SEKRET-3.0' }), 'clouds.prod.compute_api_version'],
    ['region_name empty', prodAppCred({ region_name: '' }), 'clouds.prod.region_name'],
    ['slack.botToken not a bot token', secretDoc({ slack: { signingSecret: SECRETS.signingSecret, botToken: 'SEKRET-bot-token-xyz' } }), 'slack.botToken'],
    ['slack.botToken missing', secretDoc({ slack: { signingSecret: SECRETS.signingSecret } }), 'slack.botToken'],
    ['slack.signingSecret empty', secretDoc({ slack: { signingSecret: '', botToken: SECRETS.botToken } }), 'slack.signingSecret'],
    ['alerts.grafana.token missing', secretDoc({ alerts: { grafana: { hmacSecret: SECRETS.hmacSecret } } }), 'alerts.grafana.token'],
    ['alerts.generic.autoForceDown not a boolean', secretDoc({ alerts: { generic: { token: SECRETS.alertToken, autoForceDown: 'yes' } } }), 'alerts.generic.autoForceDown'],
    ['clouds empty', secretDoc({ clouds: {} }), 'clouds'],
    ['clouds missing', secretDoc({ clouds: undefined }), 'clouds'],
  ])('%s → %s', (_what, doc, path) => {
    const err = parseError(doc);

    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('test secret is invalid');
    expect(err.problems.some((p) => p.startsWith(`${path}: `))).toBe(true);
    expect(err.message).toContain(`  - ${path}: `);
    expectNoSecrets(err.message);
  });

  it('lists every bad field at once', () => {
    const err = parseError(
      secretDoc({
        slack: { signingSecret: SECRETS.signingSecret, botToken: 'SEKRET-bot' },
        clouds: { prod: passwordCloud({ interface: 'SEKRET-x' }, { password: undefined }), lab: appCredCloud() },
      }),
    );
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['slack.botToken', 'clouds.prod.auth.password', 'clouds.prod.interface']),
    );
    expect(err.message).not.toContain('clouds.lab');
    expectNoSecrets(err.message);
  });

  it('rejects a document that is not an object, naming no value', () => {
    const err = parseError([SECRETS.password]);
    expect(err.message).toContain('test secret is invalid');
    expectNoSecrets(err.message);
  });

  it('invalid JSON → "not valid JSON", without quoting the text', () => {
    const text = `{"slack": {"signingSecret": "${SECRETS.signingSecret}", "botToken": "${SECRETS.botToken}"}, "clouds": {"prod": {"auth": {"password": "${SECRETS.password}" ,,}}}}`;
    const err = catchConfigError(() => parseSecretDocument(text, 'secret prod/force-down'));

    expect(err.message).toBe('secret prod/force-down is not valid JSON');
    expectNoSecrets(err.message);
  });

  it('truncated JSON ending inside a secret string is not quoted either', () => {
    const err = catchConfigError(() => parseSecretDocument(`{"slack":{"botToken":"${SECRETS.botToken}`, 'test secret'));
    expect(err.message).toContain('not valid JSON');
    expectNoSecrets(err.message);
  });
});

describe('loadSecretFile', () => {
  function writeSecret(dir: string, doc: unknown, name = 'secret.json'): string {
    const path = join(dir, name);
    writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
    return path;
  }

  it('reads and validates the file', () => {
    const path = writeSecret(tempDir(), secretDoc());
    const doc = loadSecretFile(path);
    expect(Object.keys(doc.clouds)).toEqual(['prod', 'lab']);
  });

  it('a missing file → message with the path and ENOENT', () => {
    const path = join(tempDir(), 'nope', 'secret.json');
    const err = catchConfigError(() => loadSecretFile(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('ENOENT');
  });

  it('a folder instead of a file → message with the path and the errno code', () => {
    const dir = tempDir();
    const err = catchConfigError(() => loadSecretFile(dir));
    expect(err.message).toContain(dir);
    expect(err.message).toContain('EISDIR');
  });

  it('invalid JSON in the file → names the file, quotes nothing', () => {
    const path = writeSecret(tempDir(), `{"clouds": {"prod": {"auth": {"password": "${SECRETS.password}"}}`);
    const err = catchConfigError(() => loadSecretFile(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('not valid JSON');
    expectNoSecrets(err.message);
  });

  it('a bad field in the file → names the file and the field path', () => {
    const path = writeSecret(tempDir(), secretDoc({ clouds: { prod: passwordCloud({}, { auth_url: 'keystone:5000' }) } }));
    const err = catchConfigError(() => loadSecretFile(path));
    expect(err.message).toContain(`secret file ${path} is invalid`);
    expect(err.message).toContain('clouds.prod.auth.auth_url');
    expectNoSecrets(err.message);
  });

  describe('cacert', () => {
    it('PEM text is kept as given', () => {
      const path = writeSecret(tempDir(), secretDoc({ clouds: { prod: appCredCloud({ cacert: PEM }) } }));
      expect(loadSecretFile(path).clouds.prod?.cacert).toBe(PEM);
    });

    it("a relative path is read relative to the secret file's folder, not the cwd", () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'certs'));
      writeFileSync(join(dir, 'certs', 'ca.pem'), PEM);
      const path = writeSecret(dir, secretDoc({ clouds: { prod: appCredCloud({ cacert: 'certs/ca.pem' }) } }));

      expect(process.cwd()).not.toBe(dir);
      expect(loadSecretFile(path).clouds.prod?.cacert).toBe(PEM);
    });

    it('an absolute path is read as is', () => {
      const certDir = tempDir();
      writeFileSync(join(certDir, 'bundle.crt'), PEM);
      const path = writeSecret(tempDir(), secretDoc({ clouds: { prod: appCredCloud({ cacert: join(certDir, 'bundle.crt') }) } }));
      expect(loadSecretFile(path).clouds.prod?.cacert).toBe(PEM);
    });

    it('a path to a file that is not PEM → ConfigError naming the field and file, not its content', () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'ca.pem'), `not a certificate: ${SECRETS.password}\n`);
      const path = writeSecret(dir, secretDoc({ clouds: { prod: appCredCloud({ cacert: 'ca.pem' }) } }));

      const err = catchConfigError(() => loadSecretFile(path));
      expect(err.message).toContain('clouds.prod.cacert');
      expect(err.message).toContain(join(dir, 'ca.pem'));
      expect(err.message).toContain('no PEM certificate');
      expectNoSecrets(err.message);
    });

    it('a path to a missing file → ConfigError naming the field, the resolved path and ENOENT', () => {
      const dir = tempDir();
      const path = writeSecret(dir, secretDoc({ clouds: { prod: appCredCloud({ cacert: 'missing-ca.pem' }) } }));

      const err = catchConfigError(() => loadSecretFile(path));
      expect(err.message).toContain('clouds.prod.cacert');
      expect(err.message).toContain(join(dir, 'missing-ca.pem'));
      expect(err.message).toContain('ENOENT');
    });

    it('parseSecretDocument resolves a relative cacert against the baseDir it is given', () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'ca.pem'), PEM);
      const doc = parseSecretDocument(JSON.stringify(secretDoc({ clouds: { prod: appCredCloud({ cacert: 'ca.pem' }) } })), 'x', dir);
      expect(doc.clouds.prod?.cacert).toBe(PEM);
    });
  });
});

describe('chooseCloud on the secret document (precedence: test/unit/config/cloud-choice.test.ts)', () => {
  const clouds = parse(secretDoc({ clouds: { prod: appCredCloud(), lab: passwordCloud(), dr: appCredCloud({ region_name: 'RegionTwo' }) } })).clouds;
  const single = parse(secretDoc({ clouds: { only: passwordCloud() } })).clouds;
  const flag = (name: string) => ({ name, flag: '--cloud' as const });

  it('picks the cloud named', () => {
    const { name, cloud } = chooseCloud(clouds, flag('dr'), { FORCE_DOWN_DEFAULT_CLOUD: 'prod' }, 'the secret');
    expect(name).toBe('dr');
    expect(cloud.region_name).toBe('RegionTwo');
  });

  it('falls back to the default cloud when none is named', () => {
    const { name, cloud } = chooseCloud(clouds, undefined, { FORCE_DOWN_DEFAULT_CLOUD: 'lab' }, 'the secret');
    expect(name).toBe('lab');
    expect(cloud).toBe(clouds.lab);
  });

  it('takes the only cloud when there is one and none is named', () => {
    expect(chooseCloud(single, undefined, {}, 'the secret').name).toBe('only');
  });

  it('several clouds and no name → error listing the names and how to choose', () => {
    const err = catchConfigError(() => chooseCloud(clouds, undefined, {}, 'the secret'));
    expect(err.message).toContain('the secret has several clouds (prod, lab, dr)');
    expect(err.message).toMatch(/--cloud/);
    expect(err.message).toMatch(/FORCE_DOWN_DEFAULT_CLOUD/);
  });

  it('an unknown name → error naming it, what named it, and the clouds that exist', () => {
    const err = catchConfigError(() => chooseCloud(clouds, flag('staging'), {}, 'the secret'));
    expect(err.message).toBe('the secret has no cloud named "staging" (named by --cloud; it has: prod, lab, dr)');
  });

  it('an unknown default cloud is an error too, even with a single cloud', () => {
    const err = catchConfigError(() => chooseCloud(single, undefined, { FORCE_DOWN_DEFAULT_CLOUD: 'prod' }, 'the secret'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('no cloud named "prod" (named by FORCE_DOWN_DEFAULT_CLOUD; it has: only)');
  });
});

describe('regressions found in review', () => {
  it('a field of the wrong type is "expected string", not "missing"', () => {
    const err = parseError(secretDoc({ clouds: { prod: passwordCloud({}, { password: 12345 }) } }));
    expect(err.message).toContain('clouds.prod.auth.password: expected string');
    expect(err.message).not.toContain('missing');
    expect(err.message).not.toContain('12345');
  });

  it('an unquoted compute_api_version is refused: 2.60 would silently become 2.6', () => {
    const err = parseError(secretDoc({ clouds: { prod: appCredCloud({ compute_api_version: 2.6 }) } }));
    expect(err.message).toContain('clouds.prod.compute_api_version: must be a quoted string like "2.53"');
    expect(parse(secretDoc({ clouds: { prod: appCredCloud({ compute_api_version: '2.60' }) } })).clouds.prod?.compute_api_version).toBe('2.60');
  });

  it('a cloud named like an Object property is "no cloud named", not a function', () => {
    const { clouds } = parse(secretDoc());
    for (const name of ['toString', 'constructor', '__proto__']) {
      expect(catchConfigError(() => chooseCloud(clouds, { name, flag: '--cloud' }, {}, 'test secret')).message).toContain(`has no cloud named "${name}"`);
    }
  });
});

describe('parseSecretDocument: alerts.<source>.hostPattern and cloudLabel', () => {
  const withSource = (source: string, fields: Record<string, unknown>) => secretDoc({ alerts: { [source]: { token: SECRETS.alertToken, ...fields } } });

  it('keeps a pattern with one capture group and a cloud label, for every source', () => {
    for (const source of ['alertmanager', 'grafana', 'generic']) {
      const doc = parse(withSource(source, { hostPattern: '^([^.:]+)', cloudLabel: 'cloud' }));
      expect(doc.alerts[source as 'generic']).toMatchObject({ hostPattern: '^([^.:]+)', cloudLabel: 'cloud' });
    }
    expect(parse(withSource('doctor', { hostPattern: '^([^.]+)' })).alerts.doctor?.hostPattern).toBe('^([^.]+)');
  });

  it.each([
    ['alertmanager', '^([^.:]+', 'alerts.alertmanager.hostPattern: is not a valid JavaScript regular expression'],
    ['grafana', '^[^.:]+', 'alerts.grafana.hostPattern: must have exactly one capture group (the host), e.g. ^([^.:]+); it has 0'],
    ['generic', '^([^.]+)\\.(dc\\d)', 'alerts.generic.hostPattern: must have exactly one capture group (the host), e.g. ^([^.:]+); it has 2'],
    ['doctor', '(', 'alerts.doctor.hostPattern: is not a valid JavaScript regular expression'],
  ])('%s: hostPattern %s is a configuration error naming the source and the problem', (source, hostPattern, problem) => {
    const err = parseError(withSource(source, { hostPattern }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toContain(problem);
    // The pattern itself is not quoted (it may be long); the field is named.
    expect(err.message).not.toContain(hostPattern);
  });

  it('a cloudLabel on Doctor is refused: its events carry no labels', () => {
    const err = parseError(withSource('doctor', { cloudLabel: 'cloud' }));
    expect(err.problems.join('\n')).toMatch(/^alerts\.doctor\.cloudLabel: not supported: Doctor's events carry no labels/m);
  });

  it('an empty cloudLabel is refused', () => {
    expect(parseError(withSource('alertmanager', { cloudLabel: '' })).problems.join('\n')).toContain('alerts.alertmanager.cloudLabel');
  });
});
