/**
 * The built image (scripts/build-image.sh), run the way the chart runs it:
 * uid 10001, read-only root filesystem, no-new-privileges, every capability
 * dropped. Ping works through ICMP echo sockets where the pod sysctl allows
 * the group, fails with a clear message where it does not, and never stops
 * the agent; the build's extra CA is in no layer. Needs root, podman and the
 * image (CI builds it first and requires these tests to run).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { exec } from "../common/src/exec.js";
import { skipImage, TEST_IMAGE } from "./harness/image.js";

const skip = skipImage("test/image.test.ts");

/** podman's host-specific flags, as scripts/build-image.sh and the lab pass them. */
const HOST = [
  "--runtime",
  process.env.NETMATRIX_OCI_RUNTIME || "runc",
  ...(process.env.NETMATRIX_ULIMITS || "--ulimit nofile=20000:20000 --ulimit nproc=32768:32768").split(/\s+/),
];
/** The chart's container security settings (values.yaml agents.pod). */
const CHART = ["--user", "10001:10001", "--read-only", "--tmpfs", "/tmp", "--security-opt", "no-new-privileges", "--cap-drop", "ALL"];
const PING_SYSCTL = ["--sysctl", "net.ipv4.ping_group_range=10001 10001"];

async function podman(args: string[], deadlineMs = 60_000) {
  const res = await exec({ argv: ["podman", ...args], deadlineMs, guard: false });
  return { ...res, out: `${res.stdout}\n${res.stderr}` };
}

const run = (flags: string[], entrypoint: string, args: string[], deadlineMs?: number) =>
  podman(["run", "--rm", ...HOST, ...flags, "--entrypoint", entrypoint, TEST_IMAGE, ...args], deadlineMs);

describe.skipIf(skip)("the image as the chart runs it (root, podman)", () => {
  test("image size and contents: Node 20, the four tools, non-root user", async () => {
    const size = Number(spawnSync("podman", ["image", "inspect", "--format", "{{.Size}}", TEST_IMAGE], { encoding: "utf8" }).stdout.trim());
    console.log(`image ${TEST_IMAGE}: ${(size / 1e6).toFixed(0)} MB`);
    expect(size).toBeGreaterThan(50e6);
    const res = await run(CHART, "sh", ["-c", "id -u; id -g; node --version; for t in iperf3 iperf qperf ping; do command -v $t; done; du -sm /opt/netmatrix/node_modules"]);
    expect(res.exitCode, res.out).toBe(0);
    const [uid, gid, node, ...rest] = res.stdout.trim().split("\n");
    expect([uid, gid]).toEqual(["10001", "10001"]);
    expect(node).toMatch(/^v20\./);
    expect(rest.slice(0, 4)).toEqual(["/usr/bin/iperf3", "/usr/bin/iperf", "/usr/bin/qperf", "/usr/bin/ping"]);
    console.log(`production node_modules in the image: ${rest[4]!.split(/\s/)[0]} MB`);
  }, 120_000);

  test("ping: no file capability or setuid bit, so exec never fails with EPERM without NET_RAW", async () => {
    // As root with every capability dropped: a capability-carrying ping could not even start (EPERM);
    // a plain one starts and asks for a socket.
    const res = await run(["--user", "0:0", "--security-opt", "no-new-privileges", "--cap-drop", "ALL"], "sh", [
      "-c",
      "stat -c %A /usr/bin/ping; ping -c1 -W1 127.0.0.1; echo rc=$?",
    ]);
    expect(res.out).not.toMatch(/Operation not permitted.*exec|exec.*EPERM|permission denied.*ping/i);
    expect(res.stdout.split("\n")[0]).toBe("-rwxr-xr-x");
    expect(res.stdout).toMatch(/rc=\d+/);
  }, 60_000);

  test("ping as a pod agent: works through ICMP echo sockets with the pod sysctl, and fails clearly without it", async () => {
    const ok = await run([...CHART, ...PING_SYSCTL], "ping", ["-c", "2", "-i", "0.2", "-W", "1", "127.0.0.1"]);
    expect(ok.exitCode, ok.out).toBe(0);
    expect(ok.stdout).toMatch(/2 received/);
    const denied = await run(CHART, "ping", ["-c", "1", "-W", "1", "127.0.0.1"]);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toMatch(/socket: Operation not permitted/);
  }, 60_000);

  test("an agent whose ping may not open a socket starts anyway and says which tools it can run", async () => {
    // No coordinator listens on 127.0.0.1:9 (discard): the agent retries while it keeps running.
    const name = `nm-image-agent-${process.pid}`;
    const started = await podman([
      "run",
      "-d",
      "--name",
      name,
      ...HOST,
      ...CHART,
      "-e",
      `NETMATRIX_TOKEN=${"x".repeat(32)}`,
      TEST_IMAGE,
      "agent",
      "--coordinator",
      "127.0.0.1:9",
      "--node",
      "n1",
      "--metrics",
      "off",
    ]);
    expect(started.exitCode, started.out).toBe(0);
    try {
      await new Promise((r) => setTimeout(r, 4000));
      const state = await podman(["inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", name]);
      const logs = await podman(["logs", name]);
      expect(state.stdout.trim(), logs.out).toBe("true 0");
      expect(logs.out).toMatch(/ping_group_range/);
      expect(logs.out).not.toMatch(/spawn EPERM/);
    } finally {
      await podman(["rm", "-f", "-t", "1", name]);
    }
    expect((await podman(["container", "exists", name])).exitCode).toBe(1);
  }, 60_000);

  test("the build's extra CA (a build secret) is in no layer and no history of the image", async () => {
    const ca = process.env.EXTRA_CA_CERTS || process.env.NODE_EXTRA_CA_CERTS;
    const history = await podman(["history", "--no-trunc", "--format", "{{.CreatedBy}}", TEST_IMAGE]);
    expect(history.stdout).not.toMatch(/CERTIFICATE|extra_ca/);
    if (!ca || !existsSync(ca)) return;
    // The last certificate of the bundle handed to the build: search the whole image filesystem for its base64 body.
    const pem = readFileSync(ca, "utf8").trim().split("-----BEGIN CERTIFICATE-----").pop()!;
    const line = pem.split("\n").find((l) => l.length >= 60)!;
    expect(line).toBeDefined();
    // -xdev: the image's own filesystem, not /proc, /sys or the tmpfs mounts.
    const found = await run(["--user", "0:0"], "sh", ["-c", `find / -xdev -type f -exec grep -lF -- '${line}' {} +; echo done`], 120_000);
    expect(found.stdout.trim()).toBe("done");
  }, 180_000);
});
