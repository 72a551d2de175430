/** The retry schedule after a failed install or uninstall: exponential, capped. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/** Wait before the next attempt after `failures` consecutive failures (1 = the first failure). */
export function retryDelayMs(failures: number, policy: BackoffPolicy): number {
  const n = Math.max(1, Math.floor(failures));
  // Computed step by step so a large n cannot overflow to Infinity before the cap applies.
  let delay = policy.initialMs;
  for (let i = 1; i < n && delay < policy.maxMs; i++) delay *= policy.factor;
  return Math.min(delay, policy.maxMs);
}
