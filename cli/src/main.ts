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

const program = new Command("netmatrix")
  .description("measure what a Kubernetes pod network costs real traffic")
  .version(VERSION)
  .showHelpAfterError("(run with --help for usage)")
  .addCommand(coordinatorCommand())
  .addCommand(agentCommand())
  .addCommand(agentsCommand())
  .addCommand(runCommand())
  .addCommand(runsCommand())
  .addCommand(reportCommand())
  .addCommand(compareCommand())
  .addCommand(watchCommand())
  .addCommand(labCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const e = NetmatrixError.from(err);
  process.stderr.write(`netmatrix: ${e.describe()}\n`);
  process.exit(2);
}
