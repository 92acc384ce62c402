/**
 * ListAgents, one bounded page at a time: at most `page_size` agents (and
 * never near the 4 MiB message limit) after an opaque cursor, filtered by
 * node glob, mode and node labels. With 15,000 agents one response with
 * every AgentStatus is larger than gRPC takes; a page reads a window of the
 * registry's sorted index, not the whole registry.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ListAgentsResponseSchema, type ListAgentsRequest, type ListAgentsResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { AgentInfoSchema, NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { labelsProblems, LABEL_SYNTAX, preview } from "../../common/src/registration.js";
import type { AgentLink } from "./agent-link.js";
import type { AgentLocks } from "./locks.js";
import type { AgentQuery, Registry } from "./registry.js";
import { agentStatus } from "./status.js";
import { globMatches, WATCH_LIMITS } from "./watch-hub.js";

export const LIST_AGENTS_LIMITS = {
  /** Agents per page when the request says 0. */
  defaultPageSize: 500,
  /** The most agents a page may ask for. */
  maxPageSize: 1000,
  /** A node glob, as Watch's. */
  maxGlobChars: WATCH_LIMITS.maxGlobChars,
  /** A page token (base64url of an agent id: node and pod names of 253 characters at most). */
  maxTokenChars: 1024,
  /** Label selectors, as an agent's labels. */
  maxLabels: 32,
  /**
   * Encoded agents per response, bytes: a page stops before it would pass
   * this (it always holds one agent), well under grpc-js's 4 MiB receive
   * limit. An agent on a node with a veth per pod lists hundreds of interfaces.
   */
  maxResponseBytes: 3 * 1024 * 1024,
} as const;

const TOKEN_PREFIX = "a1:";
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** An agent id: node/mode[/pod], DNS names, so printable ASCII. */
const AGENT_ID = /^[!-~]+$/;

/** The page token that resumes after agent `id`: opaque to clients. */
export function pageToken(id: string): string {
  return Buffer.from(`${TOKEN_PREFIX}${id}`, "utf8").toString("base64url");
}

/** The agent id a page token resumes after; throws invalid-argument when it is not one this coordinator made. */
export function pageTokenId(token: string): string {
  const refuse = (why: string) =>
    new NetmatrixError("invalid-argument", `page token ${preview(token)} refused: ${why}`, {
      hint: "pass next_page_token from the previous ListAgents response unchanged, or none for the first page",
    });
  if (token.length > LIST_AGENTS_LIMITS.maxTokenChars) throw refuse(`it is ${token.length} characters, more than ${LIST_AGENTS_LIMITS.maxTokenChars}`);
  if (!BASE64URL.test(token)) throw refuse("it is not base64url");
  const text = Buffer.from(token, "base64url").toString("utf8");
  // Decoding is lenient (stray bits, replacement characters): only a token that encodes back to itself is one of ours.
  const id = text.slice(TOKEN_PREFIX.length);
  if (!text.startsWith(TOKEN_PREFIX) || pageToken(id) !== token || !AGENT_ID.test(id)) throw refuse("it is not a token this coordinator issued");
  return id;
}

/** Why a ListAgents request is refused, or undefined. */
export function listAgentsProblem(req: Pick<ListAgentsRequest, "pageSize" | "node" | "mode" | "labels">): string | undefined {
  const L = LIST_AGENTS_LIMITS;
  if (req.pageSize > L.maxPageSize) return `page size ${req.pageSize} is above the limit of ${L.maxPageSize}`;
  if (req.node.length > L.maxGlobChars) return `the node pattern is ${req.node.length} characters long, more than ${L.maxGlobChars}`;
  if (!(req.mode in NetworkMode)) return `mode ${req.mode} is not a network mode`;
  const labels = Object.keys(req.labels);
  if (labels.length > L.maxLabels) return `${labels.length} label selectors, more than ${L.maxLabels}`;
  const problems = labelsProblems(req.labels, "");
  if (problems.length) return `label selector: ${problems.map((p) => `${p.field === "labels" ? "label" : p.field} ${p.problem}`).join("; ")} (${LABEL_SYNTAX})`;
  return undefined;
}

/** Which agents a request's filters select, for the registry. */
function agentQuery(req: ListAgentsRequest): AgentQuery {
  const conditions: ((l: AgentLink) => boolean)[] = [];
  const query: AgentQuery = {};
  if (req.node !== "" && !req.node.includes("*")) {
    // A literal node name: read that node's agents from the node index.
    query.node = req.node;
  } else if (req.node !== "" && req.node !== "*") {
    // A node's agents share its name: match each name once per request.
    const seen = new Map<string, boolean>();
    conditions.push((l) => {
      let m = seen.get(l.info.node);
      if (m === undefined) seen.set(l.info.node, (m = globMatches(req.node, l.info.node)));
      return m;
    });
  }
  if (req.mode !== NetworkMode.UNSPECIFIED) conditions.push((l) => l.info.mode === req.mode);
  const labels = Object.entries(req.labels);
  if (labels.length) conditions.push((l) => labels.every(([k, v]) => Object.hasOwn(l.info.labels, k) && l.info.labels[k] === v));
  if (conditions.length) query.filter = (l) => conditions.every((c) => c(l));
  return query;
}

/** Each registered agent's encoded AgentInfo size (an agent's info does not change during its session): encoding is the costly part of a page. */
const infoBytes = new WeakMap<AgentLink, number>();

/**
 * No less than the bytes `link`'s AgentStatus takes in a response, without
 * encoding it: its info's encoding (measured once per session) plus a bound
 * on the rest — id, peer, address check, and the fixed-size fields (times,
 * flag, load: under 100 bytes) with every tag and length prefix.
 */
function statusBytes(link: AgentLink): number {
  let info = infoBytes.get(link);
  if (info === undefined) infoBytes.set(link, (info = toBinary(AgentInfoSchema, link.info).length));
  return info + link.id.length + link.peer.length + link.addressCheck.length + 200;
}

/** One page of ListAgents; throws invalid-argument, naming the bound, for a request out of bounds. */
export function listAgents(registry: Registry, locks: AgentLocks, req: ListAgentsRequest): ListAgentsResponse {
  const problem = listAgentsProblem(req);
  if (problem) throw new NetmatrixError("invalid-argument", `list of agents refused: ${problem}`, { hint: "see `netmatrix agents --help`" });
  const afterId = req.pageToken ? pageTokenId(req.pageToken) : undefined;
  const query = agentQuery(req);
  const page = registry.page({ ...query, limit: req.pageSize || LIST_AGENTS_LIMITS.defaultPageSize, ...(afterId === undefined ? {} : { afterId }) });
  const agents = [];
  let bytes = 0;
  let cut = false;
  for (const link of page.links) {
    bytes += statusBytes(link);
    if (agents.length && bytes > LIST_AGENTS_LIMITS.maxResponseBytes) {
      cut = true;
      break;
    }
    agents.push(agentStatus(link, locks.busy(link.id)));
  }
  const more = cut || page.more;
  return create(ListAgentsResponseSchema, {
    agents,
    nextPageToken: more ? pageToken(agents.at(-1)!.agentId) : "",
    totalMatching: registry.count(query),
  });
}
