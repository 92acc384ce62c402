/**
 * The shared token agents and the CLI present to the coordinator
 * (`authorization: Bearer <token>`). In Kubernetes it comes from a Secret.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import type { Metadata } from "@grpc/grpc-js";
import { NetmatrixError } from "./errors.js";

export const TOKEN_ENV = "NETMATRIX_TOKEN";
export const TOKEN_FILE_ENV = "NETMATRIX_TOKEN_FILE";

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
  throw new NetmatrixError("unauthenticated", "no token given", {
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

/** Throws `unauthenticated` unless `metadata` carries exactly `expected`. Constant-time compare. */
export function checkBearer(metadata: Metadata, expected: string): void {
  const header = metadata.get(AUTH_HEADER)[0];
  if (typeof header !== "string" || !header.startsWith("Bearer ")) {
    throw new NetmatrixError("unauthenticated", "missing token", {
      hint: "pass --token-file FILE or set NETMATRIX_TOKEN to the coordinator's token",
    });
  }
  const given = Buffer.from(header.slice("Bearer ".length));
  const want = Buffer.from(expected);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new NetmatrixError("unauthenticated", "wrong token", {
      hint: "use the token the coordinator was started with (its --token-file)",
    });
  }
}
