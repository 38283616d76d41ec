// `sio serve` (the chat server of the sio binary) against the official npm
// `socket.io-client`: the page and the browser bundle it serves, then the
// chat protocol (crates/sio-cli/src/serve/chat.rs): join with member lists
// and history, typing indicator, messages with the "sent" ack and the
// "delivered" event once every recipient acked, leave, disconnect, and bad
// input answered with errors while the server keeps running.
//
// Needs `cargo build -p sio-cli --bin sio` (or $SIO_BIN) and the browser
// client installed in crates/sio-cli/client (scripts/setup does both's npm part).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { io } from "socket.io-client";

import { REPO_ROOT } from "./lib/server.mjs";
import { connected, nextEvent, startSioServe } from "./lib/sio-serve.mjs";
import { sleep } from "./lib/wire.mjs";

const WAIT = 3_000;
const CLIENT_PACKAGE = path.join(REPO_ROOT, "crates", "sio-cli", "client", "node_modules", "socket.io-client");

const next = (socket, event, pred = () => true, ms = WAIT) => nextEvent(socket, event, pred, ms);

/** Collects every `event` on `socket` (to show that one did NOT come). */
function record(socket, event) {
  const seen = [];
  socket.on(event, (arg) => seen.push(arg));
  return seen;
}

describe("sio serve with the official socket.io-client", () => {
  let server;
  const sockets = [];

  before(async () => {
    server = await startSioServe();
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    const { code } = await server.stop();
    assert.equal(code, 0, `sio serve exits 0 on Ctrl-C\n${server.output().stderr}`);
  });

  async function connect(auth, transports = ["polling", "websocket"]) {
    const socket = io(server.url, { auth, transports, reconnection: false, forceNew: true });
    sockets.push(socket);
    await connected(socket, WAIT, "connect");
    return socket;
  }

  const ack = (socket, event, payload) => socket.timeout(WAIT).emitWithAck(event, payload);
  const names = (members) => members.map((m) => m.name);

  it("serves the page and the browser client from the npm package", async () => {
    const page = await fetch(server.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    const html = await page.text();
    assert.match(html, /<script src="\/socket\.io\/socket\.io\.js"><\/script>/);
    for (const [file, type] of [
      ["app.js", /^application\/javascript/],
      ["style.css", /^text\/css/],
    ]) {
      const res = await fetch(server.url + file);
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get("content-type"), type, file);
    }

    const version = JSON.parse(readFileSync(path.join(CLIENT_PACKAGE, "package.json"), "utf8")).version;
    const res = await fetch(server.url + "socket.io/socket.io.js");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("etag"), `"${version}"`);
    assert.equal(res.headers.get("cache-control"), "public, max-age=0");
    // fetch asks for gzip/deflate/br and undoes it: the text is the file's.
    assert.ok(res.headers.get("content-encoding"), "compressed for a client that accepts it");
    const served = await res.text();
    assert.equal(served, readFileSync(path.join(CLIENT_PACKAGE, "dist", "socket.io.js"), "utf8"));

    const cached = await fetch(server.url + "socket.io/socket.io.js", {
      headers: { "if-none-match": `"${version}"` },
    });
    assert.equal(cached.status, 304);
    assert.equal((await fetch(server.url + "nope")).status, 404);
  });

  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    it(`chat: join, members, typing, message acks, history, leave, disconnect (${transports.join("+")})`, async () => {
      const room = `room-${transports.join("-")}`;
      const alice = await connect({ name: "alice" }, transports);
      const bob = await connect({ name: "bob" }, transports);
      await server.waitForLog(new RegExp(`connect ${bob.id} "bob"`));

      const a1 = await ack(alice, "join", { room });
      assert.equal(a1.ok, true);
      assert.equal(a1.room, room);
      assert.deepEqual(names(a1.members), ["alice"]);
      assert.deepEqual(a1.history, []);

      const aliceSeesBob = next(alice, "members", (m) => m.room === room && m.members.length === 2);
      const b1 = await ack(bob, "join", { room });
      assert.deepEqual(names(b1.members), ["alice", "bob"]);
      assert.deepEqual(
        (await aliceSeesBob).arg.members.map((m) => m.id).sort(),
        [alice.id, bob.id].sort(),
      );
      await server.waitForLog(new RegExp(`${bob.id} "bob" joined "${room}"`));

      // Typing reaches the others in the room, not the typist. The server
      // sends it volatile (as the reference would drop it, a polling client
      // between two GETs misses it), so alice repeats it as a typing user
      // does at each keystroke, until bob sees one.
      const aliceTyping = record(alice, "typing");
      const bobSeesTyping = next(bob, "typing");
      alice.emit("typing", { room, typing: true });
      const keystrokes = setInterval(() => alice.emit("typing", { room, typing: true }), 100);
      const typing = (await bobSeesTyping.finally(() => clearInterval(keystrokes))).arg;
      assert.deepEqual(typing, { room, id: alice.id, name: "alice", typing: true });

      // A message: the ack is the "sent" tick, bob gets it and acks, and
      // alice then gets "delivered" (to 1 member).
      const bobGets = next(bob, "message");
      const aliceDelivered = next(alice, "delivered");
      const sent = await ack(alice, "message", { room, text: "hello bob" });
      assert.equal(sent.ok, true);
      assert.match(sent.id, /^m\d+$/);
      const { arg: msg, ack: bobAck } = await bobGets;
      assert.equal(msg.id, sent.id);
      assert.equal(msg.text, "hello bob");
      assert.deepEqual(msg.from, { id: alice.id, name: "alice" });
      assert.equal(typeof bobAck, "function", "the server asks recipients for an ack");
      bobAck("received");
      const delivered = (await aliceDelivered).arg;
      assert.deepEqual(delivered, { room, id: sent.id, to: 1 });
      assert.deepEqual(aliceTyping, [], "the typist does not get its own typing event");

      // A late joiner gets the history and the member list.
      const carol = await connect({ name: "carol" }, transports);
      const c1 = await ack(carol, "join", { room });
      assert.deepEqual(names(c1.members), ["alice", "bob", "carol"]);
      assert.deepEqual(
        c1.history.map((m) => [m.id, m.from.name, m.text]),
        [[sent.id, "alice", "hello bob"]],
      );

      // Leave: the others get the new list; bob can no longer post there.
      const aliceSeesLeave = next(alice, "members", (m) => m.room === room && m.members.length === 2);
      assert.deepEqual(await ack(bob, "leave", { room }), { ok: true, room });
      assert.deepEqual(names((await aliceSeesLeave).arg.members), ["alice", "carol"]);
      const refused = await ack(bob, "message", { room, text: "still here?" });
      assert.equal(refused.ok, false);
      assert.match(refused.error, /join room/);

      // Disconnect: same.
      const aliceSeesDisconnect = next(alice, "members", (m) => m.room === room && m.members.length === 1);
      const carolId = carol.id;
      carol.disconnect();
      assert.deepEqual(names((await aliceSeesDisconnect).arg.members), ["alice"]);
      await server.waitForLog(new RegExp(`disconnect ${carolId} "carol"`));
      alice.disconnect();
      bob.disconnect();
    });
  }

  it("bounds the messages waiting for delivery per sender", async () => {
    const sender = await connect({ name: "chatty" });
    const silent = await connect({ name: "silent" });
    // A recipient that never acks (its listener takes no callback).
    silent.on("message", () => {});
    await ack(sender, "join", { room: "quiet" });
    await ack(silent, "join", { room: "quiet" });
    const delivered = record(sender, "delivered");
    for (let i = 0; i < 64; i++) {
      const res = await ack(sender, "message", { room: "quiet", text: `n${i}` });
      assert.equal(res.ok, true, `message ${i}`);
    }
    const refused = await ack(sender, "message", { room: "quiet", text: "one too many" });
    assert.deepEqual(refused, { ok: false, error: "too many messages waiting for delivery; slow down" });
    assert.deepEqual(delivered, [], "nothing delivered: the recipient never acked");
    sender.disconnect();
    silent.disconnect();
  });

  it("answers bad input with errors, and keeps serving", async () => {
    const guest = await connect(undefined);
    const r1 = await ack(guest, "join", { room: "ok-room" });
    assert.equal(r1.ok, true);
    assert.match(r1.members[0].name, /^guest-/, "no auth name: a guest name");

    const bad = [
      ["join", {}, /expected one object/],
      ["join", "lobby", /expected one object/],
      ["join", { room: "   " }, /empty/],
      ["join", { room: "x".repeat(41) }, /longer than/],
      ["join", { room: "a\u0007b" }, /control/],
      ["join", { room: guest.id }, /taken/],
      ["leave", { room: "never-joined" }, /not in room/],
      ["message", { room: "ok-room" }, /expected one object/],
      ["message", { room: "ok-room", text: 42 }, /expected one object/],
      ["message", { room: "ok-room", text: "   " }, /empty/],
      ["message", { room: "ok-room", text: "y".repeat(2001) }, /longer than/],
      ["message", { room: "elsewhere", text: "hi" }, /join room/],
    ];
    for (const [event, payload, error] of bad) {
      const res = await ack(guest, event, payload);
      assert.equal(res.ok, false, `${event} ${JSON.stringify(payload).slice(0, 40)}`);
      assert.match(res.error, error);
    }
    // No ack asked, garbage payloads: dropped, the connection stays.
    guest.emit("typing", "garbage");
    guest.emit("message", null);
    guest.emit("join");
    await sleep(100);
    assert.equal(guest.connected, true);

    // At most 16 rooms per socket.
    for (let i = 0; i < 15; i++) assert.equal((await ack(guest, "join", { room: `r${i}` })).ok, true);
    const full = await ack(guest, "join", { room: "one-more" });
    assert.equal(full.ok, false);
    assert.match(full.error, /at most 16 rooms/);

    // (listening before sending: "delivered" may come in the same payload as the ack)
    const delivered = next(guest, "delivered");
    const res = await ack(guest, "message", { room: "ok-room", text: "still alive" });
    assert.equal(res.ok, true);
    assert.deepEqual((await delivered).arg, { room: "ok-room", id: res.id, to: 0 }, "nobody else in the room");
    guest.disconnect();
  });
});
