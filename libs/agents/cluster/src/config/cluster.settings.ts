/**
 * The cluster agent's settings: <configDir>/cluster.json or OUTPOST_CLUSTER_* variables.
 *
 * The distributions are providers configured HERE, on the node, by whoever installs it: which
 * executables install, uninstall and probe each one. The bus only chooses among them and passes typed
 * parameters; a distribution whose installer is empty is not offered, and a desired state naming it
 * is rejected. Executables are absolute paths run without a shell; their fixed arguments are lists
 * (JSON arrays in cluster.json, comma-separated in the environment).
 */
import type { ListField, SettingsSpec, StringField } from '@outpost/agent-runtime';

/** An absolute path without NUL or newline, or empty (not configured). */
const ABSOLUTE_PATH = /^(\/[^\0\n]*)?$/;

const path = (fallback: string, description: string): StringField => ({
  kind: 'string',
  default: fallback,
  pattern: ABSOLUTE_PATH,
  description,
});
const args = (fallback: readonly string[], description: string): ListField => ({
  kind: 'list',
  default: fallback,
  description,
});

export const clusterSettings = {
  k3sInstaller: path('', 'absolute path of the k3s installer (empty: k3s is not offered on this node)'),
  k3sInstallerArgs: args(
    [],
    'fixed arguments of the k3s installer (parameters come as OUTPOST_CLUSTER_* env)',
  ),
  k3sUninstaller: path('', 'absolute path of the k3s uninstaller (required when the installer is set)'),
  k3sUninstallerArgs: args([], 'fixed arguments of the k3s uninstaller'),
  k3sKubeconfig: path(
    '/etc/rancher/k3s/k3s.yaml',
    'kubeconfig k3s writes; given to installer and probe as KUBECONFIG',
  ),
  k3sReadinessProbe: args(
    ['/usr/local/bin/k3s', 'kubectl', 'get', '--raw=/readyz'],
    'k3s readiness probe: absolute executable path, then arguments; exit 0 means ready',
  ),
  rke2Installer: path('', 'absolute path of the rke2 installer (empty: rke2 is not offered on this node)'),
  rke2InstallerArgs: args(
    [],
    'fixed arguments of the rke2 installer (parameters come as OUTPOST_CLUSTER_* env)',
  ),
  rke2Uninstaller: path('', 'absolute path of the rke2 uninstaller (required when the installer is set)'),
  rke2UninstallerArgs: args([], 'fixed arguments of the rke2 uninstaller'),
  rke2Kubeconfig: path(
    '/etc/rancher/rke2/rke2.yaml',
    'kubeconfig rke2 writes; given to installer and probe as KUBECONFIG',
  ),
  rke2ReadinessProbe: args(
    ['/var/lib/rancher/rke2/bin/kubectl', 'get', '--raw=/readyz'],
    'rke2 readiness probe: absolute executable path, then arguments; exit 0 means ready',
  ),
  secretsDir: {
    kind: 'string',
    default: '/etc/outpost/cluster-secrets',
    pattern: /^\/[^\0\n]*$/,
    description:
      'directory of join-token files; a desired tokenRef names a file in it (the agent passes the path, never reads the token)',
  },
  operationTimeoutMs: {
    kind: 'int',
    default: 1_800_000,
    min: 1_000,
    max: 86_400_000,
    unit: 'ms',
    description: 'an installer or uninstaller still running after this is killed and counts as failed',
  },
  probeIntervalMs: {
    kind: 'int',
    default: 15_000,
    min: 100,
    max: 3_600_000,
    unit: 'ms',
    description: 'how often the readiness probe runs while the cluster is ACTIVE',
  },
  probeTimeoutMs: {
    kind: 'int',
    default: 10_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
    description: 'a readiness probe still running after this is killed and counts as not ready',
  },
  retryInitialMs: {
    kind: 'int',
    default: 10_000,
    min: 10,
    max: 3_600_000,
    unit: 'ms',
    description: 'wait before the first retry of a failed install or uninstall',
  },
  retryMaxMs: {
    kind: 'int',
    default: 900_000,
    min: 10,
    max: 86_400_000,
    unit: 'ms',
    description: 'the retry wait doubles (retryFactor) after every failure up to this cap',
  },
  retryFactor: {
    kind: 'int',
    default: 2,
    min: 1,
    max: 10,
    description: 'growth of the retry wait per consecutive failure (1: constant wait)',
  },
} as const satisfies SettingsSpec;
