/**
 * The service's signing keys and what it signs with them: enrolment tokens (generic JWTs, token key),
 * nodes' user JWTs (a FLEET account signing key) and the FLEET account JWT with its revocations (an
 * operator signing key). Seeds are read once at start from files only root and the service can read.
 */
import { readFile } from 'node:fs/promises';
import { encodeGeneric, encodeUser } from '@nats-io/jwt';
import { fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { fleetAccountJwt } from '@outpost/nats-config';
import { nodeUserPermissions } from '../domain/node-permissions.js';
import { TOKEN_KIND, type TokenClaims, type TokenData } from '../domain/token.js';

export interface IssuerKeys {
  fleetAccount: string;
  fleetSigning: KeyPair;
  operatorSigning: KeyPair;
  tokenSigning: KeyPair;
}

export async function readSeed(file: string, prefix: 'SA' | 'SO', setting: string): Promise<KeyPair> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new Error(`${setting}: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!text.startsWith(prefix)) throw new Error(`${setting}: ${file} does not hold a ${prefix}... seed`);
  return fromSeed(new TextEncoder().encode(text));
}

export class CredentialIssuer {
  constructor(private readonly keys: IssuerKeys) {}

  get tokenIssuer(): string {
    return this.keys.tokenSigning.getPublicKey();
  }

  get fleetAccount(): string {
    return this.keys.fleetAccount;
  }

  token(claims: TokenClaims): Promise<string> {
    const data: TokenData = {
      token_id: claims.tokenId,
      node_id: claims.nodeId,
      hardware_id: claims.hardwareId,
    };
    return encodeGeneric(`enrolment ${claims.tokenId}`, this.keys.tokenSigning, TOKEN_KIND, data, {
      exp: Math.floor(claims.expiresAtMs / 1000),
    });
  }

  /** A user JWT of the FLEET account for the node's key: its subjects only, leaf connections only. */
  nodeJwt(nodeId: string, publicKey: string, expiresAtMs: number): Promise<string> {
    return encodeUser(
      nodeId,
      fromPublic(publicKey),
      fromPublic(this.keys.fleetAccount),
      { ...nodeUserPermissions(nodeId), allowed_connection_types: ['LEAFNODE'], tags: [`node:${nodeId}`] },
      { signer: this.keys.fleetSigning, exp: Math.floor(expiresAtMs / 1000) },
    );
  }

  accountJwt(revocations: Readonly<Record<string, number>>): Promise<string> {
    return fleetAccountJwt(
      this.keys.fleetAccount,
      this.keys.operatorSigning,
      this.keys.fleetSigning.getPublicKey(),
      revocations,
    );
  }
}
