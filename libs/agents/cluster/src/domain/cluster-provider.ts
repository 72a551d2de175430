/**
 * The port to the node's Kubernetes distributions. The agent never runs anything from the bus: it
 * asks a provider to install, uninstall or probe a distribution that is configured on the node,
 * with typed, validated parameters. The real implementation runs the configured executables
 * (handlers/exec-cluster.provider.ts).
 */
import type { ClusterSpec, DistributionId } from './cluster-spec.js';

export interface OperationResult {
  readonly ok: boolean;
  /** On failure: exit status or signal, and the tail of the output. */
  readonly reason: string;
  /** The run was cancelled because the agent is stopping: neither success nor failure. */
  readonly aborted: boolean;
}

export interface ClusterProvider {
  /** Distributions configured on this node. */
  offered(): readonly DistributionId[];
  install(spec: ClusterSpec, signal: AbortSignal): Promise<OperationResult>;
  uninstall(spec: ClusterSpec, signal: AbortSignal): Promise<OperationResult>;
  /** Runs the readiness probe; ok means ready, reason says why not. */
  probe(distribution: DistributionId, signal: AbortSignal): Promise<OperationResult>;
}

export const CLUSTER_PROVIDER = Symbol.for('outpost.cluster.provider');
