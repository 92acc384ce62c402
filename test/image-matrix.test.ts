/**
 * The lab through the image: `lab up --image` runs the coordinator and every
 * agent as containers of the built image with the chart's security settings,
 * then `helm test`'s smoke command runs inside the image exactly as the
 * chart's test Pod runs it (its spec and arguments rendered by the real helm),
 * and a matrix of every scenario with iperf3, qperf and ping, one repetition,
 * must measure every case. Needs root, podman and the image (CI builds it and
 * requires this test to run).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, describe, expect, test } from "vitest";
import { exec } from "../common/src/exec.js";
import { labObjects } from "../lab/src/topology.js";
import { skipImage, TEST_IMAGE } from "./harness/image.js";
import { runNetmatrix } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const skip = skipImage("test/image-matrix.test.ts");
const ROOT = join(import.meta.dirname, "..");
const HELM = join(ROOT, ".tools", "helm");

const dataDir = mkdtempSync(join(tmpdir(), "nm-imagelab-"));
const env = testSlot().labEnv(dataDir);
const PREFIX = env.NETMATRIX_LAB_PREFIX!;
const HOST = [
  "--runtime",
  process.env.NETMATRIX_OCI_RUNTIME || "runc",
  ...(process.env.NETMATRIX_ULIMITS || "--ulimit nofile=20000:20000 --ulimit nproc=32768:32768").split(/\s+/),
];

interface Container {
  name: string;
  args: string[];
  env?: { name: string; value?: string }[];
  securityContext: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
}

/** The chart's `helm test` objects (plaintext, as the lab's control plane is): the smoke spec and the test Pod. */
function renderHelmTest(): { spec: string; pod: { securityContext: { runAsUser: number; runAsGroup: number }; initContainers: Container[]; containers: Container[] } } {
  const r = spawnSync(
    HELM,
    ["template", "nm", "charts/netmatrix", "--set", "tls.enabled=false", "--show-only", "templates/tests/configmap.yaml", "--show-only", "templates/tests/pod.yaml"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`helm template failed (run bash scripts/helm.sh first):\n${r.stderr}`);
  const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; data?: Record<string, string>; spec?: unknown });
  const cm = objs.find((o) => o.kind === "ConfigMap")!;
  const pod = objs.find((o) => o.kind === "Pod")!;
  return { spec: cm.data!["smoke.yaml"]!, pod: pod.spec as never };
}

/** podman flags for a container of the test Pod: its user, and its container securityContext. */
function podmanFlags(pod: { securityContext: { runAsUser: number; runAsGroup: number } }, c: Container): string[] {
  const sc = c.securityContext;
  return [
    "--user",
    `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
    ...(sc.readOnlyRootFilesystem ? ["--read-only", "--tmpfs", "/tmp"] : []),
    ...(sc.allowPrivilegeEscalation === false ? ["--security-opt", "no-new-privileges"] : []),
    ...(sc.capabilities?.drop ?? []).flatMap((cap) => ["--cap-drop", cap]),
    ...(sc.capabilities?.add ?? []).flatMap((cap) => ["--cap-add", cap]),
  ];
}

async function containersOfLab(): Promise<string[]> {
  const ps = await exec({ argv: ["podman", "ps", "-a", "--format", "{{.Names}}"], deadlineMs: 30_000, guard: false });
  return ps.stdout.split("\n").filter((n) => n.startsWith(PREFIX));
}

describe.skipIf(skip)("the lab's matrix through the image (root, podman)", () => {
  afterAll(async () => {
    await runNetmatrix(["lab", "down"], { env });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("lab up --image; helm test's smoke command inside the image; every scenario with iperf3, qperf and ping measured; nothing left", async () => {
    const up = await runNetmatrix(["lab", "up", "--image", TEST_IMAGE, "--external"], { env });
    expect(up.code, up.stderr).toBe(0);
    const status = JSON.parse((await runNetmatrix(["lab", "status", "--output", "json"], { env })).stdout) as { state: { coordinator: string; tokenFile: string } };
    const coordinator = status.state.coordinator;
    const token = readFileSync(status.state.tokenFile, "utf8").trim();
    expect((await containersOfLab()).length).toBeGreaterThanOrEqual(8); // coordinator, 2 × (host + 2 pods), external

    // helm test: the Pod's init container (`agents`) then its container (`run --spec smoke.yaml --allow-partial`).
    const helmTest = renderHelmTest();
    const specDir = mkdtempSync(join(tmpdir(), "nm-smoke-"));
    // As a ConfigMap volume: a directory and file the Pod's user (10001) reads (mkdtemp makes the directory 0700, root's).
    chmodSync(specDir, 0o755);
    writeFileSync(join(specDir, "smoke.yaml"), helmTest.spec, { mode: 0o644 });
    try {
      for (const c of [...helmTest.pod.initContainers, ...helmTest.pod.containers]) {
        const res = await exec({
          argv: [
            "podman",
            "run",
            "--rm",
            ...HOST,
            "--network",
            "host",
            ...podmanFlags(helmTest.pod, c),
            "-v",
            `${specDir}:/etc/netmatrix:ro`,
            "-e",
            `NETMATRIX_COORDINATOR=${coordinator}`,
            "-e",
            `NETMATRIX_TOKEN=${token}`,
            TEST_IMAGE,
            ...c.args,
          ],
          deadlineMs: 120_000,
          guard: false,
        });
        expect(res.exitCode, `helm test container ${c.name} (${c.args.join(" ")}):\n${res.stdout}\n${res.stderr}`).toBe(0);
        if (c.args[0] === "agents") expect(res.stdout).toMatch(/\/host/);
      }
    } finally {
      rmSync(specDir, { recursive: true, force: true });
    }

    // The matrix: every scenario the lab has, iperf3 + qperf + ping, one repetition.
    const spec = join(dataDir, "all.yaml");
    writeFileSync(
      spec,
      [
        "name: image-matrix",
        "scenarios: [host-host, pod-pod-cross, pod-pod-same, pod-host, host-pod, pod-service-cross, pod-service-same, external-pod, external-nodeport]",
        "tools: [iperf3, qperf, ping]",
        "protocols: [tcp, udp]",
        "directions: [forward]",
        "udpBitrates: [200M]",
        "duration: 1",
        "omit: 0",
        "repetitions: 1",
        "pairs: { sample: 1 }",
        "concurrency: 1",
        "",
      ].join("\n"),
    );
    const run = await runNetmatrix(["run", "--spec", spec, "--output", "json"], {
      env: { ...env, NETMATRIX_COORDINATOR: coordinator, NETMATRIX_TOKEN_FILE: status.state.tokenFile },
    });
    let doc: { cases: { key: string; scenario: string; tool: string; summary: { failed: number }; repetitions: { ok: boolean; failure?: { reason: string } }[] }[] };
    try {
      doc = JSON.parse(run.stdout);
    } catch {
      throw new Error(`run printed no report (exit ${run.code}):\n${run.stderr.slice(-4000)}`);
    }
    const failed = doc.cases.filter((c) => c.summary.failed > 0).map((c) => `${c.key}: ${c.repetitions[0]?.failure?.reason}`);
    expect(failed).toEqual([]);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const measured = new Set(doc.cases.map((c) => `${c.scenario} ${c.tool}`));
    const all = ["host-host", "pod-pod-cross", "pod-pod-same", "pod-host", "host-pod", "pod-service-cross", "pod-service-same", "external-pod", "external-nodeport"];
    for (const scenario of all) expect(measured, `${scenario} iperf3`).toContain(`${scenario} iperf3`);
    // ping and qperf on every direct path (a Service forwards only the ports it declares).
    for (const scenario of ["host-host", "pod-pod-cross", "pod-pod-same", "pod-host", "host-pod", "external-pod"]) {
      for (const tool of ["qperf", "ping"]) expect(measured, `${scenario} ${tool}`).toContain(`${scenario} ${tool}`);
    }
    console.log(`image lab matrix: ${doc.cases.length} cases measured, none failed`);

    const down = await runNetmatrix(["lab", "down"], { env });
    expect(down.code, down.stderr).toBe(0);
    expect(await containersOfLab()).toEqual([]);
    expect(await labObjects(PREFIX)).toEqual({ namespaces: [], rootLinks: [] });
    expect(existsSync(join(dataDir, "lab", "state.json"))).toBe(false);
  }, 900_000);
});
