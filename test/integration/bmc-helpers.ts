/**
 * Helpers of the BMC (Redfish) suites: a host's `bmc` entry for a fake BMC,
 * a port nothing listens on, the fence modal's values for "power off now",
 * and the modal's fence-method choices as Slack shows them.
 */
import { createServer } from 'node:net';
import { POWER_OFF_NOW } from '../../src/domain/fencing.js';
import { MODAL_INPUTS } from '../../src/slack/ids.js';
import { FAKE_BMC_CA, type FakeRedfish } from '../fakes/redfish.js';
import { fenceValues } from './slack-helpers.js';

/** A `bmc.<cloud>.hosts.<host>` entry of the secret document that reaches `fake` (TLS verified with the fake's CA). */
export function bmcEntry(fake: Pick<FakeRedfish, 'url' | 'username' | 'password'>, over: Record<string, unknown> = {}) {
  return { url: fake.url, username: fake.username, password: fake.password, caCert: FAKE_BMC_CA, ...over };
}

/** A loopback port nothing listens on (bound, then closed): a BMC that refuses connections. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

/** The fence modal's values with "Power off now via the BMC (Redfish)" chosen (value `power-off`) and the box ticked. */
export function powerOffValues(opts: { verified?: boolean; note?: string } = {}): Record<string, Record<string, unknown>> {
  const values = fenceValues({ method: 'bmc', verified: opts.verified ?? true, ...(opts.note !== undefined ? { note: opts.note } : {}) });
  values[MODAL_INPUTS.method.blockId] = {
    [MODAL_INPUTS.method.actionId]: {
      type: 'static_select',
      selected_option: { text: { type: 'plain_text', text: 'Power off now via the BMC (Redfish)', emoji: true }, value: POWER_OFF_NOW },
    },
  };
  return values;
}

/** The fence method select's options (value and label, in order) of a modal view, as views.open sent it. */
export function methodChoices(view: unknown): { value: string; text: string }[] {
  const blocks = (view as { blocks?: unknown[] } | undefined)?.blocks ?? [];
  const block = blocks.find((b) => (b as { block_id?: string }).block_id === MODAL_INPUTS.method.blockId) as
    | { element?: { options?: { value: string; text: { text: string } }[]; initial_option?: { value: string } } }
    | undefined;
  return (block?.element?.options ?? []).map((o) => ({ value: o.value, text: o.text.text }));
}
