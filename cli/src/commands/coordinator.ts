/** `netmatrix coordinator`: run the coordinator until interrupted. */
import { Command, InvalidArgumentError, Option } from "commander";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { LabState } from "../../../lab/src/lab.js";
import { LabServiceProvider } from "../../../lab/src/lab-services.js";
import { serviceCountersFile } from "../../../lab/src/lab-services-counters.js";
import { familyAddress } from "../../../common/src/addresses.js";
import { modes } from "../../../common/src/model.js";
import { kubernetesServiceProviderFromEnv, kubernetesServicesRequested } from "../../../coordinator/src/k8s/index.js";
import type { Registry } from "../../../coordinator/src/registry.js";
import type { ServiceProvider } from "../../../common/src/service-provider.js";
import { createRootLogger, type LogFormat } from "../../../common/src/logger.js";
import { loadOrCreateToken, TOKEN_ENV } from "../../../common/src/token.js";
import { serverTlsFiles, TLS_ENV } from "../../../common/src/tls.js";
import { DEFAULT_HEARTBEAT_INTERVAL_MS, startCoordinator } from "../../../coordinator/src/coordinator.js";
import { DEFAULT_REGISTRATION_LIMITS, REGISTRATION_LIMIT_BOUNDS } from "../../../coordinator/src/registration-limiter.js";
import { addressTrust } from "../../../coordinator/src/address-check.js";
import { htmlReport, reportScriptHashes } from "../../../report/src/html-report.js";
import { DATA_DIR_ENV, defaultDataDir } from "../defaults.js";
import { CAP_BOUNDS, DEFAULT_MATRIX_CAPS } from "../../../coordinator/src/matrix/index.js";
import { formatDurationS } from "../../../common/src/units.js";
import { durationOption, intOption, logFormatOption } from "../options.js";
import { guardProcess } from "../process-guard.js";

/** A --trust-declared-addresses list, checked now so a typo stops the start-up with the entry named. */
function trustList(v: string): string {
  try {
    addressTrust([v]);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return v;
}

export function coordinatorCommand(): Command {
  return new Command("coordinator")
    .description("run the coordinator: agents dial in, the CLI drives tests")
    .addOption(new Option("--listen <host:port>", "address to listen on").env("NETMATRIX_LISTEN").default("0.0.0.0:7400"))
    .addOption(new Option("--token-file <file>", "token file; generated there when missing (default: DATA_DIR/token)").env("NETMATRIX_TOKEN_FILE"))
    .addOption(new Option("--http <host:port|off>", "where to serve the live NIC page and its WebSocket feed").env("NETMATRIX_HTTP").default("0.0.0.0:7401"))
    .addOption(new Option("--tls-cert <file>", "serve gRPC and the web page over TLS with this PEM certificate (chain); needs --tls-key").env(TLS_ENV.cert))
    .addOption(new Option("--tls-key <file>", "the PEM private key of --tls-cert").env(TLS_ENV.key))
    .addOption(new Option("--client-ca <file>", "require gRPC clients (agents, CLI) to present a certificate signed by this PEM CA (mTLS)").env(TLS_ENV.clientCa))
    .addOption(
      new Option(
        "--trust-declared-addresses [all|cidrs]",
        "believe agents' declared addresses in these CIDRs (comma-separated; no value or \"all\": every address) although they connect from elsewhere (NAT, the lab's control links); default: an agent must connect from its --address, or register --behind-nat and only ever be a client",
      )
        .env("NETMATRIX_TRUST_DECLARED_ADDRESSES")
        .argParser(trustList),
    )
    .addOption(new Option("--lab-state <file>", "serve the lab's services (iptables DNAT) for the lab described in this state file; `netmatrix lab up` sets it").hideHelp())
    .addOption(new Option("--data-dir <dir>", "where results and the generated token live").env(DATA_DIR_ENV).default(defaultDataDir()))
    .addOption(
      new Option("--max-cases <n>", "refuse a run that asks for more case runs (cases × repetitions), before planning it")
        .env("NETMATRIX_MAX_CASES")
        .argParser(intOption("--max-cases", CAP_BOUNDS.maxCaseRuns.min, CAP_BOUNDS.maxCaseRuns.max))
        .default(DEFAULT_MATRIX_CAPS.maxCaseRuns),
    )
    .addOption(
      new Option("--max-run-duration <duration>", "refuse a run (or a single case's repetitions) estimated to take longer: seconds, or e.g. 90m, 36h, 30d")
        .env("NETMATRIX_MAX_RUN_DURATION")
        .argParser(durationOption("--max-run-duration", CAP_BOUNDS.maxRunDurationS.min, CAP_BOUNDS.maxRunDurationS.max))
        .default(DEFAULT_MATRIX_CAPS.maxRunDurationS, formatDurationS(DEFAULT_MATRIX_CAPS.maxRunDurationS)),
    )
    .addOption(
      new Option(
        "--registration-rate <n>",
        "agent sessions admitted per second once the burst is spent; more are told when to come back (a whole cluster reconnecting after a restart)",
      )
        .env("NETMATRIX_REGISTRATION_RATE")
        .argParser(intOption("--registration-rate", REGISTRATION_LIMIT_BOUNDS.ratePerS.min, REGISTRATION_LIMIT_BOUNDS.ratePerS.max))
        .default(DEFAULT_REGISTRATION_LIMITS.ratePerS),
    )
    .addOption(
      new Option("--registration-burst <n>", "agent sessions admitted at once before --registration-rate applies")
        .env("NETMATRIX_REGISTRATION_BURST")
        .argParser(intOption("--registration-burst", REGISTRATION_LIMIT_BOUNDS.burst.min, REGISTRATION_LIMIT_BOUNDS.burst.max))
        .default(DEFAULT_REGISTRATION_LIMITS.burst),
    )
    .addOption(
      new Option("--heartbeat-interval <duration>", "how often agents send a heartbeat (seconds, or e.g. 5s, 1m); an agent silent for 3 intervals + 5 s is dropped")
        .env("NETMATRIX_HEARTBEAT_INTERVAL")
        .argParser(durationOption("--heartbeat-interval", 1, 300))
        .default(DEFAULT_HEARTBEAT_INTERVAL_MS / 1000, formatDurationS(DEFAULT_HEARTBEAT_INTERVAL_MS / 1000)),
    )
    .addOption(logFormatOption())
    .action(
      async (opts: {
        listen: string;
        http: string;
        tokenFile?: string;
        dataDir: string;
        labState?: string;
        tlsCert?: string;
        tlsKey?: string;
        clientCa?: string;
        trustDeclaredAddresses?: string | true;
        maxCases: number;
        maxRunDuration: number;
        registrationRate: number;
        registrationBurst: number;
        heartbeatInterval: number;
        logFormat?: LogFormat;
      }) => {
        const log = createRootLogger({ base: { role: "coordinator" }, ...(opts.logFormat ? { format: opts.logFormat } : {}) });
        guardProcess(log, "the coordinator");
        const tls = serverTlsFiles(opts);
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
          // What each case's rules counted, kept beside the state file (DATA_DIR/lab/service-counters.jsonl).
          services = new LabServiceProvider((JSON.parse(readFileSync(opts.labState, "utf8")) as LabState).topology, { countersFile: serviceCountersFile(dirname(opts.labState)) });
          log.info({ kinds: services.kinds, families: services.families }, "lab services: ClusterIP and NodePort as iptables (and ip6tables) DNAT on every node");
        } else if (kubernetesServicesRequested()) {
          // NodePort cases target the server's node at its host agent's address of the case's family.
          const k8s = await kubernetesServiceProviderFromEnv(process.env, {
            nodeAddress: (node, family = "ipv4") => {
              const host = registry?.byNode(node).find((l) => modes.toName(l.info.mode) === "host");
              return host ? familyAddress(host.info.addresses, family) : undefined;
            },
          });
          const swept = await k8s.sweep();
          const { families, reason } = await k8s.detectFamilies();
          log.info({ kinds: k8s.kinds, families, swept, ...(reason ? { ipv6: reason } : {}) }, "Kubernetes services: a Service and an EndpointSlice per case");
          services = k8s;
        }
        const coord = await startCoordinator(
          {
            listen: opts.listen,
            token,
            dataDir: opts.dataDir,
            caps: { maxCaseRuns: opts.maxCases, maxRunDurationS: opts.maxRunDuration },
            registrationLimits: { ratePerS: opts.registrationRate, burst: opts.registrationBurst },
            heartbeatIntervalMs: opts.heartbeatInterval * 1000,
            ...(tls ? { tls } : {}),
            ...(opts.trustDeclaredAddresses ? { trustDeclaredAddresses: [opts.trustDeclaredAddresses === true ? "all" : opts.trustDeclaredAddresses] } : {}),
            ...(services ? { services } : {}),
            ...(opts.http !== "off" ? { http: opts.http, reportHtml: (run) => htmlReport(run), reportScriptHashes: reportScriptHashes() } : {}),
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
      },
    );
}
