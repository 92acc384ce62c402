/**
 * The environment section of a report: per node what the agents saw
 * (kernel, CPU, interfaces with MTU and link speed), which agents ran there,
 * the tool versions (agents with identical versions grouped), the CNI guess
 * and the spec as written. Pure: built from what `GetRun` returns.
 */
import type { AgentStatus, GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { matrixSpecDocument } from "../../common/src/matrix-spec.js";
import { modes } from "../../common/src/model.js";
import { toolName } from "../../tools/src/index.js";
import { guessCni, type CniGuess } from "./cni-guess.js";
import { naturalCompare } from "./heatmap.js";

export interface EnvironmentInterface {
  name: string;
  mtu: number;
  /** Link speed, Mbit/s; null when unknown. */
  speedMbps: number | null;
  addresses: string[];
}

export interface EnvironmentNode {
  node: string;
  /** The agent the node facts come from: the host-network agent when there is one. */
  source: string;
  kernel: string;
  cpuModel: string;
  /** Logical CPUs; null when unknown. */
  cpuCount: number | null;
  interfaces: EnvironmentInterface[];
  agents: { id: string; mode: string; address: string }[];
}

export interface ToolVersions {
  /** e.g. "iperf3 3.12 · ping 20221126"; missing tools as "qperf missing". */
  versions: string;
  /** The agents with exactly these versions. */
  agents: string[];
}

export interface Environment {
  nodes: EnvironmentNode[];
  tools: ToolVersions[];
  cni: CniGuess;
  /** The spec as written (YAML), or the spec as run (JSON) when no YAML was kept. */
  specYaml: string;
}

const modeOf = (a: AgentStatus): string => modes.toName(a.info?.mode ?? 0) ?? "unknown";
const nodeOf = (a: AgentStatus): string => a.info?.node || a.agentId;

function versions(a: AgentStatus): string {
  const tools = [...(a.info?.tools ?? [])].sort((x, y) => x.tool - y.tool);
  return tools.map((t) => (t.available ? `${toolName(t.tool)} ${t.version || "?"}` : `${toolName(t.tool)} missing`)).join(" · ") || "no tools reported";
}

/** The environment section of `resp`. */
export function environment(resp: GetRunResponse): Environment {
  const agents = [...resp.agents].sort((a, b) => naturalCompare(a.agentId, b.agentId));
  const byNode = new Map<string, AgentStatus[]>();
  for (const a of agents) byNode.set(nodeOf(a), [...(byNode.get(nodeOf(a)) ?? []), a]);

  const nodes = [...byNode.entries()]
    .sort((a, b) => naturalCompare(a[0], b[0]))
    .map(([node, list]): EnvironmentNode => {
      const src = list.find((a) => modeOf(a) === "host") ?? list[0]!;
      const info = src.info;
      return {
        node,
        source: src.agentId,
        kernel: info?.kernel ?? "",
        cpuModel: info?.cpuModel ?? "",
        cpuCount: info?.cpuCount || null,
        interfaces: [...(info?.interfaces ?? [])]
          .sort((a, b) => naturalCompare(a.name, b.name))
          .map((i) => ({ name: i.name, mtu: i.mtu, speedMbps: i.speedMbps || null, addresses: [...i.addresses] })),
        agents: list.map((a) => ({ id: a.agentId, mode: modeOf(a), address: a.info?.addresses[0] ?? "" })),
      };
    });

  const tools = new Map<string, string[]>();
  for (const a of agents) tools.set(versions(a), [...(tools.get(versions(a)) ?? []), a.agentId]);

  const cni = guessCni(
    agents.map((a) => ({
      mode: modeOf(a),
      address: a.info?.addresses[0] ?? "",
      interfaces: (a.info?.interfaces ?? []).map((i) => ({ name: i.name, mtu: i.mtu, addresses: i.addresses })),
    })),
  );

  return {
    nodes,
    tools: [...tools.entries()].map(([v, ids]) => ({ versions: v, agents: ids })),
    cni,
    specYaml: resp.specYaml || (resp.spec ? JSON.stringify(matrixSpecDocument(resp.spec)) : ""),
  };
}
