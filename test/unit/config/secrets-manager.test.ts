import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../src/config/schema.js';
import { createSecretsManagerSource, type SecretsManagerSourceOptions } from '../../../src/config/secrets-manager.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../../fakes/secrets-manager.js';
import { SECRETS, appCredCloud, expectNoSecrets, passwordCloud, secretDoc, tempDir } from './builders.js';
import { fakeDateClock } from '../powertools.js';

const SECRET_ID = 'prod/force-down';
const TTL = 60_000;

let fake: FakeSecretsManager;
let clients: SecretsManagerClient[] = [];

beforeAll(async () => {
  fake = await startFakeSecretsManager();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.setSecret(SECRET_ID, JSON.stringify(secretDoc()));
});
afterEach(() => {
  vi.useRealTimers();
  for (const c of clients.splice(0)) c.destroy();
});

/** The real SDK client, pointed at the fake. */
function realClient(): SecretsManagerClient {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: fake.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
  });
  clients.push(client);
  return client;
}

/**
 * A source over the real client, and a clock: Powertools' cache (maxAge) reads `Date.now()`,
 * so the clock moves a fake Date (which keeps ticking with real time, for the SDK).
 */
function source(overrides: Partial<SecretsManagerSourceOptions> = {}) {
  const clock = fakeDateClock();
  const src = createSecretsManagerSource({
    secretId: SECRET_ID,
    ttlMs: TTL,
    client: realClient(),
    ...overrides,
  });
  return { src, clock };
}

async function expectConfigError(promise: Promise<unknown>): Promise<ConfigError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('createSecretsManagerSource with the real SDK client', () => {
  it('the first get() fetches the secret once, as GetSecretValue over AWS JSON 1.1', async () => {
    const { src } = source();

    const doc = await src.get();

    expect(doc.slack?.botToken).toBe(SECRETS.botToken);
    expect(doc.clouds.prod?.auth.application_credential_secret).toBe(SECRETS.appCredSecret);
    expect(fake.requests).toEqual([
      { target: 'secretsmanager.GetSecretValue', contentType: 'application/x-amz-json-1.1', secretId: SECRET_ID },
    ]);
    expect(src.fetchCount).toBe(1);
  });

  it('repeated get() within the TTL fetch nothing more', async () => {
    const { src, clock } = source();

    const first = await src.get();
    clock.t += TTL - 1_000; // within the TTL (the fake Date keeps ticking)
    const again = await src.get();
    await src.get();

    expect(again).toBe(first);
    expect(fake.fetches()).toBe(1);
    expect(src.fetchCount).toBe(1);
  });

  it('20 concurrent get() on a cold source make exactly one fetch', async () => {
    const { src } = source();

    const docs = await Promise.all(Array.from({ length: 20 }, () => src.get()));

    expect(fake.fetches()).toBe(1);
    expect(src.fetchCount).toBe(1);
    expect(new Set(docs).size).toBe(1);
  });

  it('after the TTL it fetches again and sees a rotated value', async () => {
    const { src, clock } = source();
    expect((await src.get()).clouds.prod?.auth.application_credential_secret).toBe(SECRETS.appCredSecret);

    fake.setSecret(SECRET_ID, JSON.stringify(secretDoc({ clouds: { prod: appCredCloud({}, { application_credential_secret: 'rotated-secret-2' }) } })));
    expect((await src.get()).clouds.prod?.auth.application_credential_secret).toBe(SECRETS.appCredSecret);
    expect(fake.fetches()).toBe(1);

    clock.t += TTL + 1; // past the TTL
    expect((await src.get()).clouds.prod?.auth.application_credential_secret).toBe('rotated-secret-2');
    expect(fake.fetches()).toBe(2);

    // The new value is cached for a full TTL from the re-fetch.
    clock.t += TTL - 1_000; // within the TTL (the fake Date keeps ticking)
    await src.get();
    expect(fake.fetches()).toBe(2);
  });

  it('a re-fetch of an unchanged secret returns the same document; a rotation a new one', async () => {
    const { src, clock } = source();
    const first = await src.get();
    clock.t += TTL + 1; // past the TTL
    expect(await src.get()).toBe(first); // the Lambda runtime keeps its clients (tokens, caches) warm
    expect(fake.fetches()).toBe(2);

    fake.setSecret(SECRET_ID, JSON.stringify(secretDoc({ clouds: { prod: appCredCloud({}, { application_credential_secret: 'rotated-secret-3' }) } })));
    const rotated = await src.get({ refresh: true });
    expect(rotated).not.toBe(first);
    expect(rotated.clouds.prod?.auth.application_credential_secret).toBe('rotated-secret-3');
  });

  it('get({ refresh: true }) re-fetches at once (rotation noticed through an auth failure)', async () => {
    const { src } = source();
    await src.get();

    fake.setSecret(SECRET_ID, JSON.stringify(secretDoc({ clouds: { prod: passwordCloud({}, { password: 'rotated-pw-2' }) } })));
    const fresh = await src.get({ refresh: true });

    expect(fresh.clouds.prod?.auth.password).toBe('rotated-pw-2');
    expect(fake.fetches()).toBe(2);
    // And the refreshed document is what later callers get, without another fetch.
    expect(await src.get()).toBe(fresh);
    expect(fake.fetches()).toBe(2);
  });

  it('concurrent refreshes share one fetch', async () => {
    const { src } = source();
    await src.get();

    await Promise.all(Array.from({ length: 5 }, () => src.get({ refresh: true })));

    expect(fake.fetches()).toBe(2);
  });

  it('an unknown secret id → ConfigError naming the id and ResourceNotFoundException', async () => {
    const { src } = source({ secretId: 'prod/no-such-secret' });

    const err = await expectConfigError(src.get());

    expect(err.message).toContain('prod/no-such-secret');
    expect(err.message).toContain('ResourceNotFoundException');
    expect(fake.requests.at(-1)).toMatchObject({ target: 'secretsmanager.GetSecretValue', secretId: 'prod/no-such-secret' });
  });

  it('a failed fetch is not cached: the next get() tries again', async () => {
    const id = 'prod/created-later';
    const { src } = source({ secretId: id });
    await expectConfigError(src.get());

    fake.setSecret(id, JSON.stringify(secretDoc()));
    expect((await src.get()).slack?.botToken).toBe(SECRETS.botToken);
    expect(fake.fetches(id)).toBe(2);
  });

  it('a secret that is not valid JSON → ConfigError naming the secret, quoting nothing', async () => {
    fake.setSecret(SECRET_ID, `{"slack":{"signingSecret":"${SECRETS.signingSecret}","botToken":"${SECRETS.botToken}"},"clouds":`);
    const { src } = source();

    const err = await expectConfigError(src.get());

    expect(err.message).toBe(`secret ${SECRET_ID} is not valid JSON`);
    expectNoSecrets(err.message);
  });

  it('a secret that fails the schema → ConfigError naming the fields, without secret values', async () => {
    fake.setSecret(
      SECRET_ID,
      JSON.stringify(
        secretDoc({
          slack: { signingSecret: SECRETS.signingSecret, botToken: 'SEKRET-not-a-bot-token' },
          clouds: { prod: passwordCloud({}, { project_name: undefined, auth_url: `keystone/${SECRETS.password}` }) },
        }),
      ),
    );
    const { src } = source();

    const err = await expectConfigError(src.get());

    expect(err.message).toContain(`secret ${SECRET_ID} is invalid`);
    expect(err.message).toContain('slack.botToken');
    expect(err.message).toContain('clouds.prod.auth.auth_url');
    expect(err.message).toContain('clouds.prod.auth.project_name');
    expectNoSecrets(err.message);
  });

  it('a rotation to an invalid document fails loudly after the TTL instead of serving it', async () => {
    const { src, clock } = source();
    await src.get();

    fake.setSecret(SECRET_ID, JSON.stringify(secretDoc({ clouds: {} })));
    clock.t += TTL + 1; // past the TTL
    const err = await expectConfigError(src.get());
    expect(err.message).toContain('clouds');
  });
});

describe('createSecretsManagerSource without a client', () => {
  beforeEach(() => {
    // Hermetic: no real ~/.aws files, no instance metadata, only these settings.
    const nowhere = tempDir('force-down-aws-');
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', fake.endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', join(nowhere, 'config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(nowhere, 'credentials'));
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('the SDK honours AWS_ENDPOINT_URL_SECRETS_MANAGER', async () => {
    const src = createSecretsManagerSource({ secretId: SECRET_ID });

    const doc = await src.get();

    expect(doc.slack?.signingSecret).toBe(SECRETS.signingSecret);
    expect(fake.fetches(SECRET_ID)).toBe(1);
  });
});
