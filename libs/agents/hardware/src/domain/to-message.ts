/** The normalized inventory and its diff as contract messages (byte counts become uint64 here). */
import { create } from '@bufbuild/protobuf';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import {
  ComponentChangeSchema,
  InventorySchema,
  type ComponentChange,
  type Inventory,
} from '@outpost/contracts';
import type { ComponentChangeContent } from './diff.js';
import type { InventoryContent, ProblemContent } from './inventory.js';

export function toInventoryMessage(
  nodeId: string,
  scannedAt: Timestamp,
  hash: string,
  content: InventoryContent,
  problems: ProblemContent[],
): Inventory {
  return create(InventorySchema, {
    nodeId,
    scannedAt,
    hash,
    system: content.system,
    bios: content.bios,
    cpu: content.cpu,
    memory: {
      totalBytes: BigInt(content.memory.totalBytes),
      modules: content.memory.modules.map((m) => ({ ...m, sizeBytes: BigInt(m.sizeBytes) })),
    },
    disks: content.disks.map((d) => ({ ...d, sizeBytes: BigInt(d.sizeBytes) })),
    nics: content.nics,
    gpus: content.gpus,
    usbDevices: content.usbDevices,
    os: content.os,
    problems,
  });
}

export function toChangeMessages(changes: ComponentChangeContent[]): ComponentChange[] {
  return changes.map((c) => create(ComponentChangeSchema, c));
}
