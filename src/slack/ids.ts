/**
 * Every Slack identifier force-down's listeners match on, in one place
 * (Bolt starter layout): the builders put them into blocks, the listeners
 * register on them, and the tests read them from here.
 */

/** `action_id`s of the request card's buttons. Each button's `value` is the request id. */
export const ACTION_IDS = {
  /** Force-down card: opens the fence confirmation modal (also the **Retry…** button of a failed force-down). */
  confirmFenced: 'confirm_fenced',
  /** Unset card: opens the recovery confirmation modal (also **Retry…** of a failed unset). */
  confirmRecovered: 'confirm_recovered',
  /** Cancels a pending or failed request. */
  cancelRequest: 'cancel_request',
  /** Succeeded force-down card: **Evacuate N instances…** opens the evacuation modal. */
  evacuate: 'evacuate_host',
  /** Succeeded force-down card with an evacuation: **Retry failed…** opens the evacuation modal for the next round. */
  retryEvacuation: 'retry_evacuation',
} as const;

/** `block_id` of the card's actions block (buttons). */
export const CARD_ACTIONS_BLOCK_ID = 'request_actions';

/** `callback_id` of the confirmation modal (force-down and unset alike); `private_metadata` carries the request id. */
export const FENCE_MODAL_CALLBACK_ID = 'fence_confirmation';

/** `block_id` of the modal's line about Nova's last heartbeat (updated by the worker with views.update). */
export const MODAL_HEARTBEAT_BLOCK_ID = 'heartbeat_check';

/** `block_id` of the modal's line about the host's BMC power state (hosts with a BMC only; updated by the worker). */
export const MODAL_BMC_BLOCK_ID = 'bmc_check';

/** `block_id` of the card's BMC line (hosts with a BMC only). */
export const CARD_BMC_BLOCK_ID = 'bmc';

/**
 * `block_id` / `action_id` pairs of the modal's inputs. A submission's values
 * arrive as `view.state.values[blockId][actionId]`, and `response_action: errors`
 * is keyed by `block_id`.
 */
export const MODAL_INPUTS = {
  /** static_select of FENCING_METHODS (force-down only; required). */
  method: { blockId: 'fence_method', actionId: 'fence_method_select' },
  /** checkboxes with one option: "I verified <host> is powered off or isolated" / "<host> is healthy …". */
  verified: { blockId: 'fence_verified', actionId: 'fence_verified_checkbox' },
  /** optional multiline plain_text_input. */
  note: { blockId: 'fence_note', actionId: 'fence_note_input' },
} as const;

/** `value` of the single verification checkbox option. */
export const VERIFIED_OPTION_VALUE = 'verified';

/** Longest note the modal accepts (Slack enforces `max_length`; validation checks again). */
export const NOTE_MAX_LENGTH = 500;

/** `callback_id` of the evacuation modal; `private_metadata` carries the request id and the form's round (blocks `encodeEvacuateMetadata`). */
export const EVACUATE_MODAL_CALLBACK_ID = 'evacuate_confirmation';

/** `block_id` / `action_id` pairs of the evacuation modal's inputs (values arrive as `view.state.values[blockId][actionId]`). */
export const EVACUATE_INPUTS = {
  /** radio_buttons: `all` or `ha-only` (first evacuation only). */
  scope: { blockId: 'evacuate_scope', actionId: 'evacuate_scope_radio' },
  /** static_select: {@link SCHEDULER_TARGET_VALUE} or a host name. */
  target: { blockId: 'evacuate_target', actionId: 'evacuate_target_select' },
  /** checkboxes with one option ({@link EVACUATE_CONFIRM_VALUE}): the host stays fenced. */
  confirm: { blockId: 'evacuate_confirm', actionId: 'evacuate_confirm_checkbox' },
} as const;

/** `block_id` of the card's evacuation line (succeeded force-down with an evacuation). */
export const CARD_EVACUATION_BLOCK_ID = 'evacuation';

/** `block_id` of the evacuation modal's summary (what is on the host), updated by the worker with views.update. */
export const MODAL_EVACUATE_CHECK_BLOCK_ID = 'evacuate_check';

/** The evacuation modal's target option meaning "let Nova's scheduler choose". */
export const SCHEDULER_TARGET_VALUE = 'scheduler';

/** `value` of the evacuation modal's single confirmation checkbox option. */
export const EVACUATE_CONFIRM_VALUE = 'confirmed';

/**
 * `action_id`s of a grouped card's bulk buttons (first page); each button's
 * `value` is the group id. Each row's own buttons are the single card's
 * ({@link ACTION_IDS}: Confirm fenced… / Retry… and Cancel, value = request id).
 */
export const GROUP_ACTION_IDS = {
  /** **Confirm all fenced…**: opens the bulk confirmation modal for the group's pending hosts. */
  confirmAll: 'confirm_all_fenced',
  /** **Cancel all…** (behind Slack's confirm dialog): cancels every pending row. */
  cancelAll: 'cancel_all',
} as const;

/** `block_id` of the grouped card's bulk buttons (first page). */
export const GROUP_ACTIONS_BLOCK_ID = 'group_actions';

/** `callback_id` of the bulk confirmation modal; `private_metadata` carries the group id, the form's nonce and the count the box names. */
export const BULK_MODAL_CALLBACK_ID = 'bulk_fence_confirmation';

/** `block_id` / `action_id` pairs of the bulk confirmation modal's inputs. */
export const BULK_INPUTS = {
  /** multi_static_select of the group's pending hosts (value: request id), all preselected. */
  hosts: { blockId: 'bulk_hosts', actionId: 'bulk_hosts_select' },
  /** static_select of FENCING_METHODS (required; no "power off now" for many hosts). */
  method: { blockId: 'bulk_fence_method', actionId: 'bulk_fence_method_select' },
  /** checkboxes with one option: "I verified these N hosts are powered off or isolated". */
  verified: { blockId: 'bulk_fence_verified', actionId: 'bulk_fence_verified_checkbox' },
  /** optional multiline plain_text_input. */
  note: { blockId: 'bulk_fence_note', actionId: 'bulk_fence_note_input' },
} as const;

/** Most hosts one bulk confirmation modal lists (Slack: at most 100 options in a select); more are confirmed page by page. */
export const BULK_MAX_HOSTS = 100;
