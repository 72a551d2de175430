/** What every command gets: the output, the fleet on the bus, its arguments and options. */
import type { Fleet } from '../fleet.js';
import type { Io } from '../output.js';

export interface Options {
  json: boolean;
  manifest?: string;
  file?: string;
  retry?: number;
  count?: number;
  tz?: string;
  group: boolean;
  /** A label selector (rollout and hub inventory). */
  selector?: string;
  /** enrol: the one-time token, or a file holding it. */
  token?: string;
  tokenFile?: string;
  nodeId?: string;
  hardwareId?: string;
  keyFile?: string;
  credsFile?: string;
  force?: boolean;
  reason?: string;
  ttlSeconds?: number;
}

export interface CommandContext {
  io: Io;
  fleet: Fleet;
  /** Positional arguments after the command words. */
  args: string[];
  opts: Options;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: long-running commands end cleanly. */
  signal: AbortSignal;
}
