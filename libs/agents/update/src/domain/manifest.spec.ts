/** Canonical form, signature verification and manifest validation, table-driven. */
import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { UpdateManifestSchema, type UpdateManifest } from '@outpost/contracts';

type ManifestFields = Partial<
  Pick<UpdateManifest, 'version' | 'imageUrl' | 'size' | 'sha256' | 'signature' | 'releaseNotes'>
>;
import {
  canonicalManifest,
  imageFormat,
  keyId,
  manifestProblems,
  parseTrustedKey,
  rawPublicKey,
  signManifest,
  verifyManifest,
} from './manifest.js';

const SHA = 'ab'.repeat(32);
const base = (over: ManifestFields = {}) =>
  create(UpdateManifestSchema, {
    version: '1.2.0',
    imageUrl: 'https://updates.example/os-1.2.0.img.gz',
    size: 268435456n,
    sha256: SHA,
    ...over,
  });

const signer = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const trusted = parseTrustedKey(rawPublicKey(signer.publicKey).toString('base64'), 'test');
const stranger = parseTrustedKey(other.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 'pem');

describe('canonical form', () => {
  it('is the proto3 JSON without the signature, keys sorted, no whitespace, size as a string', () => {
    expect(canonicalManifest(base({ signature: 'c2ln', releaseNotes: 'fixes' }))).toBe(
      `{"imageUrl":"https://updates.example/os-1.2.0.img.gz","releaseNotes":"fixes","sha256":"${SHA}","size":"268435456","version":"1.2.0"}`,
    );
  });

  it('omits empty release notes (a default value), so absent and empty sign the same', () => {
    expect(canonicalManifest(base())).not.toContain('releaseNotes');
    expect(canonicalManifest(base({ releaseNotes: '' }))).toBe(canonicalManifest(base()));
  });

  it('does not depend on the signature', () => {
    expect(canonicalManifest(base({ signature: 'x' }))).toBe(canonicalManifest(base({ signature: 'y' })));
  });
});

describe('signature verification', () => {
  const signed = signManifest(base(), signer.privateKey);
  const cases: [string, UpdateManifest, readonly (typeof trusted)[], string | true][] = [
    ['signed by a trusted key', signed, [trusted], true],
    ['signed by the second of two trusted keys', signed, [stranger, trusted], true],
    [
      'signed with a PEM private key string',
      signManifest(base(), signer.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
      [trusted],
      true,
    ],
    ['unsigned', base(), [trusted], 'unsigned'],
    ['signature not base64 of 64 bytes', base({ signature: 'abc' }), [trusted], 'malformed-signature'],
    ['signed by an unknown key', signManifest(base(), other.privateKey), [trusted], 'untrusted'],
    ['a field changed after signing (version)', { ...signed, version: '1.2.1' }, [trusted], 'untrusted'],
    ['a field changed after signing (size)', { ...signed, size: 1n }, [trusted], 'untrusted'],
    [
      'a field changed after signing (url)',
      { ...signed, imageUrl: 'https://evil.example/x.img' },
      [trusted],
      'untrusted',
    ],
    ['release notes added after signing', { ...signed, releaseNotes: 'x' }, [trusted], 'untrusted'],
    ['no trusted keys configured', signed, [], 'no-trusted-keys'],
  ];
  it.each(cases)('%s', (_name, manifest, keys, expected) => {
    const verdict = verifyManifest(manifest, keys);
    if (expected === true) expect(verdict).toEqual({ ok: true, keyId: trusted.id });
    else expect(verdict).toMatchObject({ ok: false, why: expected });
  });

  it('gives each key a stable short id', () => {
    expect(trusted.id).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(signer.publicKey)).toBe(trusted.id);
    expect(stranger.id).not.toBe(trusted.id);
  });

  it.each([
    ['garbage', 'not a key'],
    ['31 bytes', Buffer.alloc(31).toString('base64')],
    [
      'an RSA key',
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .publicKey.export({ format: 'pem', type: 'spki' })
        .toString(),
    ],
  ])('refuses a trusted key that is %s, naming its source', (_name, text) => {
    expect(() => parseTrustedKey(text, 'keys/x.pem')).toThrow(/keys\/x\.pem/);
  });
});

describe('manifest validation', () => {
  it('accepts a well-formed manifest', () => {
    expect(manifestProblems(base())).toEqual([]);
  });

  it.each([
    ['version empty', { version: '' }, /^version/],
    ['version with a space', { version: '1 2' }, /^version/],
    ['url not a URL', { imageUrl: 'nope' }, /^imageUrl .*not a URL/],
    ['url ftp', { imageUrl: 'ftp://h/x.img' }, /^imageUrl .*http or https/],
    ['url with credentials', { imageUrl: 'https://u:p@h/x.img' }, /^imageUrl: must not carry credentials/],
    ['size zero', { size: 0n }, /^size 0/],
    ['size beyond 2^53', { size: 2n ** 60n }, /^size/],
    ['sha256 upper case', { sha256: SHA.toUpperCase() }, /^sha256/],
    ['sha256 short', { sha256: 'ab' }, /^sha256/],
  ] as [string, ManifestFields, RegExp][])('names the field when %s', (_name, over, problem) => {
    const problems = manifestProblems(base(over));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it.each([
    ['https://h/os.img', 'raw'],
    ['https://h/os.img.gz', 'gz'],
    ['https://h/OS.IMG.GZ?sig=1', 'gz'],
    ['https://h/os.img.xz', 'xz'],
    ['https://h/os.gz/raw', 'raw'],
  ])('%s is %s', (url, format) => {
    expect(imageFormat(url)).toBe(format);
  });
});
