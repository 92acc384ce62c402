/**
 * Real X.509 certificates for tests, made by the `openssl` command line
 * (node:crypto makes keys but not certificates): a CA, and server or client
 * certificates it signs, each with the names asked for. EC P-256 keys, valid
 * for a day. Files go under the directory given; the caller removes it.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args.join(" ")} failed: ${e.stderr || e.message}`, { cause: err });
  }
}

export interface KeyPair {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** subjectAltName DNS names. */
  dns?: string[];
  /** subjectAltName IP addresses. */
  ips?: string[];
  /** A client certificate (extendedKeyUsage clientAuth) instead of a server one. */
  client?: boolean;
}

export interface TestCa extends KeyPair {
  name: string;
  /** A certificate signed by this CA, written as NAME.crt and NAME.key. */
  issue(name: string, opts?: IssueOptions): Promise<KeyPair>;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A new CA in `dir` (NAME-ca.crt, NAME-ca.key). */
export async function createCa(dir: string, name: string): Promise<TestCa> {
  mkdirSync(dir, { recursive: true });
  const ca = { cert: join(dir, `${name}-ca.crt`), key: join(dir, `${name}-ca.key`) };
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    ca.key,
    "-out",
    ca.cert,
    "-days",
    "1",
    "-subj",
    `/CN=${name} test CA`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return {
    name,
    ...ca,
    async issue(leaf, opts = {}) {
      const out = { cert: join(dir, `${leaf}.crt`), key: join(dir, `${leaf}.key`) };
      const csr = join(dir, `${leaf}.csr`);
      const ext = join(dir, `${leaf}.ext`);
      const sans = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((i) => `IP:${i}`)];
      writeFileSync(
        ext,
        [
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature,keyEncipherment",
          `extendedKeyUsage=${opts.client ? "clientAuth" : "serverAuth"}`,
          ...(sans.length ? [`subjectAltName=${sans.join(",")}`] : []),
        ].join("\n") + "\n",
      );
      await openssl(["req", ...EC, "-keyout", out.key, "-out", csr, "-subj", `/CN=${leaf}`]);
      await openssl([
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca.cert,
        "-CAkey",
        ca.key,
        "-set_serial",
        `0x${randomBytes(8).toString("hex")}`,
        "-days",
        "1",
        "-extfile",
        ext,
        "-out",
        out.cert,
      ]);
      return out;
    },
  };
}
