/**
 * The coordinator's small web server: the live page, its assets (uPlot,
 * served from node_modules, so it works offline), the WebSocket feed at
 * /ws?token=…, the run list at /api/runs?token=… and each run's HTML report
 * at /runs/RUN_ID/report.html?token=… (while it runs and after). Every route
 * with data checks the shared token like every gRPC call.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { InterfaceFilterSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import type { RunInfo } from "../../../gen/netmatrix/v1/control_pb.js";
import { WebSocketServer } from "ws";
import { NetmatrixError } from "../../../common/src/errors.js";
import { tokenMatches } from "../../../common/src/token.js";
import type { WatchHub } from "../watch-hub.js";
import { Feed } from "./feed.js";
import { livePage } from "./page.js";

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  "/assets/uPlot.iife.min.js": { file: require.resolve("uplot/dist/uPlot.iife.min.js"), type: "text/javascript" },
  "/assets/uPlot.min.css": { file: require.resolve("uplot/dist/uPlot.min.css"), type: "text/css" },
};

/** What the web server shows of the stored runs. */
export interface RunPages {
  /** Every run, newest first, with its live status. */
  list(): RunInfo[];
  /** The self-contained HTML report of one run (partial while it runs); throws a NetmatrixError "not-found". */
  reportHtml(runId: string): string;
}

export interface WebServer {
  port: number;
  close(): Promise<void>;
}

/** Serve the live page on `listen` (HOST:PORT; port 0 picks one). */
function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

/** /api/runs and /runs/ID/report.html; false when `url` is neither. */
function serveRuns(url: URL, res: ServerResponse, deps: { token: string; runs?: RunPages; log: Logger }): boolean {
  const report = /^\/runs\/([^/]+)\/report\.html$/.exec(url.pathname);
  if (url.pathname !== "/api/runs" && !report) return false;
  if (!deps.runs) return (send(res, 404, "text/plain", "this coordinator keeps no runs\n"), true);
  if (!tokenMatches(url.searchParams.get("token"), deps.token)) {
    return (send(res, 401, "text/plain; charset=utf-8", "wrong or missing token: add ?token=TOKEN (the coordinator's token file)\n"), true);
  }
  try {
    if (!report) {
      const runs = deps.runs
        .list()
        .map((r) => ({ runId: r.runId, name: r.name, status: r.status, createdAt: new Date(r.createdAtMs).toISOString(), total: r.total, done: r.done, failed: r.failed }));
      send(res, 200, "application/json", JSON.stringify({ runs }));
    } else {
      send(res, 200, "text/html; charset=utf-8", deps.runs.reportHtml(decodeURIComponent(report[1]!)));
    }
  } catch (err) {
    const notFound = err instanceof NetmatrixError && err.code === "not-found";
    if (!notFound) deps.log.error({ err }, "cannot serve a run page");
    send(res, notFound ? 404 : 500, "text/plain; charset=utf-8", `${err instanceof Error ? err.message : String(err)}\n`);
  }
  return true;
}

export async function startWebServer(listen: string, deps: { hub: WatchHub; token: string; log: Logger; runs?: RunPages }): Promise<WebServer> {
  const cache = new Map<string, Buffer>();
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    const asset = ASSETS[url.pathname];
    if (asset) {
      let body = cache.get(asset.file);
      if (!body) cache.set(asset.file, (body = readFileSync(asset.file)));
      res.writeHead(200, { "content-type": asset.type, "cache-control": "max-age=3600" });
      return res.end(body);
    }
    if (url.pathname === "/" || url.pathname === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      return res.end(livePage());
    }
    if (serveRuns(url, res, deps)) return;
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  http.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/ws" || !tokenMatches(url.searchParams.get("token"), deps.token)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\n\r\nwrong or missing token: open the page as /?token=TOKEN\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const feed = new Feed(ws);
      const intervalMs = Math.min(60_000, Math.max(100, Number(url.searchParams.get("interval") ?? 1000) || 1000));
      const node = url.searchParams.get("node") ?? "";
      const include = (url.searchParams.get("interface") ?? "").split(",").filter(Boolean);
      const stop = deps.hub.watch({ node, intervalMs, filter: create(InterfaceFilterSchema, { include }) }, (b) => feed.push(b));
      const drain = setInterval(() => feed.flush(), 100);
      deps.log.info({ node, intervalMs }, "browser watching");
      ws.on("close", () => {
        clearInterval(drain);
        stop();
        deps.log.info({ dropped: feed.dropped, sent: feed.sent }, "browser left");
      });
    });
  });
  const [host, portText] = [listen.slice(0, listen.lastIndexOf(":")), listen.slice(listen.lastIndexOf(":") + 1)];
  await new Promise<void>((resolve, reject) => {
    http.once("error", (err) =>
      reject(new NetmatrixError("unavailable", `cannot serve the web page on ${listen}: ${err.message}`, { hint: "pick another --http HOST:PORT, or --http off" })),
    );
    http.listen(Number(portText), host || "0.0.0.0", () => resolve());
  });
  const port = (http.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
