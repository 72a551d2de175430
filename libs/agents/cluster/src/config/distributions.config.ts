/**
 * Turns the flat settings into the per-distribution provider configuration, and refuses a half
 * configured distribution at start (an installer without an uninstaller or a probe), naming the key.
 */
import { ConfigError, type SettingsOf } from '@outpost/agent-runtime';
import type { DistributionConfig } from '../handlers/exec-cluster.provider.js';
import { DISTRIBUTIONS, type DistributionId } from '../domain/cluster-spec.js';
import type { clusterSettings } from './cluster.settings.js';

type ClusterSettings = SettingsOf<typeof clusterSettings>;

export function distributionsFrom(
  settings: ClusterSettings,
): Partial<Record<DistributionId, DistributionConfig>> {
  const out: Partial<Record<DistributionId, DistributionConfig>> = {};
  for (const id of DISTRIBUTIONS) {
    const installer = settings[`${id}Installer`];
    if (!installer) continue;
    const uninstaller = settings[`${id}Uninstaller`];
    if (!uninstaller) {
      throw new ConfigError(`cluster: "${id}Installer" is set but "${id}Uninstaller" is empty`);
    }
    const probe = settings[`${id}ReadinessProbe`];
    if (probe.length === 0 || !probe[0].startsWith('/')) {
      throw new ConfigError(
        `cluster: "${id}ReadinessProbe" = ${JSON.stringify(probe)} must start with an absolute executable path`,
      );
    }
    out[id] = {
      installer,
      installerArgs: settings[`${id}InstallerArgs`],
      uninstaller,
      uninstallerArgs: settings[`${id}UninstallerArgs`],
      kubeconfig: settings[`${id}Kubeconfig`],
      probe,
    };
  }
  return out;
}
