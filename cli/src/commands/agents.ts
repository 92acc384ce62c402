/** `netmatrix agents`: list the agents connected to the coordinator, page by page. */
import { Command, Option } from "commander";
import Table from "cli-table3";
import type { AgentStatus } from "../../../gen/netmatrix/v1/control_pb.js";
import { modes, type ModeName } from "../../../common/src/model.js";
import { parseLabels } from "../../../common/src/registration.js";
import { toolName } from "../../../tools/src/index.js";
import type { ControlClient } from "../control-client.js";
import { connect, intOption, withConnection, type ConnectionOptions } from "../options.js";

export interface AgentsOptions {
  output: "table" | "json";
  /** Node name glob. */
  node?: string;
  mode?: ModeName;
  /** KEY=VALUE items (each possibly comma-separated), all of which must match. */
  label?: string[];
  /** The first N agents only. */
  limit?: number;
}

/** One agent as `agents` prints it (the JSON document's `agents[]`). */
function agentRow(a: AgentStatus) {
  return {
    id: a.agentId,
    node: a.info?.node ?? "",
    mode: modes.toName(a.info?.mode ?? 0) ?? "unknown",
    pod: a.info?.pod ?? "",
    address: a.info?.addresses[0] ?? "",
    // "peer" (it connects from there), "trusted" (--trust-declared-addresses) or "unverified" (--behind-nat: a client only).
    addressCheck: a.addressCheck,
    tools: (a.info?.tools ?? []).filter((t) => t.available).map((t) => ({ tool: toolName(t.tool), version: t.version })),
    missingTools: (a.info?.tools ?? []).filter((t) => !t.available && !t.problem).map((t) => toolName(t.tool)),
    // On PATH but the agent cannot run them: why, and the fix.
    unusableTools: (a.info?.tools ?? []).filter((t) => !t.available && t.problem).map((t) => ({ tool: toolName(t.tool), problem: t.problem })),
    interfaces: (a.info?.interfaces ?? []).map((i) => ({ name: i.name, mtu: i.mtu, speedMbps: i.speedMbps, addresses: i.addresses })),
    kernel: a.info?.kernel ?? "",
    cpuModel: a.info?.cpuModel ?? "",
    agentVersion: a.info?.agentVersion ?? "",
    // The node's labels as the agent declared them (--label), e.g. its zone for `pairs: { cover: k, by: ... }`.
    labels: { ...(a.info?.labels ?? {}) },
    busy: a.busy,
    lastSeenAgoMs: Math.round(a.lastSeenAgoMs),
  };
}

type Row = ReturnType<typeof agentRow>;

const HEAD = ["AGENT", "MODE", "ADDRESS", "TOOLS", "BUSY", "SEEN"];

/**
 * The agents table, a page at a time: each page's rows with the same
 * borders as one table (column names on the first page only, columns
 * widened as later pages need, never narrowed), the bottom border at the end.
 * Rows with unusable tools add a line each to `problems`.
 */
class AgentsTable {
  private widths = HEAD.map((h) => h.length + 2);
  private pages = 0;
  private bottom = "";
  readonly problems: string[] = [];

  /** The lines of `rows` (not the bottom border). */
  page(rows: readonly Row[]): string {
    const cells = rows.map((r) => {
      const tools = [
        ...r.tools.map((t) => `${t.tool} ${t.version}`),
        ...r.missingTools.map((t) => `${t} (missing)`),
        ...r.unusableTools.map((t) => `${t.tool} (cannot run, see below)`),
      ].join(", ");
      for (const t of r.unusableTools) this.problems.push(`${r.id}: ${t.tool} cannot run: ${t.problem}`);
      const address = r.addressCheck === "unverified" ? `${r.address} (behind NAT: client only)` : r.addressCheck === "trusted" ? `${r.address} (trusted)` : r.address;
      return [r.id, r.mode, address, tools, r.busy ? "yes" : "", `${(r.lastSeenAgoMs / 1000).toFixed(1)} s ago`];
    });
    // Names, modes, addresses, tool versions and times are ASCII: a cell's width is its length, plus a space each side.
    for (const row of cells) row.forEach((c, i) => (this.widths[i] = Math.max(this.widths[i]!, c.length + 2)));
    const table = new Table({ head: this.pages === 0 ? HEAD : [], colWidths: this.widths, style: { head: [], border: [] } });
    table.push(...cells);
    const lines = table.toString().split("\n");
    this.bottom = lines.pop()!;
    // A later page goes on from the last row: its top border becomes a row separator.
    if (this.pages++ > 0) lines[0] = lines[0]!.replace("┌", "├").replaceAll("┬", "┼").replace("┐", "┤");
    return `${lines.join("\n")}\n`;
  }

  /** The bottom border ("" before any page). */
  end(): string {
    return this.bottom ? `${this.bottom}\n` : "";
  }
}

/**
 * List the agents `opts` selects to `out`, page by page: a table whose rows
 * are written as the pages come, or one JSON document once all have come (so a failure part-way
 * prints no half document). `err` gets notes for people (a --limit cut).
 */
export async function listAgentsTo(client: Pick<ControlClient, "agentPages">, opts: AgentsOptions, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  const query = {
    node: opts.node ?? "",
    mode: opts.mode ? modes.toEnum(opts.mode, "mode") : 0,
    labels: parseLabels(opts.label ?? [], "--label"),
  };
  const filtered = Boolean(opts.node || opts.mode || opts.label?.length);
  const json: Row[] = [];
  const table = new AgentsTable();
  let listed = 0;
  let total = 0;
  for await (const page of client.agentPages(query, opts.limit ?? Infinity)) {
    const rows = page.agents.map(agentRow);
    listed += rows.length;
    total = Math.max(page.totalMatching, listed);
    if (opts.output === "json") json.push(...rows);
    else if (rows.length) out(table.page(rows));
  }
  if (opts.output === "json") out(`${JSON.stringify({ kind: "netmatrix.agents/v1", agents: json }, null, 2)}\n`);
  else if (!listed) out(filtered ? "no connected agent matches --node, --mode and --label\n" : "no agents connected\n");
  else {
    out(table.end());
    if (table.problems.length) out(`\n${table.problems.join("\n")}\n`);
  }
  if (listed < total) err(`listed the first ${listed} of ${total} agents (--limit ${opts.limit})\n`);
}

export function agentsCommand(): Command {
  return withConnection(new Command("agents"))
    .description("list connected agents (all of them, page by page; filter with --node, --mode, --label)")
    .addOption(new Option("--output <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--node <glob>", "only agents of nodes matching this glob, e.g. node-a or 'worker-*'")
    .addOption(new Option("--mode <mode>", "only agents of this network mode").choices(modes.names))
    .option("--label <key=value>", "only agents whose node has this label (repeatable; all must match)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--limit <n>", "list the first N agents only", intOption("--limit", 1, 1_000_000))
    .action(async (opts: ConnectionOptions & AgentsOptions) => {
      parseLabels(opts.label ?? [], "--label"); // refused before connecting
      const client = connect(opts);
      try {
        await listAgentsTo(
          client,
          opts,
          (s) => process.stdout.write(s),
          (s) => process.stderr.write(s),
        );
      } finally {
        client.close();
      }
    });
}
