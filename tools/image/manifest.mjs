// Update manifests for the image's payloads, signed with the project's own code (@outpost/agent-update's
// signManifest over its canonical form), so the builder and the node can never disagree on the bytes.
import { create, toJson } from '@bufbuild/protobuf';
import { UpdateManifestSchema } from '@outpost/contracts';
import { signManifest } from '@outpost/agent-update';

/** fields: {version, imageUrl, size, sha256, ...}; returns the signed manifest as proto3 JSON. */
export function signedManifest(fields, privateKeyPem) {
  const manifest = create(UpdateManifestSchema, { ...fields, size: BigInt(fields.size) });
  return toJson(UpdateManifestSchema, signManifest(manifest, privateKeyPem));
}
