import { randomUUID } from 'node:crypto';
import type { StoredGroup } from '../../../src/app/store-port.js';
import type { ForceDownRequest } from '../../../src/domain/request.js';

export const T0 = '2025-03-01T10:00:00.000Z';
export const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

/**
 * A minimal pending force-down request for prod-east/compute1 from a slash
 * command, with a fresh id. Every test gets a fresh store, so the shared
 * (cloud, host, action) is deliberate: override it to get another lock.
 */
export function aRequest(overrides: Partial<ForceDownRequest> = {}): ForceDownRequest {
  return {
    id: `req-${randomUUID()}`,
    cloud: 'prod-east',
    host: 'compute1',
    binary: 'nova-compute',
    action: 'force-down',
    state: 'pending',
    origin: { kind: 'slash', userId: 'U0REQUESTER', channelId: 'C0ONCALL' },
    requestedBy: 'U0REQUESTER',
    channel: 'C0ONCALL',
    createdAt: T0,
    updatedAt: T0,
    expiresAt: at(30),
    history: [{ state: 'pending', at: T0, by: 'U0REQUESTER' }],
    ...overrides,
  };
}

/** A request with every optional field set, and a Nova response with awkward JSON in it. */
export function aFullRequest(overrides: Partial<ForceDownRequest> = {}): ForceDownRequest {
  return aRequest({
    state: 'failed',
    origin: {
      kind: 'alert',
      source: 'alertmanager',
      fingerprint: 'a1b2c3d4e5f6',
      alertName: 'NovaComputeDown',
      summary: 'compute1 stopped reporting',
      link: 'https://alertmanager.example/#/alerts?filter=%7Bhost%3D%22compute1%22%7D',
      startsAt: T0,
    },
    reason: 'alert NovaComputeDown: compute1 stopped reporting',
    requestedBy: 'alertmanager',
    messageTs: '1740823200.000100',
    group: 'grp-storm-1',
    alertResolvedAt: at(4),
    confirmation: { by: 'U0APPROVER', at: at(2), method: 'bmc', note: 'ipmitool chassis power off; verified "off"' },
    outcome: {
      code: 'NOVA_FORBIDDEN',
      message: 'Nova refused: policy',
      detail: "Policy doesn't allow os_compute_api:os-services:update to be performed.",
      status: 403,
      request: 'PUT /os-services/8f9e2a10-0000-4000-8000-000000000001',
      microversion: '2.93',
      novaResponse: {
        forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-services:update to be performed." },
        nested: [1, 2.5, true, null, { '': 'empty key', 'a.b': ['x'] }],
        empty: {},
      },
    },
    updatedAt: at(3),
    history: [
      { state: 'pending', at: T0, by: 'alertmanager' },
      { state: 'approved', at: at(2), by: 'U0APPROVER' },
      { state: 'executing', at: at(2) },
      { state: 'failed', at: at(3) },
    ],
    ...overrides,
  });
}

/** An empty group in C0ONCALL created at T0, with a fresh id. */
/** A group as the store keeps it (shown nowhere yet unless `messages` says so). */
export function aGroup(overrides: Partial<StoredGroup> = {}): StoredGroup {
  return {
    id: `grp-${randomUUID()}`,
    channel: 'C0ONCALL',
    title: 'NovaComputeDown',
    createdAt: T0,
    members: [],
    messages: [],
    ...overrides,
  };
}
