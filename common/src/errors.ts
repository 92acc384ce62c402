/**
 * One error base class for netmatrix, with a code and a cause (like
 * connect-es `ConnectError`). Codes map to gRPC status codes only at the RPC
 * edge (`rpc-status.ts`).
 */

/** What went wrong, independent of transport. */
export type ErrorCode =
  | "invalid-argument"
  | "not-found"
  | "unauthenticated"
  | "failed-precondition"
  | "unavailable"
  | "deadline-exceeded"
  | "cancelled"
  | "resource-exhausted"
  | "already-exists"
  | "permission-denied"
  | "internal";

export class NetmatrixError extends Error {
  override readonly name: string = "NetmatrixError";
  readonly code: ErrorCode;
  /** What the user can do about it, when known. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; hint?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.hint = opts.hint;
  }

  /** The message plus the hint, for a person. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }

  /** Wrap anything thrown into a NetmatrixError, keeping it as the cause. */
  static from(err: unknown, code: ErrorCode = "internal"): NetmatrixError {
    if (err instanceof NetmatrixError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new NetmatrixError(code, message, { cause: err });
  }
}
