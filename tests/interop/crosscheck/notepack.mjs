#!/usr/bin/env node
// Cross-check of sio-redis's codec (crates/sio-redis/src/codec.rs) against
// the npm notepack.io, @socket.io/redis-adapter 8 and @socket.io/redis-emitter
// (run by crates/sio-redis/tests/notepack.rs).
//
//   node tests/interop/crosscheck/notepack.mjs gen
//       Prints JSON lines {"name","kind","bytes"[,"value"]}:
//       - kind "value": notepack.encode(value) of a corpus of values
//         (integers at every size boundary, floats, strings and buffers at
//         every length boundary, arrays, maps, nesting);
//       - kind "broadcast" / "request" / "response": the bytes that the REAL
//         adapter and emitter publish, captured with a fake Redis client
//         (every message type, JSON and msgpack ones).
//
//   node tests/interop/crosscheck/notepack.mjs check < lines
//       Reads {"name","kind","bytes","value"} lines written by the Rust
//       encoder; decodes each with notepack (msgpack) or JSON.parse (when it
//       starts with "{"), compares with "value", and re-encodes it the way
//       the adapter does (notepack.encode / JSON.stringify): the bytes must
//       be identical. Ends with "crosscheck: N passed, M failed"; exits 1 if
//       M > 0 or nothing ran.
//
// Values in JSON: {"$binary": "<base64>"} stands for a Buffer.

import process from "node:process";
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
let notepack, RedisAdapter, Emitter, Encoder;
try {
  // notepack.io is a dependency of @socket.io/redis-adapter.
  notepack = require("notepack.io");
  ({ RedisAdapter } = require("@socket.io/redis-adapter"));
  ({ Emitter } = require("@socket.io/redis-emitter"));
  ({ Encoder } = require("socket.io-parser"));
} catch (err) {
  process.stderr.write(`notepack.mjs: cannot load the npm packages (${err.message}); run scripts/setup\n`);
  process.exit(2);
}

const toJson = (v) =>
  JSON.stringify(v, (_k, x) =>
    x && x.type === "Buffer" && Array.isArray(x.data) ? { $binary: Buffer.from(x.data).toString("base64") } : x,
  );
const fromJson = (v) => {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v && typeof v === "object") {
    if (typeof v.$binary === "string") return Buffer.from(v.$binary, "base64");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x)]));
  }
  return v;
};

function corpus() {
  const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2 ** 53 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -(2 ** 53 - 1)];
  // Not integral floats of 2^64 and beyond: notepack writes them as a wrapped
  // uint 64 (it reads back as another number); sio writes a float 64.
  const floats = [0.5, -0.25, 1.1, -1e-300, 3.141592653589793, 1.7976931348623157e-300, 2 ** 63, 2 ** 64 - 2048];
  const str = (n) => "x".repeat(n);
  const strings = ["", "a", str(31), str(32), str(255), str(256), str(65535), str(65536), "héllo €𝄞 日本"];
  const bufs = [0, 1, 255, 256, 65535, 65536].map((n) => Buffer.alloc(n, 7));
  const arr = (n) => Array.from({ length: n }, (_, i) => i);
  const obj = (n) => Object.fromEntries(arr(n).map((i) => [`k${i}`, i]));
  const values = [null, true, false, ...ints, ...floats, ...strings, ...bufs,
    [], arr(15), arr(16), arr(65536), {}, obj(15), obj(16), obj(65536),
    { nested: [1, { deep: [Buffer.from([1, 2]), "s", null, 2.5] }], "": "empty key" }];
  return values.map((v, i) => ({ name: `value ${i}`, kind: "value", value: v, bytes: notepack.encode(v) }));
}

function fakeRedis(captured) {
  const noop = () => {};
  return {
    publish: (channel, msg) => captured.push({ channel, bytes: Buffer.from(msg) }),
    on: noop, off: noop, pSubscribe: noop, subscribe: noop, pUnsubscribe: noop, unsubscribe: noop,
    sSubscribe: noop,
    sendCommand: async () => ["channel", "3"],
  };
}

async function adapterMessages() {
  const out = [];
  const captured = [];
  const client = fakeRedis(captured);
  const served = [];
  const nsp = {
    name: "/chat",
    server: { encoder: new Encoder() },
    sockets: new Map(),
    _ids: 0,
    _onServerSideEmit: (data) => served.push(data),
  };
  const adapter = new RedisAdapter(nsp, client, client, { requestsTimeout: 20 });
  // One local socket, for the answers.
  const socket = {
    id: "sid1",
    handshake: { headers: { host: "x" }, time: "now", address: "::1", xdomain: false, secure: false,
      issued: 1700000000000, url: "/socket.io/?EIO=4", query: { EIO: "4" }, auth: { token: "t" } },
    rooms: new Set(["sid1", "room1"]),
    data: { name: "carol", n: 1.5 },
    acks: new Map(),
    client: { writeToEngine: () => {} },
    join: () => {}, leave: () => {}, disconnect: () => {},
  };
  nsp.sockets.set("sid1", socket);
  adapter.addAll("sid1", new Set(["sid1", "room1"]));
  const take = (name, kind) => {
    for (const m of captured.splice(0)) out.push({ name: `${name} (${m.channel})`, kind, bytes: m.bytes });
  };
  const opts = (rooms, except, flags) => ({ rooms: new Set(rooms), except: new Set(except), flags });
  const bin = Buffer.from([1, 2, 3]);

  adapter.broadcast({ type: 2, data: ["ev", 1, "two", bin, { a: [1.5, null] }] }, opts(["r1"], ["x"], {}));
  adapter.broadcast({ type: 2, data: ["ev"] }, opts([], [], { volatile: true, compress: false }));
  adapter.broadcast({ type: 2, data: ["ev", -7] }, opts(["r1", "r2"], ["a", "b"], { timeout: 2000 }));
  take("broadcast", "broadcast");
  adapter.broadcastWithAck({ type: 2, data: ["q", bin] }, opts(["r"], [], { timeout: 1000 }), () => {}, () => {});
  take("broadcast with ack", "request");
  adapter.addSockets(opts(["r1"], ["x"]), ["a", "b"]);
  adapter.delSockets(opts([], []), ["a"]);
  adapter.disconnectSockets(opts(["r1"], []), true);
  adapter.disconnectSockets(opts([], ["x"]), false);
  adapter.serverSideEmit(["tell", 1, { k: "v" }]);
  take("requests", "request");
  adapter.serverSideEmit(["ask", "q", () => {}]);
  await new Promise((r) => setTimeout(r, 5));
  adapter.fetchSockets(opts(["room1"], ["y"], {})).catch(() => {});
  await new Promise((r) => setTimeout(r, 5));
  adapter.allRooms().catch(() => {});
  await new Promise((r) => setTimeout(r, 40));
  take("requests with answers", "request");

  // Answers of this node to requests of another one (uid "other").
  const ask = (req) => adapter.onrequest(adapter.requestChannel, Buffer.from(JSON.stringify(req)));
  await ask({ uid: "other", requestId: "r0", type: 0, rooms: ["room1"] });
  await ask({ uid: "other", requestId: "r1", type: 1 });
  await ask({ uid: "other", requestId: "r5", type: 5, opts: { rooms: ["room1"], except: [] } });
  await ask({ uid: "other", requestId: "r5b", type: 5, opts: { rooms: ["nobody"], except: [] } });
  await ask({ uid: "other", requestId: "r6", type: 6, data: ["ask", 1] });
  served.at(-1).at(-1)({ answer: [1, "two"] });
  await adapter.onrequest(adapter.requestChannel, notepack.encode({
    uid: "other", requestId: "r7", type: 7, packet: { type: 2, data: ["q"], nsp: "/chat" },
    opts: { rooms: [], except: [], flags: { timeout: 1000 } },
  }));
  for (const ack of socket.acks.values()) ack({ ok: true, bin });
  take("responses", "response");

  // The official emitter.
  const emitter = new Emitter(client, {}, "/");
  emitter.to("room1").emit("hello", "world", bin);
  emitter.of("/admin").except("bots").volatile.emit("notice", 1, 2.5);
  emitter.to(["a", "b"]).compress(false).emit("multi");
  take("emitter broadcast", "broadcast");
  emitter.in("room1").socketsJoin("room2");
  emitter.socketsLeave(["room2", "room3"]);
  emitter.except("x").disconnectSockets(true);
  emitter.serverSideEmit("ping", { at: 1 });
  take("emitter requests", "request");
  return out;
}

async function gen() {
  const lines = [...corpus(), ...(await adapterMessages())];
  for (const l of lines) {
    const line = { name: l.name, kind: l.kind, bytes: Buffer.from(l.bytes).toString("base64") };
    if (l.kind === "value") line.value = JSON.parse(toJson(l.value));
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}

async function check() {
  let passed = 0;
  let failed = 0;
  for await (const text of createInterface({ input: process.stdin })) {
    if (!text.trim()) continue;
    const line = JSON.parse(text);
    const bytes = Buffer.from(line.bytes, "base64");
    try {
      const expected = fromJson(line.value);
      if (bytes[0] === 0x7b && line.kind !== "value") {
        const decoded = JSON.parse(bytes.toString());
        assert.deepEqual(decoded, JSON.parse(JSON.stringify(expected)));
        assert.equal(JSON.stringify(decoded), bytes.toString());
      } else {
        const decoded = notepack.decode(bytes);
        assert.deepEqual(decoded, expected);
        assert.deepEqual(Buffer.from(notepack.encode(decoded)), bytes);
      }
      passed++;
    } catch (err) {
      failed++;
      process.stdout.write(`FAIL ${line.name}: ${err.message.split("\n").slice(0, 6).join(" | ")}\n`);
    }
  }
  process.stdout.write(`crosscheck: ${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

const mode = process.argv[2];
if (mode === "gen") await gen();
else if (mode === "check") await check();
else {
  process.stderr.write("usage: notepack.mjs gen | check < lines\n");
  process.exit(2);
}
