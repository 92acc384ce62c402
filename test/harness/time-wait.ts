/** For the port tests: a loopback port that no socket listens on but one still holds. */
import { connect, createServer } from "node:net";

/**
 * A loopback port left in TIME_WAIT: its server closed the accepted connection first (so the
 * listening port's side goes to TIME_WAIT, for 60 s on Linux), then stopped listening.
 */
export async function timeWaitPort(): Promise<number> {
  const srv = createServer((conn) => conn.destroy());
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) =>
    connect(port, "127.0.0.1")
      .on("close", () => r())
      .on("error", () => r()),
  );
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
