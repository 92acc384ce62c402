/**
 * The shared token agents and the CLI present to the coordinator
 * (`authorization: Bearer <token>`). In Kubernetes it comes from a Secret.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import { InterceptingCall, type Interceptor, type Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { NetmatrixError } from "./errors.js";
import type { ServerInterceptor } from "./grpc-adapter.js";

export const TOKEN_ENV = "NETMATRIX_TOKEN";
export const TOKEN_FILE_ENV = "NETMATRIX_TOKEN_FILE";
/** The message of `loadToken`'s refusal when no token was given at all. */
export const NO_TOKEN = "no token given";

/** Where a token came from, for messages. */
export interface Token {
  value: string;
  source: string;
}

/**
 * The token from `--token-file`, else $NETMATRIX_TOKEN, else $NETMATRIX_TOKEN_FILE.
 * Throws a NetmatrixError naming the fix when there is none or it is empty.
 */
export function loadToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Token {
  const file = tokenFile ?? (env[TOKEN_ENV] ? undefined : env[TOKEN_FILE_ENV]);
  if (file) return readTokenFile(file);
  const value = env[TOKEN_ENV]?.trim();
  if (value) return { value, source: `$${TOKEN_ENV}` };
  throw new NetmatrixError("unauthenticated", NO_TOKEN, {
    hint: `pass --token-file FILE or set ${TOKEN_ENV}; the coordinator prints where it wrote its token when it starts`,
  });
}

function readTokenFile(file: string): Token {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (err) {
    throw new NetmatrixError("unauthenticated", `cannot read token file ${file}: ${(err as Error).message}`, {
      cause: err,
      hint: "check the path given with --token-file (or NETMATRIX_TOKEN_FILE)",
    });
  }
  const value = raw.trim();
  if (!value) {
    throw new NetmatrixError("unauthenticated", `token file ${file} is empty`, {
      hint: "write the coordinator's token into it, or let `netmatrix coordinator` generate one",
    });
  }
  return { value, source: file };
}

/** Read the token at `file`, or generate one there (mode 0600) when it does not exist. */
export function loadOrCreateToken(file: string): Token & { created: boolean } {
  if (existsSync(file)) return { ...readTokenFile(file), created: false };
  mkdirSync(dirname(file), { recursive: true });
  const value = randomBytes(32).toString("hex");
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: "wx" });
  return { value, source: file, created: true };
}

/** Metadata key the token travels in. */
export const AUTH_HEADER = "authorization";

/** `authorization: Bearer <token>` for outgoing calls. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/**
 * Whether `given` is exactly `expected`, in constant time (both are hashed
 * first, so not even the length leaks). The one token compare: gRPC calls
 * and the web server both use it.
 */
export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== "string" || !given) return false;
  const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The coordinator's refusals of a token, as its clients see them (`isTokenRefusal`). */
export const TOKEN_REFUSALS = { missing: "missing token", wrong: "wrong token" } as const;

/** Throws `unauthenticated` unless `metadata` carries exactly `expected`. Constant-time compare. */
export function checkBearer(metadata: Metadata, expected: string): void {
  const header = metadata.get(AUTH_HEADER)[0];
  if (typeof header !== "string" || !header.startsWith("Bearer ")) {
    throw new NetmatrixError("unauthenticated", TOKEN_REFUSALS.missing, {
      hint: "pass --token-file FILE or set NETMATRIX_TOKEN to the coordinator's token",
    });
  }
  if (!tokenMatches(header.slice("Bearer ".length), expected)) {
    throw new NetmatrixError("unauthenticated", TOKEN_REFUSALS.wrong, {
      hint: "use the token the coordinator was started with (its --token-file)",
    });
  }
}

/** Whether `err` is the coordinator refusing the token itself (not, say, a client certificate). */
export function isTokenRefusal(err: NetmatrixError): boolean {
  return err.code === "unauthenticated" && (err.message === TOKEN_REFUSALS.wrong || err.message === TOKEN_REFUSALS.missing);
}

/** Where the coordinator's token is and how to hand it to a client that used `source` (a file, or `$NETMATRIX_TOKEN`). */
export function coordinatorTokenHint(source: string): string {
  const put = source.startsWith("$")
    ? `set ${source} to the coordinator's token (the chart gives agents and the coordinator the same Secret: after changing it, restart both)`
    : `copy the coordinator's token into ${source} (or pass --token-file FILE)`;
  return (
    `${put}: it is in DATA_DIR/token on the coordinator's machine (~/.netmatrix/token by default, the lab's in its data dir; ` +
    "the coordinator logs the file when it starts), or on Kubernetes in the Secret netmatrix-token: " +
    "kubectl -n netmatrix get secret netmatrix-token -o jsonpath='{.data.token}' | base64 -d"
  );
}

/** The coordinator at `target` refused the token from `source`: which token, and how to get the right one. */
export function tokenRefused(source: string, target: string, refusal: NetmatrixError): NetmatrixError {
  const what = refusal.message === TOKEN_REFUSALS.missing ? "received no token" : `refused the token in ${source}: wrong token, it does not match the coordinator's`;
  return new NetmatrixError("unauthenticated", `the coordinator at ${target} ${what}`, { cause: refusal, hint: coordinatorTokenHint(source) });
}

/**
 * The one server-side auth check: an interceptor for `implement()` that runs
 * `checkBearer` before every call of every method, logging refusals.
 */
export function authInterceptor(expected: string, log?: Pick<Logger, "warn">): ServerInterceptor {
  return (ctx) => {
    try {
      checkBearer(ctx.metadata, expected);
    } catch (err) {
      log?.warn({ peer: ctx.peer, rpc: `${ctx.service.typeName}/${ctx.method.name}`, reason: (err as Error).message }, "call refused");
      throw err;
    }
  };
}

/** The client side: attaches `authorization: Bearer <token>` to every call of a client built with it. */
export function bearerInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(AUTH_HEADER, bearer(token));
        next(metadata, listener);
      },
    });
}
