/** `netmatrix agents`: list the agents connected to the coordinator. */
import { Command, Option } from "commander";
import Table from "cli-table3";
import { modes } from "../../../common/src/model.js";
import { toolName } from "../../../tools/src/index.js";
import { connect, withConnection, type ConnectionOptions } from "../options.js";

export function agentsCommand(): Command {
  return withConnection(new Command("agents"))
    .description("list connected agents")
    .addOption(new Option("--output <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts: ConnectionOptions & { output: "table" | "json" }) => {
      const client = connect(opts);
      try {
        const { agents } = await client.listAgents();
        const rows = agents.map((a) => ({
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
          busy: a.busy,
          lastSeenAgoMs: Math.round(a.lastSeenAgoMs),
        }));
        if (opts.output === "json") {
          process.stdout.write(`${JSON.stringify({ kind: "netmatrix.agents/v1", agents: rows }, null, 2)}\n`);
          return;
        }
        if (!rows.length) {
          process.stdout.write("no agents connected\n");
          return;
        }
        const table = new Table({ head: ["AGENT", "MODE", "ADDRESS", "TOOLS", "BUSY", "SEEN"], style: { head: [], border: [] } });
        const problems: string[] = [];
        for (const r of rows) {
          const tools = [
            ...r.tools.map((t) => `${t.tool} ${t.version}`),
            ...r.missingTools.map((t) => `${t} (missing)`),
            ...r.unusableTools.map((t) => `${t.tool} (cannot run, see below)`),
          ].join(", ");
          for (const t of r.unusableTools) problems.push(`${r.id}: ${t.tool} cannot run: ${t.problem}`);
          const address = r.addressCheck === "unverified" ? `${r.address} (behind NAT: client only)` : r.addressCheck === "trusted" ? `${r.address} (trusted)` : r.address;
          table.push([r.id, r.mode, address, tools, r.busy ? "yes" : "", `${(r.lastSeenAgoMs / 1000).toFixed(1)} s ago`]);
        }
        process.stdout.write(`${table.toString()}\n`);
        if (problems.length) process.stdout.write(`\n${problems.join("\n")}\n`);
      } finally {
        client.close();
      }
    });
}
