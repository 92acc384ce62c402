/**
 * The lab's Kubernetes API stand-in: an HTTPS server on the root namespace's
 * loopback that answers what the coordinator's Kubernetes service provider
 * (coordinator/src/k8s/client.ts) calls, so `lab up --image` runs the image's
 * coordinator — non-root, no capabilities, as the chart runs it — on its real
 * Kubernetes path (NETMATRIX_SERVICES=kubernetes), and the lab's Services work.
 *
 * - {@link prepareKubeApi}: at `lab up`, a fresh CA and a server certificate
 *   for 127.0.0.1 (the `openssl` command line), and a token; the directory
 *   the coordinator container gets at {@link SERVICEACCOUNT_MOUNT}, as the
 *   kubelet mounts a ServiceAccount (token, ca.crt, namespace);
 * - {@link kubeApiCoordinatorEnv}: what the coordinator container is told,
 *   as the chart's Deployment tells it (test/chart-lab.test.ts compares);
 * - {@link startKubeApi}: the server (`netmatrix lab kube-api`, a root
 *   daemon of the lab): requests one at a time through the pure
 *   {@link KubeApiStore}, whose Service changes it programs with the lab's
 *   kube-proxy ({@link LabKubeProxy}) in every node before it answers.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "pino";
import { exec } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { LabKubeProxy } from "./lab-services.js";
import { kubeServiceTag, kubeTagPrefix } from "./lab-services-rules.js";
import { KubeApiStore, MAX_BODY_BYTES, type KubeApiResponse, type KubeApiResult } from "./kube-api-store.js";
import { failure } from "./kube-api-objects.js";
import type { LabTopology } from "./topology-plan.js";

/** Where the kubelet mounts a pod's ServiceAccount (client-node's in-cluster configuration reads it there). */
export const SERVICEACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The namespace the lab's coordinator lives in (the chart's default release namespace). */
export const LAB_KUBE_NAMESPACE = "netmatrix";
/** The address the stand-in listens on: the root namespace's loopback, which only the host-network coordinator reaches. */
export const KUBE_API_HOST = "127.0.0.1";

/** The stand-in's files under DATA_DIR/lab/kube-api/. */
export interface KubeApiFiles {
  dir: string;
  /** Server certificate (for 127.0.0.1) and key (0600). */
  cert: string;
  key: string;
  /** Mounted read-only into the coordinator at {@link SERVICEACCOUNT_MOUNT}: token, ca.crt, namespace. */
  serviceAccountDir: string;
  token: string;
  ca: string;
  namespace: string;
}

export function kubeApiFiles(labDir: string): KubeApiFiles {
  const dir = join(labDir, "kube-api");
  const sa = join(dir, "serviceaccount");
  return {
    dir,
    cert: join(dir, "server.crt"),
    key: join(dir, "server.key"),
    serviceAccountDir: sa,
    token: join(sa, "token"),
    ca: join(sa, "ca.crt"),
    namespace: join(sa, "namespace"),
  };
}

async function openssl(args: string[]): Promise<void> {
  const res = await exec({ argv: ["openssl", ...args], deadlineMs: 30_000, guard: false });
  if (res.exitCode !== 0) {
    if (res.spawnErrorCode === "ENOENT") {
      throw new NetmatrixError("failed-precondition", "openssl is not installed: the lab's Kubernetes API stand-in needs it for its certificate", {
        hint: "apt-get install openssl",
      });
    }
    throw new NetmatrixError("internal", `openssl ${args[0]} failed: ${(res.stderr || res.stdout || res.spawnError || `exit ${String(res.exitCode)}`).trim()}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/**
 * Fresh credentials for the stand-in in `labDir`/kube-api (anything there
 * before is removed): a CA and a server certificate for 127.0.0.1 signed by
 * it (the CA's key is deleted once it has signed: nothing needs it again), a
 * random token, and the ServiceAccount directory (token, ca.crt, namespace)
 * owned by `owner` (the image's user), which reads it through a read-only mount.
 */
export async function prepareKubeApi(labDir: string, opts: { namespace?: string; owner: { uid: number; gid: number } }): Promise<KubeApiFiles> {
  const f = kubeApiFiles(labDir);
  rmSync(f.dir, { recursive: true, force: true });
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  chmodSync(f.dir, 0o700);
  mkdirSync(f.serviceAccountDir, { mode: 0o700 });
  const caKey = join(f.dir, "ca.key");
  const csr = join(f.dir, "server.csr");
  const ext = join(f.dir, "server.ext");
  try {
    await openssl([
      "req",
      "-x509",
      ...EC,
      "-keyout",
      caKey,
      "-out",
      f.ca,
      "-days",
      "365",
      "-subj",
      "/CN=netmatrix lab kube-api CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    chmodSync(caKey, 0o600);
    await openssl(["req", ...EC, "-keyout", f.key, "-out", csr, "-subj", "/CN=kube-apiserver"]);
    chmodSync(f.key, 0o600);
    writeFileSync(
      ext,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=IP:${KUBE_API_HOST},DNS:localhost,DNS:kubernetes.default.svc`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      f.ca,
      "-CAkey",
      caKey,
      "-set_serial",
      `0x${randomBytes(8).toString("hex")}`,
      "-days",
      "365",
      "-extfile",
      ext,
      "-out",
      f.cert,
    ]);
  } finally {
    rmSync(caKey, { force: true });
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  writeFileSync(f.token, randomBytes(32).toString("base64url"), { mode: 0o400 });
  writeFileSync(f.namespace, opts.namespace ?? LAB_KUBE_NAMESPACE, { mode: 0o400 });
  // Readable by the image's user (as the kubelet's mount is by the pod's), by no one else.
  for (const file of [f.token, f.ca, f.namespace]) {
    chownSync(file, opts.owner.uid, opts.owner.gid);
    chmodSync(file, 0o440);
  }
  chownSync(f.serviceAccountDir, opts.owner.uid, opts.owner.gid);
  chmodSync(f.serviceAccountDir, 0o550);
  return f;
}

/**
 * The coordinator container's environment for Kubernetes Services, as the
 * chart's Deployment sets it with coordinator.kubernetesServices (names from
 * coordinator/src/k8s/index.ts; test/chart-lab.test.ts checks both), plus
 * what the kubelet sets in every pod: the API server's address.
 */
export function kubeApiCoordinatorEnv(o: { port: number; namespace: string; instance: string }): Record<string, string> {
  return {
    NETMATRIX_SERVICES: "kubernetes",
    NETMATRIX_NAMESPACE: o.namespace,
    NETMATRIX_INSTANCE: o.instance,
    // The chart's coordinator.rbac.readNodes default; the lab has no Node objects (NodePorts target the host agent's address).
    NETMATRIX_READ_NODES: "false",
    KUBERNETES_SERVICE_HOST: KUBE_API_HOST,
    KUBERNETES_SERVICE_PORT: String(o.port),
  };
}

/** `HOST:PORT` → its parts; throws invalid-argument otherwise. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new NetmatrixError("invalid-argument", `--listen ${JSON.stringify(listen)} is not IPV4:PORT`, { hint: "e.g. 127.0.0.1:6443" });
  return { host: m[1]!, port };
}

export interface KubeApiServer {
  port: number;
  store: KubeApiStore;
  close(): Promise<void>;
}

export interface KubeApiServerOptions {
  topo: LabTopology;
  files: Pick<KubeApiFiles, "cert" | "key" | "token" | "namespace">;
  host?: string;
  /** 0: any free port. */
  port: number;
  log: Pick<Logger, "info" | "warn" | "error">;
  /** Keep what removed Service rules counted here (LabServiceOptions.countersFile). */
  countersFile?: string;
}

/** Read a request body of at most `max` bytes; "too-big" (and the rest unread) beyond. */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | "too-big"> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) return "too-big";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return "too-big";
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, r: KubeApiResponse, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const body = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
  res.writeHead(r.status, { "content-type": r.contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store", ...(close ? { connection: "close" } : {}) });
  res.end(body);
}

/**
 * Start the stand-in for the lab `topo`: removes rules a previous stand-in of
 * this lab left (its objects died with it), then serves until closed.
 */
export async function startKubeApi(opts: KubeApiServerOptions): Promise<KubeApiServer> {
  const token = readFileSync(opts.files.token, "utf8").trim();
  const namespace = readFileSync(opts.files.namespace, "utf8").trim();
  // A dual-stack lab (--ipv6) makes IPv6 Services too, as a dual-stack cluster does.
  const store = new KubeApiStore({ token, namespaces: [namespace], ipv6: opts.topo.ipv6 !== undefined });
  const proxy = new LabKubeProxy(opts.topo, opts.countersFile ? { countersFile: opts.countersFile } : {});
  const prefix = kubeTagPrefix(opts.topo.prefix);
  await proxy.remove((t) => t.startsWith(prefix));
  /** Tags programmed now, so a Service that never had rules costs no iptables listing. */
  const programmed = new Set<string>();
  let chain: Promise<unknown> = Promise.resolve();

  /** Program what the store says changed; throws with the Service named. */
  const apply = async (result: KubeApiResult): Promise<void> => {
    for (const s of result.sync) {
      const tag = kubeServiceTag(opts.topo.prefix, s.namespace, s.name);
      try {
        if (s.service) {
          programmed.add(tag);
          await proxy.program({ tag, ...s.service });
          opts.log.info({ service: `${s.namespace}/${s.name}`, clusterIP: s.service.clusterIP, backend: s.service.backend, ports: s.service.ports }, "programmed Service");
        } else if (programmed.has(tag)) {
          await proxy.remove((t) => t === tag);
          programmed.delete(tag);
          opts.log.info({ service: `${s.namespace}/${s.name}` }, "removed Service rules");
        }
      } catch (err) {
        throw new NetmatrixError("internal", `the lab's kube-proxy could not program Service ${s.namespace}/${s.name}: ${(err as Error).message}`, { cause: err });
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const t0 = performance.now();
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === "too-big") {
      send(res, { status: 413, body: failure(413, `the request body exceeds ${MAX_BODY_BYTES} bytes, the lab's API stand-in's limit`), contentType: "application/json" }, true);
      req.destroy();
      return;
    }
    // One request at a time: the store and the rules it drives change together.
    const next = chain.then(async () => {
      const result = store.handle({ method, url, authorization: req.headers.authorization, contentType: req.headers["content-type"], body });
      let response = result.response;
      try {
        await apply(result);
      } catch (err) {
        opts.log.error({ err }, "kube-proxy failed");
        response = { status: 500, body: failure(500, (err as Error).message), contentType: "application/json" };
      }
      send(res, response);
      opts.log.info({ method, path: url.slice(0, 300), status: response.status, ms: Math.round(performance.now() - t0) }, "request");
    });
    chain = next.catch(() => undefined);
    await next;
  };

  const server: Server = createServer(
    {
      cert: readFileSync(opts.files.cert),
      key: readFileSync(opts.files.key),
      minVersion: "TLSv1.2",
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        opts.log.error({ err }, "request failed");
        send(res, { status: 500, body: failure(500, "the lab's API stand-in failed; see its log"), contentType: "application/json" }, true);
      });
    },
  );
  server.maxConnections = 64;
  server.on("tlsClientError", (err) => opts.log.warn({ err: err.message }, "TLS handshake failed"));
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? KUBE_API_HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  opts.log.info({ address: `${opts.host ?? KUBE_API_HOST}:${port}`, namespace }, "the lab's Kubernetes API stand-in is serving");
  return {
    port,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
