/**
 * @outpost/update-domain: the rules of a desired update that the orchestrator and the tools that write
 * desired updates (outpostctl) share, pure and free of Nest and NATS: its validation, maintenance
 * windows (parsing, occurrences, the install decision), and the rollout-lease slot rule.
 */
export { validateDesired, MAX_CHECKS, MAX_WINDOWS, type Desired } from './desired.js';
export type { CheckSpec } from './check-spec.js';
export {
  canStartInstall,
  installDecision,
  mergeIntervals,
  nextWindows,
  occurrences,
  parseWindow,
  startOffset,
  windowAt,
  MAX_WINDOW_MINUTES,
  WEEKDAYS,
  type InstallCheck,
  type InstallDecision,
  type Interval,
  type RawWindow,
  type Weekday,
  type WindowSpec,
} from './windows.js';
export type { WallTime } from './local-time.js';
export {
  chooseLeaseSlot,
  earliestExpiry,
  parseLease,
  type Lease,
  type LeaseChoice,
  type LeaseSlot,
} from './lease.js';
