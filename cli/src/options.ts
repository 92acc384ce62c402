/** Options shared by every command that talks to a coordinator, and their resolution. */
import { InvalidArgumentError, Option, type Command } from "commander";
import { loadToken, NO_TOKEN, TOKEN_ENV, TOKEN_FILE_ENV, type Token } from "../../common/src/token.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { clientTls, TLS_ENV, type ClientTls } from "../../common/src/tls.js";
import { formatDurationS, parseDurationS } from "../../common/src/units.js";
import { LOG_FORMAT_ENV, LOG_FORMATS } from "../../common/src/logger.js";
import { COORDINATOR_ENV, DEFAULT_COORDINATOR, defaultTokenFile, existingDefaultTokenFile } from "./defaults.js";
import { ControlClient } from "./control-client.js";

export interface ConnectionOptions extends TlsOptions {
  coordinator: string;
  tokenFile?: string;
}

/** --ca, --tls-cert, --tls-key, --tls-server-name as commander gives them. */
export interface TlsOptions {
  ca?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
}

/** Add --coordinator, --token-file and the TLS options (with their environment variables) to `cmd`. */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option("--coordinator <host:port>", "coordinator address").env(COORDINATOR_ENV).default(DEFAULT_COORDINATOR))
    .addOption(new Option("--token-file <file>", `file holding the shared token (or set ${TOKEN_ENV})`).env("NETMATRIX_TOKEN_FILE"))
    .addOption(new Option("--ca <file>", "connect over TLS and verify the coordinator's certificate against this PEM CA (without it: plaintext)").env(TLS_ENV.ca))
    .addOption(
      new Option("--tls-cert <file>", "this client's PEM certificate, for a coordinator that requires client certificates (mTLS); needs --ca and --tls-key").env(TLS_ENV.cert),
    )
    .addOption(new Option("--tls-key <file>", "the PEM private key of --tls-cert").env(TLS_ENV.key))
    .addOption(
      new Option("--tls-server-name <name>", "the name the coordinator's certificate must carry when it is not the host dialled (a port-forward, an IP)").env(TLS_ENV.serverName),
    );
}

/** The TLS setting of `opts` (undefined: plaintext); a wrong file or a missing flag throws, naming it. */
export function resolveTls(opts: TlsOptions): ClientTls | undefined {
  return clientTls(opts);
}

/** The token for `opts`: --token-file, $NETMATRIX_TOKEN, or the local coordinator's default token file. */
export function resolveToken(opts: { tokenFile?: string }): string {
  return resolveTokenSource(opts).value;
}

/** The token for `opts` and where it came from (a file, or `$NETMATRIX_TOKEN`), for messages when the coordinator refuses it. */
export function resolveTokenSource(opts: { tokenFile?: string }): Token {
  const file = opts.tokenFile ?? (process.env[TOKEN_ENV] ? undefined : existingDefaultTokenFile());
  try {
    return loadToken(file);
  } catch (err) {
    if (err instanceof NetmatrixError && err.message === NO_TOKEN) throw noToken();
    throw err;
  }
}

/** No token anywhere: most likely no coordinator ever ran here (it writes DATA_DIR/token). */
export function noToken(): NetmatrixError {
  return new NetmatrixError(
    "unauthenticated",
    `no token: no --token-file, no $${TOKEN_ENV} or $${TOKEN_FILE_ENV}, and no ${defaultTokenFile()} (where a coordinator on this machine writes its token)`,
    {
      hint: `start a coordinator here (\`sudo netmatrix lab up\` for the lab, or \`netmatrix coordinator\`), or pass --token-file FILE (env ${TOKEN_FILE_ENV}) holding your coordinator's token`,
    },
  );
}

/** Whether `err` is `noToken()`. */
export function isNoToken(err: unknown): boolean {
  return err instanceof NetmatrixError && err.code === "unauthenticated" && err.message.startsWith("no token:");
}

export function connect(opts: ConnectionOptions): ControlClient {
  const token = resolveTokenSource(opts);
  return new ControlClient(opts.coordinator, token.value, resolveTls(opts), token.source);
}

/** --log-format json|pretty (env NETMATRIX_LOG_FORMAT) for the long-running commands; default: pretty on a terminal, JSON otherwise. */
export function logFormatOption(): Option {
  return new Option("--log-format <format>", "log lines as JSON or pretty (one coloured line per record); default: pretty when stderr is a terminal, else JSON")
    .choices([...LOG_FORMATS])
    .env(LOG_FORMAT_ENV);
}

/** Parse an integer option within bounds, with a message naming the option and the range. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}.`);
    return n;
  };
}

/** Parse a duration option ("3600", "90m", "36h", "7d") into whole seconds within bounds, with a message naming the option and the range. */
export function durationOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const s = parseDurationS(value);
    if (s === undefined || s < min || s > max) {
      throw new InvalidArgumentError(
        `${name} must be a duration in ${formatDurationS(min)}..${formatDurationS(max)}: whole seconds, or a number with s, m, h or d (e.g. 90m, 36h, 7d).`,
      );
    }
    return s;
  };
}
