/** Rollout lease choice: renewal first, then the first free or expired slot; full groups wait. */
import { describe, expect, it } from '@jest/globals';
import { chooseLeaseSlot, earliestExpiry, parseLease, type LeaseSlot } from './lease.js';

const held = (slot: number, holder: string, expiresAt: number, revision = 10 + slot): LeaseSlot => ({
  slot,
  revision,
  lease: { holder, version: '1', expiresAt },
});

describe('chooseLeaseSlot', () => {
  it.each<[string, LeaseSlot[], ReturnType<typeof chooseLeaseSlot>]>([
    ['all absent: create slot 0', [{ slot: 0 }, { slot: 1 }], { slot: 0, revision: undefined }],
    ['slot 0 held: create slot 1', [held(0, 'b', 2000), { slot: 1 }], { slot: 1, revision: undefined }],
    ['all held by others: none', [held(0, 'b', 2000), held(1, 'c', 2000)], undefined],
    [
      'an expired lease is taken at its revision',
      [held(0, 'b', 2000), held(1, 'c', 1000)],
      { slot: 1, revision: 11 },
    ],
    ['expiry is inclusive', [held(0, 'b', 1000)], { slot: 0, revision: 10 }],
    [
      'my own lease is renewed before a free slot',
      [{ slot: 0 }, held(1, 'me', 5000)],
      { slot: 1, revision: 11 },
    ],
    ['an unreadable value is free (at its revision)', [{ slot: 0, revision: 7 }], { slot: 0, revision: 7 }],
    ['no slots (max 0): none', [], undefined],
  ])('%s', (_n, slots, expected) => {
    expect(chooseLeaseSlot(slots, 'me', 1000)).toEqual(expected);
  });
});

describe('earliestExpiry', () => {
  it.each<[LeaseSlot[], number | undefined]>([
    [[held(0, 'b', 3000), held(1, 'c', 2000)], 2000],
    [[held(0, 'b', 500)], undefined],
    [[{ slot: 0 }], undefined],
  ])('%#', (slots, expected) => {
    expect(earliestExpiry(slots, 1000)).toBe(expected);
  });
});

describe('parseLease', () => {
  it.each([
    ['{"holder":"a","version":"1","expiresAt":5}', { holder: 'a', version: '1', expiresAt: 5 }],
    ['{"holder":"a","version":"1","expiresAt":"5"}', undefined],
    ['not json', undefined],
    ['null', undefined],
  ])('%s', (text, expected) => {
    expect(parseLease(text)).toEqual(expected);
  });
});
