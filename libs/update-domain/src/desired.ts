/**
 * Validation of the desired update (KV edge_desired <nodeId>.update, decoded strictly by the codec):
 * every field checked, the first problem named. A rejected value never replaces the last good one.
 * The manifest's signature is the update agent's to verify; here only its shape is checked.
 */
import type { DesiredUpdate, UpdateManifest } from '@outpost/contracts';
import type { CheckSpec } from './check-spec.js';
import { parseWindow, type WindowSpec } from './windows.js';

export interface Desired {
  manifest: UpdateManifest;
  windows: WindowSpec[];
  deadlineMs: number;
  checks: CheckSpec[];
  retry: number;
  rolloutGroup: string;
  maxParallel: number;
}

const VERSION = /^[A-Za-z0-9._+-]{1,64}$/;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** A group names a KV key token: no dots. */
const GROUP = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const MAX_WINDOWS = 32;
export const MAX_CHECKS = 16;

export function validateDesired(msg: DesiredUpdate): Desired | string {
  const m = msg.manifest;
  if (!m) return 'manifest is missing';
  if (!VERSION.test(m.version)) return `manifest.version "${m.version}" is not 1-64 of A-Za-z0-9._+-`;
  if (!/^https?:\/\//.test(m.imageUrl)) return `manifest.imageUrl "${m.imageUrl}" is not an http(s) URL`;
  if (!m.signature) return 'manifest.signature is empty (sign the manifest)';
  if (msg.windows.length === 0) return 'windows is empty: the node would never install';
  if (msg.windows.length > MAX_WINDOWS)
    return `windows has ${msg.windows.length} entries (at most ${MAX_WINDOWS})`;
  const windows: WindowSpec[] = [];
  for (const [i, w] of msg.windows.entries()) {
    const parsed = parseWindow(
      {
        timeZone: w.timeZone,
        single: w.single && { start: w.single.start, end: w.single.end },
        cron: w.cron && { cron: w.cron.cron, durationMinutes: w.cron.durationMinutes },
        weekly: w.weekly && {
          days: w.weekly.days,
          startTime: w.weekly.startTime,
          lengthMinutes: w.weekly.lengthMinutes,
        },
      },
      i,
    );
    if (typeof parsed === 'string') return parsed;
    windows.push(parsed);
  }
  const policy = msg.healthPolicy;
  if (!policy) return 'healthPolicy is missing';
  if (policy.deadlineSeconds < 5 || policy.deadlineSeconds > 3600)
    return `healthPolicy.deadlineSeconds ${policy.deadlineSeconds} is not in 5..3600`;
  if (policy.checks.length > MAX_CHECKS) return `healthPolicy.checks has more than ${MAX_CHECKS} entries`;
  const checks: CheckSpec[] = [];
  for (const [i, c] of policy.checks.entries()) {
    const at = `healthPolicy.checks[${i}]`;
    if (!NAME.test(c.name)) return `${at}.name "${c.name}" is not a short lowercase name`;
    if (checks.some((x) => x.name === c.name)) return `${at}.name "${c.name}" is used twice`;
    if (c.command.length === 0 || !c.command[0].startsWith('/'))
      return `${at}.command must start with an absolute path (no shell, no PATH lookup)`;
    if (c.timeoutSeconds < 1 || c.timeoutSeconds > 600)
      return `${at}.timeoutSeconds ${c.timeoutSeconds} is not in 1..600`;
    checks.push({
      name: c.name,
      command: [...c.command],
      required: c.required,
      timeoutSeconds: c.timeoutSeconds,
      offNode: c.offNode,
    });
  }
  if (msg.maxParallel > 0 && !msg.rolloutGroup) return `maxParallel ${msg.maxParallel} needs a rolloutGroup`;
  if (msg.maxParallel > 1000) return `maxParallel ${msg.maxParallel} is above 1000`;
  if (msg.rolloutGroup && !GROUP.test(msg.rolloutGroup))
    return `rolloutGroup "${msg.rolloutGroup}" is not a short lowercase name`;
  return {
    manifest: m,
    windows,
    deadlineMs: policy.deadlineSeconds * 1000,
    checks,
    retry: msg.retry,
    rolloutGroup: msg.rolloutGroup,
    maxParallel: msg.maxParallel,
  };
}
