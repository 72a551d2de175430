/**
 * The environment of a suite on a simulated device whose files all live under one directory, the
 * way tests, the bench and `npm start` run it.
 */
import { join } from 'node:path';

export function simulatedNodeEnv(
  dir: string,
  natsUrl: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    NATS_URL: natsUrl,
    OUTPOST_DEVICE: 'simulated',
    OUTPOST_SIM_DIR: join(dir, 'device'),
    OUTPOST_STATE_DIR: join(dir, 'state'),
    OUTPOST_CONFIG_DIR: join(dir, 'config'),
    OUTPOST_RUN_DIR: join(dir, 'run'),
    ...extra,
  };
}
