// Update manifests for the image's payloads, signed with the project's own code (@outpost/agent-update's
// signManifest over its canonical form), so the builder and the node can never disagree on the bytes.
import { create, toJson } from '@bufbuild/protobuf';
import { UpdateManifestSchema } from '@outpost/contracts';
import { signManifest } from '@outpost/agent-update';

/** Whether this tree's manifest contract carries the new slot's boot files (kernel, initrd). */
export const MANIFEST_HAS_BOOT_FILES = UpdateManifestSchema.fields.some((f) => f.localName === 'bootFiles');

/**
 * fields: {version, imageUrl, size, sha256}; kernel: {url, size, sha256} of the slot's boot file (a UKI,
 * so no initrd), included when the contract has boot files. Returns the signed manifest as proto3 JSON.
 */
export function signedManifest(fields, kernel, privateKeyPem) {
  const bootFiles = MANIFEST_HAS_BOOT_FILES
    ? { bootFiles: [{ kind: 1 /* BOOT_FILE_KIND_KERNEL */, ...kernel, size: BigInt(kernel.size) }] }
    : {};
  const manifest = create(UpdateManifestSchema, { ...fields, size: BigInt(fields.size), ...bootFiles });
  return toJson(UpdateManifestSchema, signManifest(manifest, privateKeyPem));
}
