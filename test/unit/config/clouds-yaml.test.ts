import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadCloudFromOpenStackConfig } from '../../../src/config/clouds-yaml.js';
import { PEM, SECRETS, appCredCloud, catchConfigError, expectNoSecrets, passwordCloud, tempDir } from './builders.js';

type Env = Record<string, string | undefined>;

/** A sandbox: an empty HOME and an empty cwd, so the real home is never read. */
function sandbox(extraEnv: Env = {}) {
  const home = tempDir('force-down-home-');
  const cwd = tempDir('force-down-cwd-');
  const env: Env = { HOME: home, ...extraEnv };
  return { home, cwd, env, load: (requested?: Parameters<typeof loadCloudFromOpenStackConfig>[0]) => loadCloudFromOpenStackConfig(requested, env, cwd) };
}

/** Writes `{ clouds }` (or raw text) as YAML at dir/name, creating folders; returns the path. */
function writeYaml(dir: string, name: string, content: Record<string, unknown> | string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : stringify(content));
  return path;
}

const userConfigDir = (home: string) => join(home, '.config', 'openstack');

describe('loadCloudFromOpenStackConfig: clouds.yaml', () => {
  it('OS_CLIENT_CONFIG_FILE + OS_CLOUD pick a cloud from that file', () => {
    const elsewhere = tempDir();
    const file = writeYaml(elsewhere, 'my-clouds.yaml', {
      clouds: { prod: appCredCloud(), lab: passwordCloud({ region_name: 'LabOne' }) },
    });
    const { load } = sandbox({ OS_CLIENT_CONFIG_FILE: file, OS_CLOUD: 'lab' });

    const resolved = load();
    expect(resolved.name).toBe('lab');
    expect(resolved.source).toBe(file);
    expect(resolved.cloud.region_name).toBe('LabOne');
    expect(resolved.cloud.auth).toMatchObject({ username: 'force-down', password: SECRETS.password, project_name: 'admin' });
    expect(resolved.cloud.interface).toBe('public');
    expect(resolved.cloud.verify).toBe(true);
  });

  it('--cloud (requested) beats OS_CLOUD', () => {
    const elsewhere = tempDir();
    const file = writeYaml(elsewhere, 'clouds.yaml', { clouds: { prod: appCredCloud(), lab: passwordCloud() } });
    const { load } = sandbox({ OS_CLIENT_CONFIG_FILE: file, OS_CLOUD: 'lab' });

    expect(load('prod').name).toBe('prod');
  });

  it('reads ./clouds.yaml in the working directory', () => {
    const { cwd, load } = sandbox({ OS_CLOUD: 'prod' });
    const file = writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud(), lab: passwordCloud() } });

    const resolved = load();
    expect(resolved).toMatchObject({ name: 'prod', source: file });
    expect(resolved.cloud.auth.application_credential_id).toBe('ac-0123');
  });

  it('reads ~/.config/openstack/clouds.yaml from HOME', () => {
    const { home, load } = sandbox({ OS_CLOUD: 'prod' });
    const file = writeYaml(userConfigDir(home), 'clouds.yaml', { clouds: { prod: appCredCloud() } });

    expect(load()).toMatchObject({ name: 'prod', source: file });
  });

  it('./clouds.yaml comes before the one in HOME', () => {
    const { home, cwd, load } = sandbox({ OS_CLOUD: 'prod' });
    writeYaml(userConfigDir(home), 'clouds.yaml', { clouds: { prod: appCredCloud({ region_name: 'FromHome' }) } });
    const local = writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud({ region_name: 'FromCwd' }) } });

    const resolved = load();
    expect(resolved.source).toBe(local);
    expect(resolved.cloud.region_name).toBe('FromCwd');
  });

  it('merges secure.yaml: a password kept only in secure.yaml is used', () => {
    const { home, load } = sandbox({ OS_CLOUD: 'prod' });
    const dir = userConfigDir(home);
    writeYaml(dir, 'clouds.yaml', { clouds: { prod: passwordCloud({ region_name: 'RegionOne' }, { password: undefined }) } });
    writeYaml(dir, 'secure.yaml', { clouds: { prod: { auth: { password: SECRETS.password } } } });

    const { cloud } = load();
    expect(cloud.auth).toMatchObject({
      auth_url: 'https://keystone.example:5000/v3',
      username: 'force-down',
      password: SECRETS.password,
      project_name: 'admin',
    });
    expect(cloud.region_name).toBe('RegionOne');
  });

  it('merges the secure file named by OS_CLIENT_SECURE_FILE', () => {
    const elsewhere = tempDir();
    const cloudsFile = writeYaml(elsewhere, 'clouds.yaml', {
      clouds: { prod: appCredCloud({}, { application_credential_secret: undefined }) },
    });
    const secureFile = writeYaml(tempDir(), 'vault.yaml', {
      clouds: { prod: { auth: { application_credential_secret: SECRETS.appCredSecret } } },
    });
    const { load } = sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile, OS_CLIENT_SECURE_FILE: secureFile });

    expect(load().cloud.auth.application_credential_secret).toBe(SECRETS.appCredSecret);
  });

  it('FORCE_DOWN_DEFAULT_CLOUD picks a cloud when neither --cloud nor OS_CLOUD does', () => {
    const file = writeYaml(tempDir(), 'clouds.yaml', { clouds: { prod: appCredCloud(), lab: passwordCloud() } });
    expect(sandbox({ OS_CLIENT_CONFIG_FILE: file, FORCE_DOWN_DEFAULT_CLOUD: 'lab' }).load()).toMatchObject({ name: 'lab', namedBy: 'FORCE_DOWN_DEFAULT_CLOUD' });
    expect(sandbox({ OS_CLIENT_CONFIG_FILE: file, FORCE_DOWN_DEFAULT_CLOUD: 'lab', OS_CLOUD: 'prod' }).load()).toMatchObject({ name: 'prod', namedBy: 'OS_CLOUD' });
    expect(sandbox({ OS_CLIENT_CONFIG_FILE: file, FORCE_DOWN_DEFAULT_CLOUD: 'lab', OS_CLOUD: 'lab' }).load({ name: 'prod', flag: '--os-cloud' })).toMatchObject({
      name: 'prod',
      namedBy: '--os-cloud',
    });
  });

  it('FORCE_DOWN_DEFAULT_CLOUD and no clouds.yaml → error naming the variable and where it looked', () => {
    const { cwd, load } = sandbox({ FORCE_DOWN_DEFAULT_CLOUD: 'prod' });
    const err = catchConfigError(() => load());
    expect(err.message).toMatch(/^FORCE_DOWN_DEFAULT_CLOUD names "prod" but no clouds.yaml was found \(looked in /);
    expect(err.message).toContain(join(cwd, 'clouds.yaml'));
  });

  it('takes the only cloud when none is named', () => {
    const { cwd, load } = sandbox();
    writeYaml(cwd, 'clouds.yaml', { clouds: { solo: appCredCloud() } });

    expect(load().name).toBe('solo');
  });

  it('several clouds and no name → error listing the names and how to choose', () => {
    const { cwd, load } = sandbox();
    const file = writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud(), lab: passwordCloud(), dr: appCredCloud() } });

    const err = catchConfigError(() => load());
    expect(err.message).toContain(file);
    expect(err.message).toContain('several clouds (prod, lab, dr)');
    expect(err.message).toContain('--cloud');
    expect(err.message).toContain('OS_CLOUD');
    expectNoSecrets(err.message);
  });

  it('an unknown cloud name → error naming it and listing the clouds that exist', () => {
    const { cwd, load } = sandbox({ OS_CLOUD: 'staging' });
    writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud(), lab: passwordCloud() } });

    const err = catchConfigError(() => load());
    expect(err.message).toContain('no cloud named "staging" (named by OS_CLOUD; it has: prod, lab)');
    expectNoSecrets(err.message);
  });

  it('a cloud with a bad field → names the file and the field path, not the password', () => {
    const { cwd, load } = sandbox({ OS_CLOUD: 'prod' });
    const file = writeYaml(cwd, 'clouds.yaml', {
      clouds: { prod: passwordCloud({ interface: 'SEKRET-iface' }, { auth_url: `keystone.example:5000/${SECRETS.password}` }) },
    });

    const err = catchConfigError(() => load());
    expect(err.message).toContain(`${file} is invalid`);
    expect(err.message).toContain('clouds.prod.auth.auth_url');
    expect(err.message).toContain('clouds.prod.interface');
    expectNoSecrets(err.message);
  });

  it('a file without clouds → says so', () => {
    const { cwd, load } = sandbox();
    const file = writeYaml(cwd, 'clouds.yaml', 'clouds: {}\n');

    const err = catchConfigError(() => load());
    expect(err.message).toBe(`${file} has no clouds`);
  });

  it('OS_CLIENT_CONFIG_FILE pointing at a missing file → error naming that path', () => {
    const missing = join(tempDir(), 'does-not-exist.yaml');
    const { cwd, load } = sandbox({ OS_CLIENT_CONFIG_FILE: missing, OS_CLOUD: 'prod' });
    // A usable ./clouds.yaml must not be used instead of the file the operator named.
    writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud() } });

    const err = catchConfigError(() => load());
    expect(err.message).toContain('OS_CLIENT_CONFIG_FILE');
    expect(err.message).toContain(missing);
  });

  it('invalid YAML whose bad line holds a password → error names the file, never the password', () => {
    const { cwd, load } = sandbox({ OS_CLOUD: 'prod' });
    const file = writeYaml(
      cwd,
      'clouds.yaml',
      [
        'clouds:',
        '  prod:',
        '    auth:',
        '      auth_url: https://keystone.example:5000/v3',
        `      password: ${SECRETS.password}: oops`,
        '      username: force-down',
        '',
      ].join('\n'),
    );

    const err = catchConfigError(() => load());
    expect(err.message).toContain(file);
    expectNoSecrets(err.message);
  });

  it('invalid YAML in secure.yaml (unterminated quoted password) → error names it, never the password', () => {
    const { home, load } = sandbox({ OS_CLOUD: 'prod' });
    const dir = userConfigDir(home);
    writeYaml(dir, 'clouds.yaml', { clouds: { prod: passwordCloud({}, { password: undefined }) } });
    const secure = writeYaml(dir, 'secure.yaml', `clouds:\n  prod:\n    auth:\n      password: "${SECRETS.password}\n`);

    const err = catchConfigError(() => load());
    expect(err.message).toContain(secure);
    expectNoSecrets(err.message);
  });

  it('cacert: a relative path is resolved against the clouds.yaml folder, not the cwd', () => {
    const configDir = tempDir();
    mkdirSync(join(configDir, 'certs'));
    writeFileSync(join(configDir, 'certs', 'ca.pem'), PEM);
    const file = writeYaml(configDir, 'clouds.yaml', { clouds: { prod: appCredCloud({ cacert: 'certs/ca.pem' }) } });
    const { load } = sandbox({ OS_CLIENT_CONFIG_FILE: file });

    expect(load().cloud.cacert).toBe(PEM);
  });

  it('cacert: a path to a missing file → ConfigError naming the field and the resolved path', () => {
    const configDir = tempDir();
    const file = writeYaml(configDir, 'clouds.yaml', { clouds: { prod: appCredCloud({ cacert: 'ca.pem' }) } });
    const { load } = sandbox({ OS_CLIENT_CONFIG_FILE: file });

    const err = catchConfigError(() => load());
    expect(err.message).toContain('clouds.prod.cacert');
    expect(err.message).toContain(join(configDir, 'ca.pem'));
    expect(err.message).toContain('ENOENT');
  });

  it('OS_CLOUD names a cloud but no clouds.yaml exists → error listing where it looked', () => {
    const { home, cwd, load } = sandbox({ OS_CLOUD: 'prod' });

    const err = catchConfigError(() => load());
    expect(err.message).toContain('"prod"');
    expect(err.message).toContain(join(cwd, 'clouds.yaml'));
    expect(err.message).toContain(join(userConfigDir(home), 'clouds.yaml'));
  });
});

describe('loadCloudFromOpenStackConfig: OS_* variables', () => {
  const passwordVars: Env = {
    OS_AUTH_URL: 'https://keystone.example:5000/v3',
    OS_USERNAME: 'force-down',
    OS_PASSWORD: SECRETS.password,
    OS_PROJECT_NAME: 'admin',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: 'RegionOne',
  };
  const appCredVars: Env = {
    OS_AUTH_URL: 'https://keystone.example:5000/v3',
    OS_AUTH_TYPE: 'v3applicationcredential',
    OS_APPLICATION_CREDENTIAL_ID: 'ac-0123',
    OS_APPLICATION_CREDENTIAL_SECRET: SECRETS.appCredSecret,
  };

  it('password variables alone make the "envvars" cloud', () => {
    const resolved = sandbox(passwordVars).load();

    expect(resolved.name).toBe('envvars');
    expect(resolved.source).toBe('OS_* variables');
    expect(resolved.cloud.auth).toEqual({
      auth_url: 'https://keystone.example:5000/v3',
      username: 'force-down',
      password: SECRETS.password,
      project_name: 'admin',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    });
    expect(resolved.cloud).toMatchObject({ region_name: 'RegionOne', interface: 'public', verify: true });
  });

  it('application-credential variables alone make the "envvars" cloud', () => {
    const { cloud } = sandbox(appCredVars).load();

    expect(cloud.auth_type).toBe('v3applicationcredential');
    expect(cloud.auth).toEqual({
      auth_url: 'https://keystone.example:5000/v3',
      application_credential_id: 'ac-0123',
      application_credential_secret: SECRETS.appCredSecret,
    });
  });

  it('OS_TENANT_NAME is accepted for the project (older openrc files)', () => {
    const { OS_PROJECT_NAME: _unused, ...vars } = passwordVars;
    const { cloud } = sandbox({ ...vars, OS_TENANT_NAME: 'legacy-admin' }).load();
    expect(cloud.auth.project_name).toBe('legacy-admin');
  });

  it('OS_PROJECT_NAME wins over OS_TENANT_NAME', () => {
    const { cloud } = sandbox({ ...passwordVars, OS_TENANT_NAME: 'legacy-admin' }).load();
    expect(cloud.auth.project_name).toBe('admin');
  });

  it.each([
    ['internal', 'internal'],
    ['internalURL', 'internal'],
    ['admin', 'admin'],
  ])('OS_INTERFACE=%s → interface %s', (given, expected) => {
    expect(sandbox({ ...passwordVars, OS_INTERFACE: given }).load().cloud.interface).toBe(expected);
  });

  it.each([
    ['true', false],
    ['1', false],
    ['YES', false],
    ['false', true],
    ['0', true],
  ])('OS_INSECURE=%s → verify %s', (given, verify) => {
    expect(sandbox({ ...passwordVars, OS_INSECURE: given }).load().cloud.verify).toBe(verify);
  });

  it('OS_COMPUTE_API_VERSION pins the microversion as written', () => {
    expect(sandbox({ ...passwordVars, OS_COMPUTE_API_VERSION: '2.60' }).load().cloud.compute_api_version).toBe('2.60');
  });

  it('empty OS_* values count as unset', () => {
    const err = catchConfigError(() => sandbox({ ...passwordVars, OS_PASSWORD: '' }).load());
    expect(err.message).toContain('OS_PASSWORD: required for password auth');
  });

  it('incomplete variables → error naming the missing field, not the values that are set', () => {
    const { OS_PROJECT_NAME: _unused, ...vars } = passwordVars;
    const err = catchConfigError(() => sandbox({ ...vars, OS_INTERFACE: 'SEKRET-iface' }).load());

    expect(err.message).toContain('the set of OS_* variables is invalid');
    expect(err.message).toContain('OS_PROJECT_NAME: required');
    expect(err.message).toContain('OS_INTERFACE: must be public, internal or admin');
    expectNoSecrets(err.message);
  });

  it('with no cloud named, the OS_* variables win over a clouds.yaml (as with the openstack CLI)', () => {
    const { cwd, load } = sandbox(passwordVars);
    writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud() } });

    expect(load().name).toBe('envvars');
  });

  it('a named cloud wins over the OS_* variables', () => {
    const { cwd, load } = sandbox({ ...passwordVars, OS_CLOUD: 'prod' });
    writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud() } });

    expect(load().name).toBe('prod');
  });

  it('nothing configured → error pointing at FORCE_DOWN_SECRET_FILE, OS_CLOUD and the OS_* variables', () => {
    const err = catchConfigError(() => sandbox().load());

    expect(err.message).toContain('FORCE_DOWN_SECRET_FILE');
    expect(err.message).toContain('OS_CLOUD');
    expect(err.message).toContain('OS_AUTH_URL');
  });
});

describe('regressions found in review', () => {
  it('a YAML error gives its line, not the parser\'s code, and no secret', () => {
    const { cwd, load } = sandbox();
    writeYaml(cwd, 'clouds.yaml', 'clouds:\n  prod:\n    auth:\n      password: SEKRET-pw-123: y\n');
    const err = catchConfigError(() => load('prod'));
    expect(err.message).toMatch(/YAML error at line 4$/);
    expectNoSecrets(err.message);
  });

  it('OS_CACERT is read: the cloud carries the PEM text, not the path', () => {
    const passwordVars: Env = { OS_AUTH_URL: 'https://keystone.example:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: SECRETS.password, OS_PROJECT_NAME: 'admin' };
    const dir = tempDir('force-down-ca-');
    const path = writeYaml(dir, 'ca.pem', PEM);
    expect(sandbox({ ...passwordVars, OS_CACERT: path }).load().cloud.cacert).toBe(PEM);
    const err = catchConfigError(() => sandbox({ ...passwordVars, OS_CACERT: join(dir, 'missing.pem') }).load());
    expect(err.message).toContain('OS_CACERT: cannot read the CA bundle file');
  });

  it('--cloud constructor is "no cloud named", not a schema error', () => {
    const { cwd, load } = sandbox();
    writeYaml(cwd, 'clouds.yaml', { clouds: { prod: appCredCloud() } });
    expect(catchConfigError(() => load('constructor')).message).toContain('has no cloud named "constructor"');
  });
});

describe('secure.yaml: credentials only, and only beside the clouds.yaml used (issue #11, finding 9)', () => {
  const ATTACKER = 'http://127.0.0.1:9/v3';

  /** A clouds.yaml whose secret is kept in secure.yaml, in a folder of its own; returns its path. */
  function cloudsWithoutSecret(dir = tempDir()): string {
    return writeYaml(dir, 'clouds.yaml', { clouds: { prod: appCredCloud({}, { application_credential_secret: undefined }) } });
  }

  it('an auth_url in the secure.yaml beside clouds.yaml → error naming the file and the key, never a value; nothing merged', () => {
    const dir = tempDir();
    const cloudsFile = cloudsWithoutSecret(dir);
    const secure = writeYaml(dir, 'secure.yaml', { clouds: { prod: { auth: { auth_url: ATTACKER, application_credential_secret: SECRETS.appCredSecret } } } });
    const { load } = sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile });

    const err = catchConfigError(() => load());
    expect(err.message).toMatch(new RegExp(`^${secure.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: a secure\\.yaml may hold only credentials`));
    expect(err.message).toContain('force-down refuses this one and sent nothing');
    expect(err.problems).toEqual(['clouds.prod.auth.auth_url: says where the credentials are sent']);
    expectNoSecrets(err.message, ATTACKER, '127.0.0.1');
  });

  it('every key that is not a credential is refused, each named with why', () => {
    const dir = tempDir();
    const cloudsFile = cloudsWithoutSecret(dir);
    writeYaml(dir, 'secure.yaml', {
      cache: { max_age: 1 },
      clouds: {
        prod: {
          auth: { application_credential_secret: SECRETS.appCredSecret, endpoint: ATTACKER, url: ATTACKER },
          endpoint_override: ATTACKER,
          compute_endpoint_override: ATTACKER,
          identity_endpoint: ATTACKER,
          region_name: 'Elsewhere',
          interface: 'internal',
          cacert: '/tmp/evil.pem',
          verify: false,
          auth_type: 'v3token',
        },
        ghost: { auth: { password: SECRETS.password } },
      },
    });
    const err = catchConfigError(() => sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile }).load());
    expect(err.problems).toEqual([
      'cache: is not a credential',
      'clouds.prod.auth.endpoint: says where the credentials are sent',
      'clouds.prod.auth.url: says where the credentials are sent',
      'clouds.prod.endpoint_override: says where the credentials are sent',
      'clouds.prod.compute_endpoint_override: says where the credentials are sent',
      'clouds.prod.identity_endpoint: says where the credentials are sent',
      "clouds.prod.region_name: chooses the endpoints Keystone's token is sent to",
      "clouds.prod.interface: chooses the endpoints Keystone's token is sent to",
      'clouds.prod.cacert: says which servers are trusted',
      'clouds.prod.verify: says which servers are trusted',
      'clouds.prod.auth_type: is not a credential',
      `clouds.ghost: ${cloudsFile} has no such cloud`,
    ]);
    expectNoSecrets(err.message, ATTACKER, 'Elsewhere', 'evil.pem');
  });

  it('credentials and the names they belong to are accepted (username, project, domains, application credential id)', () => {
    const dir = tempDir();
    const cloudsFile = writeYaml(dir, 'clouds.yaml', { clouds: { prod: { auth: { auth_url: 'https://keystone.example:5000/v3' }, region_name: 'RegionOne' } } });
    writeYaml(dir, 'secure.yaml', {
      clouds: { prod: { auth: { username: 'force-down', password: SECRETS.password, project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' } } },
    });
    const { cloud } = sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile }).load();
    expect(cloud.auth).toMatchObject({ auth_url: 'https://keystone.example:5000/v3', username: 'force-down', password: SECRETS.password });
  });

  it('with OS_CLIENT_CONFIG_FILE elsewhere, ./secure.yaml in the working directory is not read (openstacksdk would merge it)', () => {
    const cloudsFile = writeYaml(tempDir(), 'clouds.yaml', { clouds: { prod: appCredCloud() } });
    const { cwd, load } = sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile });
    writeYaml(cwd, 'secure.yaml', { clouds: { prod: { auth: { auth_url: ATTACKER, application_credential_secret: 'planted' } } } });

    const { cloud, source } = load();
    expect(source).toBe(cloudsFile);
    expect(cloud.auth.auth_url).toBe('https://keystone.example:5000/v3');
    expect(cloud.auth.application_credential_secret).toBe(SECRETS.appCredSecret);
  });

  it('with ./clouds.yaml, ~/.config/openstack/secure.yaml is not read either; ./secure.yaml beside it is', () => {
    const { home, cwd, load } = sandbox({ OS_CLOUD: 'prod' });
    cloudsWithoutSecret(cwd);
    writeYaml(userConfigDir(home), 'secure.yaml', { clouds: { prod: { auth: { application_credential_secret: 'from-home' } } } });
    expect(catchConfigError(() => load()).message).toContain('clouds.prod.auth.application_credential_secret: required');

    writeYaml(cwd, 'secure.yaml', { clouds: { prod: { auth: { application_credential_secret: SECRETS.appCredSecret } } } });
    expect(load().cloud.auth.application_credential_secret).toBe(SECRETS.appCredSecret);
  });

  it('OS_CLIENT_SECURE_FILE naming a missing file → error naming it', () => {
    const cloudsFile = cloudsWithoutSecret();
    const missing = join(tempDir(), 'nope.yaml');
    const err = catchConfigError(() => sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile, OS_CLIENT_SECURE_FILE: missing }).load());
    expect(err.message).toBe(`OS_CLIENT_SECURE_FILE names ${missing}, which does not exist`);
  });

  it('OS_CLIENT_SECURE_FILE is checked like any secure.yaml', () => {
    const cloudsFile = cloudsWithoutSecret();
    const secure = writeYaml(tempDir(), 'vault.yaml', { clouds: { prod: { auth: { auth_url: ATTACKER } } } });
    const err = catchConfigError(() => sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile, OS_CLIENT_SECURE_FILE: secure }).load());
    expect(err.message.startsWith(`${secure}: `)).toBe(true);
  });

  it('a hostile key is shown printable and short', () => {
    const dir = tempDir();
    const cloudsFile = cloudsWithoutSecret(dir);
    writeYaml(dir, 'secure.yaml', { clouds: { prod: { [`x\u001b[31m${'y'.repeat(100)}`]: 1 } } });
    const err = catchConfigError(() => sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile }).load());
    expect(err.problems[0]).toMatch(/^clouds\.prod\.x\?\[31my+…: is not a credential$/);
  });

  it('the trace: each file read (paths only), and a secure.yaml at a standard place that was not read', () => {
    const dir = tempDir();
    const cloudsFile = writeYaml(dir, 'clouds.yaml', { clouds: { prod: appCredCloud({ cacert: 'ca.pem' }, { application_credential_secret: undefined }) } });
    writeFileSync(join(dir, 'ca.pem'), PEM);
    const secure = writeYaml(dir, 'secure.yaml', { clouds: { prod: { auth: { application_credential_secret: SECRETS.appCredSecret } } } });
    const { cwd, env } = sandbox({ OS_CLIENT_CONFIG_FILE: cloudsFile });
    const planted = writeYaml(cwd, 'secure.yaml', { clouds: {} });
    const events: string[] = [];
    loadCloudFromOpenStackConfig(undefined, env, cwd, {
      read: (what, path) => events.push(`read ${what} ${path}`),
      notRead: (path) => events.push(`not read ${path}`),
    });
    expect(events).toEqual([`read clouds.yaml ${cloudsFile}`, `not read ${planted}`, `read secure.yaml ${secure}`, `read CA bundle ${join(dir, 'ca.pem')}`]);
  });
});
