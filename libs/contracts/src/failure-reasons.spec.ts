/** The one table between FailureReason values and their kebab-case names covers the whole enum. */
import { describe, expect, it } from '@jest/globals';
import {
  FAILURE_REASON_NAMES,
  failureReasonFromProto,
  failureReasonToProto,
  isFailureReasonName,
} from './failure-reasons.js';
import { FailureReason } from './gen/outpost/update/v1/update_pb.js';

const VALUES = Object.values(FailureReason).filter((v): v is FailureReason => typeof v === 'number');

describe('failure reasons', () => {
  it('names every enum value but UNSPECIFIED once, in enum order', () => {
    expect(FAILURE_REASON_NAMES.map(failureReasonToProto)).toEqual(
      VALUES.filter((v) => v !== FailureReason.UNSPECIFIED),
    );
  });

  it.each(VALUES.filter((v) => v !== FailureReason.UNSPECIFIED))('round-trips %s', (value) => {
    const name = failureReasonFromProto(value);
    expect(name).toBe(FailureReason[value].toLowerCase().replace(/_/g, '-'));
    expect(failureReasonToProto(name)).toBe(value);
  });

  it('maps no reason to UNSPECIFIED and back, and an unknown value to none', () => {
    expect(failureReasonToProto(undefined)).toBe(FailureReason.UNSPECIFIED);
    expect(failureReasonFromProto(FailureReason.UNSPECIFIED)).toBeUndefined();
    expect(failureReasonFromProto(99 as FailureReason)).toBeUndefined();
  });

  it('recognises only its own names', () => {
    expect(isFailureReasonName('boot-fallback')).toBe(true);
    expect(isFailureReasonName('BOOT_FALLBACK')).toBe(false);
    expect(isFailureReasonName('toString')).toBe(false);
  });
});
