/**
 * Expected failures are data, not exceptions.
 * Every user-facing surface (CLI, Slack card, runbook) switches on these codes.
 */
export type FailureCode =
  /** Nova has no such host: legacy 404 "not mapped to any cell", or an empty service lookup. */
  | 'HOST_NOT_FOUND'
  /** The host exists in Nova but runs no nova-compute (e.g. a controller with nova-scheduler). */
  | 'NOT_A_COMPUTE_SERVICE'
  /** Nova's policy refused the credentials (os_compute_api:os-services:update). */
  | 'NOVA_FORBIDDEN'
  /** Unsetting forced_down refused: completed evacuations from the host are not cleaned up yet. */
  | 'EVACUATIONS_PENDING'
  /** Nova is older than microversion 2.11 (no force-down API), or refused the pinned microversion. */
  | 'NOVA_TOO_OLD'
  /** Keystone refused the credentials, or Nova kept answering 401 after one re-authentication. */
  | 'AUTH_FAILED'
  /** The Keystone catalog has no compute endpoint for the configured region and interface. */
  | 'ENDPOINT_NOT_FOUND'
  /** Nova did not answer usefully: timeouts, connection errors, 5xx after bounded retries. */
  | 'NOVA_UNAVAILABLE'
  /** Keystone did not answer usefully: timeouts, connection errors, 5xx after bounded retries. */
  | 'KEYSTONE_UNAVAILABLE'
  /** Nova refused the request for a reason none of the codes above describe. */
  | 'NOVA_REJECTED'
  /**
   * Not Nova's answer but force-down's own refusal: the confirmation is older
   * than FORCE_DOWN_CONFIRMATION_MAX_AGE_SECONDS (the job started late, or never
   * started), so it no longer says anything about the host now. Nova not called.
   */
  | 'CONFIRMATION_STALE'
  /**
   * force-down's own refusal: Nova keeps hearing from the host's nova-compute
   * (a heartbeat newer than the first one seen, or than the confirmation), so
   * the host is not fenced, whatever the confirmation says. Nova not called.
   */
  | 'HOST_STILL_REPORTING'
  /**
   * The host's BMC (Redfish) reports its power is not Off (On, PoweringOn,
   * PoweringOff, or anything else it said): the host is not fenced by power.
   */
  | 'BMC_SAYS_ON'
  /**
   * The host's BMC did not answer usefully: a timeout, a TLS or connection
   * error, an HTTP error status, or an answer that is not Redfish (e.g. an
   * HTML page). `reason` says which; the message says it in words.
   */
  | 'BMC_UNREACHABLE'
  /** The BMC accepted the power-off, but did not report Off within FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS. */
  | 'BMC_POWER_OFF_TIMEOUT'
  /**
   * The host's BMC entry does not fit the BMC: no system or several systems
   * match the host (the message names the choices), or the BMC refused the
   * configured credentials (401/403).
   */
  | 'BMC_CONFIG'
  /**
   * The BMC answered but refused the power-off: it advertises no
   * ComputerSystem.Reset action or no reset type that turns power off, or it
   * answered the Reset with an error (e.g. 501 Not Implemented).
   */
  | 'BMC_REJECTED'
  /**
   * Evacuate: Nova refused to evacuate an instance because of its state (HTTP
   * 409): a task state (e.g. `rebuilding`: an operation, perhaps an earlier
   * evacuation, is still running) or a vm_state evacuate does not take (only
   * active, stopped and error instances are evacuated).
   */
  | 'INSTANCE_STATE_CONFLICT'
  /** Evacuate: Nova still sees the source host's nova-compute as up (400 "Compute service of <host> is still in use."). */
  | 'HOST_STILL_IN_USE'
  /** Evacuate: Nova has no compute host of the chosen target's name (404 "Compute host <target> not found."). */
  | 'TARGET_NOT_FOUND'
  /** Evacuate: the chosen target is the host the instance is on (400 "The target host can't be the same one."). */
  | 'TARGET_SAME_HOST'
  /** Evacuate: Nova does not know the instance (any more): deleted since it was listed (404). */
  | 'INSTANCE_NOT_FOUND'
  /** Evacuate: Nova's scheduler found no host that fits the instance ("No valid host was found"). */
  | 'NO_VALID_HOST'
  /** Evacuate: Nova accepted the evacuation, and its migration record ended `failed` or `error`. */
  | 'EVACUATION_FAILED'
  /** Evacuate: Nova accepted the evacuation, but its migration record did not end within the allowed time. */
  | 'EVACUATION_TIMEOUT'
  /** Listing a host's instances: Nova listed more than force-down reads for one host (the message says how many). */
  | 'TOO_MANY_INSTANCES';

/** Why a BMC did not answer usefully (BMC_UNREACHABLE). */
export type BmcUnreachableReason = 'timeout' | 'tls' | 'refused' | 'dns' | 'network' | 'http-status' | 'not-redfish';

export interface Failure {
  code: FailureCode;
  /** Our own plain-language summary. Never contains a secret. */
  message: string;
  /** The service's own message (Nova's or Keystone's), kept for the audit trail. */
  detail?: string;
  /** HTTP status of the answer that decided the failure, when there was one. */
  status?: number;
  /**
   * Seconds, for the codes that are about an age: HOST_STILL_REPORTING, the
   * age of the last heartbeat when force-down refused; CONFIRMATION_STALE, the
   * confirmation's age when the worker refused it.
   */
  ageSeconds?: number;
  /** Method and path of the request that failed, e.g. `PUT /os-services/force-down`. */
  request?: string;
  /** BMC_UNREACHABLE: which kind of failure (the message says it in words). */
  reason?: BmcUnreachableReason;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export const succeed = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = <T = never>(failure: Failure): Outcome<T> => ({ ok: false, failure });

/** Failures that mean "the remote side is not reachable" rather than "it said no". */
export function isUnavailable(code: FailureCode): boolean {
  return code === 'NOVA_UNAVAILABLE' || code === 'KEYSTONE_UNAVAILABLE' || code === 'BMC_UNREACHABLE';
}

/** Every failure code (`satisfies` keeps it complete), for reading a code stored as a string. */
export const FAILURE_CODES = {
  HOST_NOT_FOUND: true,
  NOT_A_COMPUTE_SERVICE: true,
  NOVA_FORBIDDEN: true,
  EVACUATIONS_PENDING: true,
  NOVA_TOO_OLD: true,
  AUTH_FAILED: true,
  ENDPOINT_NOT_FOUND: true,
  NOVA_UNAVAILABLE: true,
  KEYSTONE_UNAVAILABLE: true,
  NOVA_REJECTED: true,
  CONFIRMATION_STALE: true,
  HOST_STILL_REPORTING: true,
  BMC_SAYS_ON: true,
  BMC_UNREACHABLE: true,
  BMC_POWER_OFF_TIMEOUT: true,
  BMC_CONFIG: true,
  BMC_REJECTED: true,
  INSTANCE_STATE_CONFLICT: true,
  HOST_STILL_IN_USE: true,
  TARGET_NOT_FOUND: true,
  TARGET_SAME_HOST: true,
  INSTANCE_NOT_FOUND: true,
  NO_VALID_HOST: true,
  EVACUATION_FAILED: true,
  EVACUATION_TIMEOUT: true,
  TOO_MANY_INSTANCES: true,
} satisfies Record<FailureCode, true>;

/** Whether `code` (e.g. read from the store) is one of force-down's failure codes. */
export function isFailureCode(code: string | undefined): code is FailureCode {
  return code !== undefined && Object.prototype.hasOwnProperty.call(FAILURE_CODES, code);
}
