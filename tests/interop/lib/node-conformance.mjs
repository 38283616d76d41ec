// The conformance server of /work/shared/conformance-server.md, implemented
// with the official Node.js `socket.io` package: the reference the interop
// tests are checked against (a test that fails here is a wrong test).
//
// Same settings as the Rust conformance binary: 127.0.0.1, path /socket.io/,
// pingInterval 300, pingTimeout 200, maxHttpBufferSize 1e6, connectTimeout
// 1000, CORS any origin; namespaces "/", "/custom" and /^\/dynamic-[0-9]+$/.
//
// `--recovery` turns connection state recovery on (reference defaults:
// maxDisconnectionDuration 120000, skipMiddlewares true).
//
// `--redis URL` uses @socket.io/redis-adapter 8 (node `redis` 4 clients) with
// its defaults, so several servers (Node.js and Rust) form one cluster; it
// adds the cluster events of the Rust conformance server (examples/conformance.rs):
// `server-count` (ack), `server-side-tell` (...args) and `server-side-ask`
// (...args, ack), and the server-side listeners "tell" (emit `told` to the
// local clients) and "ask" (answer with the array of arguments).
//
// As a program:   node tests/interop/lib/node-conformance.mjs [--recovery] [--redis URL] --port 3000
//                   [--ping-interval MS] [--ping-timeout MS]   (benchmarks: 25000 20000)
//   prints "listening on 127.0.0.1:PORT" and runs until SIGTERM / SIGINT.
// As a module:    const srv = await startNodeServer(["--recovery"]?);  // same
//   shape as startServer() of ./server.mjs: {port, url, wsUrl, pid, stop(), exited, output()}
//
// The spec's "message" handler echoes the event's arguments without the ack
// function a client may have asked for (the ack is never called); the
// "error" listener that emits "middleware-error" also sees the decoding
// errors the reference reports on the socket just before closing a
// connection (e.g. "invalid payload"), so tests do not assert what arrives
// before such a close.

import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { freePort } from "./server.mjs";

const SELF = fileURLToPath(import.meta.url);

/** Installs the spec's middleware and handlers on one namespace. */
function setup(nsp) {
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth;
    if (auth && auth.token === "forbidden") {
      const err = new Error("forbidden");
      err.data = { reason: "bad token" };
      next(err);
      return;
    }
    next();
  });

  nsp.on("connection", (socket) => {
    // `socket.nsp` is the concrete (child) namespace, also for dynamic ones.
    const ns = socket.nsp;
    socket.emit("auth", socket.handshake.auth);

    let counted = 0;
    socket.onAny(() => {
      counted++;
    });
    socket.use(([event], next) => {
      if (event === "blocked") next(new Error("blocked"));
      else next();
    });
    socket.on("error", (err) => {
      socket.emit("middleware-error", err.message);
    });

    // The event's arguments, without the ack function the client may have
    // requested (that one is not an argument of the event).
    const argsOf = (args) => (typeof args[args.length - 1] === "function" ? args.slice(0, -1) : args);
    const ackOf = (args) => (typeof args[args.length - 1] === "function" ? args[args.length - 1] : () => {});
    const sortedRooms = () => [...socket.rooms].sort();

    socket.on("message", (...args) => {
      socket.emit("message-back", ...argsOf(args));
    });
    socket.on("message-with-ack", (...args) => {
      ackOf(args)(...argsOf(args));
    });
    socket.on("join", async (room, ...rest) => {
      await socket.join(room);
      ackOf(rest)(sortedRooms());
    });
    socket.on("leave", async (room, ...rest) => {
      await socket.leave(room);
      ackOf(rest)(sortedRooms());
    });
    socket.on("to-room", (room, ...args) => {
      socket.to(room).emit("room-message", ...argsOf(args));
    });
    socket.on("broadcast", (...args) => {
      socket.broadcast.emit("broadcast-message", ...argsOf(args));
    });
    socket.on("emit-all", (...args) => {
      ns.emit("all-message", ...argsOf(args));
    });
    socket.on("except-room", (room, ...args) => {
      ns.except(room).emit("except-message", ...argsOf(args));
    });
    socket.on("ask", (timeoutMs, ...rest) => {
      const ack = ackOf(rest);
      socket.timeout(timeoutMs).emit("question", ...argsOf(rest), (err, ...answer) => {
        ack(err ? { error: "timeout" } : { answer });
      });
    });
    socket.on("ask-all", (timeoutMs, ...rest) => {
      const ack = ackOf(rest);
      ns.timeout(timeoutMs).emit("question-all", (err, responses) => {
        ack(err ? { error: "timeout" } : { responses });
      });
    });
    socket.on("sockets-in", async (room, ...rest) => {
      const sockets = await ns.in(room).fetchSockets();
      ackOf(rest)(sockets.map((s) => s.id).sort());
    });
    socket.on("disconnect-room", (room) => {
      ns.in(room).disconnectSockets(true);
    });
    socket.on("disconnect-me", (close) => {
      socket.disconnect(close === true);
    });
    socket.on("volatile-burst", (n) => {
      for (let i = 0; i < n; i++) socket.volatile.emit("volatile", i);
    });
    socket.on("count", (...args) => {
      // The catch-all listener has already counted this `count` event.
      ackOf(args)(counted - 1);
    });
    socket.on("binary", (...args) => {
      ackOf(args)(Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]) });
    });
    socket.on("server-count", async (...args) => {
      ackOf(args)(await ns.adapter.serverCount());
    });
    socket.on("server-side-tell", (...args) => {
      ns.serverSideEmit("tell", ...argsOf(args));
    });
    socket.on("server-side-ask", async (...args) => {
      try {
        ackOf(args)({ responses: await ns.serverSideEmitWithAck("ask", ...argsOf(args)) });
      } catch (err) {
        ackOf(args)({ error: err.message });
      }
    });
  });
  // Events from the other nodes (serverSideEmit).
  nsp.on("ask", (...args) => {
    const cb = args.pop();
    cb(args);
  });
  nsp.on("tell", (...args) => {
    nsp.local.emit("told", ...args);
  });
}

/**
 * Starts the reference server in this process on 127.0.0.1:port.
 * `recovery`: connection state recovery with its defaults (--recovery).
 */
export async function runNodeConformance(
  port,
  { recovery = false, pingInterval = 300, pingTimeout = 200, redis = null } = {},
) {
  const { Server } = await import("socket.io");
  const httpServer = http.createServer((req, res) => {
    res.writeHead(404);
    res.end();
  });
  const io = new Server(httpServer, {
    pingInterval,
    pingTimeout,
    maxHttpBufferSize: 1e6,
    connectTimeout: 1000,
    cors: { origin: "*" },
    serveClient: false,
    ...(recovery ? { connectionStateRecovery: {} } : {}),
  });
  let redisClients = [];
  const redisBaseline = {};
  if (redis) {
    const { createClient } = await import("redis");
    const { createAdapter } = await import("@socket.io/redis-adapter");
    const pub = createClient({ url: redis });
    const sub = pub.duplicate();
    pub.on("error", (err) => console.error(`redis: ${err.message}`));
    sub.on("error", (err) => console.error(`redis: ${err.message}`));
    await Promise.all([pub.connect(), sub.connect()]);
    for (const name of ["/", "/custom"]) {
      const [, count] = await pub.sendCommand(["PUBSUB", "NUMSUB", `socket.io-request#${name}#`]);
      redisBaseline[name] = Number(count);
    }
    io.adapter(createAdapter(pub, sub));
    redisClients = [pub, sub];
  }
  setup(io.of("/"));
  setup(io.of("/custom"));
  setup(io.of(/^\/dynamic-[0-9]+$/));
  if (redis) {
    // The adapter subscribes without waiting: wait until the request
    // channels of "/" and "/custom" count one more subscriber than before.
    for (const name of ["/", "/custom"]) {
      const channel = `socket.io-request#${name}#`;
      for (let i = 0; i < 500; i++) {
        const [, count] = await redisClients[0].sendCommand(["PUBSUB", "NUMSUB", channel]);
        if (Number(count) > redisBaseline[name]) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(port, "127.0.0.1", resolve);
  });
  return { io, httpServer, port: httpServer.address().port, redisClients };
}

const READY_TIMEOUT_MS = 15_000;

/**
 * Spawns the reference server as a child process on a free port (so its
 * timers do not share the test's event loop) and waits for its
 * "listening on" line. `args`: ["--recovery"] or []. Same shape as
 * startServer() of ./server.mjs.
 */
export async function startNodeServer(args = []) {
  const port = await freePort();
  const child = spawn(process.execPath, [SELF, ...args, "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: path.dirname(SELF),
  });
  let stdout = "";
  let stderr = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const killOnExit = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  process.on("exit", killOnExit);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killOnExit();
      reject(new Error(`node reference server not ready after ${READY_TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`node reference server exited (code ${code}, signal ${signal})\n${stdout}\n${stderr}`));
    });
  });
  let stopping = null;
  const stop = () => {
    if (stopping) return stopping;
    stopping = (async () => {
      process.off("exit", killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(killOnExit, 2_000);
      await exited;
      clearTimeout(killer);
    })();
    return stopping;
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    pid: child.pid,
    stop,
    exited,
    output: () => ({ stdout, stderr }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  const option = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const r = process.argv.indexOf("--redis");
  const { io, port: bound, redisClients } = await runNodeConformance(option("--port", 3000), {
    recovery: process.argv.includes("--recovery"),
    pingInterval: option("--ping-interval", 300),
    pingTimeout: option("--ping-timeout", 200),
    redis: r >= 0 ? process.argv[r + 1] : null,
  });
  console.log(`listening on 127.0.0.1:${bound}`);
  const shutdown = () => {
    for (const c of redisClients) c.disconnect().catch(() => {});
    io.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
