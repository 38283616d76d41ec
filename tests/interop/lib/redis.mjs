// A real redis-server for the tests: started on a free port of 127.0.0.1,
// killed at the end (and when the test process exits, even after a crash).
//
//   const redis = await startRedis();   // {port, url, stop(), kill(), restart()}
//
// When redis-server is not installed: with CI=true this throws (a test
// must fail, not skip, in CI); otherwise it returns null and the caller
// skips, saying why.

import { spawn, spawnSync } from "node:child_process";
import net from "node:net";

import { freePort, killOnExit } from "./server.mjs";

/** Whether redis-server can be run. */
export function redisAvailable() {
  const r = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  return !r.error && r.status === 0;
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function launch(port) {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  killOnExit(child);
  for (let i = 0; i < 500; i++) {
    if (await accepts(port)) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not start on port ${port}`);
}

export async function startRedis() {
  if (!redisAvailable()) {
    if (process.env.CI === "true") {
      throw new Error("redis-server is not installed (scripts/setup installs it); CI must run the Redis tests");
    }
    return null;
  }
  const port = await freePort();
  let child = await launch(port);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    stop: kill,
    restart: async () => {
      await kill();
      child = await launch(port);
    },
  };
}
