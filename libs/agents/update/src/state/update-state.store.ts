/**
 * The update record on disk: <stateDir>/update/state.json, a versioned document written with
 * write-fsync-rename, so kill -9 or a power cut leaves the old record or the new, never a torn one.
 * The manifest is stored as its proto3 JSON (the file reads like the wire) and decoded once, on load;
 * every other field is checked, so a record is trusted whole or not at all.
 */
import { join } from 'node:path';
import { fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { VersionedStore, type RecordCodec } from '@outpost/agent-runtime';
import { isFailureReasonName, UpdateManifestSchema } from '@outpost/contracts';
import { RECORD_VERSION, type UpdateRecord } from '../domain/update-record.js';
import { STATES } from '../domain/update-state.js';

type Json = Record<string, unknown>;

const OPTIONAL: Record<string, 'string' | 'number' | 'boolean'> = {
  step: 'string',
  sourceSlot: 'string',
  targetSlot: 'string',
  entryId: 'string',
  installStarted: 'boolean',
  rebootRequestedAt: 'number',
  rebootPending: 'boolean',
  rollbackReboots: 'number',
  rollbackRebootAt: 'number',
};

/** The typed record from its stored JSON (version 1, the format every release so far has written). */
export function decodeUpdateRecord(data: unknown): UpdateRecord {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new Error('not an update record');
  const d = data as Json;
  if (!STATES.includes(d.state as UpdateRecord['state'])) throw new Error(`unknown state ${String(d.state)}`);
  if (d.reason !== undefined && !isFailureReasonName(d.reason))
    throw new Error(`unknown reason ${String(d.reason)}`);
  if (typeof d.detail !== 'string') throw new Error('detail: not a string');
  if (typeof d.since !== 'string' || Number.isNaN(Date.parse(d.since))) throw new Error('since: not a time');
  if (typeof d.starts !== 'number') throw new Error('starts: not a number');
  for (const [key, type] of Object.entries(OPTIONAL))
    if (d[key] !== undefined && typeof d[key] !== type) throw new Error(`${key}: not a ${type}`);
  const manifest =
    d.manifest === undefined ? undefined : fromJson(UpdateManifestSchema, d.manifest as JsonValue);
  return { ...(d as unknown as UpdateRecord), manifest };
}

export function encodeUpdateRecord(record: UpdateRecord): unknown {
  const { manifest, ...rest } = record;
  return manifest ? { ...rest, manifest: toJson(UpdateManifestSchema, manifest) } : rest;
}

export const UPDATE_RECORD_CODEC: RecordCodec<UpdateRecord> = {
  version: RECORD_VERSION,
  decode: decodeUpdateRecord,
  encode: encodeUpdateRecord,
};

export class UpdateStateStore extends VersionedStore<UpdateRecord> {
  constructor(readonly dir: string) {
    super(join(dir, 'state.json'), UPDATE_RECORD_CODEC);
  }
}
