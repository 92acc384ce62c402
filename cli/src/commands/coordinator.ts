/** `netmatrix coordinator`: run the coordinator until interrupted. */
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { LabState } from "../../../lab/src/lab.js";
import { LabServiceProvider } from "../../../lab/src/lab-services.js";
import { modes } from "../../../common/src/model.js";
import { kubernetesServiceProviderFromEnv, kubernetesServicesRequested } from "../../../coordinator/src/k8s/index.js";
import type { Registry } from "../../../coordinator/src/registry.js";
import type { ServiceProvider } from "../../../common/src/service-provider.js";
import { createRootLogger } from "../../../common/src/logger.js";
import { loadOrCreateToken, TOKEN_ENV } from "../../../common/src/token.js";
import { startCoordinator } from "../../../coordinator/src/coordinator.js";
import { htmlReport } from "../../../report/src/html-report.js";
import { DATA_DIR_ENV, defaultDataDir } from "../defaults.js";

export function coordinatorCommand(): Command {
  return new Command("coordinator")
    .description("run the coordinator: agents dial in, the CLI drives tests")
    .addOption(new Option("--listen <host:port>", "address to listen on").env("NETMATRIX_LISTEN").default("0.0.0.0:7400"))
    .addOption(new Option("--token-file <file>", "token file; generated there when missing (default: DATA_DIR/token)").env("NETMATRIX_TOKEN_FILE"))
    .addOption(new Option("--http <host:port|off>", "where to serve the live NIC page and its WebSocket feed").env("NETMATRIX_HTTP").default("0.0.0.0:7401"))
    .addOption(new Option("--lab-state <file>", "serve the lab's services (iptables DNAT) for the lab described in this state file; `netmatrix lab up` sets it").hideHelp())
    .addOption(new Option("--data-dir <dir>", "where results and the generated token live").env(DATA_DIR_ENV).default(defaultDataDir()))
    .action(async (opts: { listen: string; http: string; tokenFile?: string; dataDir: string; labState?: string }) => {
      const log = createRootLogger({ base: { role: "coordinator" } });
      let token: string;
      const envToken = process.env[TOKEN_ENV]?.trim();
      if (!opts.tokenFile && envToken) {
        token = envToken;
        log.info(`using the token from $${TOKEN_ENV}`);
      } else {
        const file = opts.tokenFile ?? join(opts.dataDir, "token");
        const t = loadOrCreateToken(file);
        token = t.value;
        log.info({ tokenFile: file }, t.created ? `generated a token in ${file}; give agents and the CLI --token-file ${file}` : `using the token in ${file}`);
      }
      let registry: Registry | undefined;
      let services: ServiceProvider | undefined;
      if (opts.labState) {
        services = new LabServiceProvider((JSON.parse(readFileSync(opts.labState, "utf8")) as LabState).topology);
        log.info({ kinds: services.kinds }, "lab services: ClusterIP and NodePort as iptables DNAT on every node");
      } else if (kubernetesServicesRequested()) {
        // NodePort cases target the server's node at its host agent's address.
        const k8s = await kubernetesServiceProviderFromEnv(process.env, {
          nodeAddress: (node) => registry?.list().find((l) => l.info.node === node && modes.toName(l.info.mode) === "host")?.info.addresses[0],
        });
        log.info({ kinds: k8s.kinds, swept: await k8s.sweep() }, "Kubernetes services: a Service and an EndpointSlice per case");
        services = k8s;
      }
      const coord = await startCoordinator(
        {
          listen: opts.listen,
          token,
          dataDir: opts.dataDir,
          ...(services ? { services } : {}),
          ...(opts.http !== "off" ? { http: opts.http, reportHtml: (run) => htmlReport(run) } : {}),
        },
        log,
      );
      registry = coord.registry;
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log.info({ signal: sig }, "shutting down");
          void coord.stop().then(resolve);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
    });
}
