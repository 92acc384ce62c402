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

/**
 * grpc-js's text for a call that failed, for a person: without the empty
 * "Resolution note: " it appends, the nested "Error: " prefixes and the
 * "No connection established. Last error:" preamble, e.g. "connect
 * ECONNREFUSED 127.0.0.1:7400" for "No connection established. Last error:
 * Error: connect ECONNREFUSED 127.0.0.1:7400. Resolution note: ".
 */
export function cleanGrpcDetails(details: string): string {
  let text = details
    .replace(/\.?\s*Resolution note:\s*$/, "")
    .replace(/^No connection established\.\s*Last error:\s*(?:null|undefined)?\s*/, "")
    .replace(/^(?:Error:\s*)+/, "")
    .trim();
  if (!text) text = "no connection established";
  return text.replace(/\.$/, "");
}

/** The hint for a coordinator that is not there: how to start one, or point at the right one. */
export const NO_COORDINATOR_HINT =
  "start one: `sudo netmatrix lab up` for the lab on this machine, or `netmatrix coordinator`; or point at yours with --coordinator HOST:PORT (env NETMATRIX_COORDINATOR)";

/** A NetmatrixError for an error a grpc-js call returned; `target` (HOST:PORT) names the coordinator in connection errors. */
export function fromServiceError(err: unknown, target?: string): NetmatrixError {
  const se = err as Partial<ServiceError>;
  if (typeof se?.code !== "number") return NetmatrixError.from(err);
  const code = (Object.entries(toGrpc).find(([, v]) => v === se.code)?.[0] ?? "internal") as ErrorCode;
  const hintValue = se.metadata?.get(HINT_KEY)[0];
  let hint = typeof hintValue === "string" ? hintValue : undefined;
  let message = cleanGrpcDetails(se.details || se.message || "unknown error");
  if (se.code === status.UNAVAILABLE && target) {
    if (/\bECONNREFUSED\b/.test(message)) {
      message = `no coordinator at ${target}: connection refused`;
      hint ??= NO_COORDINATOR_HINT;
    } else {
      message = `cannot reach the coordinator at ${target}: ${message}`;
      hint ??= tlsFailureHint(message) ?? `check that a coordinator runs there and this machine can reach it; ${NO_COORDINATOR_HINT}`;
    }
  } else if (se.code === status.CANCELLED && /^Cancell?ed on client$/i.test(message)) {
    message = "cancelled";
  }
  return new NetmatrixError(code, message, { cause: err, ...(hint ? { hint } : {}) });
}
