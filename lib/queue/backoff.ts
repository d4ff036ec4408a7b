// Jittered exponential backoff, the one retry-delay policy shared by the work
// queue (per-tenant retries) and anything else that waits before trying again.

/** Parameters of an exponential backoff. */
export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound on any delay, in ms. */
  maxMs: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /** Random extra of up to `jitter` × delay (default 1.0, as client-go). */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (0 = first retry): `initial ×
 * factor^attempt`, capped at `max`, plus up to `jitter` of itself at random.
 * The result never exceeds `maxMs`.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const factor = policy.factor ?? 2;
  const jitter = policy.jitter ?? 1;
  const base = Math.min(policy.maxMs, policy.initialMs * factor ** Math.max(0, attempt));
  return Math.min(policy.maxMs, base + base * jitter * random());
}
