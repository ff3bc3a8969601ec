import type { ForceDownRequest, Origin } from '../../../src/domain/request.js';
import type { ComputeService } from '../../../src/domain/service.js';

/** Fixed clock for the card's ages: 10 minutes after the request was made. */
export const NOW = Date.parse('2026-11-25T14:10:00Z');

export const slashOrigin = (overrides: Partial<Extract<Origin, { kind: 'slash' }>> = {}): Origin => ({
  kind: 'slash',
  userId: 'U0REQUEST1',
  channelId: 'C0ONCALL01',
  ...overrides,
});

export const alertOrigin = (overrides: Partial<Extract<Origin, { kind: 'alert' }>> = {}): Origin => ({
  kind: 'alert',
  source: 'alertmanager',
  fingerprint: '3f1c2a9d8e7b6c5a',
  alertName: 'NovaComputeDown',
  summary: 'nova-compute on compute1 has not reported for 5 minutes',
  link: 'https://alertmanager.example/#/alerts?filter={alertname="NovaComputeDown"}',
  startsAt: '2026-11-25T13:55:00Z',
  ...overrides,
});

/** A request with overrides: pending force-down of compute1 from `/force-down compute1 --reason ...`. */
export function aRequest(overrides: Partial<ForceDownRequest> = {}): ForceDownRequest {
  return {
    id: 'req-0001',
    cloud: 'prod-east',
    host: 'compute1',
    binary: 'nova-compute',
    action: 'force-down',
    state: 'pending',
    origin: slashOrigin(),
    reason: 'PSU alarm, host unreachable',
    requestedBy: 'U0REQUEST1',
    channel: 'C0ONCALL01',
    messageTs: '1795600000.000100',
    createdAt: '2026-11-25T14:00:00.000Z',
    expiresAt: '2026-11-25T15:00:00.000Z',
    updatedAt: '2026-11-25T14:00:00.000Z',
    history: [{ state: 'pending', at: '2026-11-25T14:00:00.000Z', by: 'U0REQUEST1' }],
    ...overrides,
  };
}

export const CONFIRMATION = { by: 'U0APPROVE1', at: '2026-11-25T14:05:00.000Z', method: 'bmc' as const, note: 'ipmitool chassis power off, verified off' };

/** Nova's view of compute1 as the lookup returns it: down, heartbeat 10 minutes old (naive UTC, as Nova writes it). */
export function aService(overrides: Partial<ComputeService> = {}): ComputeService {
  return {
    id: '8c2b3a61-5b0f-4d5e-9d0a-1f2e3d4c5b6a',
    host: 'compute1',
    binary: 'nova-compute',
    state: 'down',
    status: 'enabled',
    forcedDown: false,
    updatedAt: '2026-11-25T14:00:00.000000',
    disabledReason: null,
    zone: 'nova',
    ...overrides,
  };
}
