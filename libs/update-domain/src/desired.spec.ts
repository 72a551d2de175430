/** Strict validation of the desired update: every refusal names its field; a good one is typed. */
import { describe, expect, it } from '@jest/globals';
import { decodeJsonText, DesiredUpdateSchema } from '@outpost/contracts';
import { validateDesired } from './desired.js';

const good = {
  manifest: {
    version: '1.2.0',
    imageUrl: 'http://updates.example/os.img',
    size: '10',
    sha256: 'a'.repeat(64),
    signature: 'c2ln',
  },
  windows: [{ timeZone: 'Europe/Berlin', weekly: { days: ['thu'], startTime: '23:00', lengthMinutes: 120 } }],
  healthPolicy: {
    deadlineSeconds: 300,
    checks: [{ name: 'app', command: ['/usr/bin/true'], required: true, timeoutSeconds: 10, offNode: false }],
  },
  retry: 2,
  rolloutGroup: 'canary',
};
type Over = Record<string, unknown>;
const check = (over: Over) =>
  validateDesired(decodeJsonText(DesiredUpdateSchema, JSON.stringify({ ...good, ...over })));

describe('validateDesired', () => {
  it('accepts a complete desired update', () => {
    const d = check({});
    expect(typeof d).toBe('object');
    expect(d).toMatchObject({
      retry: 2,
      deadlineMs: 300_000,
      rolloutGroup: 'canary',
      checks: [{ name: 'app' }],
    });
  });
  it.each<[string, Over, RegExp]>([
    ['no manifest', { manifest: undefined }, /manifest is missing/],
    ['bad version', { manifest: { ...good.manifest, version: 'a b' } }, /manifest\.version/],
    ['ftp url', { manifest: { ...good.manifest, imageUrl: 'ftp://x/y' } }, /imageUrl/],
    ['unsigned', { manifest: { ...good.manifest, signature: '' } }, /signature/],
    ['no windows', { windows: [] }, /windows is empty/],
    [
      'a bad window',
      { windows: [{ timeZone: 'Nowhere/City', cron: { cron: '0 1 * * *', durationMinutes: 5 } }] },
      /windows\[0\]\.timeZone/,
    ],
    ['no health policy', { healthPolicy: undefined }, /healthPolicy is missing/],
    ['deadline too short', { healthPolicy: { deadlineSeconds: 1 } }, /deadlineSeconds 1/],
    [
      'relative check command',
      {
        healthPolicy: { deadlineSeconds: 60, checks: [{ name: 'x', command: ['true'], timeoutSeconds: 5 }] },
      },
      /absolute path/,
    ],
    [
      'check without timeout',
      { healthPolicy: { deadlineSeconds: 60, checks: [{ name: 'x', command: ['/bin/true'] }] } },
      /timeoutSeconds 0/,
    ],
    [
      'duplicate check',
      {
        healthPolicy: {
          deadlineSeconds: 60,
          checks: [
            { name: 'x', command: ['/bin/true'], timeoutSeconds: 5 },
            { name: 'x', command: ['/bin/true'], timeoutSeconds: 5 },
          ],
        },
      },
      /used twice/,
    ],
    ['bad rollout group', { rolloutGroup: 'Has Space' }, /rolloutGroup/],
    ['a dotted rollout group (one KV key token)', { rolloutGroup: 'eu.west' }, /rolloutGroup/],
    ['maxParallel without a group', { rolloutGroup: '', maxParallel: 2 }, /needs a rolloutGroup/],
    ['maxParallel too large', { maxParallel: 5000 }, /above 1000/],
  ])('refuses %s', (_n, over, message) => {
    expect(check(over)).toMatch(message);
  });
  it.each([
    ['an unknown field', { ...good, surprise: 1 }],
    ['retry as text', { ...good, retry: 'two' }],
  ])('the codec refuses %s before validation', (_n, body) => {
    expect(() => decodeJsonText(DesiredUpdateSchema, JSON.stringify(body))).toThrow();
  });
});
