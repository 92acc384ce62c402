/** `netmatrix lab up|down|status|run`: a simulated cluster in network namespaces on this machine. */
import { Command, InvalidArgumentError, Option } from "commander";
import { stringify } from "yaml";
import { ADDRESS_BLOCK_MAX, checkPrefix, CNI_DESCRIPTIONS, CNI_MODES, DEFAULT_LAB_PREFIX, type CniMode } from "../../../lab/src/topology.js";
import { LAB_PORTS, labDown, labStatus, labUp, requireRoot, type LabState } from "../../../lab/src/lab.js";
import { kubeApiFiles, parseListen, startKubeApi } from "../../../lab/src/kube-api.js";
import { serviceCountersFile } from "../../../lab/src/lab-services-counters.js";
import { createRootLogger } from "../../../common/src/logger.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import { guardProcess } from "../process-guard.js";
import { labSpec } from "../../../lab/src/lab-spec.js";
import { specFromObject } from "../../../coordinator/src/matrix/index.js";
import { ControlClient } from "../control-client.js";
import { defaultDataDir } from "../defaults.js";
import { intOption } from "../options.js";
import { WIDE_HELP } from "../terminal.js";
import { REPORT_FORMATS, type ReportFormat } from "../../../report/src/report-render.js";
import { runMatrixCommand } from "./matrix-run.js";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { IMAGE_DATA_DIR } from "../../../lab/src/containers.js";
import { parseLabMtu, type LabMtu } from "../../../lab/src/lab-mtu.js";

function mtu(v: string): LabMtu {
  try {
    return parseLabMtu(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

interface UpOptions {
  nodes: number;
  cni: CniMode;
  nicRate?: string;
  mtu: LabMtu;
  external?: boolean;
  ipv6?: boolean;
  force?: boolean;
  dataDir: string;
  prefix: string;
  addressBlock: number;
  port: number;
  image?: string;
  rawPing?: boolean;
}

function rate(v: string): string {
  if (v === "off") return v;
  if (!/^\d+(\.\d+)?[kmgt]?bit$/i.test(v)) throw new InvalidArgumentError(`"${v}" is not a tc rate; use e.g. 1gbit, 10gbit, 500mbit`);
  return v.toLowerCase();
}

function prefix(v: string): string {
  try {
    return checkPrefix(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** --prefix and --data-dir: which lab a command means. */
function withLab(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--prefix <prefix>", "prefix of every namespace and root-namespace link of the lab (3-11 characters); a second lab beside the first needs its own")
        .env("NETMATRIX_LAB_PREFIX")
        .argParser(prefix)
        .default(DEFAULT_LAB_PREFIX),
    )
    .addOption(new Option("--data-dir <dir>", "coordinator data dir (token, runs, lab state)").env("NETMATRIX_DATA_DIR").default(defaultDataDir()));
}

function withTopology(cmd: Command): Command {
  return withLab(cmd)
    .addOption(new Option("--nodes <n>", "nodes").argParser(intOption("--nodes", 1, 16)).default(2))
    .addOption(new Option("--cni <mode>", `pod network: ${CNI_MODES.map((m) => `${m} (${CNI_DESCRIPTIONS[m]})`).join("; ")}`).choices([...CNI_MODES]).default("host-gw"))
    .option("--nic-rate <rate>", "limit each node's eth0 like a NIC of this speed (tbf), e.g. 1gbit; off = unlimited (lab run default: 1gbit, as field report 004's NICs)", rate)
    .addOption(
      new Option(
        "--mtu <bytes>",
        "MTU of the nodes' eth0 (underlay) and of the pod network (pods' eth0, veths, bridge, vxlan): 9000 = both (vxlan pods 50 bytes less), or node=9000,pod=8950 (576..65535)",
      )
        .argParser(mtu)
        .default({}, "1500"),
    )
    .option("--external", "add an external host outside the cluster (external-pod, external-nodeport)")
    .option(
      "--ipv6",
      "dual stack: IPv6 (ULA) underlay, pod and service addresses (ClusterIPs fd00:10:96::/112, ip6tables DNAT) beside the IPv4 ones, for specs with families: [ipv4, ipv6] (host-gw and vxlan)",
    )
    .option("--force", "clean up a half-built lab first")
    .addOption(
      new Option(
        "--address-block <n>",
        `root-namespace addresses: control links in 198.18.<1+n>.0/24, pod routes 10.244.<16n+i>.0/24 (0..${ADDRESS_BLOCK_MAX}); a second lab beside the first needs its own`,
      )
        .env("NETMATRIX_LAB_ADDRESS_BLOCK")
        .argParser(intOption("--address-block", 0, ADDRESS_BLOCK_MAX))
        .default(0),
    )
    .addOption(
      new Option("--port <port>", "the coordinator's gRPC port, its live page on the next one; 0 = any free ports")
        .env("NETMATRIX_LAB_PORT")
        .argParser(intOption("--port", 0, 65534))
        .default(LAB_PORTS.grpc),
    )
    .addOption(
      new Option(
        "--image <image>",
        "run the coordinator and agents as podman containers of this image (e.g. one scripts/build-image.sh built), with the Helm chart's security settings: non-root, read-only root, no capabilities",
      ).env("NETMATRIX_LAB_IMAGE"),
    )
    .option("--raw-ping", "with --image: host agents as root with NET_RAW, as the chart's agents.host.rawPing");
}

/** labUp's options from the command line. */
function upOptions(o: UpOptions, nicRate: string | undefined) {
  return {
    nodes: o.nodes,
    cni: o.cni,
    ...o.mtu,
    external: Boolean(o.external),
    ...(o.ipv6 ? { ipv6: true } : {}),
    force: Boolean(o.force),
    dataDir: o.dataDir,
    prefix: o.prefix,
    block: o.addressBlock,
    port: o.port,
    ...(nicRate && nicRate !== "off" ? { nicRate } : {}),
    ...(o.image ? { image: o.image } : {}),
    ...(o.rawPing ? { rawPing: true } : {}),
  };
}

/** Wait until every agent of the lab is registered. */
async function waitForAgents(state: LabState, timeoutMs = 45_000): Promise<void> {
  const want = state.topology.nodes.reduce((n, node) => n + 1 + node.pods.length, 0) + (state.topology.external ? 1 : 0);
  const client = new ControlClient(state.coordinator, readFileSync(state.tokenFile, "utf8").trim());
  const until = Date.now() + timeoutMs;
  try {
    for (;;) {
      const have = await client
        .listAgents()
        .then((r) => Math.max(r.agents.length, r.totalMatching))
        .catch(() => 0);
      if (have >= want) return;
      if (Date.now() > until) throw new Error(`only ${have} of ${want} lab agents registered within ${timeoutMs / 1000} s; see the logs in ${state.logDir}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    client.close();
  }
}

/** What is up; `next` adds the commands to try next (for `lab up`, not inside `lab run`, which tears the lab down itself). */
function printUp(state: LabState, next = true): void {
  const t = state.topology;
  process.stderr.write(
    [
      `lab up: ${t.nodes.length} nodes, CNI ${t.cni} (${CNI_DESCRIPTIONS[t.cni]}), underlay MTU ${t.mtu}, pod MTU ${t.podMtu}${t.nicRate ? `, NICs ${t.nicRate}` : ""}${t.external ? ", external host" : ""}${t.ipv6 ? ", dual stack (IPv6)" : ""}`,
      ...t.nodes.map((n) => `  ${n.name}: ${n.underlayAddress}, pods ${n.pods.map((p) => `${p.name} ${p.address}`).join(", ")}`),
      ...(state.image
        ? [
            `image ${state.image}: ${state.containers?.length ?? 0} containers (${state.topology.prefix}…), logs in ${state.logDir}; Services through the lab's Kubernetes API stand-in at https://${state.kubeApi?.address ?? "?"} (namespace ${state.kubeApi?.namespace ?? "?"})`,
          ]
        : []),
      `coordinator ${state.coordinator}, live page http://127.0.0.1:${state.httpPort}/?token=$(cat ${state.tokenFile})`,
      ...(next ? ["next: netmatrix agents · netmatrix watch · netmatrix run --spec default · netmatrix lab down"] : []),
      "",
    ].join("\n"),
  );
}

function printDown(r: Awaited<ReturnType<typeof labDown>>, dataDir: string): void {
  const containers = r.containers.length ? ` (${r.containers.length} containers)` : "";
  const runs = r.runs.length ? `; moved the image coordinator's runs ${r.runs.join(", ")} to ${join(dataDir, "runs")}` : "";
  process.stderr.write(`lab down: stopped ${r.stopped} processes${containers}, removed ${r.removed.length} namespaces/links${runs}\n`);
}

export function labCommand(): Command {
  const lab = new Command("lab").description("a simulated cluster in network namespaces on this machine (root)");
  lab.addCommand(
    withTopology(new Command("up"))
      .description("build the lab and start its coordinator and agents")
      .action(async (o: UpOptions) => {
        const state = await labUp(upOptions(o, o.nicRate));
        await waitForAgents(state);
        printUp(state);
      }),
  );
  lab.addCommand(
    withLab(new Command("down"))
      .description("stop the lab's processes and remove everything it created (idempotent)")
      .action(async (o: { dataDir: string; prefix: string }) => {
        printDown(await labDown(o.dataDir, o.prefix), o.dataDir);
      }),
  );
  lab.addCommand(
    withLab(new Command("status"))
      .description("what the lab has running and what exists")
      .addOption(new Option("--output <format>").choices(["table", "json"]).default("table"))
      .action(async (o: { dataDir: string; prefix: string; output: string }) => {
        const s = await labStatus(o.dataDir, o.prefix);
        if (o.output === "json") return void process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        if (!s.up && !s.objects.namespaces.length) return void process.stdout.write("no lab is up (netmatrix lab up)\n");
        const t = s.state?.topology;
        process.stdout.write(`lab: ${s.up ? "up" : "half-built (run netmatrix lab down)"}${t ? `, ${t.nodes.length} nodes, CNI ${t.cni}` : ""}\n`);
        for (const p of s.processes) process.stdout.write(`  ${p.alive ? "running" : "EXITED "}  ${p.name} (pid ${p.pid})\n`);
        if (s.state?.image) process.stdout.write(`  image ${s.state.image}${s.state.rawPing ? " (raw ping)" : ""}\n`);
        for (const c of s.containers) {
          process.stdout.write(`  ${c.status === "running" ? "running" : c.status.toUpperCase().padEnd(7)}  ${c.for}: container ${c.name}${c.pid ? ` (pid ${c.pid})` : ""}\n`);
        }
        process.stdout.write(`  ${s.objects.namespaces.length} namespaces, ${s.objects.rootLinks.length} root links\n`);
        if (s.serviceCounters) process.stdout.write(`  what removed Service rules counted: ${s.serviceCounters}\n`);
      }),
  );
  lab.addCommand(
    new Command("kube-api")
      .description("the lab's Kubernetes API stand-in for the image's coordinator (`lab up --image` starts it)")
      .requiredOption("--state <file>", "the lab's state file (DATA_DIR/lab/state.json)")
      .requiredOption("--listen <ip:port>", "where to serve HTTPS")
      .action(async (o: { state: string; listen: string }) => {
        requireRoot();
        const log = createRootLogger({ base: { role: "kube-api" } });
        guardProcess(log, "the lab's kube-api stand-in");
        const { host, port } = parseListen(o.listen);
        const state = JSON.parse(readFileSync(o.state, "utf8")) as LabState;
        if (!state?.kubeApi) {
          throw new NetmatrixError("failed-precondition", `${o.state} describes no lab with a Kubernetes API stand-in`, { hint: "netmatrix lab up --image IMAGE starts it" });
        }
        // The stand-in's files beside the state file (DATA_DIR/lab/kube-api).
        // What removed Service rules counted, beside the state file too (DATA_DIR/lab/service-counters.jsonl).
        const server = await startKubeApi({ topo: state.topology, files: kubeApiFiles(dirname(o.state)), host, port, log, countersFile: serviceCountersFile(dirname(o.state)) });
        await new Promise<void>((resolve) => {
          const stop = (signal: string): void => {
            log.info({ signal }, "shutting down");
            void server.close().then(resolve);
          };
          process.once("SIGTERM", () => stop("SIGTERM"));
          process.once("SIGINT", () => stop("SIGINT"));
        });
      }),
    { hidden: true },
  );
  lab.addCommand(
    withTopology(new Command("run"))
      .description("up → the lab's default matrix → report → down (unless --keep)")
      .option("--keep", "leave the lab up afterwards")
      .option("--duration <s>", "seconds per measurement, after --omit", intOption("--duration", 1, 60), 2)
      .option(
        "--omit <s>",
        "seconds dropped at the start of each measurement (TCP slow start); default 1, or 0 with --duration 1 (an omit must be shorter than the duration)",
        intOption("--omit", 0, 10),
      )
      .option("--repetitions <n>", "repetitions per case (3 or more give each row a spread and a 95 % confidence interval)", intOption("--repetitions", 1, 100), 3)
      .option("--reverse", "also measure the reverse direction of every path (doubles the matrix)")
      .option("--tools <list>", "tools to run, comma-separated (qperf adds one-way latency and a second throughput figure, and doubles the time)", "iperf3,ping")
      .addOption(new Option("--pairs <which>", "node pairs: one sampled pair or all ordered pairs").choices(["sample", "all"]).default("sample"))
      .option("--udp-bitrate <rate>", "UDP target rate (the lab's 1 Gbit NICs and a small machine carry 200M without loss)", "200M")
      .addOption(new Option("--output <format>", "report format").choices([...REPORT_FORMATS]).default("table"))
      .option("--wide", WIDE_HELP)
      .action(
        async (
          o: UpOptions & {
            keep?: boolean;
            duration: number;
            omit?: number;
            repetitions: number;
            reverse?: boolean;
            tools: string;
            pairs: "sample" | "all";
            udpBitrate: string;
            output: ReportFormat;
            wide?: boolean;
          },
        ) => {
          requireRoot();
          let down = false;
          const teardown = async (): Promise<void> => {
            if (o.keep || down) return;
            down = true;
            printDown(await labDown(o.dataDir, o.prefix), o.dataDir);
          };
          const onSignal = (): void => void teardown().finally(() => process.exit(130));
          process.once("SIGTERM", onSignal);
          process.once("SIGINT", onSignal);
          try {
            const t0 = performance.now();
            const state = await labUp(upOptions(o, o.nicRate ?? "1gbit"));
            await waitForAgents(state);
            printUp(state, o.keep === true);
            // Agents report their node's CPU over each 2 s heartbeat; let the lab's own start-up (seven agents
            // launching at once) leave that window, so the pre-run busy check sees the machine, not the lab starting.
            await new Promise((r) => setTimeout(r, 4500));
            const setupMs = performance.now() - t0;
            const raw = labSpec(state.topology, {
              durationS: o.duration,
              omitS: o.omit ?? (o.duration > 1 ? 1 : 0),
              repetitions: o.repetitions,
              reverse: Boolean(o.reverse),
              tools: o.tools
                .split(",")
                .map((t) => t.trim())
                .filter(Boolean),
              pairs: o.pairs,
              udpBitrate: o.udpBitrate,
            });
            const spec = specFromObject(raw, "lab");
            const t1 = performance.now();
            let runId = "";
            await runMatrixCommand({
              coordinator: state.coordinator,
              tokenFile: state.tokenFile,
              loaded: { spec, yaml: stringify(raw), source: "lab" },
              overrides: {},
              output: o.output,
              wide: Boolean(o.wide),
              allowPartial: true,
              onRunId: (id) => void (runId = id),
              // The image's coordinator writes under its /var/lib/netmatrix: a directory of the lab on this machine.
              ...(state.imageDataDir ? { localPath: (p: string) => (p.startsWith(`${IMAGE_DATA_DIR}/`) ? join(state.imageDataDir!, p.slice(IMAGE_DATA_DIR.length)) : p) } : {}),
            });
            const measureMs = performance.now() - t1;
            const t2 = performance.now();
            await teardown();
            // After `down` the image coordinator's runs are in DATA_DIR/runs too, as a lab of processes leaves them.
            if (state.image && runId) process.stderr.write(`results: ${join(o.keep ? state.imageDataDir! : o.dataDir, "runs", runId)} (netmatrix report ${runId})\n`);
            process.stderr.write(
              `lab run: setup ${(setupMs / 1000).toFixed(1)} s, matrix ${(measureMs / 1000).toFixed(1)} s, teardown ${((performance.now() - t2) / 1000).toFixed(1)} s\n`,
            );
          } finally {
            await teardown();
            process.off("SIGTERM", onSignal);
            process.off("SIGINT", onSignal);
          }
        },
      ),
  );
  return lab;
}
