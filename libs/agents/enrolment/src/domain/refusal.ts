/** Why the service refuses a request: one reason each, carried as the first detail of the typed error. */
export type RefusalReason =
  | 'token-invalid'
  | 'token-expired'
  | 'token-unknown'
  | 'token-used'
  | 'node-mismatch'
  | 'hardware-mismatch'
  | 'node-taken'
  | 'key-invalid'
  | 'key-revoked'
  | 'not-enrolled'
  | 'node-revoked'
  | 'key-mismatch'
  | 'proof-invalid'
  | 'proof-stale'
  | 'node-id-invalid';

export interface Refusal {
  readonly refused: RefusalReason;
  readonly message: string;
}

export const refuse = (refused: RefusalReason, message: string): Refusal => ({ refused, message });

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'refused' in value;
}
