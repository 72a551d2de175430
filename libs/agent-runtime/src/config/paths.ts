/**
 * Every on-disk location of the suite, in one place, each overridable from the environment so that
 * tests and `npm start` are self-contained. Durable state lives under the state dir; volatile state
 * under the run dir.
 */
export interface OutpostPaths {
  /** Read-only configuration: <agent>.json, outpost.json (OUTPOST_CONFIG_DIR, default /etc/outpost). */
  configDir: string;
  /** Durable state (OUTPOST_STATE_DIR, default /var/lib/outpost). */
  stateDir: string;
  /** Volatile state, gone at reboot (OUTPOST_RUN_DIR, default /run/outpost). */
  runDir: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv): OutpostPaths {
  return {
    configDir: env.OUTPOST_CONFIG_DIR || '/etc/outpost',
    stateDir: env.OUTPOST_STATE_DIR || '/var/lib/outpost',
    runDir: env.OUTPOST_RUN_DIR || '/run/outpost',
  };
}
