/** `netmatrix agent`: run an agent that dials out to the coordinator. */
import { Command, InvalidArgumentError, Option } from "commander";
import { hostname } from "node:os";
import { isIP } from "node:net";
import { createRootLogger, type LogFormat } from "../../../common/src/logger.js";
import { modes, type ModeName } from "../../../common/src/model.js";
import { startAgent } from "../../../agent/src/agent.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import { nameProblem, parseLabels } from "../../../common/src/registration.js";
import { parsePortRange, type PortRange } from "../../../agent/src/ports.js";
import { guardProcess } from "../process-guard.js";
import { durationOption, logFormatOption, resolveTls, resolveTokenSource, withConnection, type TlsOptions } from "../options.js";
import { AUTH_GIVE_UP_MS } from "../../../agent/src/session.js";
import { formatDurationS } from "../../../common/src/units.js";

function portRange(v: string): PortRange {
  try {
    return parsePortRange(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** "10.244.1.5,fd00:10:244:1::5" (status.podIPs as the downward API gives it): at most 8 IP addresses. */
function podIps(v: string): string[] {
  const list = v
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  const bad = list.find((a) => !isIP(a));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad.slice(0, 64)}" is not an IP address; give the pod's addresses, comma-separated.`);
  if (list.length > 8) throw new InvalidArgumentError(`${list.length} addresses: a pod has at most one per family; give at most 8.`);
  return list;
}

function address(v: string): string {
  if (!isIP(v)) throw new InvalidArgumentError(`"${v}" is not an IP address; give the address peers reach this agent on.`);
  return v;
}

/** Where to serve /metrics: as asked, else 0.0.0.0:9101 for host agents and nowhere for pod agents (two per node would collide and repeat the node's figures). */
function metricsListen(given: string | undefined, mode: ModeName): { metrics?: string } {
  const v = given ?? (mode === "host" ? "0.0.0.0:9101" : "off");
  return v === "off" ? {} : { metrics: v };
}

export function agentCommand(): Command {
  return withConnection(new Command("agent"))
    .description("run an agent: dial out to the coordinator and run the tools it asks for")
    .addOption(new Option("--node <name>", "node this agent runs on").env("NETMATRIX_NODE").default(hostname()))
    .addOption(new Option("--mode <mode>", "network mode").choices(modes.names).env("NETMATRIX_MODE").default("host"))
    .addOption(new Option("--address <ip>", "address peers reach this agent on (default: first non-loopback IPv4)").env("NETMATRIX_ADDRESS").argParser(address))
    .addOption(
      new Option("--pod-ips <list>", "the pod's addresses of every family, comma-separated (the chart passes status.podIPs); registered after --address")
        .env("NETMATRIX_POD_IPS")
        .argParser(podIps),
    )
    .addOption(new Option("--pod <name>", "pod name (pod-network agents)").env("NETMATRIX_POD"))
    .addOption(
      new Option(
        "--label <key=value>",
        'a label of this agent\'s node, e.g. topology.kubernetes.io/zone=eu-west-1a (repeatable, or comma-separated; env NETMATRIX_NODE_LABELS="k=v,k2=v2"): what `pairs: { sample: N, by: KEY }` and `pairs: { cover: K, by: KEY }` group nodes by',
      )
        .env("NETMATRIX_NODE_LABELS")
        .argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]),
    )
    .addOption(
      new Option(
        "--behind-nat",
        "the coordinator sees this agent connect from another address than --address (NAT, a port-forward): register anyway, as a client only (never a target) unless the coordinator trusts the address (--trust-declared-addresses)",
      ).env("NETMATRIX_BEHIND_NAT"),
    )
    .addOption(
      new Option("--proc-root <dir>", "procfs to sample; a host /proc mounted elsewhere (e.g. /host/proc) makes NIC counters come from its /1/net/dev, the node's own NICs")
        .env("NETMATRIX_PROC_ROOT")
        .default("/proc"),
    )
    .addOption(
      new Option("--net-dev <path>", "read NIC counters from this net/dev file (default: PROC_ROOT/net/dev, or PROC_ROOT/1/net/dev with a host /proc)").env("NETMATRIX_NET_DEV"),
    )
    .addOption(new Option("--metrics <host:port|off>", "serve Prometheus /metrics here (host agents default to 0.0.0.0:9101; pod agents to off)").env("NETMATRIX_METRICS"))
    .addOption(
      new Option("--port-range <min-max>", "ports tool servers may use").env("NETMATRIX_PORT_RANGE").default(parsePortRange("20000-20999"), "20000-20999").argParser(portRange),
    )
    .addOption(
      new Option(
        "--auth-give-up <duration>",
        "exit (status 2) once the coordinator has refused this agent's token or certificate for this long (seconds, or e.g. 90s, 5m); an unreachable coordinator is retried for ever",
      )
        .env("NETMATRIX_AUTH_GIVE_UP")
        .argParser(durationOption("--auth-give-up", 1, 7 * 86_400))
        .default(AUTH_GIVE_UP_MS / 1000, formatDurationS(AUTH_GIVE_UP_MS / 1000)),
    )
    .addOption(logFormatOption())
    .action(
      async (
        opts: TlsOptions & {
          coordinator: string;
          tokenFile?: string;
          node: string;
          mode: ModeName;
          address?: string;
          podIps?: string[];
          pod?: string;
          label?: string[];
          portRange: PortRange;
          procRoot: string;
          metrics?: string;
          netDev?: string;
          behindNat?: boolean;
          authGiveUp: number;
          logFormat?: LogFormat;
        },
      ) => {
        // Names are checked here with the coordinator's own rules: a bad --node or --pod stops the start, not every registration.
        for (const [flag, value] of [
          ["--node (env NETMATRIX_NODE; default: the host name)", opts.node],
          ["--pod (env NETMATRIX_POD)", opts.pod],
        ] as const) {
          const problem = value === undefined ? undefined : nameProblem(value);
          if (problem)
            throw new NetmatrixError("invalid-argument", `${flag} ${problem}`, { hint: 'use a Kubernetes-style name: letters, digits, "-" and ".", at most 253 characters' });
        }
        const labels = parseLabels(opts.label ?? [], "--label (env NETMATRIX_NODE_LABELS)");
        const log = createRootLogger({ base: { role: "agent", node: opts.node, mode: opts.mode }, ...(opts.logFormat ? { format: opts.logFormat } : {}) });
        guardProcess(log, "the agent");
        const token = resolveTokenSource(opts);
        const tls = resolveTls(opts);
        const agent = await startAgent(
          {
            coordinator: opts.coordinator,
            node: opts.node,
            mode: opts.mode,
            token: token.value,
            tokenSource: token.source,
            authGiveUpMs: opts.authGiveUp * 1000,
            ...(tls ? { tls } : {}),
            portRange: opts.portRange,
            // CPU, memory and process figures come from this container's /proc (the same node-wide
            // /proc/stat and /proc/meminfo; pids are ours); only NIC counters come from the host's.
            ...metricsListen(opts.metrics, opts.mode),
            ...(opts.netDev ? { netDevPath: opts.netDev } : opts.procRoot !== "/proc" ? { netDevPath: `${opts.procRoot}/1/net/dev` } : {}),
            ...(opts.address ? { address: opts.address } : {}),
            ...(opts.podIps?.length ? { podIps: opts.podIps } : {}),
            ...(opts.pod ? { pod: opts.pod } : {}),
            ...(opts.behindNat ? { behindNat: true } : {}),
            ...(Object.keys(labels).length ? { labels } : {}),
          },
          log,
        );
        const stop = (sig: string): void => {
          log.info({ signal: sig }, "stopping");
          void agent.stop();
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
        await agent.done;
      },
    );
}
