/**
 * Typed errors of the bus. A ContractError travels as an ErrorReply body plus the NATS micro protocol
 * headers (Nats-Service-Error, Nats-Service-Error-Code), so plain NATS clients and `nats req` see the
 * failure as clearly as an Outpost client does.
 */
import { create } from '@bufbuild/protobuf';
import { ErrorCode, ErrorReplySchema, type ErrorReply } from './gen/outpost/common/v1/error_pb.js';

/** The micro protocol's Nats-Service-Error-Code of each typed code (HTTP-like, as the protocol uses). */
const HTTP_CODE: Record<ErrorCode, number> = {
  [ErrorCode.UNSPECIFIED]: 500,
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.INVALID_ARGUMENT]: 422,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.FAILED_PRECONDITION]: 409,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.DEADLINE_EXCEEDED]: 504,
  [ErrorCode.INTERNAL]: 500,
  [ErrorCode.UNIMPLEMENTED]: 501,
  [ErrorCode.PERMISSION_DENIED]: 403,
};

export function httpCodeOf(code: ErrorCode): number {
  return HTTP_CODE[code] ?? 500;
}

/** Best guess of a typed code for a reply that carries only the micro header (a non-Outpost service). */
export function errorCodeFromHttp(httpCode: number): ErrorCode {
  const found = (Object.entries(HTTP_CODE) as [string, number][]).find(
    ([code, http]) => http === httpCode && Number(code) !== ErrorCode.UNSPECIFIED,
  );
  return found ? (Number(found[0]) as ErrorCode) : ErrorCode.INTERNAL;
}

export class ContractError extends Error {
  override readonly name = 'ContractError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly string[] = [],
    readonly subject = '',
  ) {
    super(message);
  }

  toReply(subject = this.subject): ErrorReply {
    return create(ErrorReplySchema, {
      code: this.code,
      message: this.message,
      subject,
      details: [...this.details],
    });
  }

  static fromReply(reply: ErrorReply): ContractError {
    return new ContractError(reply.code, reply.message, reply.details, reply.subject);
  }
}
