/** The `netmatrix` command line. */
import { Command, CommanderError } from "commander";
import { NetmatrixError } from "../../common/src/errors.js";
import { VERSION } from "../../common/src/version.js";
import { agentCommand } from "./commands/agent.js";
import { agentsCommand } from "./commands/agents.js";
import { coordinatorCommand } from "./commands/coordinator.js";
import { runCommand } from "./commands/run.js";
import { labCommand } from "./commands/lab.js";
import { compareCommand } from "./commands/compare.js";
import { reportCommand, runsCommand } from "./commands/runs.js";
import { watchCommand } from "./commands/watch.js";
import { exitCodeFor } from "./exit-codes.js";

const program = new Command("netmatrix")
  .description("measure what a Kubernetes pod network costs real traffic")
  .version(VERSION)
  .addCommand(coordinatorCommand())
  .addCommand(agentCommand())
  .addCommand(agentsCommand())
  .addCommand(runCommand())
  .addCommand(runsCommand())
  .addCommand(reportCommand())
  .addCommand(compareCommand())
  .addCommand(watchCommand())
  .addCommand(labCommand());

/** Whether commander already printed the usage error it throws. */
let printed = false;

/**
 * Every command and subcommand throws its usage errors (instead of commander's
 * own process.exit(1)), so the exit code comes from the one mapping in
 * exit-codes.ts; each names its command and points at that command's --help.
 */
function configure(cmd: Command, path: string): void {
  cmd
    .exitOverride()
    .showHelpAfterError(`(see \`${path} --help\`)`)
    .configureOutput({
      outputError: (text, write) => {
        printed = true;
        write(`${path}: ${text.replace(/^error: /, "")}`);
      },
    });
  for (const sub of cmd.commands) configure(sub, `${path} ${sub.name()}`);
}
configure(program, "netmatrix");

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const code = exitCodeFor(err);
  if (err instanceof CommanderError) {
    // A usage error an action threw (e.g. InvalidArgumentError): commander did not print it.
    if (code !== 0 && !printed && err.code !== "commander.help") process.stderr.write(`netmatrix: ${err.message}\n`);
  } else {
    process.stderr.write(`netmatrix: ${NetmatrixError.from(err).describe()}\n`);
  }
  process.exit(code);
}
