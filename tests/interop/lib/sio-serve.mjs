// Starts and stops `sio serve` (the chat server of the sio binary) for the
// interop and browser tests.
//
//   const server = await startSioServe();
//   ... server.url ("http://127.0.0.1:PORT/"), server.output().stderr (its log) ...
//   await server.stop(); // Ctrl-C; resolves with {code, signal}
//
// The binary comes from $SIO_BIN, or <repo>/target/debug/sio (build it with
// `cargo build -p sio-cli --bin sio`). It runs with `--port 0` (the kernel
// picks a free port) and is ready once it prints the URL to open.

import { existsSync } from "node:fs";
import path from "node:path";

import { REPO_ROOT, spawnReady, stopper } from "./server.mjs";
import { within } from "./wire.mjs";

/** The sio binary the tests run. */
export const SIO_BIN = process.env.SIO_BIN || path.join(REPO_ROOT, "target", "debug", "sio");

/**
 * Runs `sio serve --port 0 ...args` and waits for the line with its URL.
 *
 * @returns {Promise<{url: string, port: number, pid: number,
 *   stop: () => Promise<{code, signal}>, exited: Promise<{code, signal}>,
 *   output: () => {stdout: string, stderr: string},
 *   waitForLog: (re: RegExp, ms?: number) => Promise<string>}>}
 */
export async function startSioServe(args = []) {
  if (!existsSync(SIO_BIN)) {
    throw new Error(`sio binary not found at ${SIO_BIN}: run \`cargo build -p sio-cli --bin sio\` or set SIO_BIN`);
  }
  const { child, ready, exited, output, onStderr } = await spawnReady(
    SIO_BIN,
    ["serve", "--port", "0", ...args],
    (stdout) => /chat on (http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(stdout),
    { what: "sio serve" },
  );
  const waiters = new Set();
  onStderr(() => {
    for (const check of waiters) check();
  });

  /** Resolves with the first log line (stderr) matching `re`. */
  function waitForLog(re, ms = 5_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = output().stderr.split("\n").find((l) => re.test(l));
        if (line !== undefined) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no log line matching ${re} within ${ms} ms\n--- stderr ---\n${output().stderr}`));
      }, ms);
      waiters.add(check);
      check();
    });
  }

  const stop = stopper(child, exited);
  return {
    url: ready[1],
    port: Number(ready[2]),
    pid: child.pid,
    exited,
    output,
    waitForLog,
    // Ctrl-C: sio serve closes its sockets and exits 0.
    stop: () => stop("SIGINT"),
  };
}

/**
 * The first argument (and ack function) of the next `event` on `socket`
 * that satisfies `pred`, within `ms`.
 */
export function nextEvent(socket, event, pred = () => true, ms = 3_000) {
  let listener;
  const p = new Promise((resolve) => {
    listener = (arg, ack) => {
      if (pred(arg)) resolve({ arg, ack });
    };
    socket.on(event, listener);
  });
  return within(p, ms, `event "${event}"`).finally(() => socket.off(event, listener));
}

/** Resolves once `socket` connects; rejects on connect_error or after `ms`. */
export function connected(socket, ms = 3_000, what = "connect") {
  const p = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return within(p, ms, what);
}
