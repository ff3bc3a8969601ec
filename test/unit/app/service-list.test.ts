// The shared Nova service list (src/app/service-list.ts): single flight, a few seconds' reuse, forgotten on a change.
import { describe, expect, it } from 'vitest';
import type { NovaGateway } from '../../../src/app/ports.js';
import { forgetComputeServices, SHARED_LIST_TTL_MS, sharedComputeServices } from '../../../src/app/service-list.js';
import { fail, succeed } from '../../../src/domain/failure.js';

function gateway(answer: () => Promise<unknown> = async () => succeed([])) {
  const calls = { list: 0 };
  const nova: NovaGateway = {
    listComputeServices: async () => {
      calls.list++;
      return (await answer()) as never;
    },
    getService: async () => fail({ code: 'HOST_NOT_FOUND', message: 'none' }),
    setForcedDown: async () => fail({ code: 'HOST_NOT_FOUND', message: 'none' }),
  };
  return { nova, calls };
}

describe('sharedComputeServices', () => {
  it('one list in flight for every caller at once, then reused for its TTL, then read again', async () => {
    let now = 1_000;
    let release!: () => void;
    const { nova, calls } = gateway(() => new Promise((r) => (release = () => r(succeed([])))));
    const waiting = Array.from({ length: 50 }, () => sharedComputeServices(nova, () => now));
    expect(calls.list).toBe(1);
    release();
    await Promise.all(waiting);
    now += SHARED_LIST_TTL_MS - 1;
    await sharedComputeServices(nova, () => now);
    expect(calls.list).toBe(1);
    now += 1;
    const again = sharedComputeServices(nova, () => now);
    release();
    await again;
    expect(calls.list).toBe(2);
  });

  it('a failure is shared for the TTL too (a Nova that is down is not asked by every waiting check); a throw is not kept', async () => {
    const now = 0;
    const down = gateway(async () => fail({ code: 'NOVA_UNAVAILABLE', message: 'down' }));
    expect(await sharedComputeServices(down.nova, () => now)).toMatchObject({ ok: false });
    await sharedComputeServices(down.nova, () => now);
    expect(down.calls.list).toBe(1);
    const broken = gateway(async () => {
      throw new Error('bug');
    });
    await expect(sharedComputeServices(broken.nova, () => now)).rejects.toThrow('bug');
    await expect(sharedComputeServices(broken.nova, () => now)).rejects.toThrow('bug');
    expect(broken.calls.list).toBe(2);
  });

  it('forgetComputeServices (a force-down or unset by this process): the next caller reads Nova again', async () => {
    const now = 0;
    const { nova, calls } = gateway();
    await sharedComputeServices(nova, () => now);
    forgetComputeServices(nova);
    await sharedComputeServices(nova, () => now);
    expect(calls.list).toBe(2);
  });
});
