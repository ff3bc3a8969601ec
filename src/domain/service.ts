/** Nova's view of one service record, in our names. */
export interface ComputeService {
  /** UUID at microversion >= 2.53, an integer id (as text) below. */
  id?: string;
  host: string;
  binary: string;
  /** `up` or `down` as Nova computes it (heartbeat age, or forced_down). */
  state?: string;
  /** `enabled` or `disabled`. */
  status?: string;
  forcedDown: boolean;
  /** Last heartbeat (ISO 8601, UTC, as Nova reports it), or null. */
  updatedAt?: string | null;
  disabledReason?: string | null;
  zone?: string;
}

/** Whether Nova may rebuild instances on this service's host: up, enabled and not forced down (an evacuation's target). */
export function takesInstances(s: Pick<ComputeService, 'state' | 'status' | 'forcedDown'>): boolean {
  return !s.forcedDown && s.state === 'up' && s.status === 'enabled';
}
