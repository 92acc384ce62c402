/**
 * Where the coordinator's gRPC server listens. Plaintext: grpc-js binds the
 * port itself. TLS: the coordinator owns the listening socket and looks at the
 * first byte each client sends.
 *
 * - A TLS handshake goes to a node:tls server (the certificate), and the
 *   decrypted connection to the gRPC server. With a client CA (mTLS), only a
 *   connection whose client certificate that CA signed does; others get a
 *   refusal (below). A refused client is logged with its peer and the reason,
 *   so an operator sees why an agent is not there.
 * - Anything else is a plaintext client. Instead of a connection reset it gets
 *   a gRPC answer it can print — "this coordinator requires TLS: pass --ca".
 *
 * Refusals come from small gRPC servers that fail every call before any
 * handler: a client sees the reason and the fix, not a reset. Only over a
 * verified TLS connection does a client's token reach the real server.
 *
 * The certificate files are polled: a renewed certificate (cert-manager, a
 * rotated Secret) serves new connections without a restart; connections
 * already up keep theirs; files that do not load keep the previous ones.
 */
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { unwatchFile, watchFile } from "node:fs";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { NetmatrixError } from "../../common/src/errors.js";
import { implement, type ServiceImpl } from "../../common/src/grpc-adapter.js";
import { clientCertificateRefused, grpcServerTlsOptions, isTlsClientHello, loadServerTls, plaintextRefused, type ServerTls } from "../../common/src/tls.js";

/** A client that opens a connection and sends nothing for this long is dropped. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
/** A TLS handshake that takes longer than this is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often the certificate files are checked for a change (default). */
const RELOAD_POLL_MS = 30_000;
/** At most this many refused handshakes or plaintext calls are logged per minute (the rest are counted). */
const LOG_PER_MINUTE = 20;

export interface GrpcListener {
  port: number;
  close(): void;
}

export interface ListenOptions {
  /** Services the plaintext refusal answers for (every method of each). */
  services: readonly DescService[];
  /** Called with the reloaded material after the certificate files changed and loaded. */
  onReload?: (tls: ServerTls) => void;
  /** How often to look at the files, milliseconds (default 30 s). */
  reloadPollMs?: number;
}

function cannotListen(listen: string, err: Error): NetmatrixError {
  return new NetmatrixError("unavailable", `cannot listen on ${listen}: ${err.message}`, {
    cause: err,
    hint: "pick another --listen HOST:PORT, or stop what holds that port",
  });
}

/** HOST:PORT (HOST may be [v6]) → host and port for net.Server.listen. */
function hostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  const portText = listen.slice(i + 1);
  const port = Number(portText);
  if (i < 0 || !/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new NetmatrixError("invalid-argument", `--listen ${listen} is not HOST:PORT`, { hint: "e.g. --listen 0.0.0.0:7400" });
  }
  return { host: listen.slice(0, i).replace(/^\[(.*)\]$/, "$1") || "0.0.0.0", port };
}

/** Logs at most LOG_PER_MINUTE lines a minute, then a count of what it left out. */
function limitedLog(log: Logger): (fields: object, msg: string) => void {
  let windowStart = 0;
  let logged = 0;
  let skipped = 0;
  return (fields, msg) => {
    const now = Date.now();
    if (now - windowStart > 60_000) {
      if (skipped) log.warn({ skipped }, "more refused connections were not logged");
      windowStart = now;
      logged = 0;
      skipped = 0;
    }
    if (logged++ < LOG_PER_MINUTE) log.warn(fields, msg);
    else skipped++;
  };
}

/** A server whose every method of `services` fails with `err` before any handler. */
function refusingServer(services: readonly DescService[], err: NetmatrixError): grpc.Server {
  const server = new grpc.Server();
  const refuse = (): never => {
    throw err;
  };
  for (const service of services) {
    // A handler per method, as implement() requires; the interceptor refuses before any runs.
    const never = Object.fromEntries(service.methods.map((m) => [m.localName, () => Promise.reject(err)]));
    const b = implement(service, never as unknown as ServiceImpl<typeof service>, { interceptors: [refuse] });
    server.addService(b.definition, b.implementation);
  }
  return server;
}

/**
 * Serve `server` on `listen`: plaintext when `tls` is undefined, else TLS
 * with plaintext clients answered by a clear refusal (see the file comment).
 */
export async function listenGrpc(server: grpc.Server, listen: string, tls: ServerTls | undefined, opts: ListenOptions, log: Logger): Promise<GrpcListener> {
  if (!tls) {
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(cannotListen(listen, err)) : resolve(p)));
    });
    return { port, close: () => undefined };
  }
  const { host, port } = hostPort(listen);
  const warn = limitedLog(log);
  // gRPC over the decrypted connections: TLS is done by `secure` below.
  const decrypted = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const refusers = [plaintextRefused(), clientCertificateRefused(false), clientCertificateRefused(true)].map((err) => refusingServer(opts.services, err));
  const [plaintext, noClientCert, untrustedClientCert] = refusers.map((r) => r.createConnectionInjector(grpc.ServerCredentials.createInsecure())) as [
    grpc.ConnectionInjector,
    grpc.ConnectionInjector,
    grpc.ConnectionInjector,
  ];
  let current = tls;
  const peer = (socket: Socket): string => `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  const secure = createTlsServer({ ...grpcServerTlsOptions(tls), handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, (socket: TLSSocket) => {
    socket.on("error", () => socket.destroy());
    // The one check that keeps an unauthorized client from the services under mTLS.
    if (current.clientCa && !socket.authorized) {
      const presented = Object.keys(socket.getPeerCertificate()).length > 0;
      warn({ peer: peer(socket), reason: String(socket.authorizationError ?? "no certificate") }, presented ? "client certificate refused" : "client presented no certificate");
      (presented ? untrustedClientCert : noClientCert).injectConnection(socket);
      return;
    }
    decrypted.injectConnection(socket);
  });
  secure.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
    warn({ peer: peer(socket), reason: err.message, code: err.code }, "TLS handshake failed");
    socket.destroy();
  });
  const route = (socket: Socket): void => {
    socket.on("error", () => socket.destroy());
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      if (isTlsClientHello(first[0]!)) return void secure.emit("connection", socket);
      warn({ peer: peer(socket) }, "plaintext client refused: this coordinator requires TLS");
      plaintext.injectConnection(socket);
    });
  };
  const net: NetServer = createServer({ noDelay: true }, route);
  await new Promise<void>((resolve, reject) => {
    net.once("error", (err) => reject(cannotListen(listen, err)));
    net.listen(port, host, () => resolve());
  });
  net.on("error", (err) => log.error({ err }, "gRPC listener error"));

  // Renewed certificate files serve new connections; a broken renewal keeps the previous ones (and says so).
  const files = [tls.files.cert, tls.files.key, ...(tls.files.clientCa ? [tls.files.clientCa] : [])];
  const same = (a: Buffer | undefined, b: Buffer | undefined): boolean => (a ?? Buffer.alloc(0)).equals(b ?? Buffer.alloc(0));
  const reload = (): void => {
    let next: ServerTls;
    try {
      next = loadServerTls(tls.files);
    } catch (err) {
      log.error({ reason: err instanceof NetmatrixError ? err.describe() : String(err) }, "TLS files changed but do not load; still serving the previous certificate");
      return;
    }
    if (same(next.cert, current.cert) && same(next.key, current.key) && same(next.clientCa, current.clientCa)) return;
    secure.setSecureContext(grpcServerTlsOptions(next));
    current = next;
    log.info(next.summary, "TLS certificate reloaded");
    opts.onReload?.(next);
  };
  for (const f of files) watchFile(f, { interval: opts.reloadPollMs ?? RELOAD_POLL_MS, persistent: false }, reload);

  return {
    port: (net.address() as { port: number }).port,
    close: () => {
      for (const f of files) unwatchFile(f, reload);
      net.close();
      secure.close();
      for (const r of refusers) r.forceShutdown();
    },
  };
}
