/**
 * Update manifests: validation, the canonical form that is signed, ed25519 signing and verification.
 *
 * Canonical form (what the signature covers): the proto3 JSON of the UpdateManifest with `signature`
 * cleared — fields at their default value omitted, lowerCamelCase names, `size` (uint64) as a decimal
 * string, enums by name — with the keys of every object (the manifest and each boot file) sorted by
 * UTF-16 code unit order, arrays in their order, no whitespace, encoded as UTF-8. E.g.
 *   {"imageUrl":"https://h/os-1.2.0.img.gz","sha256":"ab…","size":"268435456","version":"1.2.0"}
 * A manifest without boot files has the same canonical form as before they existed (the empty list is
 * omitted), so manifests signed then still verify.
 * The signature is the base64 (RFC 4648, with padding) of the 64-byte ed25519 signature of those bytes.
 * `size` and `sha256` describe the decompressed image, as written to the slot.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { clone, toJson } from '@bufbuild/protobuf';
import { BootFileKind, UpdateManifestSchema, type BootFile, type UpdateManifest } from '@outpost/contracts';

export type ImageFormat = 'raw' | 'gz' | 'xz';

const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function canonicalManifest(manifest: UpdateManifest): string {
  const unsigned = clone(UpdateManifestSchema, manifest);
  unsigned.signature = '';
  return JSON.stringify(sortKeys(toJson(UpdateManifestSchema, unsigned)));
}

/** Every object's keys in UTF-16 code unit order, at every depth; arrays keep their order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, sortKeys(record[k])]),
  );
}

/** What a boot file is called on the ESP, under its slot's directory (`/outpost/<slot>/<name>`). */
export const BOOT_FILE_NAMES: Readonly<Partial<Record<BootFileKind, string>>> = {
  [BootFileKind.KERNEL]: 'vmlinuz',
  [BootFileKind.INITRD]: 'initrd.img',
};

/** A boot file's URL: absolute, or relative to the image URL (a URL reference resolved against it). */
export function bootFileUrl(file: Pick<BootFile, 'url'>, imageUrl: string): string {
  return new URL(file.url, imageUrl).href;
}

/** The format of the image, from the URL path's extension (query and fragment ignored). */
export function imageFormat(imageUrl: string): ImageFormat {
  const path = new URL(imageUrl).pathname.toLowerCase();
  if (path.endsWith('.gz')) return 'gz';
  if (path.endsWith('.xz')) return 'xz';
  return 'raw';
}

/** Every problem of a manifest's fields, each naming the field and value; empty when it is well-formed. */
export function manifestProblems(manifest: UpdateManifest): string[] {
  const problems: string[] = [];
  if (!VERSION.test(manifest.version))
    problems.push(`version ${JSON.stringify(manifest.version)}: must be 1-64 of A-Za-z0-9._+-`);
  let url: URL | undefined;
  try {
    url = new URL(manifest.imageUrl);
  } catch {
    problems.push(`imageUrl ${JSON.stringify(manifest.imageUrl)}: not a URL`);
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:')
    problems.push(`imageUrl ${JSON.stringify(manifest.imageUrl)}: must be http or https`);
  if (url && (url.username || url.password))
    problems.push('imageUrl: must not carry credentials (they would be signed and logged)');
  if (manifest.size <= 0n || manifest.size > BigInt(Number.MAX_SAFE_INTEGER))
    problems.push(`size ${manifest.size}: must be between 1 and ${Number.MAX_SAFE_INTEGER} bytes`);
  if (!SHA256.test(manifest.sha256))
    problems.push(`sha256 ${JSON.stringify(manifest.sha256)}: must be 64 lowercase hex digits`);
  problems.push(...bootFileProblems(manifest, url));
  return problems;
}

/** Kernel (exactly one) and initrd (at most one), each with a fetchable URL, a size and a sha256. */
function bootFileProblems(manifest: UpdateManifest, imageUrl: URL | undefined): string[] {
  const files = manifest.bootFiles;
  if (files.length === 0) return [];
  const problems: string[] = [];
  const seen = new Map<BootFileKind, number>();
  files.forEach((file, i) => {
    const at = `bootFiles[${i}]`;
    if (!BOOT_FILE_NAMES[file.kind])
      problems.push(`${at}.kind ${BootFileKind[file.kind] ?? file.kind}: must be KERNEL or INITRD`);
    seen.set(file.kind, (seen.get(file.kind) ?? 0) + 1);
    let url: URL | undefined;
    try {
      url = imageUrl ? new URL(file.url, imageUrl) : new URL(file.url);
    } catch {
      problems.push(`${at}.url ${JSON.stringify(file.url)}: not a URL or a path relative to imageUrl`);
    }
    if (!file.url) problems.push(`${at}.url: required`);
    else if (url && url.protocol !== 'http:' && url.protocol !== 'https:')
      problems.push(`${at}.url ${JSON.stringify(file.url)}: must be http or https`);
    else if (url && (url.username || url.password))
      problems.push(`${at}.url: must not carry credentials (they would be signed and logged)`);
    if (file.size <= 0n || file.size > BigInt(Number.MAX_SAFE_INTEGER))
      problems.push(`${at}.size ${file.size}: must be between 1 and ${Number.MAX_SAFE_INTEGER} bytes`);
    if (!SHA256.test(file.sha256))
      problems.push(`${at}.sha256 ${JSON.stringify(file.sha256)}: must be 64 lowercase hex digits`);
  });
  if (seen.get(BootFileKind.KERNEL) !== 1) problems.push('bootFiles: exactly one KERNEL is required');
  if ((seen.get(BootFileKind.INITRD) ?? 0) > 1) problems.push('bootFiles: at most one INITRD');
  return problems;
}

/** A public key the node trusts, with a short id for logs (first 16 hex of SHA-256 of the raw key). */
export interface TrustedKey {
  id: string;
  key: KeyObject;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A trusted key from its text: a PEM (SPKI) block, or base64 of the 32 raw bytes. Throws naming `source`. */
export function parseTrustedKey(text: string, source: string): TrustedKey {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPublicKey(trimmed);
    } else {
      const raw = BASE64.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
      if (raw.length !== 32) throw new Error('not base64 of 32 bytes');
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    }
  } catch (err) {
    throw new Error(`${source}: not an ed25519 public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`${source}: a ${key.asymmetricKeyType} key, only ed25519 is accepted`);
  return { id: keyId(key), key };
}

export function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
}

export function keyId(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 16);
}

export type Verdict =
  | { ok: true; keyId: string }
  | { ok: false; why: 'unsigned' | 'malformed-signature' | 'untrusted' | 'no-trusted-keys'; message: string };

/** Checks the signature against every trusted key; the first that verifies wins. */
export function verifyManifest(manifest: UpdateManifest, trusted: readonly TrustedKey[]): Verdict {
  if (!manifest.signature) return { ok: false, why: 'unsigned', message: 'the manifest is not signed' };
  const signature = BASE64.test(manifest.signature)
    ? Buffer.from(manifest.signature, 'base64')
    : Buffer.alloc(0);
  if (signature.length !== 64)
    return {
      ok: false,
      why: 'malformed-signature',
      message: 'signature: must be base64 of a 64-byte ed25519 signature',
    };
  if (trusted.length === 0)
    return { ok: false, why: 'no-trusted-keys', message: 'no trusted keys are configured on this node' };
  const data = Buffer.from(canonicalManifest(manifest), 'utf8');
  for (const t of trusted) if (verify(null, data, t.key, signature)) return { ok: true, keyId: t.id };
  return {
    ok: false,
    why: 'untrusted',
    message: `the signature does not verify with any of the ${trusted.length} trusted key(s): bad signature or unknown key`,
  };
}

/** Signs a manifest (for operators' tooling and tests): returns a copy carrying the signature. */
export function signManifest(manifest: UpdateManifest, privateKey: KeyObject | string): UpdateManifest {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const signed = clone(UpdateManifestSchema, manifest);
  signed.signature = sign(null, Buffer.from(canonicalManifest(manifest), 'utf8'), key).toString('base64');
  return signed;
}
