/**
 * Why an update failed, in the two spellings it has: the proto enum on the wire (`FailureReason`)
 * and the kebab-case name in logs and state files (`boot-fallback`). This table is the only mapping
 * between them; every enum value but UNSPECIFIED has exactly one name.
 */
import { FailureReason } from './gen/outpost/update/v1/update_pb.js';

export const FAILURE_REASONS = {
  download: FailureReason.DOWNLOAD,
  'insufficient-storage': FailureReason.INSUFFICIENT_STORAGE,
  signature: FailureReason.SIGNATURE,
  checksum: FailureReason.CHECKSUM,
  write: FailureReason.WRITE,
  'boot-config': FailureReason.BOOT_CONFIG,
  health: FailureReason.HEALTH,
  timeout: FailureReason.TIMEOUT,
  'restart-loop': FailureReason.RESTART_LOOP,
  aborted: FailureReason.ABORTED,
  'boot-fallback': FailureReason.BOOT_FALLBACK,
  'rollback-requested': FailureReason.ROLLBACK_REQUESTED,
  'unsupported-format': FailureReason.UNSUPPORTED_FORMAT,
} as const satisfies Record<string, FailureReason>;

export type FailureReasonName = keyof typeof FAILURE_REASONS;

/** Every name, in the order of the enum. */
export const FAILURE_REASON_NAMES = Object.keys(FAILURE_REASONS) as FailureReasonName[];

const BY_VALUE = new Map<FailureReason, FailureReasonName>(
  FAILURE_REASON_NAMES.map((name) => [FAILURE_REASONS[name], name]),
);

/** The enum value of a name; UNSPECIFIED for none. */
export function failureReasonToProto(name: FailureReasonName | undefined): FailureReason {
  return name ? FAILURE_REASONS[name] : FailureReason.UNSPECIFIED;
}

/** The name of an enum value; undefined for UNSPECIFIED or a value this build does not know. */
export function failureReasonFromProto(reason: FailureReason): FailureReasonName | undefined {
  return BY_VALUE.get(reason);
}

export function isFailureReasonName(value: unknown): value is FailureReasonName {
  return typeof value === 'string' && Object.hasOwn(FAILURE_REASONS, value);
}
