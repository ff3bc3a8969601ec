// The worker's Lambda timeout and FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS from the stage
// parameter bmcPowerOffTimeoutSeconds (infra/worker-timeout.cjs, read by serverless.yml):
// the longest path ("power off now") always fits, within Lambda's 900 s.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const workerTimeout = require('../../../infra/worker-timeout.cjs') as {
  seconds(ctx: { resolveVariable: (v: string) => Promise<unknown> }): Promise<string>;
  timeout(ctx: { resolveVariable: (v: string) => Promise<unknown> }): Promise<number>;
};
const withParam = (value: unknown) => ({ resolveVariable: async (v: string) => (v === 'param:bmcPowerOffTimeoutSeconds' ? value : undefined) });

describe('infra/worker-timeout.cjs', () => {
  it('default 120 s: the worker gets 240 s; the variable says 120', async () => {
    expect(await workerTimeout.timeout(withParam('120'))).toBe(240);
    expect(await workerTimeout.seconds(withParam('120'))).toBe('120');
    expect(await workerTimeout.seconds(withParam(''))).toBe('120');
  });

  it('never below the heartbeat path\'s 180 s, and the longest power-off fits Lambda\'s 900 s', async () => {
    expect(await workerTimeout.timeout(withParam('10'))).toBe(180);
    expect(await workerTimeout.timeout(withParam('780'))).toBe(900);
  });

  it('a value whose timeout would not fit, or not a number, fails packaging with a message', async () => {
    await expect(workerTimeout.timeout(withParam('900'))).rejects.toThrow(/from 10 to 780/);
    await expect(workerTimeout.seconds(withParam('2m'))).rejects.toThrow(/bmcPowerOffTimeoutSeconds/);
    await expect(workerTimeout.timeout(withParam('5'))).rejects.toThrow(/from 10 to 780/);
  });

  it('serverless.yml takes the worker timeout and the variable from it', () => {
    const yml = readFileSync(new URL('../../../serverless.yml', import.meta.url), 'utf8');
    expect(yml).toContain('timeout: ${file(infra/worker-timeout.cjs):timeout}');
    expect(yml).toContain('FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS: ${file(infra/worker-timeout.cjs):seconds}');
    expect(yml).toMatch(/bmcPowerOffTimeoutSeconds: '120'/);
  });
});
