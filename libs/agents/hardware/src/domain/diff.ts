/**
 * Inventory diffing and the content hash. Components are keyed so that a diff names what an
 * operator would: disks and NICs by kernel name, USB devices by "<bus>-<address>", GPUs by PCI
 * address, the singletons by their kind. A changed component lists the fields that differ, with
 * before and after as JSON text. The hash is sha256 over a canonical JSON (sorted keys), so the
 * order collectors list things in never matters.
 */
import { createHash } from 'node:crypto';
import { ChangeType, ComponentKind } from '@outpost/contracts';
import type { InventoryContent } from './inventory.js';

export interface FieldChangeContent {
  field: string;
  before: string;
  after: string;
}

export interface ComponentChangeContent {
  kind: ComponentKind;
  key: string;
  change: ChangeType;
  fields: FieldChangeContent[];
}

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function contentHash(content: InventoryContent): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

type Keyed = Record<string, unknown>;

const SINGLETONS = [
  ['system', ComponentKind.SYSTEM],
  ['bios', ComponentKind.BIOS],
  ['cpu', ComponentKind.CPU],
  ['memory', ComponentKind.MEMORY],
  ['os', ComponentKind.OS],
] as const;

const COLLECTIONS = [
  ['disks', ComponentKind.DISK, (d: Keyed) => String(d['name'])],
  ['nics', ComponentKind.NIC, (d: Keyed) => String(d['name'])],
  ['gpus', ComponentKind.GPU, (d: Keyed) => String(d['pciAddress'])],
  ['usbDevices', ComponentKind.USB, (d: Keyed) => `${String(d['bus'])}-${String(d['address'])}`],
] as const;

/** The fields of two versions of one component that differ (every field of either side). */
export function fieldChanges(before: Keyed, after: Keyed): FieldChangeContent[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names
    .map((field) => ({
      field,
      before: before[field] === undefined ? '' : canonicalJson(before[field]),
      after: after[field] === undefined ? '' : canonicalJson(after[field]),
    }))
    .filter((f) => f.before !== f.after);
}

/**
 * What changed from `before` to `after`. Without a `before` (the node's first scan) every
 * component is ADDED. Sorted by kind, then key, so equal inputs give equal diffs.
 */
export function diffInventories(
  before: InventoryContent | undefined,
  after: InventoryContent,
): ComponentChangeContent[] {
  const changes: ComponentChangeContent[] = [];
  for (const [name, kind] of SINGLETONS) {
    const a = after[name] as unknown as Keyed;
    if (!before) {
      changes.push({ kind, key: name, change: ChangeType.ADDED, fields: [] });
      continue;
    }
    const fields = fieldChanges(before[name] as unknown as Keyed, a);
    if (fields.length) changes.push({ kind, key: name, change: ChangeType.CHANGED, fields });
  }
  for (const [name, kind, keyOf] of COLLECTIONS) {
    const old = new Map(
      (before?.[name] ?? []).map((c) => [keyOf(c as unknown as Keyed), c as unknown as Keyed]),
    );
    const now = new Map(after[name].map((c) => [keyOf(c as unknown as Keyed), c as unknown as Keyed]));
    for (const [key, c] of now) {
      const prev = old.get(key);
      if (!prev) changes.push({ kind, key, change: ChangeType.ADDED, fields: [] });
      else {
        const fields = fieldChanges(prev, c);
        if (fields.length) changes.push({ kind, key, change: ChangeType.CHANGED, fields });
      }
    }
    for (const key of old.keys()) {
      if (!now.has(key)) changes.push({ kind, key, change: ChangeType.REMOVED, fields: [] });
    }
  }
  return changes.sort((x, y) => x.kind - y.kind || x.key.localeCompare(y.key));
}
