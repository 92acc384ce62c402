/**
 * TLS for the control plane, built in one place: the coordinator's server
 * certificate (gRPC and the web page) with optional client-certificate
 * checking (mTLS), and what agents and the CLI need to verify the coordinator
 * (`--ca`) and, under mTLS, to present their own certificate. Every file is
 * read bounded and checked here (PEM parses, key matches certificate, dates
 * valid), so a wrong path or a swapped key fails at start with the file named,
 * not as an opaque handshake error later.
 *
 * No `--ca`: plaintext (the lab, loopback). Given `--ca`, a client refuses a
 * coordinator whose certificate does not verify against it before any call
 * is made, so its token never reaches an impostor.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import type { TlsOptions } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { NetmatrixError } from "./errors.js";

/** Environment variables, like NETMATRIX_TOKEN_FILE: the chart sets them. */
export const TLS_ENV = {
  /** Coordinator: its certificate (chain). Agents and the CLI: their client certificate (mTLS). */
  cert: "NETMATRIX_TLS_CERT",
  /** The private key of NETMATRIX_TLS_CERT. */
  key: "NETMATRIX_TLS_KEY",
  /** Coordinator: require client certificates signed by these CAs (mTLS). */
  clientCa: "NETMATRIX_CLIENT_CA",
  /** Agents and the CLI: verify the coordinator against these CAs; turns TLS on. */
  ca: "NETMATRIX_CA",
  /** Agents and the CLI: the name the coordinator's certificate must carry, when it differs from the host dialled. */
  serverName: "NETMATRIX_TLS_SERVER_NAME",
} as const;

/** PEM files are small; anything larger is not one. */
const MAX_PEM_BYTES = 1024 * 1024;
const MAX_CERTS = 64;

const FLAG = { cert: "--tls-cert", key: "--tls-key", clientCa: "--client-ca", ca: "--ca", serverName: "--tls-server-name" } as const;

function fileError(what: string, file: string, problem: string, hint: string, cause?: unknown): NetmatrixError {
  return new NetmatrixError("invalid-argument", `${what} ${file}: ${problem}`, { hint, ...(cause === undefined ? {} : { cause }) });
}

/** Read a PEM file, bounded; errors name the flag and the file. */
function readPem(file: string, what: string, flag: string): Buffer {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw fileError(what, file, "not a regular file", `give ${flag} the path of a PEM file`);
    size = st.size;
  } catch (err) {
    if (err instanceof NetmatrixError) throw err;
    throw fileError(what, file, `cannot read it: ${(err as Error).message}`, `check the path given with ${flag}`, err);
  }
  if (size > MAX_PEM_BYTES) throw fileError(what, file, `${size} bytes is too large for a PEM file (limit ${MAX_PEM_BYTES})`, `give ${flag} the PEM file itself`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw fileError(what, file, `cannot read it: ${(err as Error).message}`, `check the path given with ${flag} and its permissions`, err);
  }
}

/** Every `-----BEGIN CERTIFICATE-----` block of `pem`, in order (linear scan, bounded count). */
export function pemCertificates(pem: string): string[] {
  const begin = "-----BEGIN CERTIFICATE-----";
  const end = "-----END CERTIFICATE-----";
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const b = pem.indexOf(begin, at);
    if (b < 0) return out;
    const e = pem.indexOf(end, b + begin.length);
    if (e < 0) return out;
    out.push(pem.slice(b, e + end.length));
    if (out.length > MAX_CERTS) return out;
    at = e + end.length;
  }
}

/** The certificates in `pem`, parsed; throws naming the file when there is none or one is broken. */
function parseCertificates(pem: Buffer, file: string, what: string, flag: string): X509Certificate[] {
  const blocks = pemCertificates(pem.toString("latin1"));
  if (blocks.length === 0) throw fileError(what, file, "no PEM certificate in it (no -----BEGIN CERTIFICATE----- block)", `give ${flag} a PEM certificate file`);
  if (blocks.length > MAX_CERTS) throw fileError(what, file, `more than ${MAX_CERTS} certificates`, `give ${flag} a smaller bundle`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw fileError(what, file, `certificate ${i + 1} does not parse: ${(err as Error).message}`, `give ${flag} a valid PEM certificate`, err);
    }
  });
}

/** Throws when `cert` is expired or not yet valid, naming the file and the dates. */
function checkDates(cert: X509Certificate, file: string, what: string, now = Date.now()): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isFinite(to) && now > to) throw fileError(what, file, `the certificate expired on ${new Date(to).toISOString()}`, "issue a new certificate");
  if (Number.isFinite(from) && now < from)
    throw fileError(what, file, `the certificate is not valid before ${new Date(from).toISOString()}`, "check this machine's clock or issue a new certificate");
}

/** A certificate and its key, checked to belong together. */
function loadKeyPair(certFile: string, keyFile: string, role: string): { cert: Buffer; key: Buffer; leaf: X509Certificate } {
  const cert = readPem(certFile, `${role} certificate`, FLAG.cert);
  const [leaf] = parseCertificates(cert, certFile, `${role} certificate`, FLAG.cert);
  checkDates(leaf!, certFile, `${role} certificate`);
  const key = readPem(keyFile, `${role} key`, FLAG.key);
  let matches: boolean;
  try {
    matches = leaf!.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw fileError(`${role} key`, keyFile, `not a usable PEM private key: ${(err as Error).message}`, `give ${FLAG.key} the unencrypted PEM key of ${certFile}`, err);
  }
  if (!matches) throw fileError(`${role} key`, keyFile, `it is not the key of ${certFile}`, `give ${FLAG.key} the key that certificate was issued for`);
  return { cert, key, leaf: leaf! };
}

/** Names a certificate is valid for, from its subjectAltName (DNS and IP), for logs. */
export function certificateNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(/,\s*/)
    .map((s) => /^(?:DNS:|IP Address:)(.+)$/.exec(s)?.[1] ?? "")
    .filter(Boolean);
}

// ---------------------------------------------------------------- server

export interface ServerTlsFiles {
  cert: string;
  key: string;
  /** Require client certificates signed by these CAs (mTLS). */
  clientCa?: string | undefined;
}

/** The coordinator's TLS material, read and checked. */
export interface ServerTls {
  files: ServerTlsFiles;
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer | undefined;
  /** For the start-up log: subject, names, expiry, whether clients must present certificates. */
  summary: { subject: string; names: string[]; notAfter: string; clientCertificates: boolean };
}

/**
 * The coordinator's TLS files from its flags: both `--tls-cert` and
 * `--tls-key`, or neither (plaintext; then `--client-ca` is refused).
 */
export function serverTlsFiles(opts: { tlsCert?: string | undefined; tlsKey?: string | undefined; clientCa?: string | undefined }): ServerTlsFiles | undefined {
  if (!opts.tlsCert && !opts.tlsKey) {
    if (opts.clientCa)
      throw new NetmatrixError("invalid-argument", `${FLAG.clientCa} needs ${FLAG.cert} and ${FLAG.key}`, {
        hint: "client certificates are checked only over TLS: give the coordinator its certificate and key too",
      });
    return undefined;
  }
  if (!opts.tlsCert || !opts.tlsKey) {
    throw new NetmatrixError("invalid-argument", `${opts.tlsCert ? FLAG.key : FLAG.cert} is missing: TLS needs both ${FLAG.cert} and ${FLAG.key}`, {
      hint: `give both (env ${TLS_ENV.cert}, ${TLS_ENV.key}), or neither for plaintext`,
    });
  }
  return { cert: opts.tlsCert, key: opts.tlsKey, ...(opts.clientCa ? { clientCa: opts.clientCa } : {}) };
}

/** Read and check the coordinator's certificate, key and client CAs. */
export function loadServerTls(files: ServerTlsFiles): ServerTls {
  const { cert, key, leaf } = loadKeyPair(files.cert, files.key, "coordinator");
  let clientCa: Buffer | undefined;
  if (files.clientCa) {
    clientCa = readPem(files.clientCa, "client CA", FLAG.clientCa);
    parseCertificates(clientCa, files.clientCa, "client CA", FLAG.clientCa).forEach((c) => checkDates(c, files.clientCa!, "client CA"));
  }
  return {
    files,
    cert,
    key,
    clientCa,
    summary: { subject: leaf.subject.replace(/\n/g, ", "), names: certificateNames(leaf), notAfter: new Date(leaf.validTo).toISOString(), clientCertificates: Boolean(clientCa) },
  };
}

/**
 * Options for a node:tls server (the coordinator's gRPC listener): its
 * certificate; with a client CA, clients are asked for a certificate, and
 * whether that CA signed it is in `socket.authorized` — the listener must
 * check it. HTTP/2 only (gRPC).
 */
export function grpcServerTlsOptions(tls: ServerTls): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ALPNProtocols: ["h2"],
    minVersion: "TLSv1.2",
    // The handshake completes either way; the listener checks `authorized` and
    // answers an unauthorized client with a gRPC refusal it can print.
    ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : { requestCert: false }),
  };
}

/** Options for the web page's HTTPS server: the same certificate; browsers present no client certificate (the page has its token). */
export function webServerTls(tls: ServerTls): { cert: Buffer; key: Buffer } {
  return { cert: tls.cert, key: tls.key };
}

/** Whether `first`, the first byte a client sent, opens a TLS handshake (a TLS record of type handshake). */
export function isTlsClientHello(first: number): boolean {
  return first === 0x16;
}

/** What a client without a certificate the client CA signed is told (mTLS). */
export function clientCertificateRefused(presented: boolean): NetmatrixError {
  return new NetmatrixError(
    "unauthenticated",
    presented
      ? "this coordinator requires a client certificate signed by its client CA; the one presented is not (or has expired)"
      : "this coordinator requires a client certificate and none was presented",
    { hint: `pass ${FLAG.cert} and ${FLAG.key} (env ${TLS_ENV.cert}, ${TLS_ENV.key}) with a certificate signed by the CA the coordinator was given as --client-ca` },
  );
}

/** What a plaintext client of a TLS coordinator is told. */
export function plaintextRefused(): NetmatrixError {
  return new NetmatrixError("unauthenticated", "this coordinator requires TLS and the client connected in plaintext", {
    hint: `pass ${FLAG.ca} FILE (env ${TLS_ENV.ca}) with the CA of the coordinator's certificate; the token this client sent crossed the network in the clear: consider rotating it`,
  });
}

// ---------------------------------------------------------------- client

export interface ClientTlsFiles {
  /** Verify the coordinator against these CAs; TLS is on exactly when given. */
  ca?: string | undefined;
  /** This client's certificate and key, for a coordinator that requires them (mTLS). */
  cert?: string | undefined;
  key?: string | undefined;
  /** The name the coordinator's certificate must carry (default: the host dialled). */
  serverName?: string | undefined;
}

/** How one client connects: credentials and the channel options they need. */
export interface ChannelSecurity {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
  /** "plaintext" or "TLS (CA FILE…)", for logs. */
  description: string;
}

/**
 * The client's TLS setting from its flags: undefined (plaintext) without
 * `--ca`. Checked now (files readable, PEM, key matches), so a mistake fails
 * at start; `channel()` reads the files again for every new connection, so
 * renewed certificates are picked up when an agent reconnects.
 */
export interface ClientTls {
  files: ClientTlsFiles;
  channel(): ChannelSecurity;
}

function checkServerName(name: string): string {
  if (isIP(name) || (/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(name) && !name.includes(".."))) return name;
  throw new NetmatrixError("invalid-argument", `${FLAG.serverName} "${name.slice(0, 80)}" is not a DNS name or an IP address`, {
    hint: "give a name the coordinator's certificate carries, e.g. netmatrix-coordinator.netmatrix.svc",
  });
}

function loadClient(files: ClientTlsFiles): ChannelSecurity {
  const ca = readPem(files.ca!, "coordinator CA", FLAG.ca);
  parseCertificates(ca, files.ca!, "coordinator CA", FLAG.ca).forEach((c) => checkDates(c, files.ca!, "coordinator CA"));
  const pair = files.cert && files.key ? loadKeyPair(files.cert, files.key, "client") : undefined;
  const channelOptions: grpc.ChannelOptions = files.serverName ? { "grpc.ssl_target_name_override": files.serverName, "grpc.default_authority": files.serverName } : {};
  return {
    credentials: grpc.credentials.createSsl(ca, pair?.key ?? null, pair?.cert ?? null),
    channelOptions,
    description: `TLS (CA ${files.ca}${pair ? `, client certificate ${files.cert}` : ""}${files.serverName ? `, server name ${files.serverName}` : ""})`,
  };
}

/** Flags → ClientTls (or undefined: plaintext). Throws a NetmatrixError naming the flag and the fix. */
export function clientTls(opts: { ca?: string | undefined; tlsCert?: string | undefined; tlsKey?: string | undefined; tlsServerName?: string | undefined }): ClientTls | undefined {
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) {
    throw new NetmatrixError("invalid-argument", `${opts.tlsCert ? FLAG.key : FLAG.cert} is missing: a client certificate needs both ${FLAG.cert} and ${FLAG.key}`, {
      hint: `give both (env ${TLS_ENV.cert}, ${TLS_ENV.key}) for a coordinator that requires client certificates, or neither`,
    });
  }
  if (!opts.ca) {
    if (opts.tlsCert || opts.tlsServerName) {
      throw new NetmatrixError("invalid-argument", `${opts.tlsCert ? FLAG.cert : FLAG.serverName} needs ${FLAG.ca}: TLS is on only when this client can verify the coordinator`, {
        hint: `give ${FLAG.ca} FILE (env ${TLS_ENV.ca}) with the CA of the coordinator's certificate`,
      });
    }
    return undefined;
  }
  const files: ClientTlsFiles = {
    ca: opts.ca,
    ...(opts.tlsCert ? { cert: opts.tlsCert, key: opts.tlsKey } : {}),
    ...(opts.tlsServerName ? { serverName: checkServerName(opts.tlsServerName) } : {}),
  };
  let last = loadClient(files);
  return {
    files,
    channel: () => {
      try {
        last = loadClient(files);
      } catch {
        // A renewal caught half-written: keep what loaded last; the next connection reads again.
      }
      return last;
    },
  };
}

/** The credentials and channel options of `tls`, or plaintext. */
export function channelSecurity(tls: ClientTls | undefined): ChannelSecurity {
  return tls ? tls.channel() : { credentials: grpc.credentials.createInsecure(), channelOptions: {}, description: "plaintext" };
}

/**
 * A hint for a connection that failed in the TLS layer (the message grpc-js
 * reports), or undefined when the failure does not look like TLS.
 */
export function tlsFailureHint(message: string): string | undefined {
  if (/altnames|hostname\/ip does not match|ERR_TLS_CERT_ALTNAME/i.test(message)) {
    return `the coordinator's certificate does not name the host dialled: dial a name it carries, or pass ${FLAG.serverName} NAME (env ${TLS_ENV.serverName})`;
  }
  if (/certificate required|alert number 116|sslv3 alert (bad certificate|handshake failure)|tlsv1 alert unknown ca|tlsv13 alert certificate required/i.test(message)) {
    return `the coordinator requires a client certificate it trusts: pass ${FLAG.cert} and ${FLAG.key} (env ${TLS_ENV.cert}, ${TLS_ENV.key}) signed by its --client-ca`;
  }
  if (/unable to verify|self[- ]signed certificate|unable to get (local )?issuer|certificate has expired|certificate is not yet valid|CERT_/i.test(message)) {
    return `the coordinator's certificate did not verify against ${FLAG.ca}: this client refused it and sent no token. Check that ${FLAG.ca} is the CA of that coordinator (and that you dial the right one)`;
  }
  if (/wrong version number|packet length too long|unknown protocol|EPROTO|ssl3_get_record|record layer failure/i.test(message)) {
    return `the coordinator did not answer TLS: it may run without --tls-cert; drop ${FLAG.ca} for a plaintext coordinator, or check the address`;
  }
  return undefined;
}
