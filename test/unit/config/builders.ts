import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { ConfigError } from '../../../src/config/schema.js';

/** Distinctive secret values: a message that quotes any of them leaks a secret. */
export const SECRETS = {
  password: 'SEKRET-pw-123',
  appCredSecret: 'SEKRET-appcred-456',
  signingSecret: 'SEKRET-signing-789',
  botToken: 'xoxb-SEKRET-bot-000',
  alertToken: 'SEKRET-alert-tok',
  hmacSecret: 'SEKRET-hmac-abc',
} as const;

export const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfakefakefakefake\n-----END CERTIFICATE-----\n';

type Json = Record<string, unknown>;

/** A cloud using application credentials (the preferred kind). */
export function appCredCloud(overrides: Json = {}, auth: Json = {}): Json {
  return {
    auth: {
      auth_url: 'https://keystone.example:5000/v3',
      application_credential_id: 'ac-0123',
      application_credential_secret: SECRETS.appCredSecret,
      ...auth,
    },
    region_name: 'RegionOne',
    ...overrides,
  };
}

/** A cloud using password auth, as operators paste it from clouds.yaml. */
export function passwordCloud(overrides: Json = {}, auth: Json = {}): Json {
  return {
    auth: {
      auth_url: 'https://keystone.example:5000/v3',
      username: 'force-down',
      password: SECRETS.password,
      project_name: 'admin',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
      ...auth,
    },
    ...overrides,
  };
}

/** A complete, valid secret document; top-level keys are replaced by `overrides`. */
export function secretDoc(overrides: Json = {}): Json {
  return {
    slack: { signingSecret: SECRETS.signingSecret, botToken: SECRETS.botToken },
    alerts: {
      alertmanager: { token: SECRETS.alertToken },
      grafana: { token: SECRETS.alertToken, hmacSecret: SECRETS.hmacSecret },
    },
    clouds: { prod: appCredCloud(), lab: passwordCloud() },
    ...overrides,
  };
}

/** Runs `fn`, expects a ConfigError and returns it. */
export function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** Asserts no value of SECRETS (nor any `extra` string) appears in `message`. */
export function expectNoSecrets(message: string, ...extra: string[]): void {
  for (const secret of [...Object.values(SECRETS), ...extra]) expect(message).not.toContain(secret);
  // Also the distinctive marker, whatever it was wrapped in.
  expect(message).not.toMatch(/SEKRET/);
}

/** A fresh temp dir per call, removed after the current test. */
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
export function tempDir(prefix = 'force-down-config-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
