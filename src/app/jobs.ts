import { z } from 'zod';
import { ALERT_SOURCES } from '../domain/alert-source.js';

/**
 * Slow work the api function hands to the worker (Lambda async invoke;
 * in-process locally), and the schema the worker parses each one with (from
 * api's async invoke, or the schedule's `{"kind":"sweep"}`). `Job` is derived
 * from the schema: one definition for both.
 *
 * - `show-card`, `execute`, `refresh-card`: request `id`.
 * - `refresh-group`: members `ids` of group `id` changed state with no Nova
 *   call (the sweep's expiry): the group is rendered once for them all (their
 *   pages and the first), with one line in its thread.
 * - `status`: `/force-down status <host>`: Nova's view, answered on the
 *   command's response_url.
 * - `list`: `/force-down list`: down and forced-down compute services.
 * - `sweep` (scheduled): expire requests past their TTL, settle requests whose
 *   worker died (`executing`) or whose execute job never started (`approved`).
 * - `check-modal`: the confirmation modal `viewId` was opened for request `id`
 *   (api path, no Nova call there): read Nova's view of the host and update
 *   the modal with its last heartbeat (⚠ when the host may still be running).
 *   `form`: the modal's nonce, kept in the updated view (a job without one,
 *   queued before forms had nonces, leaves the modal as it is).
 * - `show-group`: posts or updates a grouped card: every page (default), or
 *   `pages` only; `joined`: requests new to the group, announced in its
 *   thread; `orphan`: a member to show on a card of its own if the group was
 *   never recorded; `settleUntil` (epoch ms): render no earlier (hosts left
 *   out of a full card keep coming in a flood: one update shows all of a short
 *   window's).
 * - `alert-recovery`: resolved alerts for hosts with no open force-down
 *   request: offer recovery where Nova has them forced down.
 * - `auto-bmc`: request `id` was opened by an alert source in auto mode on
 *   the BMC's evidence (`autoForceDown: "bmc-off"`): read the host's BMC and,
 *   when it reports power Off, confirm the request in auto mode and execute it.
 * - `evacuate`: evacuate request `id`'s host (src/app/evacuation-flow.ts):
 *   decide the current round's checks once, then send and follow each
 *   instance's evacuation, handing over to a fresh `evacuate` job before the
 *   worker's time runs out. `by`: who asked (for the thread).
 * - `check-evacuate-modal`: the evacuation modal `viewId` was opened for
 *   request `id` (form `round`: 0 first evacuation, n Retry failed… of round
 *   n): read the host's instances and the hosts that may take them, and
 *   update the modal.
 */
export const jobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.enum(['show-card', 'execute', 'refresh-card']), id: z.string().min(1) }),
  z.object({ kind: z.literal('refresh-group'), id: z.string().min(1), ids: z.array(z.string().min(1)).min(1) }),
  z.object({ kind: z.literal('status'), cloud: z.string(), host: z.string(), responseUrl: z.url() }),
  z.object({ kind: z.literal('list'), cloud: z.string(), responseUrl: z.url(), page: z.int().min(1).max(10_000).optional() }),
  z.object({ kind: z.literal('sweep') }),
  z.object({ kind: z.literal('auto-bmc'), id: z.string().min(1) }),
  z.object({ kind: z.literal('evacuate'), id: z.string().min(1), by: z.string().min(1).max(64).optional() }),
  z.object({ kind: z.literal('check-evacuate-modal'), id: z.string().min(1), viewId: z.string().min(1), round: z.int().min(0) }),
  z.object({ kind: z.literal('check-modal'), id: z.string().min(1), viewId: z.string().min(1), form: z.string().min(1).max(200).optional() }),
  z.object({ kind: z.literal('show-group'), id: z.string().min(1), pages: z.array(z.int().min(0)).optional(), joined: z.array(z.string().min(1)).optional(), orphan: z.string().min(1).optional(), settleUntil: z.number().optional() }),
  z.object({
    kind: z.literal('alert-recovery'),
    cloud: z.string().min(1),
    channel: z.string().min(1),
    alerts: z.array(
      z.object({
        host: z.string().min(1),
        origin: z.object({
          kind: z.literal('alert'),
          source: z.enum(ALERT_SOURCES),
          fingerprint: z.string(),
          alertName: z.string().optional(),
          summary: z.string().optional(),
          link: z.string().optional(),
          startsAt: z.string().optional(),
        }),
      }),
    ),
  }),
]);

/** Slow work the api function hands to the worker (see `jobSchema`). */
export type Job = z.infer<typeof jobSchema>;
