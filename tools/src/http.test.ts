import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { http, HTTP_BODY_FILE, HTTP_PATH, NGINX_CONF, nginxConf, nginxFailure, parseWrk, WRK_TIMEOUT_S } from "./http.js";
import type { CapturedOutput, ClientParams, FailureCode, Measurement } from "./types.js";

/**
 * Fixtures: real wrk 4.1.0 (Debian 4.1.0-3+b2) runs against nginx 1.22.1 run
 * as the driver configures it (`nginx -p DIR/ -c DIR/nginx.conf -e stderr`,
 * the configuration from nginxConf) on 127.0.0.1 / ::1, serving 0 B, 1 KiB
 * or 1 MiB; the error runs against nothing (refused), a Node listener that
 * never answers (no-answer), one that resets each connection (reset), one
 * that answers after 10.5 s (timeout), a path nginx answers with 404
 * (not-found) and, in a throw-away network namespace, 198.18.0.1
 * (net-unreachable). `bind-in-use.server.*` is nginx started on a port its
 * twin already held. <case>.stdout.txt, .stderr.txt, .meta.json ({ argv, exitCode }).
 */
function load(name: string): { out: CapturedOutput; argv: string[] } {
  const at = (f: string): string => readFileSync(new URL(`./fixtures/http/${name}.${f}`, import.meta.url), "utf8");
  const meta = JSON.parse(at("meta.json")) as { argv: string[]; exitCode: number };
  return { out: { stdout: at("stdout.txt"), stderr: at("stderr.txt"), exitCode: meta.exitCode }, argv: meta.argv };
}

const base: ClientParams = { target: "127.0.0.1", port: 23180, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };

const MB = 1024 * 1024;

interface Success {
  name: string;
  params: Partial<ClientParams>;
  /** false: the fixture asked another path or host than the driver would; its argv differs there only. */
  driverArgv: boolean;
  expect: Partial<Measurement>;
  latency: { meanUs: number; maxUs: number; p50Us: number; p90Us: number; p99Us: number; samples: number };
  extra: Record<string, number>;
}

// Expected values are the fixture's figures converted: wrk's MB = 1024² B, us/ms → µs.
const successes: Success[] = [
  // wrk --latency -t 1 -c 1 -d 2s --timeout 10s http://127.0.0.1:23180/body (1 KiB body)
  {
    name: "keepalive-c1",
    params: { connections: 1 },
    driverArgv: true,
    expect: { requestsPerS: 13680.47, bytesReceived: 35.01 * MB, throughputBps: 16.67 * MB * 8, durationS: 2.1 },
    latency: { meanUs: 86.05, maxUs: 4080, p50Us: 74, p90Us: 100, p99Us: 422, samples: 28724 },
    extra: { requests: 28724, latency_p75_us: 86, connections: 1, threads: 1 },
  },
  // … -t 2 -c 16
  {
    name: "keepalive-c16",
    params: { connections: 16 },
    driverArgv: true,
    expect: { requestsPerS: 109420.98, bytesReceived: 279.98 * MB, throughputBps: 133.36 * MB * 8 },
    latency: { meanUs: 153.95, maxUs: 4190, p50Us: 132, p90Us: 190, p99Us: 769, samples: 229716 },
    extra: { requests: 229716, connections: 16, threads: 2 },
  },
  // … -t 2 -c 4 -H "Connection: close": a new connection per request
  {
    name: "new-connection-c4",
    params: { connections: 4, httpMode: "new-connection" },
    driverArgv: true,
    expect: { requestsPerS: 28148.06, connectionsPerS: 28148.06, bytesReceived: 71.74 * MB },
    latency: { meanUs: 119.64, maxUs: 4090, p50Us: 120, p90Us: 154, p99Us: 317, samples: 59091 },
    extra: { requests: 59091, connections: 4, threads: 2 },
  },
  {
    name: "new-connection-c1",
    params: { connections: 1, httpMode: "new-connection" },
    driverArgv: true,
    expect: { requestsPerS: 12672.99, connectionsPerS: 12672.99 },
    latency: { meanUs: 52.98, maxUs: 3400, p50Us: 43, p90Us: 48, p99Us: 152, samples: 26609 },
    extra: { requests: 26609 },
  },
  // an empty body: headers only
  {
    name: "body-0",
    params: { port: 23181 },
    driverArgv: true,
    expect: { requestsPerS: 15019.82, bytesReceived: 7.49 * MB, throughputBps: 3.57 * MB * 8 },
    latency: { meanUs: 76.09, maxUs: 3910, p50Us: 73, p90Us: 83, p99Us: 316, samples: 31541 },
    extra: { requests: 31541 },
  },
  // 1 MiB bodies, 4 connections: GB and ms units
  {
    name: "body-1m-c4",
    params: { port: 23182, connections: 4 },
    driverArgv: true,
    expect: { requestsPerS: 3170.53, bytesReceived: 6.2 * 1024 * MB, throughputBps: 3.1 * 1024 * MB * 8, durationS: 2 },
    latency: { meanUs: 1200, maxUs: 6180, p50Us: 1150, p90Us: 1850, p99Us: 2540, samples: 6349 },
    extra: { requests: 6349, latency_p75_us: 1530 },
  },
  // http://[::1]:23183/body
  {
    name: "ipv6",
    params: { target: "::1", port: 23183 },
    driverArgv: true,
    expect: { requestsPerS: 14641.41, bytesReceived: 37.47 * MB },
    latency: { meanUs: 78.45, maxUs: 3910, p50Us: 68, p90Us: 85, p99Us: 303, samples: 30745 },
    extra: { requests: 30745 },
  },
];

describe("wrk runs that measured", () => {
  test.each(successes)("$name", (c) => {
    const { out, argv } = load(c.name);
    const p = { ...base, ...c.params };
    if (c.driverArgv) expect(http.clientArgv(p)).toEqual(argv);
    const r = http.parseClient(out, p);
    if (!r.ok) throw new Error(r.failure.reason);
    const m = r.measurement;
    for (const [k, v] of Object.entries(c.expect)) expect(m[k as keyof Measurement], k).toBeCloseTo(v as number, 2);
    expect(m.latency?.kind).toBe("rtt");
    for (const [k, v] of Object.entries(c.latency)) expect(m.latency?.[k as keyof typeof c.latency], k).toBeCloseTo(v, 6);
    expect(m.extra).toMatchObject(c.extra);
    // Keepalive reports no connection rate: its connections live the whole run.
    if (p.httpMode !== "new-connection") expect(m.connectionsPerS).toBeUndefined();
    // What the NIC comparison divides by: every byte wrk read.
    expect(http.payloadBytes(m)).toBe(m.bytesReceived);
  });
});

interface Failure {
  name: string;
  params?: Partial<ClientParams>;
  code: FailureCode;
  reason: RegExp;
}

const failures: Failure[] = [
  // nothing listens: wrk's first connect fails and it exits 1
  { name: "refused", params: { port: 23199 }, code: "unreachable", reason: /^wrk: unable to connect to 127\.0\.0\.1:23199 Connection refused$/ },
  { name: "net-unreachable", params: { target: "198.18.0.1", port: 20000 }, code: "unreachable", reason: /Network is unreachable/ },
  // every answer a 404: never a request rate
  { name: "not-found", params: { connections: 2 }, code: "tool-error", reason: /64555 requests answered, but non-2xx\/3xx responses: 64555 \(the server refused them/ },
  // the server accepts and never answers
  { name: "no-answer", params: { port: 23184, connections: 2 }, code: "timeout", reason: /no request was answered in 2 s/ },
  // the server resets every connection
  {
    name: "reset",
    params: { port: 23185, connections: 2 },
    code: "tool-error",
    reason: /0 requests answered, but socket errors: connect 0, read 36054, write 0, timeout 0 \(connections reset/,
  },
  // answers after 10.5 s: slower than wrk's timeout, so out of its latency figures
  {
    name: "timeout",
    params: { port: 23187, connections: 4, durationS: 12 },
    code: "timeout",
    reason: new RegExp(`4 requests answered, but socket errors: connect 0, read 0, write 0, timeout 4 \\(responses slower than ${WRK_TIMEOUT_S} s`),
  },
];

describe("wrk runs that failed", () => {
  test.each(failures)("$name → $code", (c) => {
    const { out, argv } = load(c.name);
    const p = { ...base, ...c.params };
    // Run as the driver runs wrk (the namespace's `ip netns exec` prefix aside).
    expect(argv.slice(argv.indexOf("wrk"))).toEqual(c.name === "not-found" ? http.clientArgv(p).map((a) => a.replace(HTTP_PATH, "/nope")) : http.clientArgv(p));
    const r = http.parseClient(out, p);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.code).toBe(c.code);
    expect(r.failure.reason).toMatch(c.reason);
  });

  test("a report cut before its totals is a parse error, never a rate", () => {
    const { out } = load("keepalive-c1");
    const cut = out.stdout.slice(0, out.stdout.indexOf("requests in") - 10);
    const r = http.parseClient({ ...out, stdout: cut }, base);
    expect(r.ok ? "ok" : r.failure.code).toBe("parse-error");
  });

  test("a report without the latency distribution (no --latency) is refused", () => {
    const { out } = load("keepalive-c1");
    const lines = out.stdout.split("\n").filter((l) => !/Latency Distribution|^\s+\d+%/.test(l));
    const r = http.parseClient({ ...out, stdout: lines.join("\n") }, base);
    expect(r.ok ? "" : r.failure.reason).toMatch(/run with --latency/);
  });

  test("wrk's argument errors come from stderr", () => {
    const r = http.parseClient({ stdout: "", stderr: "number of connections must be >= threads\n", exitCode: 1 }, base);
    expect(r.ok ? "" : `${r.failure.code}: ${r.failure.reason}`).toBe("tool-error: wrk: number of connections must be >= threads");
  });
});

describe("wrk's report", () => {
  test("units: binary sizes, us/ms/s times", () => {
    const r = parseWrk(load("body-1m-c4").out.stdout);
    expect(r.readBytes).toBeCloseTo(6.2 * 1024 ** 3, 0);
    expect(r.transferBytesPerS).toBeCloseTo(3.1 * 1024 ** 3, 0);
    expect(r.latency.stddevUs).toBeCloseTo(527.08, 6);
    expect(r.latency.p50Us).toBeCloseTo(1150, 6);
  });
});

describe("argv", () => {
  test.each([
    [{}, ["wrk", "--latency", "-t", "1", "-c", "1", "-d", "2s", "--timeout", "10s", "http://127.0.0.1:23180/body"]],
    [{ connections: 64 }, ["wrk", "--latency", "-t", "2", "-c", "64", "-d", "2s", "--timeout", "10s", "http://127.0.0.1:23180/body"]],
    [
      { connections: 16, httpMode: "new-connection" as const, durationS: 30 },
      ["wrk", "--latency", "-t", "2", "-c", "16", "-d", "30s", "--timeout", "10s", "-H", "Connection: close", "http://127.0.0.1:23180/body"],
    ],
    [{ target: "fd00::2", port: 20001 }, ["wrk", "--latency", "-t", "1", "-c", "1", "-d", "2s", "--timeout", "10s", "http://[fd00::2]:20001/body"]],
  ])("%j", (params, want) => {
    expect(http.clientArgv({ ...base, ...params })).toEqual(want);
  });

  test("the server: nginx in the foreground with the generated configuration", () => {
    expect(http.serverArgv({ port: 20001, protocol: "tcp", dir: "/tmp/netmatrix-server-x" })).toEqual([
      "nginx",
      "-p",
      "/tmp/netmatrix-server-x/",
      "-c",
      "/tmp/netmatrix-server-x/nginx.conf",
      "-e",
      "stderr",
    ]);
  });

  test.each([
    ["udp", { protocol: "udp" as const }, /over TCP/],
    ["parallel", { parallel: 4 }, /"connections" \(wrk -c\)/],
    ["reverse", { direction: "reverse" as const }, /direction reverse/],
    ["bidir", { direction: "bidir" as const }, /direction bidir/],
    ["bitrate", { bitrateBps: 1e9 }, /bitrate/],
    ["length", { lengthBytes: 1400 }, /body_bytes/],
    ["omit", { omitS: 1 }, /omit/],
  ])("refuses %s", (_name, params, reason) => {
    expect(http.unsupported({ ...base, ...params })).toMatch(reason);
  });
});

describe("server", () => {
  test("files: the configuration and the body, zeros of the spec's size", () => {
    const files = http.serverFiles!({ port: 20001, protocol: "tcp", bind: "10.0.0.2", bodyBytes: 102400, dir: "/tmp/d" });
    expect(files.map((f) => f.name)).toEqual([NGINX_CONF, HTTP_BODY_FILE]);
    expect(files[1]).toEqual({ name: HTTP_BODY_FILE, zeroBytes: 102400 });
    expect(http.serverFiles!({ port: 20001, protocol: "tcp", dir: "/tmp/d" })[1]).toEqual({ name: HTTP_BODY_FILE, zeroBytes: 0 });
  });

  test("its configuration: one process, everything in its directory, the agent's address and port", () => {
    const conf = nginxConf({ port: 20001, protocol: "tcp", bind: "10.0.0.2", dir: "/tmp/d" });
    for (const line of [
      "daemon off;",
      "master_process off;",
      'pid "/tmp/d/nginx.pid";',
      "error_log stderr warn;",
      "access_log off;",
      'client_body_temp_path "/tmp/d/client_body";',
      "listen 10.0.0.2:20001 backlog=4096;",
      'root "/tmp/d";',
      `location = ${HTTP_PATH} {`,
      "return 404;",
    ])
      expect(conf).toContain(line);
    // Nothing outside its directory (the package's /var/lib/nginx, /run/nginx.pid, /var/log/nginx).
    expect(conf).not.toMatch(/\/(var|run)\//);
    expect(nginxConf({ port: 20001, protocol: "tcp", bind: "fd00::2", dir: "/tmp/d" })).toContain("listen [fd00::2]:20001 backlog=4096;");
    expect(nginxConf({ port: 20001, protocol: "tcp", dir: "/tmp/d" })).toContain("listen 20001 backlog=4096;");
  });

  test("nginx that could not bind says so in one line", () => {
    const at = (f: string): string => readFileSync(new URL(`./fixtures/http/bind-in-use.server.${f}`, import.meta.url), "utf8");
    const meta = JSON.parse(at("meta.json")) as { exitCode: number };
    const why = nginxFailure({ stdout: at("stdout.txt"), stderr: at("stderr.txt"), exitCode: meta.exitCode });
    expect(meta.exitCode).toBe(1);
    expect(why).toBe("nginx: [emerg] bind() to 127.0.0.1:23180 failed (98: Address already in use)");
    expect(http.serverFailure?.({ stdout: "", stderr: "", exitCode: 1 })).toBeUndefined();
    expect(nginxFailure({ stdout: "", stderr: 'nginx: [emerg] open() "/x/nginx.conf" failed (2: No such file or directory)\n', exitCode: 1 })).toBe(
      'nginx: [emerg] open() "/x/nginx.conf" failed (2: No such file or directory)',
    );
  });
});

test("version", () => {
  expect(http.parseVersion("wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer\nUsage: wrk <options> <url>")).toBe("4.1.0-3+b2");
  expect(http.parseVersion("wrk 4.2.0 [epoll] Copyright (C) 2012 Will Glozer")).toBe("4.2.0");
  expect(http.parseVersion("nothing")).toBeUndefined();
});
