import type { App } from '@slack/bolt';
import type { AppDeps } from '../../app/ports.js';
import type { ForceDownRequest } from '../../domain/request.js';

/** What the listeners need besides Bolt's `app`: the use cases' ports and the user's approver groups. */
export interface ListenerDeps {
  deps: AppDeps;
  /**
   * Which approver user groups the user is in, handed to the use cases (which
   * alone decide who may approve or cancel). Listed approvers skip the lookup.
   */
  groups: (userId: string) => Promise<ReadonlySet<string>>;
}

/** A group of listeners (commands, actions, views) registering on the bot's Bolt app. */
export type RegisterListeners = (app: App, deps: ListenerDeps) => void;

/** Everything refusalText may need to explain a refusal about `r`. */
export function refusalContext(r: ForceDownRequest) {
  return {
    host: r.host,
    action: r.action,
    cloud: r.cloud,
    requestedBy: r.requestedBy,
    expiresAt: r.expiresAt,
    ...(r.confirmation ? { handledBy: r.confirmation.by } : {}),
    ...(r.state === 'approved' ? { confirmed: true } : {}),
  };
}
