/** Canonical form, signature verification and manifest validation, table-driven. */
import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { BootFileKind, BootFileSchema, UpdateManifestSchema, type UpdateManifest } from '@outpost/contracts';

type ManifestFields = Partial<
  Pick<
    UpdateManifest,
    'version' | 'imageUrl' | 'size' | 'sha256' | 'signature' | 'releaseNotes' | 'bootFiles'
  >
>;
import {
  bootFileUrl,
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

const KSHA = 'cd'.repeat(32);
const ISHA = 'ef'.repeat(32);
const kernel = (over: Partial<{ kind: BootFileKind; url: string; size: bigint; sha256: string }> = {}) =>
  create(BootFileSchema, {
    kind: BootFileKind.KERNEL,
    url: 'vmlinuz-1.2.0',
    size: 8000000n,
    sha256: KSHA,
    ...over,
  });
const initrd = (over: Partial<{ url: string; size: bigint; sha256: string }> = {}) =>
  create(BootFileSchema, {
    kind: BootFileKind.INITRD,
    url: 'https://cdn.example/initrd-1.2.0.img.gz',
    size: 30000000n,
    sha256: ISHA,
    ...over,
  });
const withBoot = (over: ManifestFields = {}) => base({ bootFiles: [kernel(), initrd()], ...over });

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

  it('covers the boot files, with every key sorted (the file objects too) and sizes as strings', () => {
    expect(canonicalManifest(withBoot())).toBe(
      `{"bootFiles":[{"kind":"BOOT_FILE_KIND_KERNEL","sha256":"${KSHA}","size":"8000000","url":"vmlinuz-1.2.0"},` +
        `{"kind":"BOOT_FILE_KIND_INITRD","sha256":"${ISHA}","size":"30000000","url":"https://cdn.example/initrd-1.2.0.img.gz"}],` +
        `"imageUrl":"https://updates.example/os-1.2.0.img.gz","sha256":"${SHA}","size":"268435456","version":"1.2.0"}`,
    );
  });

  it('is unchanged for a manifest without boot files (manifests signed before them still verify)', () => {
    expect(canonicalManifest(base({ bootFiles: [] }))).toBe(
      `{"imageUrl":"https://updates.example/os-1.2.0.img.gz","sha256":"${SHA}","size":"268435456","version":"1.2.0"}`,
    );
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
  const signedBoot = signManifest(withBoot(), signer.privateKey);
  const tamper = (i: number, over: Parameters<typeof kernel>[0]) => ({
    ...signedBoot,
    bootFiles: signedBoot.bootFiles.map((f, j) => (j === i ? { ...f, ...over } : f)),
  });
  cases.push(
    ['a manifest with boot files, signed', signedBoot, [trusted], true],
    ["a boot file's size changed after signing", tamper(0, { size: 8000001n }), [trusted], 'untrusted'],
    ["a boot file's sha256 changed after signing", tamper(1, { sha256: SHA }), [trusted], 'untrusted'],
    [
      "a boot file's url changed after signing",
      tamper(0, { url: 'https://evil.example/k' }),
      [trusted],
      'untrusted',
    ],
    [
      'a boot file dropped after signing',
      { ...signedBoot, bootFiles: [signedBoot.bootFiles[0]] },
      [trusted],
      'untrusted',
    ],
    [
      'boot files added to a manifest signed without',
      { ...signed, bootFiles: [kernel()] },
      [trusted],
      'untrusted',
    ],
  );
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

  it('accepts a kernel with or without an initrd', () => {
    expect(manifestProblems(withBoot())).toEqual([]);
    expect(manifestProblems(base({ bootFiles: [kernel()] }))).toEqual([]);
  });

  it.each([
    ['no kernel', [initrd()], /^bootFiles: exactly one KERNEL/],
    ['two kernels', [kernel(), kernel({ url: 'k2' })], /^bootFiles: exactly one KERNEL/],
    ['two initrds', [kernel(), initrd(), initrd()], /^bootFiles: at most one INITRD/],
    [
      'a kind left unspecified',
      [kernel(), kernel({ kind: BootFileKind.UNSPECIFIED })],
      /^bootFiles\[1\]\.kind/,
    ],
    ['an empty url', [kernel({ url: '' })], /^bootFiles\[0\]\.url: required/],
    ['an ftp url', [kernel({ url: 'ftp://h/k' })], /^bootFiles\[0\]\.url .*http or https/],
    ['a url with credentials', [kernel({ url: 'https://u:p@h/k' })], /^bootFiles\[0\]\.url: must not carry/],
    ['size zero', [kernel({ size: 0n })], /^bootFiles\[0\]\.size 0/],
    ['sha256 short', [kernel({ sha256: 'cd' })], /^bootFiles\[0\]\.sha256/],
  ] as [string, ReturnType<typeof kernel>[], RegExp][])(
    'names the boot file field when %s',
    (_n, files, problem) => {
      const problems = manifestProblems(base({ bootFiles: files }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(problem);
    },
  );

  it.each([
    ['vmlinuz-1.2.0', 'https://updates.example/vmlinuz-1.2.0'],
    ['../k/vmlinuz', 'https://updates.example/k/vmlinuz'],
    ['/boot/vmlinuz', 'https://updates.example/boot/vmlinuz'],
    ['https://cdn.example/vmlinuz', 'https://cdn.example/vmlinuz'],
  ])('resolves the boot file url %s against the image url', (url, want) => {
    expect(bootFileUrl({ url }, 'https://updates.example/os-1.2.0.img.gz')).toBe(want);
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
