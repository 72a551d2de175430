/**
 * How long a wait for readiness may take: a server, a suite or a process starting, an update going
 * through, on a 2-core machine that other work keeps busy. A check that passes returns at once, so
 * the bound costs nothing unless something is wrong.
 */
const READY_TIMEOUT_MS = 120_000;

/** Waits until a check passes (or throws its last failure): for asynchronous effects, not timing. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = READY_TIMEOUT_MS,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
