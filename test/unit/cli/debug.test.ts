// force-down --debug: which configuration files were read, on stderr, paths
// only; the answer itself (text or JSON) is what it is without --debug.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tempDir } from '../config/builders.js';
import { cloudsYaml, harness, secretFile } from './harness.js';

const debugLines = (err: string) => err.split('\n').filter((l) => l.startsWith('force-down: debug: '));

describe('force-down --debug', () => {
  it('clouds.yaml: lists the clouds.yaml and secure.yaml read, the ./secure.yaml not read, and the cloud; the JSON answer is unchanged', async () => {
    const file = cloudsYaml(['prod', 'dr']);
    const secure = join(dirname(file), 'secure.yaml');
    writeFileSync(secure, stringify({ clouds: { dr: { auth: { application_credential_secret: 'SEKRET-from-secure' } } } }));
    const cwd = tempDir('force-down-cli-cwd-');
    const planted = join(cwd, 'secure.yaml');
    writeFileSync(planted, stringify({ clouds: { dr: { auth: { auth_url: 'http://127.0.0.1:9/v3' } } } }));
    const env = { OS_CLIENT_CONFIG_FILE: file, OS_CLOUD: 'dr' };

    const plain = await harness().run(['status', 'compute1', '--json'], env, { cwd });
    const debug = await harness().run(['status', 'compute1', '--json', '--debug'], env, { cwd });
    expect(plain.code).toBe(0);
    expect(debug.code).toBe(0);
    expect(debug.out).toBe(plain.out);
    expect(plain.err).toBe('');
    expect(debugLines(debug.err)).toEqual([
      `force-down: debug: read clouds.yaml ${file}`,
      `force-down: debug: not read: ${planted} (force-down reads secure.yaml only from OS_CLIENT_SECURE_FILE or beside the clouds.yaml used (${file}))`,
      `force-down: debug: read secure.yaml ${secure}`,
      `force-down: debug: cloud dr (OS_CLOUD) from ${file}`,
    ]);
    expect(debug.err).not.toMatch(/SEKRET|127\.0\.0\.1/);
  });

  it('text answers are unchanged too, and without --debug nothing is said about files', async () => {
    const env = { OS_CLIENT_CONFIG_FILE: cloudsYaml(['prod']) };
    const plain = await harness().run(['list'], env);
    const debug = await harness().run(['list', '--debug'], env);
    expect(debug.out).toBe(plain.out);
    expect(plain.err).toBe('');
    expect(debugLines(debug.err)).toHaveLength(2);
  });

  it('the secret document: its path, and that clouds.yaml is not consulted', async () => {
    const file = secretFile(['prod'], { botToken: false });
    const r = await harness().run(['status', 'compute1', '--debug'], { FORCE_DOWN_SECRET_FILE: file, OS_CLIENT_CONFIG_FILE: cloudsYaml(['other']) });
    expect(r.code).toBe(0);
    expect(debugLines(r.err)).toEqual([
      `force-down: debug: read secret document ${file} (FORCE_DOWN_SECRET_FILE; clouds.yaml, secure.yaml and the OS_* variables are not consulted)`,
      'force-down: debug: cloud prod (the only cloud) from the secret document',
    ]);
    expect(r.err).not.toContain('SEKRET');
  });

  it('the OS_* variables: the clouds.yaml they win over is named as not read', async () => {
    const file = cloudsYaml(['prod']);
    const r = await harness().run(['status', 'compute1', '--debug'], {
      OS_CLIENT_CONFIG_FILE: file,
      OS_AUTH_URL: 'https://keystone.example:5000/v3',
      OS_APPLICATION_CREDENTIAL_ID: 'ac-1',
      OS_APPLICATION_CREDENTIAL_SECRET: 'SEKRET-env',
    });
    expect(r.code).toBe(0);
    expect(debugLines(r.err)).toEqual([
      `force-down: debug: not read: ${file} (the OS_* variables win unless --cloud or OS_CLOUD names a cloud)`,
      'force-down: debug: cloud envvars from the OS_* variables (no configuration file)',
    ]);
    expect(r.err).not.toContain('SEKRET');
  });

  it('a refused secure.yaml: the files read so far, then the error naming the file; exit 2 and Nova never called', async () => {
    const dir = tempDir('force-down-clouds-');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'clouds.yaml');
    writeFileSync(file, stringify({ clouds: { prod: { auth: { auth_url: 'https://keystone.example:5000/v3', application_credential_id: 'ac-1' } } } }));
    const secure = join(dir, 'secure.yaml');
    writeFileSync(secure, stringify({ clouds: { prod: { auth: { auth_url: 'http://127.0.0.1:9/v3', application_credential_secret: 'SEKRET-x' } } } }));
    const h = harness();
    const r = await h.run(['status', 'compute1', '--debug', '--json'], { OS_CLIENT_CONFIG_FILE: file });
    expect(r.code).toBe(2);
    expect(h.connected).toEqual([]);
    expect(debugLines(r.err)).toEqual([`force-down: debug: read clouds.yaml ${file}`, `force-down: debug: read secure.yaml ${secure}`]);
    expect(r.json).toMatchObject({ ok: false, code: 'CONFIG_INVALID' });
    expect(r.json.message).toMatch(new RegExp(`^${secure}: a secure\\.yaml may hold only credentials`));
    expect(r.json.message).toContain('clouds.prod.auth.auth_url: says where the credentials are sent');
    expect(r.out + r.err).not.toMatch(/SEKRET|127\.0\.0\.1/);
  });
});
