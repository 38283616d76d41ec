// Two `sio serve --redis URL` nodes on one real redis-server form one chat:
// official socket.io-client users on different nodes see each other in a
// room's member list, get each other's messages and typing, and the sender
// gets "delivered" once the member on the other node acked.
//
// Fails (does not skip) when redis-server is missing and CI=true.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { io } from "socket.io-client";

import { startRedis } from "./lib/redis.mjs";
import { connected, nextEvent, startSioServe } from "./lib/sio-serve.mjs";

const WAIT = 5_000;

const next = (socket, event, pred = () => true, ms = WAIT) => nextEvent(socket, event, pred, ms);

const redis = await startRedis();

describe("sio serve --redis: one chat over two nodes", { skip: redis ? false : "redis-server not installed" }, () => {
  let one;
  let two;
  const sockets = [];

  before(async () => {
    one = await startSioServe(["--redis", redis.url]);
    two = await startSioServe(["--redis", redis.url]);
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const server of [one, two]) {
      if (server) {
        const { code } = await server.stop();
        assert.equal(code, 0, `sio serve exits 0 on Ctrl-C\n${server.output().stderr}`);
      }
    }
    await redis?.stop();
  });

  async function connect(server, name) {
    const socket = io(server.url, { auth: { name }, transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(socket);
    await connected(socket, WAIT, `connect ${name}`);
    return socket;
  }
  const ack = (socket, event, payload) => socket.timeout(WAIT).emitWithAck(event, payload);

  it("logs that it runs on Redis", async () => {
    await one.waitForLog(new RegExp(`cluster on Redis ${redis.url}`));
  });

  it("members, typing, messages and delivered ticks span the nodes", async () => {
    const room = "everyone";
    const alice = await connect(one, "alice");
    const bob = await connect(two, "bob");

    const a1 = await ack(alice, "join", { room });
    assert.equal(a1.ok, true);
    // Bob joins on the other node: both get a member list with both.
    const aliceSeesBob = next(alice, "members", (m) => m.room === room && m.members.length === 2);
    const bobSeesBoth = next(bob, "members", (m) => m.room === room && m.members.length === 2);
    const b1 = await ack(bob, "join", { room });
    assert.equal(b1.ok, true);
    for (const seen of [await aliceSeesBob, await bobSeesBoth]) {
      assert.deepEqual(
        seen.arg.members.map((m) => [m.name, m.id]),
        [
          ["alice", alice.id],
          ["bob", bob.id],
        ],
      );
    }

    const bobSeesTyping = next(bob, "typing");
    alice.emit("typing", { room, typing: true });
    assert.deepEqual((await bobSeesTyping).arg, { room, id: alice.id, name: "alice", typing: true });

    const bobGets = next(bob, "message");
    const aliceDelivered = next(alice, "delivered");
    const sent = await ack(alice, "message", { room, text: "across nodes" });
    assert.equal(sent.ok, true);
    const { arg: msg, ack: bobAck } = await bobGets;
    assert.equal(msg.text, "across nodes");
    assert.deepEqual(msg.from, { id: alice.id, name: "alice" });
    assert.equal(typeof bobAck, "function", "the server asks the remote recipient for an ack");
    bobAck("received");
    assert.deepEqual((await aliceDelivered).arg, { room, id: sent.id, to: 1 });

    // Bob leaves (disconnects): alice's list shrinks to herself.
    const aliceAlone = next(alice, "members", (m) => m.room === room && m.members.length === 1);
    bob.disconnect();
    assert.deepEqual(
      (await aliceAlone).arg.members.map((m) => m.name),
      ["alice"],
    );
  });
});
