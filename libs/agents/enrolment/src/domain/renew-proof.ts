/**
 * A renew request is signed by the node's own key: proof that the caller holds the seed of the key it
 * asks a new JWT for. The text is fixed here so that the node and the service sign and check the same
 * bytes; signedAt keeps a recorded request from being replayed long after.
 */
import { fromPublic } from '@nats-io/nkeys';

export function renewProofText(nodeId: string, publicKey: string, signedAtIso: string): Uint8Array {
  return new TextEncoder().encode(`outpost-renew\n${nodeId}\n${publicKey}\n${signedAtIso}`);
}

export function verifyRenewProof(
  nodeId: string,
  publicKey: string,
  signedAtIso: string,
  signatureB64Url: string,
): boolean {
  try {
    const signature = Buffer.from(signatureB64Url, 'base64url');
    return fromPublic(publicKey).verify(renewProofText(nodeId, publicKey, signedAtIso), signature);
  } catch {
    return false;
  }
}

/** A user public nkey (U + base32, with a valid checksum). */
export function isUserPublicKey(key: string): boolean {
  if (!/^U[A-Z2-7]{55}$/.test(key)) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}
