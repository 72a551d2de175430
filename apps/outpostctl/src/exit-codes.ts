/**
 * Exit codes of outpostctl and the error that carries one. Scripts branch on the code; people read
 * the message and the hint (what to do about it). Documented in docs/outpostctl.md.
 */
import { ContractError, ErrorCode } from '@outpost/contracts';

export const EXIT = {
  /** Done. */
  OK: 0,
  /** Anything else: a failure reply, a timeout, an internal error. */
  ERROR: 1,
  /** Bad command line: unknown command or option, missing argument. */
  USAGE: 2,
  /** No such node, group, lease, desired update or context. */
  NOT_FOUND: 3,
  /** The server refused: authentication failed or the user may not publish/subscribe there. */
  PERMISSION: 4,
  /** The NATS server cannot be reached. */
  UNREACHABLE: 5,
  /** The input (a manifest, windows) was refused by the contract before anything was written. */
  INVALID: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CtlError extends Error {
  override readonly name = 'CtlError';

  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** What the operator can do about it. */
    readonly hint = '',
  ) {
    super(message);
  }
}

export const usage = (message: string, hint = 'outpostctl --help lists every command') =>
  new CtlError(EXIT.USAGE, message, hint);

export const notFound = (message: string, hint = '') => new CtlError(EXIT.NOT_FOUND, message, hint);

const PERMISSION_HINT =
  'the credentials in use may not do this: check --creds/--context, or ask for a user with the operator permissions (deploy/nats)';

/** The CtlError of anything thrown while a command ran. */
export function toCtlError(err: unknown): CtlError {
  if (err instanceof CtlError) return err;
  if (err instanceof ContractError) {
    switch (err.code) {
      case ErrorCode.PERMISSION_DENIED:
        return new CtlError(EXIT.PERMISSION, `permission denied: ${err.message}`, PERMISSION_HINT);
      case ErrorCode.NOT_FOUND:
        return new CtlError(EXIT.NOT_FOUND, err.message);
      case ErrorCode.BAD_REQUEST:
      case ErrorCode.INVALID_ARGUMENT:
        return new CtlError(EXIT.INVALID, err.message);
      case ErrorCode.DEADLINE_EXCEEDED:
        return new CtlError(
          EXIT.ERROR,
          err.message,
          'the agent did not answer: is it running on that node? `outpostctl node <id>` shows its status',
        );
      case ErrorCode.UNAVAILABLE:
        return new CtlError(EXIT.UNREACHABLE, err.message, 'the connection to the server was lost');
      default:
        return new CtlError(EXIT.ERROR, err.message);
    }
  }
  const text = err instanceof Error ? err.message : String(err);
  if (/permission|authorization violation|not authorized/i.test(text)) {
    return new CtlError(EXIT.PERMISSION, `permission denied: ${text}`, PERMISSION_HINT);
  }
  return new CtlError(EXIT.ERROR, text);
}
