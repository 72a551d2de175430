/**
 * Maintenance windows live in @outpost/update-domain (outpostctl previews them with the same code);
 * re-exported here for the orchestrator's own modules.
 */
export {
  canStartInstall,
  installDecision,
  nextWindows,
  parseWindow,
  startOffset,
  windowAt,
  type InstallCheck,
  type InstallDecision,
  type Interval,
  type WindowSpec,
} from '@outpost/update-domain';
