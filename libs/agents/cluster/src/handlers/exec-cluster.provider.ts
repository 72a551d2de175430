/**
 * The real ClusterProvider: runs the installer, uninstaller and readiness probe configured for each
 * distribution in the agent's settings, with execFile (no shell) and a timeout. Parameters travel as
 * environment variables of a clean environment, never as words of a command line:
 *   CLUSTER_OPERATION      install | uninstall
 *   CLUSTER_DISTRIBUTION   k3s | rke2
 *   CLUSTER_ROLE           server | agent
 *   CLUSTER_JOIN_URL       https URL, or empty
 *   CLUSTER_TOKEN_FILE     <secretsDir>/<tokenRef>, or empty (a path: the agent never reads the token)
 *   CLUSTER_NODE_ID        the Outpost node id
 *   KUBECONFIG             the configured kubeconfig path
 * The same values are written to <stateDir>/cluster/request.env before each run, for an installer that
 * is a `systemctl start` of a root-owned template unit (which reads them with EnvironmentFile=).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '@outpost/agent-runtime';
import type { ClusterProvider, OperationResult } from '../domain/cluster-provider.js';
import type { ClusterSpec, DistributionId } from '../domain/cluster-spec.js';
import { runExecutable, type RunResult } from './run-executable.js';

export interface DistributionConfig {
  readonly installer: string;
  readonly installerArgs: readonly string[];
  readonly uninstaller: string;
  readonly uninstallerArgs: readonly string[];
  readonly kubeconfig: string;
  /** Executable, then arguments. */
  readonly probe: readonly string[];
}

export interface ExecProviderConfig {
  readonly distributions: Partial<Record<DistributionId, DistributionConfig>>;
  readonly secretsDir: string;
  readonly nodeId: string;
  /** Where request.env is written (the agent's state dir). */
  readonly requestDir: string;
  readonly operationTimeoutMs: number;
  readonly probeTimeoutMs: number;
}

export class ExecFileClusterProvider implements ClusterProvider {
  constructor(private readonly config: ExecProviderConfig) {}

  offered(): readonly DistributionId[] {
    return (Object.keys(this.config.distributions) as DistributionId[]).sort();
  }

  install(spec: ClusterSpec, signal: AbortSignal): Promise<OperationResult> {
    return this.operate('install', spec, signal);
  }

  uninstall(spec: ClusterSpec, signal: AbortSignal): Promise<OperationResult> {
    return this.operate('uninstall', spec, signal);
  }

  async probe(distribution: DistributionId, signal: AbortSignal): Promise<OperationResult> {
    const dist = this.distribution(distribution);
    const [file, ...args] = dist.probe;
    const run = await runExecutable(file, args, {
      env: { KUBECONFIG: dist.kubeconfig },
      timeoutMs: this.config.probeTimeoutMs,
      signal,
    });
    return toResult(run);
  }

  private async operate(
    operation: 'install' | 'uninstall',
    spec: ClusterSpec,
    signal: AbortSignal,
  ): Promise<OperationResult> {
    const dist = this.distribution(spec.distribution);
    const env = this.environment(operation, spec, dist);
    try {
      await writeFileAtomic(join(this.config.requestDir, 'request.env'), toEnvFile(env));
    } catch (err) {
      return { ok: false, aborted: false, reason: `request.env not written: ${String(err)}` };
    }
    const [file, args] =
      operation === 'install'
        ? [dist.installer, dist.installerArgs]
        : [dist.uninstaller, dist.uninstallerArgs];
    return toResult(
      await runExecutable(file, args, { env, timeoutMs: this.config.operationTimeoutMs, signal }),
    );
  }

  private environment(
    operation: 'install' | 'uninstall',
    spec: ClusterSpec,
    dist: DistributionConfig,
  ): Record<string, string> {
    return {
      CLUSTER_OPERATION: operation,
      CLUSTER_DISTRIBUTION: spec.distribution,
      CLUSTER_ROLE: spec.role,
      CLUSTER_JOIN_URL: spec.joinUrl,
      CLUSTER_TOKEN_FILE: spec.tokenRef ? join(this.config.secretsDir, spec.tokenRef) : '',
      CLUSTER_NODE_ID: this.config.nodeId,
      KUBECONFIG: dist.kubeconfig,
    };
  }

  private distribution(id: DistributionId): DistributionConfig {
    const dist = this.config.distributions[id];
    // Desired states naming an unconfigured distribution are rejected before they get here.
    if (!dist) throw new Error(`distribution ${id} is not configured on this node`);
    return dist;
  }
}

function toResult(run: RunResult): OperationResult {
  if (run.ok) return { ok: true, aborted: false, reason: '' };
  return { ok: false, aborted: run.aborted, reason: run.tail ? `${run.outcome}: ${run.tail}` : run.outcome };
}

/** KEY=value lines as systemd's EnvironmentFile= reads them; values are validated single-line text. */
function toEnvFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n')
    .concat('\n');
}
