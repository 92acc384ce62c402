/** Maps NetmatrixError codes to gRPC status codes and back; used only at the RPC edge. */
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { NetmatrixError, type ErrorCode } from "./errors.js";
import { tlsFailureHint } from "./tls.js";

const toGrpc: Record<ErrorCode, status> = {
  "invalid-argument": status.INVALID_ARGUMENT,
  "not-found": status.NOT_FOUND,
  unauthenticated: status.UNAUTHENTICATED,
  "failed-precondition": status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  "deadline-exceeded": status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
  "resource-exhausted": status.RESOURCE_EXHAUSTED,
  "already-exists": status.ALREADY_EXISTS,
  "permission-denied": status.PERMISSION_DENIED,
  internal: status.INTERNAL,
};

const HINT_KEY = "netmatrix-hint";

/** A grpc-js error object for `err`, carrying the hint in trailing metadata. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const e = NetmatrixError.from(err);
  const metadata = new Metadata();
  if (e.hint) metadata.set(HINT_KEY, e.hint);
  return { code: toGrpc[e.code], details: e.message, metadata };
}

/** A NetmatrixError for an error a grpc-js call returned. */
export function fromServiceError(err: unknown, target?: string): NetmatrixError {
  const se = err as Partial<ServiceError>;
  if (typeof se?.code !== "number") return NetmatrixError.from(err);
  const code = (Object.entries(toGrpc).find(([, v]) => v === se.code)?.[0] ?? "internal") as ErrorCode;
  const hintValue = se.metadata?.get(HINT_KEY)[0];
  let hint = typeof hintValue === "string" ? hintValue : undefined;
  let message = se.details || se.message || "unknown error";
  if (se.code === status.UNAVAILABLE && target) {
    message = `cannot reach the coordinator at ${target}: ${message}`;
    hint ??= tlsFailureHint(message) ?? "start it with `netmatrix coordinator`, or pass --coordinator HOST:PORT (env NETMATRIX_COORDINATOR)";
  }
  return new NetmatrixError(code, message, { cause: err, ...(hint ? { hint } : {}) });
}
