/**
 * The node's health verdict, as pure logic. Each agent process reports its status; an agent counts
 * as up when one of its instances is READY and was heard from within the stale timeout. The node is
 * HEALTHY only when every required agent is up. Ages are measured on a monotonic clock, so a wall
 * clock step (NTP on a node that booted without RTC) cannot make a dead agent look alive.
 */
import { timestampMs, type Timestamp } from '@bufbuild/protobuf/wkt';
import { AgentState, HealthState, type AgentStatus } from '@outpost/contracts';

export interface Observation {
  status: AgentStatus;
  /** Monotonic time (ms) the status was received. */
  receivedAt: number;
  /**
   * Read from KV at start, not heard live: it tells what the agent last said, but never makes it up
   * (after a reboot on a board without RTC the wall clock can be behind the stored timestamps).
   */
  seeded?: boolean;
}

export interface HealthPolicy {
  required: readonly string[];
  staleAfterMs: number;
}

export interface AgentVerdict {
  agent: string;
  required: boolean;
  up: boolean;
  stale: boolean;
  /** The observation the verdict rests on (undefined: never seen). */
  latest?: Observation;
  reasons: string[];
}

export interface HealthVerdict {
  state: HealthState;
  reasons: string[];
  agents: AgentVerdict[];
}

/** Observations of one node, per agent and instance; instances that are long gone are pruned. */
export class ObservationTable {
  private readonly byAgent = new Map<string, Map<string, Observation>>();

  record(status: AgentStatus, receivedAt: number, seeded = false): void {
    let instances = this.byAgent.get(status.agent);
    if (!instances) this.byAgent.set(status.agent, (instances = new Map()));
    const previous = instances.get(status.instanceId);
    // A late, reordered publication of the same instance must not roll its state back.
    if (previous && !previous.seeded && previous.status.sequence > status.sequence) return;
    instances.set(status.instanceId, { status, receivedAt, seeded });
    // An instance that started after another one last spoke replaces it (kill -9 says no STOPPING).
    const started = millis(status.startedAt);
    for (const [id, other] of instances) {
      if (
        id !== status.instanceId &&
        started !== undefined &&
        started > (millis(other.status.updatedAt) ?? Infinity)
      ) {
        instances.delete(id);
      }
    }
  }

  /** Drops instances that stopped, or went silent for `forgetAfterMs`, once a newer one exists. */
  prune(now: number, forgetAfterMs: number): void {
    for (const instances of this.byAgent.values()) {
      const newest = Math.max(...[...instances.values()].map((o) => o.receivedAt));
      for (const [id, o] of instances) {
        const superseded = o.receivedAt < newest;
        if (superseded && (o.status.state === AgentState.STOPPING || now - o.receivedAt > forgetAfterMs)) {
          instances.delete(id);
        }
      }
    }
  }

  agents(): string[] {
    return [...this.byAgent.keys()];
  }

  instances(agent: string): Observation[] {
    return [...(this.byAgent.get(agent)?.values() ?? [])];
  }

  /** The most recent status of every agent. */
  latest(): AgentStatus[] {
    return this.agents()
      .map((a) => newestOf(this.instances(a)))
      .filter((o): o is Observation => o !== undefined)
      .map((o) => o.status);
  }
}

function millis(ts: Timestamp | undefined): number | undefined {
  return ts ? timestampMs(ts) : undefined;
}

/** An agent is lost after the policy's timeout, or after two of its own status intervals if longer. */
export function staleAfter(o: Observation, policy: HealthPolicy): number {
  return Math.max(policy.staleAfterMs, 2 * o.status.statusIntervalMs);
}

function newestOf(observations: Observation[]): Observation | undefined {
  return observations.reduce<Observation | undefined>(
    (a, b) => (!a || b.receivedAt > a.receivedAt ? b : a),
    undefined,
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function judgeAgent(
  agent: string,
  observations: Observation[],
  policy: HealthPolicy,
  now: number,
): AgentVerdict {
  const required = policy.required.includes(agent);
  const fresh = (o: Observation) => !o.seeded && now - o.receivedAt <= staleAfter(o, policy);
  const serving = observations.find((o) => fresh(o) && o.status.state === AgentState.READY);
  const latest = serving ?? newestOf(observations);
  if (!latest) return { agent, required, up: false, stale: false, reasons: [`${agent}: never reported`] };
  if (serving) return { agent, required, up: true, stale: false, latest, reasons: [] };
  const stale = !fresh(latest);
  const state = AgentState[latest.status.state] ?? 'UNSPECIFIED';
  const why = latest.status.reasons.length ? ` (${latest.status.reasons.join('; ')})` : '';
  const reasons = latest.seeded
    ? [`${agent}: not heard from since the node agent started (last said ${state})`]
    : stale
      ? [
          `${agent}: no status for ${seconds(now - latest.receivedAt)} (stale after ${seconds(staleAfter(latest, policy))})`,
        ]
      : [`${agent}: ${state}${why}`];
  return { agent, required, up: false, stale, latest, reasons };
}

export function evaluateHealth(table: ObservationTable, policy: HealthPolicy, now: number): HealthVerdict {
  const names = [...new Set([...policy.required, ...table.agents()])].sort();
  const agents = names.map((agent) => judgeAgent(agent, table.instances(agent), policy, now));
  const failing = agents.filter((a) => a.required && !a.up);
  return {
    state: failing.length === 0 ? HealthState.HEALTHY : HealthState.UNHEALTHY,
    reasons: failing.flatMap((a) => a.reasons),
    agents,
  };
}

/** Whether two verdicts differ in anything an operator would want an event for. */
export function verdictChanged(a: HealthVerdict | undefined, b: HealthVerdict): boolean {
  return !a || verdictKey(a) !== verdictKey(b);
}

/** What of a verdict matters for change detection (ages in reasons do not). */
export function verdictKey(v: HealthVerdict): string {
  return JSON.stringify([
    v.state,
    v.reasons.map((r) => r.replace(/no status for [\d.]+s/, 'no status')),
    v.agents.map((x) => [x.agent, x.up, x.stale, x.latest?.status.state, x.latest?.status.instanceId]),
  ]);
}
