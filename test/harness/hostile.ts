/**
 * Hostile clients for the edge tests and bench:abuse: raw HTTP/1.1 over a
 * TCP socket (whatever bytes we like, no client library fixing them up),
 * raw gRPC over HTTP/2 (any path, any metadata, any body), the table of
 * hostile requests the coordinator's web server must refuse with a 4xx and a
 * plain-text reason, and seeded generators of random malformed requests.
 * Everything goes to 127.0.0.1 only, bounded in time.
 */
import { connect as h2connect, constants as h2 } from "node:http2";
import { connect } from "node:net";

export interface RawResponse {
  /** 0 when the server closed without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The connection ended (closed, reset or timed out) before or after the answer. */
  ended: "closed" | "reset" | "timeout";
}

function dechunk(body: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol < 0) return out;
    const n = parseInt(body.slice(at, eol), 16);
    if (!Number.isFinite(n) || n === 0) return out;
    out += body.slice(eol + 2, eol + 2 + n);
    at = eol + 2 + n + 2;
  }
}

/** Send `request` as is to 127.0.0.1:`port` and read until the server closes (or `timeoutMs`). */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 3000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let ended: RawResponse["ended"] = "closed";
    const timer = setTimeout(() => ((ended = "timeout"), socket.destroy()), timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => (ended = ended === "timeout" ? ended : "reset"));
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = split < 0 ? text : text.slice(0, split);
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const c = l.indexOf(":");
        if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
      }
      let body = split < 0 ? "" : text.slice(split + 4);
      if (headers["transfer-encoding"] === "chunked") body = dechunk(body);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: Buffer.from(body, "latin1").toString("utf8"), ended });
    });
  });
}

/** A request with the given first line and headers, `Host` and `Connection: close` added. */
export function httpRequest(line: string, headers: Record<string, string> = {}, body = ""): string {
  const h = { host: "127.0.0.1", connection: "close", ...headers };
  return `${line}\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}\r\n\r\n${body}`;
}

const UPGRADE = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };

export interface HostileCase {
  name: string;
  request: string;
  /** The status the server must answer. */
  status: number;
  /** What the plain-text answer must say. */
  says: RegExp;
}

/**
 * Requests the web server must refuse, each with its status and reason.
 * `token` is the real token (some cases are authenticated, to reach deeper),
 * `cookie` the name of the page's token cookie.
 */
export function hostileHttpCases(token: string, cookie: string): HostileCase[] {
  const big = "a".repeat(20_000);
  return [
    { name: "authority-looking path //a:b/", request: httpRequest("GET //a:b/ HTTP/1.1"), status: 400, says: /not a path/ },
    { name: "absolute-form with port 99999", request: httpRequest("GET http://a:99999/ HTTP/1.1"), status: 400, says: /not a path/ },
    { name: "absolute-form, valid", request: httpRequest("GET http://127.0.0.1/ HTTP/1.1"), status: 400, says: /not a path/ },
    { name: "asterisk-form", request: httpRequest("OPTIONS * HTTP/1.1"), status: 400, says: /not a path/ },
    { name: "bad percent-encoding in a path", request: httpRequest(`GET /runs/%zz/report.html?token=${token} HTTP/1.1`), status: 400, says: /percent-encoding/ },
    { name: "truncated UTF-8 percent-encoding", request: httpRequest(`GET /runs/%E0%A4%A/report.html?token=${token} HTTP/1.1`), status: 400, says: /percent-encoding/ },
    { name: "invalid UTF-8 in the query", request: httpRequest("GET /api/runs?token=%ff%fe HTTP/1.1"), status: 400, says: /percent-encoding/ },
    { name: "lone % in the query", request: httpRequest("GET /?token=% HTTP/1.1"), status: 400, says: /percent-encoding/ },
    { name: "path traversal to a run id", request: httpRequest(`GET /runs/..%2F..%2F..%2Fetc%2Fpasswd/report.html?token=${token} HTTP/1.1`), status: 404, says: /no run/ },
    { name: "wrong token on the page", request: httpRequest("GET /?token=nope HTTP/1.1"), status: 401, says: /wrong token/ },
    { name: "no token on the page", request: httpRequest("GET / HTTP/1.1"), status: 401, says: /not signed in/ },
    { name: "garbage cookie", request: httpRequest("GET /api/runs HTTP/1.1", { cookie: `${cookie}=%zz%; ${cookie}; =; ;;` }), status: 401, says: /token/ },
    { name: "POST with a body", request: httpRequest("POST / HTTP/1.1", { "content-length": "5" }, "hello"), status: 405, says: /only GET and HEAD/ },
    { name: "DELETE", request: httpRequest(`DELETE /api/runs?token=${token} HTTP/1.1`), status: 405, says: /only GET and HEAD/ },
    { name: "20 KB header", request: httpRequest("GET / HTTP/1.1", { "x-big": big }), status: 431, says: /too large/ },
    { name: "20 KB request target", request: httpRequest(`GET /?${big} HTTP/1.1`), status: 431, says: /too large/ },
    { name: "binary garbage", request: "\x00\x01\x02\xff\xfe garbage\r\n\r\n", status: 400, says: /malformed HTTP request/ },
    { name: "unknown HTTP version", request: "GET / HTTP/9.9\r\nhost: x\r\n\r\n", status: 400, says: /malformed HTTP request/ },
    { name: "HTTP/1.1 without Host", request: "GET /api/runs HTTP/1.1\r\nconnection: close\r\n\r\n", status: 400, says: /no Host header/ },
    { name: "control character in a header", request: httpRequest("GET / HTTP/1.1", { "x-evil": "a\x01b" }), status: 400, says: /malformed HTTP request/ },
    { name: "non-numeric Content-Length", request: httpRequest("GET / HTTP/1.1", { "content-length": "abc" }), status: 400, says: /malformed HTTP request/ },
    {
      name: "Content-Length and Transfer-Encoding together",
      request: httpRequest("POST / HTTP/1.1", { "content-length": "3", "transfer-encoding": "chunked" }, "0\r\n\r\n"),
      status: 400,
      says: /malformed HTTP request/,
    },
    { name: "WebSocket upgrade to //a:b/", request: httpRequest("GET //a:b/ HTTP/1.1", UPGRADE), status: 400, says: /not a path/ },
    { name: "WebSocket upgrade to http://a:99999/", request: httpRequest("GET http://a:99999/ HTTP/1.1", UPGRADE), status: 400, says: /not a path/ },
    { name: "WebSocket upgrade with bad percent-encoding", request: httpRequest("GET /ws?token=%zz HTTP/1.1", UPGRADE), status: 400, says: /percent-encoding/ },
    { name: "WebSocket upgrade elsewhere", request: httpRequest(`GET /api/runs?token=${token} HTTP/1.1`, UPGRADE), status: 404, says: /feed is \/ws/ },
    { name: "WebSocket upgrade without a token", request: httpRequest("GET /ws HTTP/1.1", UPGRADE), status: 401, says: /token/ },
    {
      name: "WebSocket upgrade with the cookie from another site",
      request: httpRequest("GET /ws HTTP/1.1", { ...UPGRADE, cookie: `${cookie}=${token}`, origin: "http://evil.example" }),
      status: 403,
      says: /Origin/,
    },
    {
      name: "WebSocket upgrade with a bad key",
      request: httpRequest(`GET /ws?token=${token} HTTP/1.1`, { ...UPGRADE, "sec-websocket-key": "x" }),
      status: 400,
      says: /Sec-WebSocket-Key/,
    },
    {
      name: "WebSocket upgrade with a 10 KB node pattern",
      request: httpRequest(`GET /ws?token=${token}&node=${"*".repeat(10_000)} HTTP/1.1`, UPGRADE),
      status: 400,
      says: /node pattern/,
    },
  ];
}

export interface GrpcAnswer {
  grpcStatus: number | undefined;
  grpcMessage: string;
  httpStatus: number | undefined;
  /** A transport error (reset, refused) instead of an answer. */
  error?: string;
}

/** `payload` as one length-prefixed gRPC message. */
export function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** One raw gRPC call over HTTP/2 to 127.0.0.1:`port`: any path, token, content type and body bytes. */
export function grpcRaw(port: number, o: { path: string; token?: string; body: Buffer; contentType?: string; timeoutMs?: number }): Promise<GrpcAnswer> {
  return new Promise((resolve) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    const answer: GrpcAnswer = { grpcStatus: undefined, grpcMessage: "", httpStatus: undefined };
    const done = (error?: string): void => {
      clearTimeout(timer);
      if (error && answer.grpcStatus === undefined) answer.error = error;
      session.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done("timeout"), o.timeoutMs ?? 5000);
    session.on("error", (e) => done(e.message));
    const headers: Record<string, string> = {
      [h2.HTTP2_HEADER_METHOD]: "POST",
      [h2.HTTP2_HEADER_PATH]: o.path,
      "content-type": o.contentType ?? "application/grpc",
      te: "trailers",
    };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    const req = session.request(headers);
    const take = (h: Record<string, unknown>): void => {
      if (h["grpc-status"] !== undefined) answer.grpcStatus = Number(h["grpc-status"]);
      if (typeof h["grpc-message"] === "string") answer.grpcMessage = decodeURIComponent(h["grpc-message"]);
    };
    req.on("response", (h) => {
      answer.httpStatus = Number(h[":status"]);
      take(h);
    });
    req.on("trailers", take);
    req.on("data", () => undefined);
    req.on("error", (e) => done(e.message));
    req.on("close", () => done());
    req.end(o.body);
  });
}

/** A small seeded PRNG (mulberry32), so a failing run can be repeated. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function junk(r: () => number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

/** A random malformed HTTP request: bad targets, bad encodings, huge or broken headers, garbage. */
export function randomMalformedHttp(r: () => number, token: string): Buffer {
  const targets = [
    "//a:b/",
    "http://a:99999/",
    "http://[::1",
    "/%",
    "/%zz",
    "/%E0%A4%A",
    "/runs/%ff/report.html",
    "*",
    "/ws?node=" + "*".repeat(300),
    "/" + "../".repeat(50),
    "/?token=" + "%".repeat(10),
  ];
  const kind = Math.floor(r() * 6);
  switch (kind) {
    case 0:
      return Buffer.from(httpRequest(`GET ${pick(r, targets)} HTTP/1.1`));
    case 1:
      return Buffer.from(httpRequest(`GET ${pick(r, targets)} HTTP/1.1`, UPGRADE));
    case 2:
      return Buffer.from(httpRequest("GET / HTTP/1.1", { [`x-${Math.floor(r() * 1e6)}`]: "h".repeat(8_000 + Math.floor(r() * 40_000)) }));
    case 3:
      return Buffer.from(
        httpRequest(`${pick(r, ["GET", "POST", "PUT", "BREW", "G\x00T"])} /api/runs?token=${r() < 0.5 ? token : "x"} HTTP/1.${pick(r, ["1", "0", "9"])}`, {
          "content-length": pick(r, ["-1", "abc", "99999999999", "0"]),
        }),
      );
    case 4:
      return Buffer.concat([Buffer.from("GET / HTTP/1.1\r\n"), junk(r, 1 + Math.floor(r() * 2000)), Buffer.from("\r\n\r\n")]);
    default:
      return junk(r, 1 + Math.floor(r() * 4000));
  }
}

/** Real method paths of the coordinator, and some that are not. */
export const GRPC_PATHS = [
  "/netmatrix.v1.ControlService/ListAgents",
  "/netmatrix.v1.ControlService/Watch",
  "/netmatrix.v1.ControlService/RunCase",
  "/netmatrix.v1.ControlService/RunMatrix",
  "/netmatrix.v1.ControlService/ListRuns",
  "/netmatrix.v1.ControlService/GetRun",
  "/netmatrix.v1.AgentService/Session",
];

/** A random malformed gRPC call: wrong or missing token, garbage bodies on real paths, unknown methods. */
export function randomMalformedGrpc(r: () => number, token: string): { path: string; token?: string; body: Buffer; contentType?: string } {
  const path = r() < 0.2 ? pick(r, ["/netmatrix.v1.ControlService/Nope", "/x", "/netmatrix.v1.Evil/Run", "/" + "a".repeat(2000)]) : pick(r, GRPC_PATHS);
  const auth = pick(r, [undefined, "wrong", token, token, "\u00ff\u00fe"]);
  const body = pick(r, [
    () => grpcFrame(junk(r, Math.floor(r() * 4000))),
    () => junk(r, Math.floor(r() * 100)),
    () => grpcFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), // a length far past the end
    () => Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), // a frame claiming 4 GB
    () => Buffer.concat([Buffer.from([1]), grpcFrame(junk(r, 50)).subarray(1)]), // "compressed" without an encoding
  ])();
  return { path, body, ...(auth === undefined ? {} : { token: auth }), ...(r() < 0.1 ? { contentType: "text/html" } : {}) };
}
