// Starts and stops the Rust conformance server (examples/conformance.rs) for
// the interop tests.
//
//   const server = await startServer(["--engine-io"]);
//   ... server.port, server.url ("http://127.0.0.1:PORT") ...
//   await server.stop();
//
// The binary comes from $SIO_CONFORMANCE_BIN, or
// <repo>/target/debug/examples/conformance (build it first with
// `cargo build --example conformance`).

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The repository root (tests/interop/lib → ../../..). */
export const REPO_ROOT = path.resolve(HERE, "..", "..", "..");

/** The conformance binary the tests run. */
export const CONFORMANCE_BIN =
  process.env.SIO_CONFORMANCE_BIN || path.join(REPO_ROOT, "target", "debug", "examples", "conformance");

const READY_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = 2_000;

/** Every child still running, so that a crashing test run leaves none behind. */
const live = new Set();
process.on("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Kills `child` (SIGKILL) if it still runs when this process exits. */
export function killOnExit(child) {
  live.add(child);
  child.once("exit", () => live.delete(child));
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * Spawns `bin args` and resolves once `isReady(stdout so far)` returns a
 * truthy value (`ready`); rejects, killing the child, if it exits first or
 * `timeoutMs` passes. The child is killed when node exits.
 *
 * @returns {Promise<{child, ready, exited: Promise<{code, signal}>,
 *   output: () => {stdout: string, stderr: string}, onStderr: (fn) => void}>}
 */
export function spawnReady(bin, args, isReady, { what = path.basename(bin), timeoutMs = READY_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env },
    });
    live.add(child);
    let stdout = "";
    let stderr = "";
    let ready = null;
    const stderrListeners = new Set();
    const exited = new Promise((res) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        res({ code, signal });
      });
    });
    const fail = (message) => {
      clearTimeout(timer);
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      const err = new Error(`${message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
      err.stderr = stderr;
      reject(err);
    };
    const timer = setTimeout(() => fail(`${what} not ready after ${timeoutMs} ms`), timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (!ready && (ready = isReady(stdout) || null)) {
        clearTimeout(timer);
        resolve({
          child,
          ready,
          exited,
          output: () => ({ stdout, stderr }),
          onStderr: (fn) => stderrListeners.add(fn),
        });
      }
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
      for (const fn of stderrListeners) fn();
    });
    child.once("error", (err) => fail(`cannot start ${bin}: ${err.message}`));
    exited.then(({ code, signal }) => {
      if (!ready) fail(`${what} exited before it was ready (code ${code}, signal ${signal})`);
    });
  });
}

/**
 * A `stop(signal)` for a child spawned by spawnReady: sends `signal`, then
 * SIGKILL if it is still running after a moment; resolves with its exit.
 */
export function stopper(child, exited) {
  let stopping = null;
  return (signal = "SIGTERM") => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, KILL_AFTER_MS);
      const result = await exited;
      clearTimeout(killer);
      return result;
    })();
    return stopping;
  };
}

function spawnOnce(port, args, timeoutMs) {
  return spawnReady(CONFORMANCE_BIN, [...args, "--port", String(port)], (out) => out.includes("listening on"), {
    what: "conformance server",
    timeoutMs,
  });
}

/**
 * Starts the conformance server with `args` (e.g. ["--engine-io"]) on a free
 * port and waits for its "listening on" line.
 *
 * @returns {Promise<{port: number, url: string, wsUrl: string, pid: number,
 *   stop: (signal?: string) => Promise<void>, exited: Promise<{code, signal}>,
 *   output: () => {stdout: string, stderr: string}}>}
 */
export async function startServer(args = [], { timeoutMs = READY_TIMEOUT_MS } = {}) {
  if (!existsSync(CONFORMANCE_BIN)) {
    throw new Error(
      `conformance binary not found at ${CONFORMANCE_BIN}: run \`cargo build --example conformance\` ` +
        `or set SIO_CONFORMANCE_BIN`,
    );
  }
  let lastError;
  // The port may be taken between our probe and the server's bind: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let started;
    try {
      started = await spawnOnce(port, args, timeoutMs);
    } catch (err) {
      lastError = err;
      if (/cannot listen/.test(err.stderr || "")) continue;
      throw err;
    }
    const { child, exited, output } = started;
    const stop = stopper(child, exited);
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}`,
      pid: child.pid,
      stop,
      exited,
      output,
    };
  }
  throw lastError;
}
