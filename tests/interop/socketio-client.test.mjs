// The official npm `socket.io-client` against the conformance server
// (/work/shared/conformance-server.md): every namespace, middleware, event
// row and "detail that the reference shows", each scenario run with the
// transports ["websocket"], ["polling"] and ["polling", "websocket"].
//
// Every scenario runs against two servers:
//   [rust] the Rust conformance binary (target/debug/examples/conformance),
//   [node] the same spec implemented with the official `socket.io` package
//          (lib/node-conformance.mjs): the reference. A test failing on
//          [node] is a wrong test; one failing on [rust] only is a server bug.
// SIO_INTEROP_TARGETS=rust (or node) restricts the run to one of them.
//
// Clients never reconnect on their own (reconnection: false) and never share
// a Manager unless a test says so, so every connection is independent.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";

import { Manager } from "socket.io-client";

import { startNodeServer } from "./lib/node-conformance.mjs";
import { startServer } from "./lib/server.mjs";
import { nextArgs, sleep, within } from "./lib/wire.mjs";

const TARGETS = (process.env.SIO_INTEROP_TARGETS ?? "rust,node")
  .split(",")
  .map((t) => t.trim())
  .filter(Boolean);

const MODES = [
  ["websocket", ["websocket"]],
  ["polling", ["polling"]],
  ["polling+websocket", ["polling", "websocket"]],
];

const TEST_TIMEOUT = 20_000;
const WAIT = 3_000; // default wait for one expected event
const MAX_PAYLOAD = 1_000_000;

/** The arguments of the next `event` on `emitter`. */
const nextEvent = (emitter, event, ms = WAIT) => nextArgs(emitter, event, ms);

/** Records the arguments of every `event` on `emitter`. */
function record(emitter, event) {
  const seen = [];
  emitter.on(event, (...args) => seen.push(args));
  return seen;
}

/** Polls `predicate` every 10 ms until it is true. */
async function until(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timeout after ${ms} ms: ${what}`);
    await sleep(10);
  }
}

/** Emits with an ack request; resolves every ack argument (an array). */
function emitAck(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(WAIT).emit(event, ...args, (err, ...response) => {
      if (err) reject(new Error(`no ack for "${event}": ${err.message}`));
      else resolve(response);
    });
  });
}

/** Resolves when `socket` is connected; rejects with its connect_error. */
function connected(socket, ms = 5_000) {
  if (socket.connected) return Promise.resolve(socket);
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", reject);
    }),
    ms,
    `connection of ${socket.nsp}`,
  );
}

/** The connect_error of `socket` (fails if it connects). */
function connectError(socket, ms = 5_000) {
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect_error", resolve);
      socket.once("connect", () => reject(new Error(`${socket.nsp} connected, a connect_error was expected`)));
    }),
    ms,
    `connect_error of ${socket.nsp}`,
  );
}

const isBinary = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);

/** Comparable form of a value: every binary becomes {$bin: hex}. */
function norm(v) {
  if (isBinary(v)) {
    const bytes = ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v);
    return { $bin: bytes.toString("hex") };
  }
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

let dynamicCounter = 100;
/** A namespace matching ^/dynamic-[0-9]+$ that no other test uses. */
const freshNamespace = () => `/dynamic-${process.pid}${dynamicCounter++}`;

let tagCounter = 0;
const tag = (what) => `${what}-${++tagCounter}`;

/** Clients of one test, all closed after it. */
class Clients {
  constructor(url, transports) {
    this.url = url;
    this.transports = transports;
    this.managers = [];
    this.sockets = [];
  }

  manager(opts = {}) {
    const m = new Manager(this.url, {
      transports: this.transports,
      reconnection: false,
      timeout: 5_000,
      ...opts,
    });
    this.managers.push(m);
    return m;
  }

  /** A socket on `nsp`, on `manager` or on a Manager of its own. */
  socket(nsp = "/", { manager, auth } = {}) {
    const m = manager ?? this.manager();
    const s = m.socket(nsp, auth === undefined ? {} : { auth });
    this.sockets.push(s);
    return s;
  }

  /** A connected socket; `onCreate(socket)` runs before it connects. */
  async connect(nsp = "/", opts = {}) {
    const s = this.socket(nsp, opts);
    if (opts.onCreate) opts.onCreate(s);
    return connected(s);
  }

  /** `n` connected sockets on `nsp`, each on its own connection. */
  connectMany(nsp, n) {
    return Promise.all(Array.from({ length: n }, () => this.connect(nsp)));
  }

  close() {
    for (const s of this.sockets) {
      try {
        s.disconnect();
      } catch {
        // already gone
      }
    }
    for (const m of this.managers) {
      try {
        m._close();
      } catch {
        // already closed
      }
    }
  }
}

/**
 * Makes `sender` emit `emit-all` with a fresh tag and waits until every one
 * of `receivers` got it: whatever the server emitted to them because of
 * `sender`'s earlier events has then arrived (events of one socket are
 * handled in order, and one connection delivers in order).
 */
async function sentinel(sender, receivers) {
  const t = tag("sentinel");
  const arrivals = receivers.map(
    (r) =>
      new Promise((resolve) => {
        const listener = (value) => {
          if (value === t) {
            r.off("all-message", listener);
            resolve();
          }
        };
        r.on("all-message", listener);
      }),
  );
  sender.emit("emit-all", t);
  await within(Promise.all(arrivals), WAIT, `sentinel ${t}`);
}

/** Waits for the first disconnect of each socket, then a little more. */
async function settleDisconnects(sockets, reasons, extraMs = 300) {
  await until(() => reasons.every((r) => r.length > 0), 5_000, `disconnect of ${sockets.map((s) => s.nsp)}`);
  await sleep(extraMs);
}

const PLAIN_ARGS = [
  1,
  0,
  -2.5,
  Number.MAX_SAFE_INTEGER,
  1e21,
  "two",
  "",
  'héllo wörld 😀 \u2028 "quoted" \\ / \n\t \u0001',
  null,
  true,
  false,
  { a: 1, b: { c: [1, "x", null, { d: false }] }, "key with spaces": "v" },
  [],
  {},
  [[1, [2, [3, []]]]],
];

const binaryArgs = () => [
  Buffer.from([1, 2, 3]),
  "text",
  { nested: Buffer.from([4, 5, 6]), list: [Buffer.from([7]), { deep: [Buffer.from("héllo", "utf8")] }], n: 1 },
  [Buffer.from([255, 0, 128]), 2, Buffer.from([0])],
  new Uint8Array([9, 8, 7]),
  Buffer.from([10, 11]),
];

it("msgpack parser (socket.io-msgpack-parser)", { skip: "not supported by the Rust server yet" }, () => {});

for (const target of TARGETS) {
  describe(`[${target}] socket.io-client`, { concurrency: 1 }, () => {
    let server;

    before(async () => {
      server = target === "node" ? await startNodeServer() : await startServer();
    });

    after(async () => {
      if (server) await server.stop();
    });

    for (const [mode, transports] of MODES) {
      describe(`[${target}] transports ${mode}`, { concurrency: 1, timeout: TEST_TIMEOUT }, () => {
        let c;
        const clients = () => {
          c = new Clients(server.url, transports);
          return c;
        };

        afterEach(() => {
          if (c) c.close();
          c = undefined;
        });

        // ---------------------------------------------------------------- namespaces

        for (const nsp of ["/", "/custom", "/dynamic-123"]) {
          it(`connects to ${nsp}`, async () => {
            const s = await clients().connect(nsp);
            assert.equal(s.connected, true);
            assert.equal(typeof s.id, "string");
            assert.ok(s.id.length > 0, "socket id");
            assert.notEqual(s.id, s.io.engine.id, "the socket id is not the engine id");
            const [back] = await emitAck(s, "message-with-ack", nsp);
            assert.equal(back, nsp);
          });
        }

        it("refuses unknown namespaces with connect_error 'Invalid namespace'", async () => {
          const cl = clients();
          for (const nsp of ["/random", "/dynamic-", "/dynamic-12a", "/custom/sub", "/Custom"]) {
            const s = cl.socket(nsp);
            const err = await connectError(s);
            assert.equal(err.message, "Invalid namespace", `connect_error of ${nsp}`);
            assert.equal(err.data, undefined, `connect_error data of ${nsp}`);
            assert.equal(s.connected, false);
          }
        });

        it("an unknown namespace leaves the other namespaces of the same Manager connected", async () => {
          const cl = clients();
          const m = cl.manager();
          const main = await cl.connect("/", { manager: m });
          const bad = cl.socket("/random", { manager: m });
          const err = await connectError(bad);
          assert.equal(err.message, "Invalid namespace");
          const [back] = await emitAck(main, "message-with-ack", "still here");
          assert.equal(back, "still here");
          assert.equal(main.connected, true);
          // The connection also accepts further namespaces.
          const custom = await cl.connect("/custom", { manager: m });
          assert.equal(custom.io, main.io);
        });

        // ---------------------------------------------------------------- auth

        for (const nsp of ["/", "/custom", "/dynamic-7"]) {
          it(`emits auth {} on connection to ${nsp} without auth`, async () => {
            let auth;
            const s = await clients().connect(nsp, { onCreate: (sock) => (auth = nextEvent(sock, "auth")) });
            assert.ok(s.connected);
            assert.deepEqual(await auth, [{}]);
          });

          it(`emits auth with the handshake auth payload on ${nsp}`, async () => {
            const payload = { token: "123", user: { name: "zoé", roles: ["a", "b"] }, n: 42, ok: true, none: null };
            let auth;
            await clients().connect(nsp, { auth: payload, onCreate: (sock) => (auth = nextEvent(sock, "auth")) });
            assert.deepEqual(await auth, [payload]);
          });

          it(`refuses token "forbidden" on ${nsp}: connect_error forbidden {reason: "bad token"}`, async () => {
            const s = clients().socket(nsp, { auth: { token: "forbidden" } });
            const auths = record(s, "auth");
            const err = await connectError(s);
            assert.equal(err.message, "forbidden");
            assert.deepEqual(err.data, { reason: "bad token" });
            assert.equal(s.connected, false);
            assert.deepEqual(auths, [], "no auth event for a refused socket");
          });
        }

        it("a refused (forbidden) namespace leaves the Manager's other namespaces connected", async () => {
          const cl = clients();
          const m = cl.manager();
          const main = await cl.connect("/", { manager: m });
          const refused = cl.socket("/custom", { manager: m, auth: { token: "forbidden" } });
          const err = await connectError(refused);
          assert.equal(err.message, "forbidden");
          assert.deepEqual(err.data, { reason: "bad token" });
          const [back] = await emitAck(main, "message-with-ack", 1);
          assert.equal(back, 1);
          // The same namespace with a good token is accepted on that connection
          // (the Manager keeps the refused Socket object for "/custom").
          refused.auth = { token: "fine" };
          refused.connect();
          await connected(refused);
          assert.equal(refused.io.engine.id, main.io.engine.id);
        });

        // ---------------------------------------------------------------- socket ids

        it("gives every namespace socket a fresh id, distinct from the engine id and from the other namespaces", async () => {
          const cl = clients();
          const m = cl.manager();
          const dyn = freshNamespace();
          const [a, b, d] = await Promise.all([
            cl.connect("/", { manager: m }),
            cl.connect("/custom", { manager: m }),
            cl.connect(dyn, { manager: m }),
          ]);
          const engineId = m.engine.id;
          assert.equal(typeof engineId, "string");
          const ids = [a.id, b.id, d.id];
          for (const id of ids) {
            assert.equal(typeof id, "string");
            assert.notEqual(id, engineId, "a socket id equals the engine id");
          }
          assert.equal(new Set(ids).size, 3, `ids of one connection's namespaces collide: ${ids}`);
          // Another connection gets other ids.
          const other = await cl.connect("/");
          assert.ok(!ids.includes(other.id));
          assert.notEqual(other.io.engine.id, engineId);
          // A socket that leaves and comes back gets a fresh id.
          const oldId = a.id;
          a.disconnect();
          // Wait until the server has handled the DISCONNECT (packets of one
          // connection are handled in order) before connecting again: the
          // reference closes the connection when a CONNECT for a namespace
          // arrives in the same batch as its DISCONNECT.
          await emitAck(b, "message-with-ack", "barrier");
          a.connect();
          await connected(a);
          assert.notEqual(a.id, oldId, "the id of a reconnected namespace socket is reused");
          assert.ok(!ids.includes(a.id));
        });

        // ---------------------------------------------------------------- message / ack

        it("message → message-back with many plain arguments", async () => {
          const s = await clients().connect("/");
          const back = nextEvent(s, "message-back");
          s.emit("message", ...PLAIN_ARGS);
          assert.deepEqual(await back, PLAIN_ARGS);
        });

        it("message → message-back with no argument", async () => {
          const s = await clients().connect("/custom");
          const back = nextEvent(s, "message-back");
          s.emit("message");
          assert.deepEqual(await back, []);
        });

        it("message → message-back with binary arguments (nested, several buffers) byte-identical", async () => {
          const s = await clients().connect("/");
          const sent = binaryArgs();
          const back = nextEvent(s, "message-back");
          s.emit("message", ...sent);
          const got = await back;
          assert.deepEqual(norm(got), norm(sent));
          assert.ok(Buffer.isBuffer(got[0]) || got[0] instanceof ArrayBuffer, "binary comes back as binary");
        });

        it("message → message-back with an empty buffer and a 70 kB buffer", async () => {
          const s = await clients().connect("/custom");
          const big = Buffer.alloc(70_000);
          for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
          const sent = [Buffer.alloc(0), { empty: Buffer.alloc(0) }, big];
          const back = nextEvent(s, "message-back");
          s.emit("message", ...sent);
          assert.deepEqual(norm(await back), norm(sent));
        });

        it("message-with-ack → ack(...args) with plain and binary arguments", async () => {
          const s = await clients().connect("/");
          assert.deepEqual(await emitAck(s, "message-with-ack", ...PLAIN_ARGS), PLAIN_ARGS);
          const sent = binaryArgs();
          assert.deepEqual(norm(await emitAck(s, "message-with-ack", ...sent)), norm(sent));
          assert.deepEqual(await emitAck(s, "message-with-ack"), []);
        });

        it("message with an ack request: message-back arrives, the ack is never called", async () => {
          const s = await clients().connect("/");
          let acked = false;
          const back = nextEvent(s, "message-back");
          s.emit("message", "no-ack", 2, () => {
            acked = true;
          });
          const args = await back;
          assert.deepEqual(
            args.filter((a) => typeof a !== "function"),
            ["no-ack", 2],
          );
          await sleep(300);
          assert.equal(acked, false, "the ack of a `message` event was called");
        });

        it("100 echoes come back in the order sent", async () => {
          const s = await clients().connect("/");
          const seen = [];
          s.on("message-back", (i) => seen.push(i));
          for (let i = 0; i < 100; i++) s.emit("message", i);
          await until(() => seen.length >= 100, 5_000, `100 echoes (got ${seen.length})`);
          assert.deepEqual(
            seen,
            Array.from({ length: 100 }, (_, i) => i),
          );
        });

        // ---------------------------------------------------------------- rooms

        it("join / leave ack the socket's rooms, sorted, its own id included", async () => {
          const s = await clients().connect("/");
          const sorted = (...rooms) => [...rooms, s.id].sort();
          assert.deepEqual(await emitAck(s, "join", "~last"), [sorted("~last")]);
          assert.deepEqual(await emitAck(s, "join", "0first"), [sorted("~last", "0first")]);
          assert.deepEqual(await emitAck(s, "join", "Middle"), [sorted("~last", "0first", "Middle")]);
          assert.deepEqual(await emitAck(s, "join", "Middle"), [sorted("~last", "0first", "Middle")]);
          assert.deepEqual(await emitAck(s, "leave", "0first"), [sorted("~last", "Middle")]);
          assert.deepEqual(await emitAck(s, "leave", "not-a-member"), [sorted("~last", "Middle")]);
          assert.deepEqual(await emitAck(s, "leave", "~last"), [sorted("Middle")]);
          assert.deepEqual(await emitAck(s, "leave", "Middle"), [[s.id]]);
        });

        it("to-room reaches the room's members, not the sender, not the others", async () => {
          const [a, b, d] = await clients().connectMany(freshNamespace(), 3);
          const room = tag("room");
          await emitAck(a, "join", room);
          await emitAck(b, "join", room);
          const got = [a, b, d].map((s) => record(s, "room-message"));
          const payload = ["hi", 2, { bin: Buffer.from([1, 2]) }];
          d.emit("to-room", room, ...payload);
          await sentinel(d, [a, b, d]);
          assert.deepEqual(norm(got[0]), norm([payload]), "member a");
          assert.deepEqual(norm(got[1]), norm([payload]), "member b");
          assert.deepEqual(got[2], [], "the non-member sender");
          // A member sending: the other members only.
          a.emit("to-room", room, "from-a");
          await sentinel(a, [a, b, d]);
          assert.deepEqual(got[0].slice(1), [], "the sender is excluded");
          assert.deepEqual(got[1].slice(1), [["from-a"]]);
          assert.deepEqual(got[2], []);
        });

        it("broadcast reaches everyone in the namespace but the sender", async () => {
          const nsp = freshNamespace();
          const [a, b, d] = await clients().connectMany(nsp, 3);
          const got = [a, b, d].map((s) => record(s, "broadcast-message"));
          const payload = [1, "two", Buffer.from([3]), { four: [Buffer.from([4, 4])] }];
          a.emit("broadcast", ...payload);
          await sentinel(a, [a, b, d]);
          assert.deepEqual(got[0], [], "the sender got its broadcast");
          assert.deepEqual(norm(got[1]), norm([payload]));
          assert.deepEqual(norm(got[2]), norm([payload]));
        });

        it("emit-all reaches everyone in the namespace, the sender included", async () => {
          const nsp = freshNamespace();
          const [a, b, d] = await clients().connectMany(nsp, 3);
          const other = await c.connect(freshNamespace());
          const otherGot = record(other, "all-message");
          const arrivals = [a, b, d].map((s) => nextEvent(s, "all-message"));
          b.emit("emit-all", "x", Buffer.from([9]));
          for (const args of await Promise.all(arrivals)) assert.deepEqual(norm(args), norm(["x", Buffer.from([9])]));
          await sleep(100);
          assert.deepEqual(otherGot, [], "emit-all leaked into another namespace");
        });

        it("except-room reaches everyone but the room's members (the sender too, unless in the room)", async () => {
          const nsp = freshNamespace();
          const [a, b, d] = await clients().connectMany(nsp, 3);
          const room = tag("room");
          await emitAck(b, "join", room);
          const got = [a, b, d].map((s) => record(s, "except-message"));
          a.emit("except-room", room, "not-for-b", Buffer.from([1]));
          await sentinel(a, [a, b, d]);
          assert.deepEqual(norm(got[0]), norm([["not-for-b", Buffer.from([1])]]), "the sender (not in the room)");
          assert.deepEqual(got[1], [], "the room member");
          assert.deepEqual(norm(got[2]), norm([["not-for-b", Buffer.from([1])]]));
          // Excepting a socket id (its own room).
          d.emit("except-room", a.id, "not-for-a");
          await sentinel(d, [a, b, d]);
          assert.deepEqual(got[0].length, 1, "a is excluded by its id");
          assert.deepEqual(got[1].slice(0), [["not-for-a"]]);
          assert.deepEqual(got[2].slice(1), [["not-for-a"]]);
        });

        it("sockets-in acks the sorted ids in a room, a socket's own id, and [] for an empty room", async () => {
          const [a, b, d] = await clients().connectMany("/", 3);
          const room = tag("room");
          await emitAck(a, "join", room);
          await emitAck(b, "join", room);
          assert.deepEqual(await emitAck(d, "sockets-in", room), [[a.id, b.id].sort()]);
          assert.deepEqual(await emitAck(d, "sockets-in", a.id), [[a.id]]);
          assert.deepEqual(await emitAck(a, "sockets-in", a.id), [[a.id]]);
          assert.deepEqual(await emitAck(d, "sockets-in", tag("empty")), [[]]);
          await emitAck(a, "leave", room);
          assert.deepEqual(await emitAck(d, "sockets-in", room), [[b.id]]);
        });

        // ---------------------------------------------------------------- server acks

        it("ask: the client's ack arguments come back as {answer: [...]}", async () => {
          const s = await clients().connect("/");
          const questions = [];
          s.on("question", (...args) => {
            const cb = args.pop();
            questions.push(args);
            cb("yes", 2, { bin: Buffer.from([5, 6]) });
          });
          const [reply] = await emitAck(s, "ask", 1000, "q1", { x: [1] }, Buffer.from([7]));
          assert.deepEqual(norm(questions), norm([["q1", { x: [1] }, Buffer.from([7])]]));
          assert.deepEqual(norm(reply), norm({ answer: ["yes", 2, { bin: Buffer.from([5, 6]) }] }));
          // An answer without arguments.
          s.removeAllListeners("question");
          s.on("question", (cb) => cb());
          assert.deepEqual(await emitAck(s, "ask", 1000), [{ answer: [] }]);
        });

        it("ask: a client that never answers → {error: 'timeout'} after the timeout", async () => {
          const s = await clients().connect("/custom");
          const asked = [];
          s.on("question", (...args) => asked.push(args.slice(0, -1))); // never calls back
          const t0 = Date.now();
          const reply = await emitAck(s, "ask", 200, "silent?");
          const elapsed = Date.now() - t0;
          assert.deepEqual(reply, [{ error: "timeout" }]);
          assert.deepEqual(asked, [["silent?"]]);
          assert.ok(elapsed >= 150, `timeout reply after ${elapsed} ms (timeout 200 ms)`);
        });

        it("ask-all: every client of the namespace answers, the asker included → {responses}", async () => {
          const nsp = freshNamespace();
          const sockets = await clients().connectMany(nsp, 3);
          for (const s of sockets) s.on("question-all", (cb) => cb(s.id, "ignored second argument"));
          const [reply] = await emitAck(sockets[1], "ask-all", 1000);
          assert.deepEqual(Object.keys(reply), ["responses"]);
          assert.deepEqual([...reply.responses].sort(), sockets.map((s) => s.id).sort());
        });

        it("ask-all: binary answers come back as binary", async () => {
          const nsp = freshNamespace();
          const [a, b] = await clients().connectMany(nsp, 2);
          a.on("question-all", (cb) => cb(Buffer.from([1])));
          b.on("question-all", (cb) => cb({ b: Buffer.from([2]) }));
          const [reply] = await emitAck(a, "ask-all", 1000);
          const got = norm(reply.responses).map((r) => JSON.stringify(r)).sort();
          assert.deepEqual(got, [norm(Buffer.from([1])), norm({ b: Buffer.from([2]) })].map((r) => JSON.stringify(r)).sort());
        });

        it("ask-all: one client not answering → {error: 'timeout'}", async () => {
          const nsp = freshNamespace();
          const [a, b, d] = await clients().connectMany(nsp, 3);
          a.on("question-all", (cb) => cb("a"));
          b.on("question-all", (cb) => cb("b"));
          const silent = [];
          d.on("question-all", () => silent.push(1));
          const t0 = Date.now();
          const reply = await emitAck(a, "ask-all", 250);
          assert.deepEqual(reply, [{ error: "timeout" }]);
          assert.ok(Date.now() - t0 >= 200, "timeout reply came too early");
          assert.equal(silent.length, 1, "the silent client got question-all");
        });

        it("ask-all: the asker alone → its own answer", async () => {
          const s = await clients().connect(freshNamespace());
          s.on("question-all", (cb) => cb({ me: s.id }));
          assert.deepEqual(await emitAck(s, "ask-all", 1000), [{ responses: [{ me: s.id }] }]);
        });

        // ---------------------------------------------------------------- disconnections

        it("disconnect-room: every namespace of the members' connections gets 'io server disconnect'", async () => {
          const cl = clients();
          const m1 = cl.manager();
          const a1 = await cl.connect("/", { manager: m1 });
          const a2 = await cl.connect("/custom", { manager: m1 });
          const b = await cl.connect("/");
          const trigger = await cl.connect("/");
          const room = tag("doomed");
          await emitAck(a1, "join", room);
          await emitAck(b, "join", room);
          const victims = [a1, a2, b];
          const reasons = victims.map((s) => record(s, "disconnect"));
          const triggerReasons = record(trigger, "disconnect");
          trigger.emit("disconnect-room", room);
          await settleDisconnects(victims, reasons);
          for (const [i, name] of ["a1 (/, in the room)", "a2 (/custom, same connection)", "b (/, in the room)"].entries()) {
            assert.deepEqual(
              reasons[i].map(([r]) => r),
              ["io server disconnect"],
              `disconnect reasons of ${name}`,
            );
          }
          assert.deepEqual(triggerReasons, []);
          assert.equal(trigger.connected, true);
          const [back] = await emitAck(trigger, "message-with-ack", "alive");
          assert.equal(back, "alive");
          assert.deepEqual(await emitAck(trigger, "sockets-in", room), [[]]);
        });

        it("disconnect-me(false): only that namespace gets 'io server disconnect'; the connection stays", async () => {
          const cl = clients();
          const m = cl.manager();
          const main = await cl.connect("/", { manager: m });
          const custom = await cl.connect("/custom", { manager: m });
          const mainReasons = record(main, "disconnect");
          const customReasons = record(custom, "disconnect");
          const engineId = m.engine.id;
          const oldId = main.id;
          main.emit("disconnect-me", false);
          await settleDisconnects([main], [mainReasons]);
          assert.deepEqual(
            mainReasons.map(([r]) => r),
            ["io server disconnect"],
          );
          assert.deepEqual(customReasons, [], "the other namespace was disconnected");
          assert.equal(custom.connected, true);
          // Several heartbeats later the connection is still there.
          await sleep(700);
          assert.deepEqual(await emitAck(custom, "message-with-ack", "alive"), ["alive"]);
          assert.equal(m.engine.id, engineId, "same engine connection");
          // The namespace can be joined again on the same connection, with a new id.
          main.connect();
          await connected(main);
          assert.notEqual(main.id, oldId);
          assert.equal(m.engine.id, engineId);
          // And the other way round.
          custom.emit("disconnect-me", false);
          await settleDisconnects([custom], [customReasons]);
          assert.deepEqual(
            customReasons.map(([r]) => r),
            ["io server disconnect"],
          );
          assert.deepEqual(await emitAck(main, "message-with-ack", "still"), ["still"]);
          assert.equal(mainReasons.length, 1);
        });

        it("disconnect-me(true): every namespace of the connection gets 'io server disconnect'", async () => {
          const cl = clients();
          const m = cl.manager();
          const main = await cl.connect("/", { manager: m });
          const custom = await cl.connect("/custom", { manager: m });
          const dyn = await cl.connect(freshNamespace(), { manager: m });
          const all = [main, custom, dyn];
          const reasons = all.map((s) => record(s, "disconnect"));
          custom.emit("disconnect-me", true);
          await settleDisconnects(all, reasons);
          for (const [i, s] of all.entries()) {
            assert.deepEqual(
              reasons[i].map(([r]) => r),
              ["io server disconnect"],
              `disconnect reasons of ${s.nsp}`,
            );
          }
        });

        // ---------------------------------------------------------------- volatile, count, middleware

        it("volatile-burst: what arrives is a subset of 0..n-1, in order", async () => {
          const s = await clients().connect("/");
          const n = 20;
          let delivered = 0;
          for (let attempt = 0; attempt < 3; attempt++) {
            const got = [];
            const listener = (i) => got.push(i);
            s.on("volatile", listener);
            s.emit("volatile-burst", n);
            // The ack is sent after the burst on the same connection.
            await emitAck(s, "message-with-ack", "after burst");
            await sleep(100);
            s.off("volatile", listener);
            for (const i of got) assert.ok(Number.isInteger(i) && i >= 0 && i < n, `unexpected volatile ${i}`);
            for (let k = 1; k < got.length; k++) assert.ok(got[k] > got[k - 1], `out of order or repeated: ${got}`);
            delivered += got.length;
            if (mode !== "websocket" || delivered > 0) break;
          }
          // Over a writable websocket, at least the first event of a burst is sent.
          if (mode === "websocket") assert.ok(delivered > 0, "no volatile event arrived over websocket in 3 bursts");
        });

        it("count: the catch-all counts blocked and unhandled events, not count itself", async () => {
          const s = await clients().connect("/");
          assert.deepEqual(await emitAck(s, "count"), [0]);
          // (the first count is itself an event sent before the next one)
          const back = nextEvent(s, "message-back");
          s.emit("message", "m");
          await back;
          const refused = nextEvent(s, "middleware-error");
          s.emit("blocked", 1);
          await refused;
          s.emit("no-such-handler", 1, 2);
          await emitAck(s, "message-with-ack", "barrier");
          // count, message, blocked, no-such-handler, message-with-ack
          assert.deepEqual(await emitAck(s, "count"), [5]);
          assert.deepEqual(await emitAck(s, "count"), [6]);
        });

        it("blocked → middleware-error 'blocked'; its ack is never called; the connection stays", async () => {
          const s = await clients().connect("/custom");
          const disconnects = record(s, "disconnect");
          const refused = nextEvent(s, "middleware-error");
          s.emit("blocked", "a", Buffer.from([1]));
          assert.deepEqual(await refused, ["blocked"]);
          let acked = false;
          const refused2 = nextEvent(s, "middleware-error");
          s.emit("blocked", () => {
            acked = true;
          });
          assert.deepEqual(await refused2, ["blocked"]);
          await sleep(300);
          assert.equal(acked, false, "the ack of a refused event was called");
          assert.deepEqual(await emitAck(s, "message-with-ack", "ok"), ["ok"]);
          assert.deepEqual(disconnects, []);
        });

        it("binary acks bytes [1,2,3] and {nested: bytes [4,5]}", async () => {
          const s = await clients().connect("/");
          const args = await emitAck(s, "binary");
          assert.equal(args.length, 2);
          assert.ok(isBinary(args[0]), "first argument is binary");
          assert.ok(isBinary(args[1].nested), "nested is binary");
          assert.deepEqual(norm(args), norm([Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]) }]));
        });

        // ---------------------------------------------------------------- transport level

        it("stays connected over several heartbeats", async () => {
          const s = await clients().connect("/");
          const reasons = record(s, "disconnect");
          await sleep(1_200);
          assert.deepEqual(reasons, []);
          assert.deepEqual(await emitAck(s, "message-with-ack", 1), [1]);
        });

        it(`ends up on the expected transport; messages sent meanwhile arrive in order`, async () => {
          const cl = clients();
          const s = cl.socket("/");
          const seen = [];
          s.on("message-back", (i) => seen.push(i));
          // Emitted before and during the connection / upgrade.
          for (let i = 0; i < 30; i++) s.emit("message", i);
          await connected(s);
          for (let i = 30; i < 60; i++) s.emit("message", i);
          await until(() => seen.length >= 60, 5_000, `60 echoes (got ${seen.length})`);
          assert.deepEqual(
            seen,
            Array.from({ length: 60 }, (_, i) => i),
          );
          const expected = mode === "polling" ? "polling" : "websocket";
          await until(() => s.io.engine?.transport?.name === expected, 3_000, `transport ${expected}`);
          assert.deepEqual(await emitAck(s, "message-with-ack", "after"), ["after"]);
        });

        it("a payload just under maxPayload (1e6 bytes) is echoed", async () => {
          const s = await clients().connect("/");
          if (mode === "polling+websocket") await until(() => s.io.engine.transport.name === "websocket", 3_000, "upgrade");
          // Engine packet `42["message","<text>"]`: 16 bytes around the text.
          const text = "é".repeat(10) + "x".repeat(MAX_PAYLOAD - 10 - 16 - 20);
          assert.ok(Buffer.byteLength(`42["message","${text}"]`) < MAX_PAYLOAD);
          const back = nextEvent(s, "message-back", 10_000);
          s.emit("message", text);
          const [got] = await back;
          assert.equal(got.length, text.length);
          assert.ok(got === text, "the echoed text differs");
          assert.deepEqual(await emitAck(s, "message-with-ack", "after"), ["after"]);
        });

        it("a payload above maxPayload: websocket closed / polling POST refused with 413", async () => {
          const s = await clients().connect("/");
          if (mode === "polling+websocket") await until(() => s.io.engine.transport.name === "websocket", 3_000, "upgrade");
          const onWebsocket = s.io.engine.transport.name === "websocket";
          const disconnect = nextEvent(s, "disconnect", 10_000);
          const echoes = record(s, "message-back");
          s.emit("message", "x".repeat(MAX_PAYLOAD + 100));
          const [reason, details] = await disconnect;
          if (onWebsocket) {
            assert.equal(reason, "transport close");
          } else {
            assert.equal(reason, "transport error");
            assert.equal(details?.description, 413, "HTTP status of the refused POST");
          }
          assert.deepEqual(echoes, []);
        });
      });
    }

    // ------------------------------------------------------------------ --recovery

    describe(`[${target}] connection state recovery (--recovery)`, { concurrency: 1 }, () => {
      let recoveryServer;
      let unsupported = null;

      before(async () => {
        try {
          recoveryServer = target === "node" ? await startNodeServer(["--recovery"]) : await startServer(["--recovery"]);
        } catch (err) {
          // A server that says it does not support --recovery yet: the tests
          // below are reported as TODO instead of failing the run.
          if (/not supported/.test(err.message)) unsupported = err.message.split("\n").find((l) => /not supported/.test(l));
          else throw err;
        }
      });

      after(async () => {
        if (recoveryServer) await recoveryServer.stop();
      });

      for (const [mode, transports] of MODES) {
        describe(`[${target}] --recovery, transports ${mode}`, { concurrency: 1, timeout: TEST_TIMEOUT }, () => {
          let c;
          afterEach(() => {
            if (c) c.close();
            c = undefined;
          });

          /** Clients on the recovery server; false when it is not available. */
          const clients = (t) => {
            if (unsupported) {
              t.todo(`the server does not support --recovery yet (${unsupported})`);
              return false;
            }
            c = new Clients(recoveryServer.url, transports);
            return c;
          };

          const isOffset = (v) => typeof v === "string" && v.length > 0;

          it("stored events carry the packet offset as one extra last argument; acks and volatile events do not", async (t) => {
            const cl = clients(t);
            if (!cl) return;
            let auth;
            const s = await cl.connect("/", { auth: { k: 1 }, onCreate: (sock) => (auth = nextEvent(sock, "auth")) });
            assert.equal(s.recovered, false, "a first connection is not recovered");
            const authArgs = await auth;
            assert.equal(authArgs.length, 2, `auth arguments ${JSON.stringify(authArgs)}`);
            assert.deepEqual(authArgs[0], { k: 1 });
            assert.ok(isOffset(authArgs[1]), "auth carries an offset");
            const back = nextEvent(s, "message-back");
            s.emit("message", 1, "x");
            const backArgs = await back;
            assert.deepEqual(backArgs.slice(0, 2), [1, "x"]);
            assert.equal(backArgs.length, 3);
            assert.ok(isOffset(backArgs[2]), "message-back carries an offset");
            assert.notEqual(backArgs[2], authArgs[1], "offsets are distinct");
            const refused = nextEvent(s, "middleware-error");
            s.emit("blocked");
            const refusedArgs = await refused;
            assert.equal(refusedArgs[0], "blocked");
            assert.ok(isOffset(refusedArgs[1]));
            assert.deepEqual(await emitAck(s, "message-with-ack", 1, 2), [1, 2], "acks carry no offset");
            assert.deepEqual(norm(await emitAck(s, "binary")), norm([Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]) }]));
            const vol = [];
            s.on("volatile", (...args) => vol.push(args));
            s.emit("volatile-burst", 3);
            await emitAck(s, "message-with-ack", "barrier");
            for (const args of vol) assert.equal(args.length, 1, `volatile arguments ${JSON.stringify(args)}`);
            // A question with an ack id is not stored either.
            s.on("question", (...args) => {
              const cb = args.pop();
              cb(args);
            });
            assert.deepEqual(await emitAck(s, "ask", 1000, "q"), [{ answer: [["q"]] }]);
          });

          it("a dropped connection is recovered: same id, rooms kept, missed events delivered in order", async (t) => {
            const cl = clients(t);
            if (!cl) return;
            const nsp = freshNamespace();
            const m = cl.manager({ reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200, randomizationFactor: 0 });
            const a = await cl.connect(nsp, { manager: m });
            const b = await cl.connect(nsp);
            const room = tag("room");
            await emitAck(a, "join", room);
            const oldId = a.id;
            const received = [];
            for (const ev of ["room-message", "broadcast-message", "all-message"]) {
              a.on(ev, (...args) => received.push([ev, ...args]));
            }
            const disconnected = nextEvent(a, "disconnect");
            // Drop the connection under the Manager (not a socket.disconnect()).
            m.engine.close();
            await disconnected;
            await sleep(30);
            b.emit("to-room", room, "missed-1");
            b.emit("broadcast", "missed-2");
            b.emit("emit-all", "missed-3");
            await nextEvent(b, "all-message");
            await within(
              new Promise((resolve) => a.once("connect", resolve)),
              5_000,
              "reconnection",
            );
            assert.equal(a.recovered, true, "the session was not recovered");
            assert.equal(a.id, oldId, "a recovered socket keeps its id");
            assert.deepEqual(
              received.map((r) => r.slice(0, 2)),
              [
                ["room-message", "missed-1"],
                ["broadcast-message", "missed-2"],
                ["all-message", "missed-3"],
              ],
            );
            for (const r of received) assert.ok(isOffset(r[2]), `offset of ${r[0]}`);
            assert.deepEqual(await emitAck(b, "sockets-in", room), [[oldId]], "the room membership survives");
            assert.deepEqual(await emitAck(a, "join", room), [[room, oldId].sort()]);
          });
        });
      }
    });
  });
}
