/**
 * TLS building blocks with real certificates (openssl, test/harness/certs.ts):
 * every file or flag mistake is refused at start, naming the file and the
 * fix. Real connections: coordinator/src/listen.test.ts.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createCa, type KeyPair, type TestCa } from "../../test/harness/certs.js";
import { NetmatrixError } from "./errors.js";
import { channelSecurity, clientTls, loadServerTls, pemCertificates, serverTlsFiles, tlsFailureHint } from "./tls.js";

let dir: string;
let ca: TestCa;
let server: KeyPair;
let client: KeyPair;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-tls-"));
  ca = await createCa(dir, "one");
  [server, client] = await Promise.all([ca.issue("server", { dns: ["localhost"], ips: ["127.0.0.1"] }), ca.issue("client", { client: true })]);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function refusal(fn: () => unknown): NetmatrixError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NetmatrixError);
    return err as NetmatrixError;
  }
  throw new Error("expected a refusal");
}

describe("coordinator files", () => {
  test("both or neither of --tls-cert and --tls-key; --client-ca only with them", () => {
    expect(serverTlsFiles({})).toBeUndefined();
    expect(refusal(() => serverTlsFiles({ tlsCert: "c" })).message).toMatch(/--tls-key is missing/);
    expect(refusal(() => serverTlsFiles({ tlsKey: "k" })).message).toMatch(/--tls-cert is missing/);
    expect(refusal(() => serverTlsFiles({ clientCa: "ca" })).message).toMatch(/--client-ca needs --tls-cert and --tls-key/);
    expect(serverTlsFiles({ tlsCert: "c", tlsKey: "k", clientCa: "ca" })).toEqual({ cert: "c", key: "k", clientCa: "ca" });
  });

  test("loads a matching pair and says what it serves", () => {
    const tls = loadServerTls({ cert: server.cert, key: server.key, clientCa: ca.cert });
    expect(tls.summary.names).toEqual(["localhost", "127.0.0.1"]);
    expect(tls.summary.clientCertificates).toBe(true);
    expect(Date.parse(tls.summary.notAfter)).toBeGreaterThan(Date.now());
  });

  test.each([
    ["a missing certificate", () => ({ cert: join(dir, "nope.crt"), key: server.key }), /coordinator certificate .*nope\.crt: cannot read it/, /--tls-cert/],
    ["a directory", () => ({ cert: dir, key: server.key }), /not a regular file/, /--tls-cert/],
    ["a certificate file with no certificate", () => ({ cert: server.key, key: server.key }), /no PEM certificate in it/, /--tls-cert/],
    [
      "a broken certificate",
      () => ({ cert: write("broken.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), key: server.key }),
      /certificate 1 does not parse/,
      /valid PEM/,
    ],
    ["the key of another certificate", () => ({ cert: server.cert, key: client.key }), /client\.key: it is not the key of .*server\.crt/, /--tls-key/],
    ["a key that is no key", () => ({ cert: server.cert, key: server.cert }), /not a usable PEM private key/, /--tls-key/],
    ["a file too large to be PEM", () => ({ cert: write("huge.crt", "x".repeat(1024 * 1024 + 1)), key: server.key }), /too large for a PEM file/, /--tls-cert/],
    ["a client CA with no certificate", () => ({ cert: server.cert, key: server.key, clientCa: server.key }), /client CA .*: no PEM certificate/, /--client-ca/],
  ])("refuses %s, naming the file and the flag", (_what, files, message, hint) => {
    const err = refusal(() => loadServerTls(files()));
    expect(err.message).toMatch(message);
    expect(err.hint).toMatch(hint);
  });

  test("PEM bundles are split in order, however much else is around them", () => {
    const pem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;
    expect(pemCertificates(`junk\n${pem("one")}\n${pem("two")}\n-----BEGIN CERTIFICATE-----\nunterminated`)).toEqual([pem("one"), pem("two")]);
    // Linear: a megabyte of unterminated BEGIN lines returns at once.
    const t = performance.now();
    expect(pemCertificates("-----BEGIN CERTIFICATE-----".repeat(40_000))).toEqual([]);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe("client flags", () => {
  test("no --ca: plaintext", () => {
    expect(clientTls({})).toBeUndefined();
    expect(channelSecurity(undefined).description).toBe("plaintext");
  });
  test.each([
    ["--tls-cert without --tls-key", { ca: "x", tlsCert: "c" }, /--tls-key is missing/],
    ["--tls-key without --tls-cert", { ca: "x", tlsKey: "k" }, /--tls-cert is missing/],
    ["a client certificate without --ca", { tlsCert: "c", tlsKey: "k" }, /--tls-cert needs --ca/],
    ["--tls-server-name without --ca", { tlsServerName: "a.b" }, /--tls-server-name needs --ca/],
    ["a server name that is no name", { ca: "x", tlsServerName: "a b/c" }, /is not a DNS name or an IP address/],
  ])("refuses %s", (_what, opts, message) => {
    const err = refusal(() => clientTls(opts));
    expect(err.message).toMatch(message);
    expect(err.hint).toBeTruthy();
  });
  test("a missing CA file is refused at start, naming it", () => {
    expect(refusal(() => clientTls({ ca: join(dir, "none.pem") })).message).toMatch(/coordinator CA .*none\.pem: cannot read it/);
  });
  test("describes itself for logs", () => {
    expect(clientTls({ ca: ca.cert, tlsCert: client.cert, tlsKey: client.key, tlsServerName: "coord.test" })!.channel().description).toBe(
      `TLS (CA ${ca.cert}, client certificate ${client.cert}, server name coord.test)`,
    );
  });
  test("a renewal caught half-written keeps the last good files", () => {
    const file = join(dir, "rotating-ca.crt");
    copyFileSync(ca.cert, file);
    const tls = clientTls({ ca: file })!;
    writeFileSync(file, "");
    expect(tls.channel().description).toBe(`TLS (CA ${file})`);
  });
});

describe("tlsFailureHint", () => {
  test("a failure that is not TLS gets no TLS hint (the real TLS failures: coordinator/src/listen.test.ts)", () => {
    expect(tlsFailureHint("No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1")).toBeUndefined();
    expect(tlsFailureHint("Hostname/IP does not match certificate's altnames: Host: x")).toMatch(/--tls-server-name/);
  });
});
