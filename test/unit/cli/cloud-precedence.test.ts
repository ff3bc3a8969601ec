// Which cloud the CLI acts on: --cloud/--os-cloud, then OS_CLOUD, then
// FORCE_DOWN_DEFAULT_CLOUD, then the only cloud — the same for the secret
// document and clouds.yaml. (Issue 10: with FORCE_DOWN_SECRET_FILE set, the
// CLI used to ignore OS_CLOUD.)
import { describe, expect, it } from 'vitest';
import { cloudsYaml, harness, secretFile } from './harness.js';

type Env = Record<string, string | undefined>;

const sources: [string, (names: string[]) => Env][] = [
  ['the secret document (FORCE_DOWN_SECRET_FILE)', (names) => ({ FORCE_DOWN_SECRET_FILE: secretFile(names) })],
  ['clouds.yaml (OS_CLIENT_CONFIG_FILE)', (names) => ({ OS_CLIENT_CONFIG_FILE: cloudsYaml(names) })],
];

describe.each(sources)('cloud precedence: %s', (_label, source) => {
  const three = () => source(['flagged', 'os-cloud', 'default']);

  async function chosen(argv: string[], env: Env) {
    const h = harness();
    const r = await h.run(['status', 'compute1', '--json', ...argv], env);
    return { ...r, connected: h.connected };
  }

  it('1. --cloud beats OS_CLOUD and FORCE_DOWN_DEFAULT_CLOUD', async () => {
    const r = await chosen(['--cloud', 'flagged'], { ...three(), OS_CLOUD: 'os-cloud', FORCE_DOWN_DEFAULT_CLOUD: 'default' });
    expect(r.code).toBe(0);
    expect(r.connected).toEqual(['flagged']);
    expect(r.json).toMatchObject({ ok: true, cloud: 'flagged' });
  });

  it('1. --os-cloud (the openstack clients\' spelling) is the same flag', async () => {
    const r = await chosen(['--os-cloud', 'flagged'], { ...three(), OS_CLOUD: 'os-cloud', FORCE_DOWN_DEFAULT_CLOUD: 'default' });
    expect(r.connected).toEqual(['flagged']);
    expect(r.json).toMatchObject({ cloud: 'flagged' });
  });

  it('2. OS_CLOUD beats FORCE_DOWN_DEFAULT_CLOUD', async () => {
    const r = await chosen([], { ...three(), OS_CLOUD: 'os-cloud', FORCE_DOWN_DEFAULT_CLOUD: 'default' });
    expect(r.connected).toEqual(['os-cloud']);
    expect(r.json).toMatchObject({ ok: true, cloud: 'os-cloud' });
  });

  it('3. FORCE_DOWN_DEFAULT_CLOUD when nothing else names one (an empty OS_CLOUD counts as unset)', async () => {
    const r = await chosen([], { ...three(), OS_CLOUD: '', FORCE_DOWN_DEFAULT_CLOUD: 'default' });
    expect(r.connected).toEqual(['default']);
    expect(r.json).toMatchObject({ ok: true, cloud: 'default' });
  });

  it('4. the only cloud when none is named', async () => {
    const r = await chosen([], source(['solo']));
    expect(r.connected).toEqual(['solo']);
    expect(r.json).toMatchObject({ ok: true, cloud: 'solo' });
  });

  it('several clouds and none named → exit 2 listing them, Nova never called (text and JSON)', async () => {
    const env = three();
    const text = await harness().run(['status', 'compute1'], env);
    expect(text.code).toBe(2);
    expect(text.err).toMatch(/has several clouds \(flagged, os-cloud, default\): name one with --cloud, OS_CLOUD or FORCE_DOWN_DEFAULT_CLOUD/);

    const r = await chosen([], env);
    expect(r.code).toBe(2);
    expect(r.connected).toEqual([]);
    expect(r.json).toMatchObject({ ok: false, code: 'CONFIG_INVALID', clouds: ['flagged', 'os-cloud', 'default'] });
  });

  it.each([
    [['--cloud', 'prod'], {}, '--cloud'],
    [['--os-cloud', 'prod'], {}, '--os-cloud'],
    [[], { OS_CLOUD: 'prod' }, 'OS_CLOUD'],
    [[], { FORCE_DOWN_DEFAULT_CLOUD: 'prod' }, 'FORCE_DOWN_DEFAULT_CLOUD'],
  ] as [string[], Env, string][])('a named cloud that is not there (%j %j) → exit 2 naming it, what named it, and the ones there are', async (argv, env, by) => {
    const r = await chosen(argv, { ...source(['only-one']), ...env });
    expect(r.code).toBe(2);
    expect(r.connected).toEqual([]);
    expect(r.json).toMatchObject({ ok: false, code: 'CONFIG_INVALID', clouds: ['only-one'] });
    expect(r.json.message).toContain(`has no cloud named "prod" (named by ${by}; it has: only-one)`);
  });
});

describe('cloud precedence: the OS_* variables (an openrc) with clouds.yaml', () => {
  const openrc: Env = { OS_AUTH_URL: 'https://keystone.example:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: 'SEKRET-pw-123', OS_PROJECT_NAME: 'admin' };

  it('alone, they make the "envvars" cloud, even with FORCE_DOWN_DEFAULT_CLOUD set', async () => {
    const h = harness();
    const r = await h.run(['status', 'compute1', '--json'], { ...openrc, FORCE_DOWN_DEFAULT_CLOUD: 'prod' });
    expect(r.code).toBe(0);
    expect(h.connected).toEqual(['envvars']);
    expect(r.json).toMatchObject({ cloud: 'envvars' });
  });

  it('they win over clouds.yaml unless --cloud or OS_CLOUD names a cloud (as with the openstack CLI)', async () => {
    const yaml = cloudsYaml(['prod', 'lab']);
    const h = harness();
    await h.run(['status', 'compute1'], { ...openrc, OS_CLIENT_CONFIG_FILE: yaml, FORCE_DOWN_DEFAULT_CLOUD: 'prod' });
    await h.run(['status', 'compute1'], { ...openrc, OS_CLIENT_CONFIG_FILE: yaml, OS_CLOUD: 'lab' });
    await h.run(['status', 'compute1', '--cloud', 'prod'], { ...openrc, OS_CLIENT_CONFIG_FILE: yaml, OS_CLOUD: 'lab' });
    expect(h.connected).toEqual(['envvars', 'lab', 'prod']);
  });

  it('with FORCE_DOWN_SECRET_FILE set they are not used: the secret document is the source', async () => {
    const h = harness();
    const r = await h.run(['status', 'compute1', '--json'], { ...openrc, FORCE_DOWN_SECRET_FILE: secretFile(['prod', 'lab']), OS_CLOUD: 'lab' });
    expect(r.json).toMatchObject({ ok: true, cloud: 'lab' });
  });
});

describe('--cloud and --os-cloud together', () => {
  it('the same name is fine; different names are a usage error', async () => {
    const h = harness();
    const same = await h.run(['status', 'compute1', '--cloud', 'a', '--os-cloud', 'a', '--json'], { FORCE_DOWN_SECRET_FILE: secretFile(['a', 'b']) });
    expect(same.json).toMatchObject({ ok: true, cloud: 'a' });
    const differ = await h.run(['status', 'compute1', '--cloud', 'a', '--os-cloud', 'b', '--json'], { FORCE_DOWN_SECRET_FILE: secretFile(['a', 'b']) });
    expect(differ.code).toBe(2);
    expect(differ.json).toMatchObject({ ok: false, code: 'USAGE', message: '--cloud and --os-cloud name different clouds ("a", "b"): give one' });
  });
});
