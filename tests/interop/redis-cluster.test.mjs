// One cluster on a real redis-server: a Rust node (the conformance binary
// with --redis, sio-redis) and a Node.js node (the official socket.io with
// @socket.io/redis-adapter 8, lib/node-conformance.mjs --redis), official
// socket.io-client clients on both, and the official @socket.io/redis-emitter.
// Every cross-node operation is checked both ways.
//
// Fails (does not skip) when redis-server is missing and CI=true.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";

import { io as connect } from "socket.io-client";

import { startNodeServer } from "./lib/node-conformance.mjs";
import { startRedis } from "./lib/redis.mjs";
import { startServer } from "./lib/server.mjs";
import { nextArgs, sleep, within } from "./lib/wire.mjs";

const require = createRequire(import.meta.url);
const TEST_TIMEOUT = 30_000;
const WAIT = 3_000;

const nextEvent = (emitter, event, ms = WAIT) => nextArgs(emitter, event, ms);

/** Resolves true if `event` arrives within `ms`, false otherwise. */
async function arrives(emitter, event, ms) {
  try {
    await nextEvent(emitter, event, ms);
    return true;
  } catch {
    return false;
  }
}

const redis = await startRedis();

describe("Redis cluster: a Rust node and a Node.js node", { skip: redis ? false : "redis-server not installed" }, () => {
  let rust;
  let node;
  const clients = [];

  async function client(server, nsp = "/") {
    const c = connect(`${server.url}${nsp}`, { transports: ["websocket"], forceNew: true, reconnection: false });
    clients.push(c);
    await nextEvent(c, "connect", 5_000);
    return c;
  }
  const ask = (c, ...args) => within(c.emitWithAck(...args), WAIT, `ack of ${args[0]}`);

  before(async () => {
    rust = await startServer(["--redis", redis.url]);
    node = await startNodeServer(["--redis", redis.url]);
    // Both nodes count each other.
    const r = await client(rust);
    const n = await client(node);
    for (let i = 0; i < 100; i++) {
      if ((await ask(r, "server-count")) === 2 && (await ask(n, "server-count")) === 2) break;
      await sleep(50);
    }
    r.disconnect();
    n.disconnect();
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await rust?.stop();
    await node?.stop();
    await redis.stop();
  });

  it("counts two servers on each node", { timeout: TEST_TIMEOUT }, async () => {
    const [r, n] = [await client(rust), await client(node)];
    assert.equal(await ask(r, "server-count"), 2);
    assert.equal(await ask(n, "server-count"), 2);
  });

  it("broadcasts both ways (binary included)", { timeout: TEST_TIMEOUT }, async () => {
    const [r1, r2, n1, n2] = [await client(rust), await client(rust), await client(node), await client(node)];
    const got = [r1, r2, n1, n2].map((c) => nextEvent(c, "all-message"));
    r1.emit("emit-all", "from rust", 1, Buffer.from([1, 2, 3]), { nested: [true, null] });
    for (const args of await Promise.all(got)) {
      assert.deepEqual(args, ["from rust", 1, Buffer.from([1, 2, 3]), { nested: [true, null] }]);
    }
    // socket.broadcast from the Node.js node: every other client, the sender excluded.
    const others = [r1, r2, n2].map((c) => nextEvent(c, "broadcast-message"));
    const self = arrives(n1, "broadcast-message", 500);
    n1.emit("broadcast", "from node", Buffer.from([9]));
    for (const args of await Promise.all(others)) assert.deepEqual(args, ["from node", Buffer.from([9])]);
    assert.equal(await self, false);
    // Order kept across the cluster.
    const seen = [];
    const done = new Promise((resolve) => {
      r2.on("all-message", (i) => {
        seen.push(i);
        if (seen.length === 30) resolve();
      });
    });
    for (let i = 0; i < 30; i++) n1.emit("emit-all", i);
    await within(done, WAIT, "30 events");
    r2.off("all-message");
    assert.deepEqual(seen, [...Array(30).keys()]);
  });

  it("rooms and except across the nodes", { timeout: TEST_TIMEOUT }, async () => {
    const [r1, r2, n1, n2] = [await client(rust), await client(rust), await client(node), await client(node)];
    await ask(r2, "join", "blue");
    await ask(n2, "join", "blue");
    const inRoom = [r2, n2].map((c) => nextEvent(c, "room-message"));
    const outside = [r1, n1].map((c) => arrives(c, "room-message", 500));
    n1.emit("to-room", "blue", "hi blue");
    for (const args of await Promise.all(inRoom)) assert.deepEqual(args, ["hi blue"]);
    assert.deepEqual(await Promise.all(outside), [false, false]);

    const notBlue = [r1, n1].map((c) => nextEvent(c, "except-message"));
    const blue = [r2, n2].map((c) => arrives(c, "except-message", 500));
    r1.emit("except-room", "blue", "not blue");
    for (const args of await Promise.all(notBlue)) assert.deepEqual(args, ["not blue"]);
    assert.deepEqual(await Promise.all(blue), [false, false]);
  });

  it("fetchSockets sees the sockets of both nodes", { timeout: TEST_TIMEOUT }, async () => {
    const [r, n] = [await client(rust), await client(node)];
    await ask(r, "join", "green");
    await ask(n, "join", "green");
    const both = [r.id, n.id].sort();
    assert.deepEqual(await ask(r, "sockets-in", "green"), both);
    assert.deepEqual(await ask(n, "sockets-in", "green"), both);
    assert.deepEqual(await ask(r, "sockets-in", n.id), [n.id]);
    assert.deepEqual(await ask(n, "sockets-in", r.id), [r.id]);
  });

  it("broadcast acks are collected across the nodes", { timeout: TEST_TIMEOUT }, async () => {
    const [r, n] = [await client(rust), await client(node)];
    // Every other client of the cluster answers too: count on the tags.
    const everyone = [...clients.filter((c) => c.connected)];
    for (const c of everyone) {
      c.removeAllListeners("question-all");
      c.on("question-all", (cb) => cb(c === r ? "R" : c === n ? "N" : "other"));
    }
    for (const asker of [r, n]) {
      const reply = await ask(asker, "ask-all", 2_000);
      assert.ok(reply.responses, JSON.stringify(reply));
      assert.equal(reply.responses.length, everyone.length);
      assert.ok(reply.responses.includes("R") && reply.responses.includes("N"));
    }
    // One client that never answers: a timeout, not a hang.
    n.removeAllListeners("question-all");
    n.on("question-all", () => {});
    assert.deepEqual(await ask(r, "ask-all", 500), { error: "timeout" });
    n.removeAllListeners("question-all");
  });

  it("serverSideEmit with and without acks, both ways", { timeout: TEST_TIMEOUT }, async () => {
    const [r, n] = [await client(rust), await client(node)];
    const toldOnNode = nextEvent(n, "told");
    r.emit("server-side-tell", "x", 1, { y: [2] });
    assert.deepEqual(await toldOnNode, ["x", 1, { y: [2] }]);
    const toldOnRust = nextEvent(r, "told");
    n.emit("server-side-tell", "z");
    assert.deepEqual(await toldOnRust, ["z"]);
    assert.deepEqual(await ask(r, "server-side-ask", "q", 2), { responses: [["q", 2]] });
    assert.deepEqual(await ask(n, "server-side-ask", "q"), { responses: [["q"]] });
  });

  it("disconnectSockets across the nodes", { timeout: TEST_TIMEOUT }, async () => {
    const [r, n, bystander] = [await client(rust), await client(node), await client(node)];
    await ask(n, "join", "doomed");
    const gone = nextEvent(n, "disconnect");
    r.emit("disconnect-room", "doomed");
    assert.equal((await gone)[0], "io server disconnect");
    const goneToo = nextEvent(r, "disconnect");
    bystander.emit("disconnect-room", r.id);
    assert.equal((await goneToo)[0], "io server disconnect");
    assert.equal(bystander.connected, true);
  });

  it("the official @socket.io/redis-emitter emits into both nodes", { timeout: TEST_TIMEOUT }, async () => {
    const { Emitter } = require("@socket.io/redis-emitter");
    const { createClient } = require("redis");
    const redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    try {
      const emitter = new Emitter(redisClient);
      const [r, n, r2] = [await client(rust), await client(node), await client(rust)];
      const got = [r, n, r2].map((c) => nextEvent(c, "emitted"));
      emitter.emit("emitted", "all", Buffer.from([7]));
      for (const args of await Promise.all(got)) assert.deepEqual(args, ["all", Buffer.from([7])]);

      await ask(r, "join", "red");
      const red = nextEvent(r, "emitted");
      const notRed = [n, r2].map((c) => arrives(c, "emitted", 500));
      emitter.to("red").emit("emitted", "red only");
      assert.deepEqual(await red, ["red only"]);
      assert.deepEqual(await Promise.all(notRed), [false, false]);

      // socketsJoin through the emitter, then a room broadcast.
      emitter.in(r2.id).socketsJoin("yellow");
      emitter.in(n.id).socketsJoin("yellow");
      await sleep(200);
      assert.deepEqual(await ask(r, "sockets-in", "yellow"), [r2.id, n.id].sort());
      emitter.in(n.id).socketsLeave("yellow");
      await sleep(200);
      assert.deepEqual(await ask(r, "sockets-in", "yellow"), [r2.id]);

      // serverSideEmit through the emitter: every node's "tell" listener.
      const told = [r, n].map((c) => nextEvent(c, "told"));
      emitter.serverSideEmit("tell", "from emitter");
      for (const args of await Promise.all(told)) assert.deepEqual(args, ["from emitter"]);

      // An admin namespace.
      const custom = await client(rust, "/custom");
      const onCustom = nextEvent(custom, "emitted");
      emitter.of("/custom").emit("emitted", "custom");
      assert.deepEqual(await onCustom, ["custom"]);

      const gone = nextEvent(r2, "disconnect");
      emitter.in(r2.id).disconnectSockets(true);
      assert.equal((await gone)[0], "io server disconnect");
    } finally {
      await redisClient.disconnect();
    }
  });
});
