/**
 * The coordinator's small web server: the live page, its assets (its own
 * script and stylesheet, and uPlot, served from node_modules, so it works
 * offline), the WebSocket feed at /ws, the run list at /api/runs and each
 * run's HTML report at /runs/RUN_ID/report.html (while it runs and after).
 *
 * Every route with data checks the shared token like every gRPC call: the
 * page takes it once (`/?token=…` sets an HttpOnly, SameSite=Strict cookie
 * and redirects to the same page without it), then the cookie carries it;
 * scripts may still pass `?token=` on /api/runs, the reports and /ws.
 *
 * Whatever arrives is hostile until checked: a request target that is not a
 * path, bad percent-encoding, a method other than GET/HEAD, a broken request
 * line or oversized headers get a 4xx with a plain-text reason, never a 500
 * and never a throw out of a handler. Every response carries the security
 * headers (`securityHeaders`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { InterfaceFilterSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import type { RunInfo } from "../../../gen/netmatrix/v1/control_pb.js";
import { WebSocketServer, type WebSocket } from "ws";
import { NetmatrixError } from "../../../common/src/errors.js";
import { tokenMatches } from "../../../common/src/token.js";
import { watchProblem, type WatchHub } from "../watch-hub.js";
import { Feed, FEED_STALL_MS } from "./feed.js";
import { livePage, PAGE_CSS, SCRIPT } from "./page.js";

const require = createRequire(import.meta.url);

/** Served as files, so the page needs no inline script or style (see PAGE_CSP). */
const ASSETS: Record<string, { type: string; body: () => Buffer }> = {
  "/assets/uPlot.iife.min.js": { type: "text/javascript; charset=utf-8", body: fileBody(require.resolve("uplot/dist/uPlot.iife.min.js")) },
  "/assets/uPlot.min.css": { type: "text/css; charset=utf-8", body: fileBody(require.resolve("uplot/dist/uPlot.min.css")) },
  "/assets/live.js": { type: "text/javascript; charset=utf-8", body: () => Buffer.from(SCRIPT) },
  "/assets/live.css": { type: "text/css; charset=utf-8", body: () => Buffer.from(PAGE_CSS) },
};

function fileBody(file: string): () => Buffer {
  let body: Buffer | undefined;
  return () => (body ??= readFileSync(file));
}

/** What the web server shows of the stored runs. */
export interface RunPages {
  /** Every run, newest first, with its live status. */
  list(): RunInfo[];
  /** The self-contained HTML report of one run (partial while it runs); throws a NetmatrixError "not-found". */
  reportHtml(runId: string): string;
  /**
   * CSP sources (`'sha256-…'`) of the report's inline scripts, the only
   * scripts its page may run; none given: the report page runs no script.
   */
  reportScriptHashes?: readonly string[];
}

export interface WebServer {
  port: number;
  close(): Promise<void>;
  /** Serve new connections with this certificate and key (a renewed certificate); only when started with TLS. */
  setTls?(tls: WebTls): void;
}

/** A certificate (chain) and its private key, PEM. */
export interface WebTls {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface WebServerDeps {
  hub: WatchHub;
  token: string;
  log: Logger;
  runs?: RunPages;
  /** Serve HTTPS (and wss://) with this certificate; undefined: plain HTTP. */
  tls?: WebTls;
}

/** Counters of what the edge refused, for logs and tests. */
export interface EdgeCounters {
  /** Requests answered 4xx because the request itself was malformed. */
  badRequests: number;
  /** Connections whose request line or headers Node's parser refused. */
  clientErrors: number;
  /** Errors a handler did not expect (answered 500, logged). */
  handlerErrors: number;
}

const DIRECTIVES = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** Plain text and JSON: nothing may load or run. */
const CSP_NONE = `default-src 'none'; ${DIRECTIVES}`;
/** The live page: its own script, styles and feed, nothing else, nothing inline. */
export const PAGE_CSP = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; ${DIRECTIVES}`;

/** A report page: its own inline scripts by hash (no others), inline styles, no requests. */
export function reportCsp(scriptHashes: readonly string[] = []): string {
  return `default-src 'none'; script-src ${scriptHashes.length ? scriptHashes.join(" ") : "'none'"}; style-src 'unsafe-inline'; img-src data:; ${DIRECTIVES}`;
}

/** Headers every response carries (with its own Content-Security-Policy). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
};

/** The cookie holding the token, per port, so two coordinators on one host do not overwrite each other's. */
export function tokenCookieName(port: number): string {
  return `netmatrix-token-${port}`;
}

const TEXT = "text/plain; charset=utf-8";
const SIGN_IN = "open the page once as /?token=TOKEN with the coordinator's token (its --token-file); the page then keeps it in a cookie";

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-security-policy": CSP_NONE, "content-type": type, "cache-control": "no-store", ...extra });
  res.end(body);
}

/** A complete HTTP/1.1 response for a raw socket (refused upgrades, parse errors), closing the connection. */
function rawResponse(status: number, reason: string, body: string): string {
  const headers = { ...SECURITY_HEADERS, "content-security-policy": CSP_NONE, "content-type": TEXT, "content-length": String(Buffer.byteLength(body)), connection: "close" };
  return `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}\r\n\r\n${body}`;
}

/**
 * The request target as a URL, or why it is refused. Only origin-form
 * targets (`/path?query`, what browsers send) are served; the whole target
 * must be valid percent-encoding (UTF-8). Never throws.
 */
export function parseTarget(raw: string | undefined): URL | string {
  if (typeof raw !== "string" || !raw.startsWith("/") || raw.startsWith("//")) {
    return `the request target ${JSON.stringify(String(raw).slice(0, 100))} is not a path: ask for /, /api/runs or /ws`;
  }
  try {
    decodeURIComponent(raw);
  } catch {
    return "the request target has bad percent-encoding (a % not followed by two hex digits of valid UTF-8)";
  }
  try {
    // A fixed origin, so "//host:port/…" stays a path and never becomes an authority.
    return new URL(`http://netmatrix.invalid${raw}`);
  } catch {
    return "the request target is not a valid URL path";
  }
}

/** The value of cookie `name` in a Cookie header, or undefined (bounded, never throws). */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";", 64)) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export async function startWebServer(listen: string, deps: WebServerDeps): Promise<WebServer> {
  const { log } = deps;
  const counters: EdgeCounters = { badRequests: 0, clientErrors: 0, handlerErrors: 0 };
  let port = 0;
  const cookieName = (): string => tokenCookieName(port);
  const cookieToken = (req: IncomingMessage): boolean => tokenMatches(cookieValue(req.headers.cookie, cookieName()), deps.token);

  const badRequest = (res: ServerResponse, status: number, why: string): void => {
    counters.badRequests++;
    log.debug({ status, why }, "request refused");
    send(res, status, TEXT, `${why}\n`);
  };

  /** /?token=…: set the cookie and redirect to the page without the token; wrong token: 401. */
  const signIn = (url: URL, res: ServerResponse): void => {
    if (!tokenMatches(url.searchParams.get("token"), deps.token)) {
      return send(res, 401, TEXT, `wrong token: ${SIGN_IN}\n`);
    }
    const rest = new URLSearchParams(url.searchParams);
    rest.delete("token");
    const query = rest.toString();
    const cookie = `${cookieName()}=${encodeURIComponent(deps.token)}; HttpOnly; SameSite=Strict; Path=/${deps.tls ? "; Secure" : ""}`;
    send(res, 303, TEXT, "signed in\n", { location: `${url.pathname}${query ? `?${query}` : ""}`, "set-cookie": cookie });
  };

  /** /api/runs and /runs/ID/report.html; false when `url` is neither. */
  const serveRuns = (req: IncomingMessage, url: URL, res: ServerResponse): boolean => {
    const report = /^\/runs\/([^/]+)\/report\.html$/.exec(url.pathname);
    if (url.pathname !== "/api/runs" && !report) return false;
    if (!deps.runs) return (send(res, 404, TEXT, "this coordinator keeps no runs\n"), true);
    if (!tokenMatches(url.searchParams.get("token"), deps.token) && !cookieToken(req)) {
      return (send(res, 401, TEXT, `wrong or missing token: add ?token=TOKEN, or ${SIGN_IN}\n`), true);
    }
    try {
      if (!report) {
        const runs = deps.runs
          .list()
          .map((r) => ({ runId: r.runId, name: r.name, status: r.status, createdAt: new Date(r.createdAtMs).toISOString(), total: r.total, done: r.done, failed: r.failed }));
        send(res, 200, "application/json", JSON.stringify({ runs }));
      } else {
        // parseTarget checked the whole target's percent-encoding, so this cannot throw.
        const html = deps.runs.reportHtml(decodeURIComponent(report[1]!));
        send(res, 200, "text/html; charset=utf-8", html, { "content-security-policy": reportCsp(deps.runs.reportScriptHashes) });
      }
    } catch (err) {
      const notFound = err instanceof NetmatrixError && err.code === "not-found";
      if (!notFound) {
        counters.handlerErrors++;
        log.error({ err }, "cannot serve a run page");
      }
      send(res, notFound ? 404 : 500, TEXT, notFound ? `${(err as Error).message}\n` : "the coordinator could not render this page; its log says why\n");
    }
    return true;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = parseTarget(req.url);
    if (typeof url === "string") return badRequest(res, 400, url);
    if (req.httpVersion === "1.1" && !req.headers.host) return badRequest(res, 400, "the request has no Host header (HTTP/1.1 requires one)");
    if (req.method !== "GET" && req.method !== "HEAD") {
      counters.badRequests++;
      return send(res, 405, TEXT, `method ${String(req.method).slice(0, 20)} not allowed: only GET and HEAD\n`, { allow: "GET, HEAD" });
    }
    const asset = ASSETS[url.pathname];
    if (asset) return send(res, 200, asset.type, asset.body(), { "cache-control": "no-cache" });
    if (url.pathname === "/" || url.pathname === "/index.html") {
      if (url.searchParams.has("token")) return signIn(url, res);
      if (!cookieToken(req)) return send(res, 401, TEXT, `not signed in: ${SIGN_IN}\n`);
      return send(res, 200, "text/html; charset=utf-8", livePage(), { "content-security-policy": PAGE_CSP });
    }
    if (serveRuns(req, url, res)) return;
    if (url.pathname === "/favicon.ico") return send(res, 204, TEXT, "");
    send(res, 404, TEXT, "not found\n");
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handle(req, res);
    } catch (err) {
      // A bug, not the client's fault: answer it and keep serving everyone else.
      counters.handlerErrors++;
      log.error({ err, url: String(req.url).slice(0, 200) }, "web request failed");
      if (!res.headersSent) send(res, 500, TEXT, "internal error; the coordinator's log says why\n");
      else res.destroy();
    }
  };

  // Node's own answer to a missing Host is a bare 400; ours says why, with the headers.
  const options = { requireHostHeader: false };
  const http: Server = deps.tls ? createHttpsServer({ ...options, cert: deps.tls.cert, key: deps.tls.key }, onRequest) : createServer(options, onRequest);
  // Slow or idle clients do not hold connections for long.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    counters.clientErrors++;
    log.debug({ code: err.code, reason: err.message }, "malformed request refused");
    if (!socket.writable || err.code === "ECONNRESET") return void socket.destroy();
    const [status, reason, why] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "the request's headers are too large"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", "the request took too long to arrive"]
          : [400, "Bad Request", `malformed HTTP request (${err.code ?? "parse error"})`];
    socket.end(rawResponse(status, reason, `${why}\n`));
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  if (deps.tls) http.on("tlsClientError", (err: Error) => log.debug({ reason: err.message }, "TLS handshake refused"));

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const refuseUpgrade = (socket: Duplex, status: number, reason: string, why: string): void => {
    counters.badRequests++;
    log.debug({ status, why }, "WebSocket upgrade refused");
    socket.end(rawResponse(status, reason, `${why}\n`));
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = parseTarget(req.url);
    if (typeof url === "string") return refuseUpgrade(socket, 400, "Bad Request", url);
    if (url.pathname !== "/ws") return refuseUpgrade(socket, 404, "Not Found", "no WebSocket here: the feed is /ws");
    const problem = handshakeProblem(req);
    if (problem) return refuseUpgrade(socket, 400, "Bad Request", `not a WebSocket handshake: ${problem}`);
    const byQuery = tokenMatches(url.searchParams.get("token"), deps.token);
    if (!byQuery && !cookieToken(req)) return refuseUpgrade(socket, 401, "Unauthorized", `wrong or missing token: ${SIGN_IN}`);
    // The cookie is a browser's: only a page of this server may use it (no cross-site WebSocket hijacking).
    if (!byQuery && !sameOrigin(req)) return refuseUpgrade(socket, 403, "Forbidden", "the feed is for this server's own page (Origin does not match Host)");
    // The page passes its own ?interval= through: clamped, as the page always did.
    const intervalMs = Math.min(60_000, Math.max(100, Math.round(Number(url.searchParams.get("interval") ?? 1000)) || 1000));
    const node = url.searchParams.get("node") ?? "";
    const include = (url.searchParams.get("interface") ?? "").split(",", 1000).filter(Boolean);
    const watchRefused = watchProblem({ node, intervalMs, include, exclude: [] });
    if (watchRefused) return refuseUpgrade(socket, 400, "Bad Request", `feed refused: ${watchRefused}`);
    wss.handleUpgrade(req, socket, head, (ws) => startFeed(ws, { node, intervalMs, include }));
  };

  const startFeed = (ws: WebSocket, w: { node: string; intervalMs: number; include: string[] }): void => {
    ws.on("error", (err) => log.debug({ reason: err.message }, "browser feed error"));
    // The page sends nothing; whatever a client sends is ignored (and bounded by maxPayload).
    const feed = new Feed(ws, undefined, {
      ms: FEED_STALL_MS,
      onStall: (reason) => {
        log.warn({ reason, skippedTicks: watcher.stats().skipped }, "browser cut off: it stopped reading");
        ws.close(1008, "too slow: the browser stopped reading");
        setTimeout(() => ws.terminate(), 1000).unref();
      },
    });
    const watcher = deps.hub.watch({ node: w.node, intervalMs: w.intervalMs, filter: create(InterfaceFilterSchema, { include: w.include }) }, feed);
    // Ticks check the stall bound too; this covers long intervals.
    const stallCheck = setInterval(() => feed.checkStall(), 1000);
    log.info({ node: w.node, intervalMs: w.intervalMs }, "browser watching");
    ws.on("close", () => {
      clearInterval(stallCheck);
      watcher.stop();
      const { skipped } = watcher.stats();
      log.info({ skippedTicks: skipped, sent: feed.sent }, "browser left");
    });
  };

  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the socket over without an error listener: a reset would otherwise throw.
    socket.on("error", (err) => log.debug({ reason: err.message }, "upgrade socket error"));
    try {
      onUpgrade(req, socket, head);
    } catch (err) {
      counters.handlerErrors++;
      log.error({ err }, "WebSocket upgrade failed");
      if (socket.writable) socket.end(rawResponse(500, "Internal Server Error", "internal error; the coordinator's log says why\n"));
      else socket.destroy();
    }
  });

  const [host, portText] = [listen.slice(0, listen.lastIndexOf(":")), listen.slice(listen.lastIndexOf(":") + 1)];
  await new Promise<void>((resolve, reject) => {
    http.once("error", (err) =>
      reject(new NetmatrixError("unavailable", `cannot serve the web page on ${listen}: ${err.message}`, { hint: "pick another --http HOST:PORT, or --http off" })),
    );
    http.listen(Number(portText), host.replace(/^\[(.*)\]$/, "$1") || "0.0.0.0", () => resolve());
  });
  port = (http.address() as { port: number }).port;
  http.on("error", (err) => log.error({ err }, "web server error"));
  const tlsServer = deps.tls ? (http as ReturnType<typeof createHttpsServer>) : undefined;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
    ...(tlsServer ? { setTls: (tls: WebTls) => tlsServer.setSecureContext({ cert: tls.cert, key: tls.key }) } : {}),
  };
}

/** Why `req` is not a WebSocket handshake (RFC 6455 §4.2.1) the feed takes, or undefined. */
function handshakeProblem(req: IncomingMessage): string | undefined {
  if (req.method !== "GET") return `method ${String(req.method).slice(0, 20)} (a handshake is a GET)`;
  if (String(req.headers.upgrade).toLowerCase() !== "websocket") return "Upgrade is not websocket";
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !/^[+/0-9A-Za-z]{22}==$/.test(key)) return "missing or invalid Sec-WebSocket-Key";
  if (req.headers["sec-websocket-version"] !== "13") return "Sec-WebSocket-Version must be 13";
  return undefined;
}

/** Whether a browser's Origin names the host it asked (scheme aside: TLS may end in front of us). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (typeof origin !== "string" || typeof host !== "string") return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
