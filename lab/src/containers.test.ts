/**
 * The lab's `podman run` arguments (pure): the chart's settings per role, this
 * host's knobs from the environment, the token kept out of argv. That they
 * equal what the chart renders is test/chart-lab.test.ts's job (real helm).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chartSettings, containerArgs, hostKnobs, type ContainerSpec } from "./containers.js";

const spec: ContainerSpec = {
  name: "nm-lab-node-1-host",
  image: "localhost/netmatrix/netmatrix:dev",
  network: { netns: "nm-lab-node-1" },
  args: ["agent", "--mode", "host"],
  env: { NETMATRIX_TOKEN: true, NETMATRIX_LOG_LEVEL: "info" },
  logFile: "/data/lab/logs/node-1-host.log",
};

/** Values of every occurrence of `flag` in `args`. */
const values = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

describe("containerArgs", () => {
  it("a host agent: non-root, read-only with only /tmp writable, no privilege escalation, no capability, in its node's namespace", () => {
    const args = containerArgs("host-agent", spec, { ulimits: [] });
    expect(args.slice(0, 4)).toEqual(["run", "--detach", "--name", spec.name]);
    expect(values(args, "--network")).toEqual(["ns:/run/netns/nm-lab-node-1"]);
    expect(values(args, "--user")).toEqual(["10001:10001"]);
    expect(args).toContain("--read-only");
    // podman's --read-only would otherwise add writable tmpfs on /run and /var/tmp, which the chart's pods do not have.
    expect(args).toContain("--read-only-tmpfs=false");
    expect(values(args, "--tmpfs")).toEqual(["/tmp:rw,size=64m"]);
    expect(values(args, "--security-opt")).toEqual(["no-new-privileges"]);
    expect(values(args, "--cap-drop")).toEqual(["ALL"]);
    expect(values(args, "--cap-add")).toEqual([]);
    expect(values(args, "--sysctl")).toEqual([]);
    expect(values(args, "--volume")).toEqual([]);
    expect(values(args, "--log-opt")).toEqual([`path=${spec.logFile}`]);
    // The image, then netmatrix's own arguments, last.
    expect(args.slice(-4)).toEqual([spec.image, ...spec.args]);
  });

  it("passes a value given as `true` by name only: the token never appears in argv", () => {
    const args = containerArgs("host-agent", spec, { ulimits: [] });
    expect(values(args, "--env")).toEqual(["NETMATRIX_TOKEN", "NETMATRIX_LOG_LEVEL=info"]);
  });

  it("rawPing: the host agent as root with NET_RAW; other roles unchanged", () => {
    const args = containerArgs("host-agent", { ...spec, rawPing: true }, { ulimits: [] });
    expect(values(args, "--user")).toEqual(["0:0"]);
    expect(values(args, "--cap-drop")).toEqual(["ALL"]);
    expect(values(args, "--cap-add")).toEqual(["NET_RAW"]);
    expect(chartSettings("pod-agent", { rawPing: true })).toEqual(chartSettings("pod-agent"));
    expect(chartSettings("coordinator", { rawPing: true })).toEqual(chartSettings("coordinator"));
  });

  it("a pod agent: its ping sysctl and the host's /proc read-only; a kept sysctl never overrides the chart's", () => {
    const args = containerArgs(
      "pod-agent",
      { ...spec, network: { netns: "nm-lab-node-1-pod-a" }, keepSysctls: { "net.ipv4.ping_group_range": "0 0", "net.ipv4.ip_forward": "0" } },
      { ulimits: [] },
    );
    expect(values(args, "--sysctl")).toEqual(["net.ipv4.ping_group_range=10001 10001", "net.ipv4.ip_forward=0"]);
    expect(values(args, "--volume")).toEqual(["/proc:/host/proc:ro"]);
  });

  it("a host agent keeps its node's ping_group_range against podman's default_sysctls", () => {
    const args = containerArgs("host-agent", { ...spec, keepSysctls: { "net.ipv4.ping_group_range": "0 2147483647" } }, { ulimits: [] });
    expect(values(args, "--sysctl")).toEqual(["net.ipv4.ping_group_range=0 2147483647"]);
  });

  it("the coordinator: the root namespace, its data directory read-write", () => {
    const args = containerArgs("coordinator", { ...spec, network: "host", volumes: { "/data/lab/image-data": "/var/lib/netmatrix" } }, { ulimits: [] });
    expect(values(args, "--network")).toEqual(["host"]);
    expect(values(args, "--volume")).toEqual(["/data/lab/image-data:/var/lib/netmatrix:rw"]);
    expect(values(args, "--user")).toEqual(["10001:10001"]);
  });

  it("puts this host's knobs on every container", () => {
    const args = containerArgs("pod-agent", spec, { runtime: "runc", ulimits: ["--ulimit", "nofile=20000:20000"] });
    expect(values(args, "--runtime")).toEqual(["runc"]);
    expect(values(args, "--ulimit")).toEqual(["nofile=20000:20000"]);
  });
});

describe("hostKnobs", () => {
  it("reads NETMATRIX_OCI_RUNTIME and NETMATRIX_ULIMITS; empty means the default, as scripts/build-image.sh's ${VAR:-…}", () => {
    expect(hostKnobs({ PATH: "", NETMATRIX_OCI_RUNTIME: "crun", NETMATRIX_ULIMITS: "--ulimit nofile=1024:1024" })).toEqual({
      runtime: "crun",
      ulimits: ["--ulimit", "nofile=1024:1024"],
    });
    expect(hostKnobs({ PATH: "", NETMATRIX_OCI_RUNTIME: "", NETMATRIX_ULIMITS: "" })).toEqual({
      ulimits: ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"],
    });
  });

  it("defaults the runtime to runc when it is on PATH (crun refuses hosts with hybrid cgroups)", () => {
    const dir = mkdtempSync(join(tmpdir(), "nm-knobs-"));
    try {
      expect(hostKnobs({ PATH: dir }).runtime).toBeUndefined();
      writeFileSync(join(dir, "runc"), "#!/bin/sh\n", { mode: 0o755 });
      expect(hostKnobs({ PATH: `/nonexistent:${dir}` }).runtime).toBe("runc");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
