/**
 * The cluster machine on disk: <stateDir>/cluster/state.json, versioned, written with
 * write-fsync-rename before anything acts on a transition, so that after kill -9 or power loss the
 * agent knows whether it was installing or uninstalling and runs that step again.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { VersionedStore } from '@outpost/agent-runtime';
import { ClusterState } from '@outpost/contracts';
import type { ClusterMachine } from '../domain/cluster-machine.js';
import { DISTRIBUTIONS, ROLES, type ClusterSpec, type DesiredState } from '../domain/cluster-spec.js';

export const STATE_VERSION = 1;

export type LoadResult =
  | { kind: 'fresh' }
  | { kind: 'loaded'; machine: ClusterMachine }
  /** The file could not be trusted; it was moved aside to `movedTo`. */
  | { kind: 'unreadable'; reason: string; movedTo: string };

export class ClusterStateStore {
  readonly path: string;
  /** Saves are serialised: the newest state is the one that lands. */
  private readonly file: VersionedStore<ClusterMachine>;

  constructor(dir: string) {
    this.path = join(dir, 'state.json');
    this.file = new VersionedStore(this.path, { version: STATE_VERSION, decode: decodeMachine });
  }

  async load(): Promise<LoadResult> {
    let problem: string;
    try {
      const machine = await this.file.load();
      return machine ? { kind: 'loaded', machine } : { kind: 'fresh' };
    } catch (err) {
      problem = (err as Error).message;
    }
    const movedTo = `${this.path}.unreadable-${Date.now()}`;
    await rename(this.path, movedTo).catch(() => undefined);
    return { kind: 'unreadable', reason: problem, movedTo };
  }

  save(machine: ClusterMachine): Promise<void> {
    return this.file.save(machine);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function parseSpec(v: unknown): ClusterSpec | undefined | false {
  if (v === undefined) return undefined;
  if (
    !isObject(v) ||
    !(DISTRIBUTIONS as readonly unknown[]).includes(v.distribution) ||
    !(ROLES as readonly unknown[]).includes(v.role) ||
    typeof v.joinUrl !== 'string' ||
    typeof v.tokenRef !== 'string'
  ) {
    return false;
  }
  return v as unknown as ClusterSpec;
}

function parseDesired(v: unknown): DesiredState | undefined | false {
  if (v === undefined) return undefined;
  if (!isObject(v)) return false;
  if (v.presence === 'absent') return { presence: 'absent' };
  if (v.presence !== 'present') return false;
  const spec = parseSpec(v.spec);
  return spec ? { presence: 'present', spec } : false;
}

function decodeMachine(data: unknown): ClusterMachine {
  const machine = parseMachine(data);
  if (!machine) throw new Error('state document has an unexpected shape');
  return machine;
}

/** A machine from its JSON, or undefined if any field is off: a state file is trusted whole or not at all. */
export function parseMachine(data: unknown): ClusterMachine | undefined {
  if (!isObject(data)) return undefined;
  const states = [
    ClusterState.INACTIVE,
    ClusterState.INSTALLING,
    ClusterState.ACTIVE,
    ClusterState.UNINSTALLING,
    ClusterState.ERROR,
  ];
  if (!states.includes(data.state as ClusterState)) return undefined;
  if (!isNum(data.since) || !isNum(data.sequence) || !isNum(data.attempts)) return undefined;
  if (typeof data.lastError !== 'string') return undefined;
  if (data.nextRetryAt !== undefined && !isNum(data.nextRetryAt)) return undefined;
  if (data.failed !== undefined && data.failed !== 'install' && data.failed !== 'uninstall') return undefined;
  const target = parseSpec(data.target);
  const installed = parseSpec(data.installed);
  const desired = parseDesired(data.desired);
  if (target === false || installed === false || desired === false) return undefined;
  const busy = data.state === ClusterState.INSTALLING || data.state === ClusterState.UNINSTALLING;
  if (busy && !target) return undefined;
  return {
    state: data.state as ClusterState,
    since: data.since,
    sequence: data.sequence,
    attempts: data.attempts,
    lastError: data.lastError,
    nextRetryAt: data.nextRetryAt as number | undefined,
    failed: data.failed as ClusterMachine['failed'],
    target,
    installed,
    desired,
  };
}
