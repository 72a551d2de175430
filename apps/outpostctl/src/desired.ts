/**
 * The desired update of nodes (KV edge_desired <node>.update, DesiredUpdate JSON) as outpostctl reads
 * and writes it: a target is a node or a rollout group (the nodes whose desired update names it), a
 * new value is merged over the current one, checked by the contract (strict proto3 JSON decode) and by
 * the orchestrator's own rules (validateDesired of @outpost/update-domain) before anything is written, and written at the
 * revision read, so a concurrent change is never overwritten silently.
 */
import { clone, create } from '@bufbuild/protobuf';
import {
  DesiredUpdateSchema,
  KV_DESIRED,
  decode,
  encodeJsonText,
  kvKeys,
  type DesiredUpdate,
} from '@outpost/contracts';
import { validateDesired, type Desired } from '@outpost/update-domain';
import { CtlError, EXIT, notFound } from './exit-codes.js';
import type { Fleet } from './fleet.js';

export interface DesiredEntry {
  nodeId: string;
  /** undefined: no desired update yet. */
  value?: DesiredUpdate;
  revision?: number;
  /** Why the stored value is not a DesiredUpdate (the orchestrator refuses it too). */
  malformed?: string;
}

export async function readDesired(fleet: Fleet, nodeId: string): Promise<DesiredEntry> {
  const key = kvKeys.desiredUpdate(nodeId);
  const entry = await fleet.entry(KV_DESIRED, key);
  if (!entry) return { nodeId };
  try {
    return { nodeId, value: decode(DesiredUpdateSchema, entry.value), revision: entry.revision };
  } catch (err) {
    // A value the orchestrator refuses too: treated as absent, replaced by the next write.
    return { nodeId, revision: entry.revision, malformed: (err as Error).message };
  }
}

/** Every node of a rollout group: the nodes whose desired update names the group. */
export async function groupMembers(fleet: Fleet, group: string): Promise<DesiredEntry[]> {
  const keys = await fleet.keys(KV_DESIRED, '*.update');
  const out: DesiredEntry[] = [];
  for (const key of keys) {
    const entry = await readDesired(fleet, key.split('.')[0]);
    if (entry.value?.rolloutGroup === group) out.push(entry);
  }
  return out;
}

/**
 * The nodes a command applies to: the node of that id, or (when no node has it, or with --group)
 * every member of the rollout group of that name.
 */
export async function resolveTargets(
  fleet: Fleet,
  target: string,
  forceGroup: boolean,
): Promise<DesiredEntry[]> {
  if (!forceGroup && (await fleet.nodeIds()).includes(target)) return [await readDesired(fleet, target)];
  const members = await groupMembers(fleet, target);
  if (members.length > 0) return members;
  throw notFound(
    forceGroup
      ? `no node's desired update names the rollout group ${target}`
      : `no such node or rollout group: ${target}`,
    '`outpostctl nodes` lists the nodes; a group is the rolloutGroup of their desired updates',
  );
}

/** The JSON field names a value sets (json or proto names), mapped to the message's local names. */
function fieldsSet(json: Record<string, unknown>): string[] {
  return DesiredUpdateSchema.fields
    .filter((f) => f.jsonName in json || f.name in json)
    .map((f) => f.localName);
}

/** `over` (strictly decoded from `json`) applied field by field on `base`. */
export function mergeDesired(
  base: DesiredUpdate | undefined,
  over: DesiredUpdate,
  json: Record<string, unknown>,
): DesiredUpdate {
  const next = base ? clone(DesiredUpdateSchema, base) : create(DesiredUpdateSchema);
  const target = next as unknown as Record<string, unknown>;
  const source = over as unknown as Record<string, unknown>;
  for (const field of fieldsSet(json)) target[field] = source[field];
  return next;
}

/** The orchestrator's verdict on a value; a refusal is exit code 6 naming the node and the field. */
export function checkDesired(nodeId: string, value: DesiredUpdate): Desired {
  const verdict = validateDesired(value);
  if (typeof verdict === 'string') {
    throw new CtlError(
      EXIT.INVALID,
      `refused for ${nodeId}: ${verdict}`,
      'nothing was written; fix the file (proto/outpost/orchestrator/v1/orchestrator.proto, docs/updates.md)',
    );
  }
  return verdict;
}

/** Writes at the revision read (create if there was none); a concurrent writer makes this fail. */
export async function writeDesired(fleet: Fleet, entry: DesiredEntry, value: DesiredUpdate): Promise<number> {
  const kv = await fleet.kv(KV_DESIRED);
  const key = kvKeys.desiredUpdate(entry.nodeId);
  const text = encodeJsonText(DesiredUpdateSchema, value);
  try {
    return entry.revision === undefined
      ? await kv.create(key, text)
      : await kv.update(key, text, entry.revision);
  } catch (err) {
    if (/wrong last sequence|key exists/i.test(String((err as Error).message))) {
      throw new CtlError(
        EXIT.ERROR,
        `the desired update of ${entry.nodeId} changed while outpostctl was writing it`,
        'run the command again: it reads the new value first',
      );
    }
    throw err;
  }
}
