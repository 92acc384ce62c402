/** Options shared by every command that talks to a coordinator, and their resolution. */
import { InvalidArgumentError, Option, type Command } from "commander";
import { loadToken, TOKEN_ENV } from "../../common/src/token.js";
import { COORDINATOR_ENV, DEFAULT_COORDINATOR, existingDefaultTokenFile } from "./defaults.js";
import { ControlClient } from "./control-client.js";

export interface ConnectionOptions {
  coordinator: string;
  tokenFile?: string;
}

/** Add --coordinator and --token-file (with their environment variables) to `cmd`. */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option("--coordinator <host:port>", "coordinator address").env(COORDINATOR_ENV).default(DEFAULT_COORDINATOR))
    .addOption(new Option("--token-file <file>", `file holding the shared token (or set ${TOKEN_ENV})`).env("NETMATRIX_TOKEN_FILE"));
}

/** The token for `opts`: --token-file, $NETMATRIX_TOKEN, or the local coordinator's default token file. */
export function resolveToken(opts: { tokenFile?: string }): string {
  const file = opts.tokenFile ?? (process.env[TOKEN_ENV] ? undefined : existingDefaultTokenFile());
  return loadToken(file).value;
}

export function connect(opts: ConnectionOptions): ControlClient {
  return new ControlClient(opts.coordinator, resolveToken(opts));
}

/** Parse an integer option within bounds, with a message naming the option and the range. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}.`);
    return n;
  };
}
