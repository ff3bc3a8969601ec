// Composition with BMCs (issue 13): AppDeps.bmc from the secret document's bmc section
// (configuration only: no BMC call to know a host has one), the power-off timeout from the
// settings, the insecure-TLS warning logged once, and autoForceDown "bmc-off" accepted.
import { describe, expect, it } from 'vitest';
import { loadBotSettings } from '../../../src/config/env.js';
import { parseSecretDocument } from '../../../src/config/secret-document.js';
import { composeRuntime } from '../../../src/runtime/compose.js';
import { createMemoryStore } from '../../fakes/memory-store.js';

const PASSWORD = 'compose-bmc-SEKRET';

function compose(extra: Record<string, unknown>) {
  const warnings: { message: string; data?: Record<string, unknown> }[] = [];
  const settings = loadBotSettings({ FORCE_DOWN_SECRET_ID: 'unused', FORCE_DOWN_APPROVERS: 'U0APPROVER', FORCE_DOWN_CHANNEL: 'C0ONCALL', FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: '300' });
  const doc = {
    slack: { signingSecret: 'x'.repeat(32), botToken: 'xoxb-compose-test' },
    clouds: { prod: { auth: { auth_url: 'https://keystone.example:5000/v3', application_credential_id: 'id', application_credential_secret: 'secret' }, region_name: 'RegionOne' } },
    ...extra,
  };
  const secret = parseSecretDocument(JSON.stringify(doc), 'test');
  const rt = composeRuntime({ settings, secret, store: createMemoryStore(), enqueue: async () => {}, log: { info() {}, warn: (message, data) => void warnings.push({ message, ...(data ? { data } : {}) }), error() {} } });
  return { rt, warnings };
}

describe('composeRuntime with BMCs', () => {
  it('a host with a BMC entry has a gateway (its origin, no network call); others none; the power-off timeout comes from the settings', async () => {
    const { rt, warnings } = compose({
      bmc: { prod: { hosts: { compute7: { url: 'https://10.20.0.7', username: 'admin', password: PASSWORD, insecure: true } } } },
      alerts: { alertmanager: { token: 't'.repeat(20), autoForceDown: 'bmc-off' } },
    });
    expect(rt.deps.bmc?.('prod', 'COMPUTE7')?.endpoint).toBe('https://10.20.0.7');
    expect(rt.deps.bmc?.('prod', 'compute1')).toBeUndefined();
    expect(rt.deps.bmc?.('other', 'compute7')).toBeUndefined();
    expect(rt.deps.safety.bmcPowerOffTimeoutMs).toBe(300_000);
    expect(rt.alerts.source('alertmanager')?.autoForceDown).toBe('bmc-off');
    // The insecure entry is named once at composition, never the password.
    expect(warnings.filter((w) => w.message.includes('BMC TLS verification is off'))).toHaveLength(1);
    expect(JSON.stringify(warnings)).toContain('bmc.prod.hosts.compute7');
    expect(JSON.stringify(warnings)).not.toContain(PASSWORD);
    await rt.close();
  });

  it('no bmc section: no BMC lookup, no warning, autoForceDown true still means the evidence label', async () => {
    const { rt, warnings } = compose({ alerts: { alertmanager: { token: 't'.repeat(20), autoForceDown: true } } });
    expect(rt.deps.bmc).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(rt.alerts.source('alertmanager')?.autoForceDown).toBe(true);
    await rt.close();
  });

  it('autoForceDown takes true, false or "bmc-off" only', () => {
    expect(() => compose({ alerts: { alertmanager: { token: 't'.repeat(20), autoForceDown: 'bmc-on' } } })).toThrow(/autoForceDown/);
  });
});
