/**
 * The fixtures of the decide table: one record per state (an update of 2.0.0 from slot a to slot b,
 * with what that state has recorded), and the observations by name, with their facts.
 */
import { create } from '@bufbuild/protobuf';
import { ErrorCode, UpdateManifestSchema } from '@outpost/contracts';
import type { UpdateEffect, UpdateObservation } from './update-decide.js';
import type { UpdateRecord } from './update-record.js';
import { STATES, type StateName } from './update-state.js';

export const NOW = new Date('2026-12-06T12:00:00Z');
export const EARLIER = Date.parse('2026-12-06T11:00:00Z');
export const POLICY = { maxStarts: 3, maxRollbackReboots: 2 };

const MANIFEST = create(UpdateManifestSchema, {
  version: '2.0.0',
  imageUrl: 'http://x/2.img',
  size: 1000n,
  sha256: 'a'.repeat(64),
  signature: 'sig',
});
const OTHER = create(UpdateManifestSchema, { ...MANIFEST, version: '3.0.0' });

const SLOTS = { active: 'a', inactive: 'b', inactiveSize: 4096 };

/** The rows of the table: every state, and ROLLED_BACK both before and after its reboot. */
export const ROWS = [...STATES, 'ROLLED_BACK, settled'] as const;
export type Row = (typeof ROWS)[number];

/** The record of each row, as the update that reached it left it. */
export function recordIn(row: Row): UpdateRecord {
  if (row === 'ROLLED_BACK, settled')
    return {
      ...recordIn('ROLLED_BACK'),
      rebootPending: false,
      rollbackReboots: 1,
      rollbackRebootAt: EARLIER,
    };
  const state: StateName = row;
  const base: UpdateRecord = {
    state,
    detail: '',
    since: new Date(EARLIER).toISOString(),
    starts: 0,
    manifest: MANIFEST,
    sourceSlot: 'a',
    targetSlot: 'b',
    entryId: 'outpost-b.conf',
  };
  switch (state) {
    case 'IDLE':
      return { state, detail: '', since: base.since, starts: 0 };
    case 'INSTALLING':
      return { ...base, step: 'write', installStarted: true };
    case 'INSTALLED':
    case 'VERIFYING':
    case 'COMMITTED':
      return { ...base, installStarted: true };
    case 'REBOOTING':
      return { ...base, installStarted: true, rebootRequestedAt: EARLIER };
    case 'ROLLED_BACK':
      return { ...base, installStarted: true, reason: 'health', rebootPending: true, rollbackReboots: 0 };
    case 'FAILED':
      return { ...base, reason: 'download' };
    default:
      return base;
  }
}

/** Observations by the name the table uses. */
export const OBSERVATIONS: Record<string, UpdateObservation> = {
  'started on b, rebooted': {
    kind: 'started',
    activeSlot: 'b',
    bootedAt: EARLIER + 1,
    targetEntryFile: 'outpost-b+2-1.conf',
  },
  'started on a, rebooted': { kind: 'started', activeSlot: 'a', bootedAt: EARLIER + 1 },
  'started on a, same boot': { kind: 'started', activeSlot: 'a', bootedAt: EARLIER - 1 },
  'cmd.download': {
    kind: 'cmd.download',
    manifest: OTHER,
    problems: [],
    verdict: { ok: true, keyId: 'k1' },
    slots: SLOTS,
    espShortfall: '',
  },
  'cmd.download same': {
    kind: 'cmd.download',
    manifest: MANIFEST,
    problems: [],
    verdict: { ok: true, keyId: 'k1' },
    slots: SLOTS,
    espShortfall: '',
  },
  'cmd.download malformed': {
    kind: 'cmd.download',
    manifest: OTHER,
    problems: ['sha256: not hex'],
    verdict: { ok: true, keyId: 'k1' },
    slots: SLOTS,
    espShortfall: '',
  },
  'cmd.download unsigned': {
    kind: 'cmd.download',
    manifest: OTHER,
    problems: [],
    verdict: { ok: false, message: 'no signature' },
    slots: SLOTS,
    espShortfall: '',
  },
  'cmd.download too big': {
    kind: 'cmd.download',
    manifest: OTHER,
    problems: [],
    verdict: { ok: true, keyId: 'k1' },
    slots: { ...SLOTS, inactiveSize: 10 },
    espShortfall: '',
  },
  'cmd.download esp full': {
    kind: 'cmd.download',
    manifest: OTHER,
    problems: [],
    verdict: { ok: true, keyId: 'k1' },
    slots: SLOTS,
    espShortfall: 'the ESP is full',
  },
  'cmd.download, no slots': {
    kind: 'cmd.download',
    manifest: OTHER,
    problems: [],
    verdict: { ok: true, keyId: 'k1' },
    slots: { unreadable: 'this boot names no A/B slot' },
    espShortfall: '',
  },
  'staged-discarded': { kind: 'staged-discarded', manifest: OTHER, keyId: 'k1', slots: SLOTS },
  'download-done': { kind: 'download-done' },
  'cmd.install': { kind: 'cmd.install', slots: SLOTS },
  'cmd.install, no slots': { kind: 'cmd.install', slots: { unreadable: 'this boot names no A/B slot' } },
  'install-step': { kind: 'install-step', step: 'verify' },
  'install-done': { kind: 'install-done', entryId: 'outpost-b.conf' },
  'work-failed': { kind: 'work-failed', reason: 'checksum', message: 'hash differs' },
  'cmd.abort': { kind: 'cmd.abort' },
  'cmd.reboot': { kind: 'cmd.reboot', entryExists: true },
  'cmd.reboot entry gone': { kind: 'cmd.reboot', entryExists: false },
  'one-shot-set': { kind: 'one-shot-set' },
  'reboot-failed': { kind: 'reboot-failed', message: 'busy' },
  'cmd.commit on b': { kind: 'cmd.commit', activeSlot: 'b' },
  'cmd.commit on a': { kind: 'cmd.commit', activeSlot: 'a' },
  'cmd.rollback': { kind: 'cmd.rollback', reason: 'health', detail: 'check failed' },
  'rollback-pending on b': {
    kind: 'rollback-pending',
    origin: 'command',
    activeSlot: 'b',
    bootedAt: EARLIER - 1,
  },
  'rollback-pending on a': {
    kind: 'rollback-pending',
    origin: 'command',
    activeSlot: 'a',
    bootedAt: EARLIER - 1,
  },
  'rollback-settled': { kind: 'rollback-settled' },
};

/** One line per decision: the next record (`=` unchanged, `~field` changed inside the state) and the effects. */
export function summary(before: UpdateRecord, next: UpdateRecord, effects: UpdateEffect[]): string {
  let head: string;
  if (next === before) head = '=';
  else if (next.state !== before.state || next.since !== before.since)
    head = `${next.state}${next.reason ? `(${next.reason})` : ''}`;
  else
    head = Object.keys({ ...before, ...next })
      .filter((k) => before[k as keyof UpdateRecord] !== next[k as keyof UpdateRecord])
      .map((k) => `~${k}`)
      .join(' ');
  return [head, ...effects.map(effectName)].join(' ');
}

function effectName(e: UpdateEffect): string {
  switch (e.kind) {
    case 'refuse':
      return `refuse:${ErrorCode[e.code]}`;
    case 'crash-point':
      return `crash:${e.step}`;
    case 'discard-staged':
      return `discard-staged>${e.then.kind}`;
    case 'mark-target-bad':
      return e.then ? `mark-target-bad>${e.then.kind}` : 'mark-target-bad';
    default:
      return e.kind;
  }
}
