// Socket.IO v5 wire-level checks against the conformance server
// (/work/shared/conformance-server.md), written with fetch and the `ws`
// package only (raw Engine.IO + Socket.IO packets).
//
// Every case of the official socket.io-protocol test suite (v5, EIO=4) is
// re-checked here, named "[suite #N] ..." after the numbering of
// docs/notes/reference-server.md §6.2, at least as strictly as the suite
// does; then the behaviour around them that the reference server shows
// (exact CONNECT / CONNECT_ERROR / DISCONNECT / ACK packets, ack ids, binary
// placeholders, every kind of invalid packet, connect timeout, polling).
//
// Everything runs against two servers:
//   [rust] the Rust conformance binary (target/debug/examples/conformance),
//   [node] the same spec implemented with the official `socket.io` package
//          (lib/node-conformance.mjs): the reference. A test failing on
//          [node] is a wrong test; one failing on [rust] only is a server bug.
// SIO_INTEROP_TARGETS=rust (or node) restricts the run to one of them.
//
// Note on pipelining: the reference hands each decoded packet to its
// namespace socket one tick later, so a packet that depends on the effect of
// the previous one (a CONNECT completing, a DISCONNECT being processed) is
// only sent here once that effect is visible on the wire (the CONNECT reply,
// an ack on another namespace), as the official suite does.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";

import { startNodeServer } from "./lib/node-conformance.mjs";
import { startServer } from "./lib/server.mjs";
import { Http, SEP, sleep, Ws } from "./lib/wire.mjs";

const TARGETS = (process.env.SIO_INTEROP_TARGETS ?? "rust,node")
  .split(",")
  .map((t) => t.trim())
  .filter(Boolean);

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1_000_000;
const CONNECT_TIMEOUT = 1_000;
const TEST_TIMEOUT = 15_000;

/** A Socket.IO / Engine.IO id: 20 url-safe base64 characters. */
const ID = "[A-Za-z0-9_-]{20}";
const CONNECT_RE = (nsp = "") => new RegExp(`^40${nsp ? `${nsp},` : ""}\\{"sid":"(${ID})"\\}$`);

const OPEN_RE = (upgrades) =>
  new RegExp(
    `^0\\{"sid":"(${ID})","upgrades":${upgrades},"pingInterval":${PING_INTERVAL},` +
      `"pingTimeout":${PING_TIMEOUT},"maxPayload":${MAX_PAYLOAD}\\}$`,
  );

const placeholder = (num) => ({ _placeholder: true, num });
const bytes = (...b) => Buffer.from(b);

let dynamicCounter = 100;
/** A namespace matching ^/dynamic-[0-9]+$ that no other test uses. */
const freshNamespace = () => `/dynamic-${process.pid}${dynamicCounter++}`;

for (const target of TARGETS) {
  describe(`[${target}] socket.io protocol`, { concurrency: 1 }, () => {
    let server;
    let http;
    /** WebSockets of the current test, terminated after it. */
    let sockets = [];

    before(async () => {
      server = target === "node" ? await startNodeServer() : await startServer();
      http = new Http(server.url, "/socket.io/");
    });

    afterEach(() => {
      for (const ws of sockets) ws.terminate();
      sockets = [];
    });

    after(async () => {
      if (server) await server.stop();
    });

    /** A raw WebSocket on /socket.io/ (not awaited). */
    function openWs(query = "EIO=4&transport=websocket") {
      const ws = new Ws(`${server.wsUrl}/socket.io/?${query}`);
      sockets.push(ws);
      return ws;
    }

    /**
     * A WebSocket Engine.IO session: resolves {ws, engineSid}. With `pong`,
     * every ping is answered (pings stay in the queue; next({skipPings})
     * drops them), so the session outlives the 500 ms ping deadline.
     */
    async function engineSession({ pong = true } = {}) {
      const ws = openWs();
      if (pong) {
        ws.ws.on("message", (data, isBinary) => {
          if (!isBinary && data.toString() === "2") ws.send("3");
        });
      }
      const { data } = await ws.handshake();
      return { ws, engineSid: data.sid };
    }

    /** The next non-ping message. */
    const next = (ws, timeoutMs = 2_000) => ws.next({ skipPings: true, timeoutMs });

    /**
     * Sends CONNECT for `nsp` ("/" or "/name") and checks the reply and the
     * auth event; resolves the namespace socket id.
     */
    async function connectNs(ws, nsp = "/", auth) {
      const prefix = nsp === "/" ? "" : `${nsp},`;
      ws.send(`40${prefix}${auth === undefined ? "" : JSON.stringify(auth)}`);
      const reply = await next(ws);
      const m = CONNECT_RE(nsp === "/" ? "" : nsp).exec(reply);
      assert.ok(m, `CONNECT reply for ${nsp}: ${JSON.stringify(reply)}`);
      assert.equal(await next(ws), `42${prefix}${JSON.stringify(["auth", auth ?? {}])}`);
      return m[1];
    }

    /** A websocket session connected to "/" (and the given namespaces). */
    async function sioSession(namespaces = ["/"], opts) {
      const session = await engineSession(opts);
      session.ids = {};
      for (const nsp of namespaces) session.ids[nsp] = await connectNs(session.ws, nsp);
      return session;
    }

    /**
     * Waits until the server closes `ws`. Messages received before are
     * returned (the reference may emit "middleware-error" with the decoding
     * error before closing: the spec server's error handler also sees
     * decoding errors there), pings excluded.
     */
    async function expectClosed(ws, timeoutMs = 1_500, what = "connection") {
      const before = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (ws.closeInfo && ws.queue.length === 0) return { ...ws.closeInfo, before };
        const left = deadline - Date.now();
        assert.ok(left > 0, `${what} not closed after ${timeoutMs} ms (received ${JSON.stringify(before)})`);
        try {
          const m = await ws.next({ timeoutMs: left });
          if (m !== "2") before.push(typeof m === "string" ? m : `<binary ${m.toString("hex")}>`);
        } catch (err) {
          if (!ws.closeInfo) throw err;
        }
      }
    }

    /** Checks the connection still works: a `message` is echoed on "/" (or nsp). */
    async function expectAlive(ws, nsp = "/") {
      const prefix = nsp === "/" ? "" : `${nsp},`;
      const t = `alive-${Math.random().toString(36).slice(2)}`;
      ws.send(`42${prefix}["message","${t}"]`);
      assert.equal(await next(ws), `42${prefix}["message-back","${t}"]`);
    }

    // ==================================================================== Engine.IO at /socket.io/

    describe(`[${target}] Engine.IO protocol (at /socket.io/)`, { timeout: TEST_TIMEOUT }, () => {
      it("[suite #1] handshake / polling: should successfully open a session", async () => {
        const res = await http.request("GET", "EIO=4&transport=polling");
        assert.equal(res.status, 200);
        assert.match(res.body, OPEN_RE('\\["websocket"\\]'));
        const data = JSON.parse(res.body.slice(1));
        assert.deepEqual(Object.keys(data).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
      });

      it("[suite #2] handshake / polling: should fail with an invalid 'EIO' query parameter", async () => {
        assert.equal((await http.request("GET", "transport=polling")).status, 400);
        assert.equal((await http.request("GET", "EIO=abc&transport=polling")).status, 400);
      });

      it("[suite #3] handshake / polling: should fail with an invalid 'transport' query parameter", async () => {
        assert.equal((await http.request("GET", "EIO=4")).status, 400);
        assert.equal((await http.request("GET", "EIO=4&transport=abc")).status, 400);
      });

      it("[suite #4] handshake / polling: should fail with an invalid request method", async () => {
        assert.equal((await http.request("POST", "EIO=4&transport=polling")).status, 400);
        assert.equal((await http.request("PUT", "EIO=4&transport=polling")).status, 400);
      });

      it("[suite #5] handshake / websocket: should successfully open a session", async () => {
        const ws = openWs();
        const first = await ws.next();
        assert.match(first, OPEN_RE("\\[\\]"));
        ws.ws.close();
        await ws.waitClose();
      });

      for (const [n, query] of [
        [6, "transport=websocket"],
        [6, "EIO=abc&transport=websocket"],
        [7, "EIO=4"],
        [7, "EIO=4&transport=abc"],
      ]) {
        it(`[suite #${n}] handshake / websocket: should fail with ${query}`, async () => {
          const ws = openWs(query);
          await ws.waitClose();
          assert.ok(
            !ws.queue.some((m) => typeof m === "string" && m.startsWith("0")),
            `no session may be opened: ${JSON.stringify(ws.queue)}`,
          );
          if (ws.httpResponse) assert.equal(ws.httpResponse.status, 400);
        });
      }

      it("[suite #8] heartbeat / polling: should send ping/pong packets (and nothing else)", async () => {
        const { sid } = await http.handshake();
        for (let i = 0; i < 3; i++) {
          const get = await http.poll(sid);
          assert.equal(get.status, 200);
          assert.equal(get.body, "2");
          const post = await http.post(sid, "3");
          assert.equal(post.status, 200);
        }
      });

      // The suite GETs exactly pingInterval + pingTimeout after the handshake
      // response; that races with the server's timer by a few ms, even with
      // the reference (3 sessions out of 40 still open there): 25 ms of slack.
      it("[suite #9] heartbeat / polling: should close the session upon ping timeout", async () => {
        const { sid } = await http.handshake();
        await sleep(PING_INTERVAL + PING_TIMEOUT + 25);
        const get = await http.poll(sid);
        assert.equal(get.status, 400, `GET after the ping timeout: ${get.status} ${JSON.stringify(get.body)}`);
      });

      it("[suite #10] heartbeat / websocket: should send ping/pong packets", async () => {
        const ws = openWs();
        await ws.handshake();
        for (let i = 0; i < 3; i++) {
          assert.equal(await ws.next({ timeoutMs: 1_000 }), "2");
          ws.send("3");
        }
      });

      it("[suite #11] heartbeat / websocket: should close the session upon ping timeout", async () => {
        const ws = openWs();
        await ws.handshake();
        const t0 = Date.now();
        await ws.waitClose(2_000);
        const elapsed = Date.now() - t0;
        assert.ok(elapsed >= PING_INTERVAL + PING_TIMEOUT - 100, `closed after ${elapsed} ms`);
      });

      it("[suite #12] close / polling: should forcefully close the session", async () => {
        const { sid } = await http.handshake();
        const [get, post] = await Promise.all([http.poll(sid), sleep(20).then(() => http.post(sid, "1"))]);
        assert.equal(post.status, 200);
        assert.equal(get.status, 200);
        assert.equal(get.body, "6");
        assert.equal((await http.poll(sid)).status, 400);
      });

      it("[suite #13] close / websocket: should forcefully close the session", async () => {
        const ws = openWs();
        await ws.handshake();
        ws.send("1");
        await ws.waitClose(2_000);
      });

      it("[suite #14] upgrade: should successfully upgrade from HTTP long-polling to WebSocket", async () => {
        const { sid } = await http.handshake();
        const ws = openWs(`EIO=4&transport=websocket&sid=${sid}`);
        await ws.opened;
        ws.send("2probe");
        assert.equal(await ws.next(), "3probe");
        ws.send("5");
        // The upgraded session carries Socket.IO.
        ws.send("40");
        assert.match(await next(ws), CONNECT_RE());
        assert.equal(await next(ws), '42["auth",{}]');
      });

      it("[suite #15] upgrade: should ignore HTTP requests with same sid after upgrade", async () => {
        const { sid } = await http.handshake();
        const ws = openWs(`EIO=4&transport=websocket&sid=${sid}`);
        await ws.opened;
        ws.send("2probe");
        ws.send("5");
        await sleep(50);
        assert.equal((await http.poll(sid)).status, 400);
      });

      it("[suite #16] upgrade: should ignore WebSocket connection with same sid after upgrade", async () => {
        const { sid } = await http.handshake();
        const ws = openWs(`EIO=4&transport=websocket&sid=${sid}`);
        await ws.opened;
        ws.send("2probe");
        ws.send("5");
        await sleep(50);
        const ws2 = openWs(`EIO=4&transport=websocket&sid=${sid}`);
        await ws2.waitClose();
        assert.equal(ws.isOpen, true, "the upgraded websocket must stay open");
      });
    });

    // ==================================================================== connect

    describe(`[${target}] connect`, { timeout: TEST_TIMEOUT }, () => {
      it("[suite #17] should allow connection to the main namespace", async () => {
        const { ws, engineSid } = await engineSession({ pong: false });
        ws.send("40");
        const reply = await ws.next();
        assert.ok(reply.startsWith("40"));
        const data = JSON.parse(reply.substring(2));
        assert.deepEqual(Object.keys(data), ["sid"], "no pid without recovery");
        assert.equal(typeof data.sid, "string");
        assert.match(reply, CONNECT_RE());
        assert.notEqual(data.sid, engineSid, "the socket id is not the engine id");
        assert.equal(await ws.next(), '42["auth",{}]');
      });

      it("[suite #18] should allow connection to the main namespace with a payload", async () => {
        const { ws } = await engineSession({ pong: false });
        ws.send('40{"token":"123"}');
        assert.match(await ws.next(), CONNECT_RE());
        assert.equal(await ws.next(), '42["auth",{"token":"123"}]');
      });

      it("[suite #19] should allow connection to a custom namespace", async () => {
        const { ws } = await engineSession({ pong: false });
        ws.send("40/custom,");
        const reply = await ws.next();
        assert.ok(reply.startsWith("40/custom,"));
        assert.deepEqual(Object.keys(JSON.parse(reply.substring(10))), ["sid"]);
        assert.match(reply, CONNECT_RE("/custom"));
        assert.equal(await ws.next(), '42/custom,["auth",{}]');
      });

      it("[suite #20] should allow connection to a custom namespace with a payload", async () => {
        const { ws } = await engineSession({ pong: false });
        ws.send('40/custom,{"token":"abc"}');
        assert.match(await ws.next(), CONNECT_RE("/custom"));
        assert.equal(await ws.next(), '42/custom,["auth",{"token":"abc"}]');
      });

      it("[suite #21] should disallow connection to an unknown namespace", async () => {
        const { ws } = await engineSession({ pong: false });
        ws.send("40/random");
        assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
      });

      it("[suite #22] should disallow connection with an invalid handshake", async () => {
        const { ws } = await engineSession({ pong: false });
        ws.send("4abc");
        await expectClosed(ws);
      });

      it("[suite #23] should close the connection if no handshake is received", async () => {
        const { ws } = await engineSession({ pong: false });
        await expectClosed(ws, 2_000);
      });

      it("connects to a dynamic namespace, with and without auth", async () => {
        const { ws } = await engineSession();
        const nsp = freshNamespace();
        await connectNs(ws, nsp);
        await connectNs(ws, freshNamespace(), { token: "x", n: [1, { a: null }] });
        await expectAlive(ws, nsp);
      });

      it("refuses unknown namespaces with CONNECT_ERROR and keeps the connection open", async () => {
        const { ws } = await engineSession();
        for (const [sent, nsp] of [
          ["40/random,", "/random"],
          ['40/random,{"token":"123"}', "/random"],
          ["40/dynamic-,", "/dynamic-"],
          ["40/dynamic-12a,", "/dynamic-12a"],
          ["40/custom/sub,", "/custom/sub"],
          ["40/Custom,", "/Custom"],
        ]) {
          ws.send(sent);
          assert.equal(await next(ws), `44${nsp},{"message":"Invalid namespace"}`, `reply to ${sent}`);
        }
        await connectNs(ws, "/");
        await expectAlive(ws);
      });

      for (const nsp of ["/", "/custom", "/dynamic-55"]) {
        it(`middleware refusal on ${nsp}: exact CONNECT_ERROR with data; the connection stays open`, async () => {
          const { ws } = await engineSession();
          const prefix = nsp === "/" ? "" : `${nsp},`;
          ws.send(`40${prefix}{"token":"forbidden","other":1}`);
          assert.equal(await next(ws), `44${prefix}{"message":"forbidden","data":{"reason":"bad token"}}`);
          // No auth event for the refused socket, and the namespace can be joined afterwards.
          await connectNs(ws, nsp, { token: "fine" });
          await expectAlive(ws, nsp);
        });
      }

      it("socket ids: 20 url-safe chars, distinct from the engine id and across namespaces, fresh on reconnection", async () => {
        const { ws, engineSid } = await engineSession();
        const main = await connectNs(ws, "/");
        const custom = await connectNs(ws, "/custom");
        const dyn = await connectNs(ws, freshNamespace());
        const ids = [main, custom, dyn];
        for (const id of ids) assert.match(id, new RegExp(`^${ID}$`));
        assert.ok(!ids.includes(engineSid), "a socket id equals the engine id");
        assert.equal(new Set(ids).size, 3);
        // Leave "/" and wait until it was handled (an ack on /custom), then come back.
        ws.send("41");
        ws.send('42/custom,1["message-with-ack","barrier"]');
        assert.equal(await next(ws), '43/custom,1["barrier"]');
        const again = await connectNs(ws, "/");
        assert.ok(!ids.includes(again), "the id of a reconnected namespace socket is reused");
        // Another connection, other ids.
        const other = await sioSession(["/"]);
        assert.ok(![...ids, again].includes(other.ids["/"]));
      });

      it(`connect timeout: no CONNECT within ${CONNECT_TIMEOUT} ms closes the connection (websocket, pings answered)`, async () => {
        const t0 = Date.now();
        const { ws } = await engineSession({ pong: true });
        await expectClosed(ws, 3_000);
        const elapsed = Date.now() - t0;
        assert.ok(elapsed >= CONNECT_TIMEOUT - 100 && elapsed < CONNECT_TIMEOUT + 800, `closed after ${elapsed} ms`);
      });

      it("connect timeout: a refused CONNECT (unknown namespace, middleware) does not stop it", async () => {
        const t0 = Date.now();
        const { ws } = await engineSession({ pong: true });
        ws.send("40/random,");
        assert.equal(await next(ws), '44/random,{"message":"Invalid namespace"}');
        ws.send('40{"token":"forbidden"}');
        assert.equal(await next(ws), '44{"message":"forbidden","data":{"reason":"bad token"}}');
        await expectClosed(ws, 3_000);
        const elapsed = Date.now() - t0;
        assert.ok(elapsed >= CONNECT_TIMEOUT - 100 && elapsed < CONNECT_TIMEOUT + 800, `closed after ${elapsed} ms`);
      });

      it("connect timeout: cleared by the first CONNECT, never re-armed after leaving every namespace", async () => {
        const { ws } = await engineSession({ pong: true });
        await connectNs(ws, "/");
        ws.send("41");
        await sleep(CONNECT_TIMEOUT + 500);
        assert.equal(ws.isOpen, true, "the connection was closed");
        await connectNs(ws, "/custom");
        await expectAlive(ws, "/custom");
      });

      it("connect timeout over polling: the session is closed after ~1000 ms, then unknown", async () => {
        const { sid } = await http.handshake();
        const t0 = Date.now();
        let closedAt;
        while (closedAt === undefined) {
          assert.ok(Date.now() - t0 < 3_000, "session not closed after 3000 ms");
          const res = await http.poll(sid);
          if (res.status !== 200) {
            closedAt = Date.now();
            break;
          }
          const packets = res.body.split(SEP);
          for (const p of packets) assert.ok(["2", "6", "1"].includes(p), `unexpected packet ${JSON.stringify(p)}`);
          if (packets.includes("1")) closedAt = Date.now();
          else if (packets.includes("2")) assert.equal((await http.post(sid, "3")).status, 200);
        }
        const elapsed = closedAt - t0;
        assert.ok(elapsed >= CONNECT_TIMEOUT - 100 && elapsed < CONNECT_TIMEOUT + 800, `closed after ${elapsed} ms`);
        assert.equal((await http.poll(sid)).status, 400);
      });
    });

    // ==================================================================== disconnect

    describe(`[${target}] disconnect`, { timeout: TEST_TIMEOUT }, () => {
      it("[suite #24] should disconnect from the main namespace", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send("41");
        // No reply; the connection stays open: the next message is the ping.
        assert.equal(await ws.next({ timeoutMs: 1_000 }), "2");
      });

      it("[suite #25] should connect then disconnect from a custom namespace", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        assert.equal(await ws.next({ timeoutMs: 1_000 }), "2"); // not answered
        ws.send("40/custom");
        assert.match(await ws.next(), CONNECT_RE("/custom"));
        assert.equal(await ws.next(), '42/custom,["auth",{}]');
        ws.send("41/custom");
        ws.send('42["message","message to main namespace"]');
        assert.equal(await ws.next(), '42["message-back","message to main namespace"]');
      });

      it("an event for a namespace left before closes the connection", async () => {
        const { ws } = await sioSession(["/", "/custom"]);
        ws.send("41/custom,");
        ws.send('421["message-with-ack","barrier"]');
        assert.equal(await next(ws), '431["barrier"]');
        ws.send('42/custom,["message","x"]');
        await expectClosed(ws);
      });

      it("disconnect-me(false): DISCONNECT for that namespace only; the connection stays open", async () => {
        const { ws } = await sioSession(["/", "/custom"]);
        ws.send('42["disconnect-me",false]');
        assert.equal(await next(ws), "41");
        await expectAlive(ws, "/custom");
        ws.send('42/custom,["disconnect-me",false]');
        assert.equal(await next(ws), "41/custom,");
        // No namespace left: the connection stays (pings answered).
        await sleep(CONNECT_TIMEOUT + 300);
        assert.equal(ws.isOpen, true);
        await connectNs(ws, "/");
        await expectAlive(ws);
      });

      it("disconnect-me(true): DISCONNECT for every namespace, then the connection closes", async () => {
        const { ws } = await sioSession(["/", "/custom"]);
        ws.send('42/custom,["disconnect-me",true]');
        const { before } = await expectClosed(ws);
        assert.deepEqual([...before].sort(), ["41", "41/custom,"]);
      });

      it("[reference detail] disconnect-me(true): DISCONNECT packets in namespace connection order", async () => {
        const { ws } = await sioSession(["/", "/custom"]);
        ws.send('42/custom,["disconnect-me",true]');
        const { before } = await expectClosed(ws);
        assert.deepEqual(before, ["41", "41/custom,"]);
      });

      it("disconnect-room: DISCONNECT for every namespace of the members' connections, which close", async () => {
        const victim = await sioSession(["/", "/custom"]);
        const bystander = await sioSession(["/"]);
        const room = `doomed-${Math.random().toString(36).slice(2)}`;
        victim.ws.send(`421["join","${room}"]`);
        assert.equal(await next(victim.ws), `431[${JSON.stringify([room, victim.ids["/"]].sort())}]`);
        bystander.ws.send(`42["disconnect-room","${room}"]`);
        const { before } = await expectClosed(victim.ws);
        assert.deepEqual([...before].sort(), ["41", "41/custom,"]);
        await expectAlive(bystander.ws);
      });
    });

    // ==================================================================== message

    describe(`[${target}] message`, { timeout: TEST_TIMEOUT }, () => {
      it("[suite #26] should send a plain-text packet", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send('42["message",1,"2",{"3":[true]}]');
        assert.equal(await next(ws), '42["message-back",1,"2",{"3":[true]}]');
      });

      it("[suite #27] should send a packet with binary attachments", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
        ws.send(bytes(1, 2, 3));
        ws.send(bytes(4, 5, 6));
        assert.equal(await next(ws), '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
        assert.deepEqual(await next(ws), bytes(1, 2, 3));
        assert.deepEqual(await next(ws), bytes(4, 5, 6));
      });

      it("[suite #28] should send a plain-text packet with an ack", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
        assert.equal(await next(ws), '43456[1,"2",{"3":[false]}]');
      });

      it("[suite #29] should send a packet with binary attachments and an ack", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
        ws.send(bytes(1, 2, 3));
        ws.send(bytes(4, 5, 6));
        assert.equal(await next(ws), '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
        assert.deepEqual(await next(ws), bytes(1, 2, 3));
        assert.deepEqual(await next(ws), bytes(4, 5, 6));
      });

      it("[suite #30] should close the connection upon invalid format (unknown packet type)", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send("4abc");
        await expectClosed(ws);
      });

      it("[suite #31] should close the connection upon invalid format (invalid payload format)", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send("42{}");
        await expectClosed(ws);
      });

      it("[suite #32] should close the connection upon invalid format (invalid ack id)", async () => {
        const { ws } = await sioSession(["/"], { pong: false });
        ws.send('42abc["message-with-ack",1,"2",{"3":[false]}]');
        await expectClosed(ws);
      });

      it("plain and binary events on a custom namespace, with and without ack", async () => {
        const { ws } = await sioSession(["/custom"]);
        ws.send('42/custom,["message","a",{"b":[null,true,1.5]}]');
        assert.equal(await next(ws), '42/custom,["message-back","a",{"b":[null,true,1.5]}]');
        ws.send('42/custom,12["message-with-ack"]');
        assert.equal(await next(ws), "43/custom,12[]");
        ws.send('451-/custom,["message",{"x":{"_placeholder":true,"num":0}}]');
        ws.send(bytes(9, 9));
        assert.equal(await next(ws), '451-/custom,["message-back",{"x":{"_placeholder":true,"num":0}}]');
        assert.deepEqual(await next(ws), bytes(9, 9));
        ws.send('451-/custom,3["message-with-ack",[{"_placeholder":true,"num":0}]]');
        ws.send(bytes(7));
        assert.equal(await next(ws), '461-/custom,3[[{"_placeholder":true,"num":0}]]');
        assert.deepEqual(await next(ws), bytes(7));
      });

      it("binary placeholders are renumbered depth-first in the re-encoded packet", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send(
          '453-["message",{"a":{"_placeholder":true,"num":2}},[{"_placeholder":true,"num":0}],' +
            '{"_placeholder":true,"num":1}]',
        );
        ws.send(bytes(0xa));
        ws.send(bytes(0xb));
        ws.send(bytes(0xc));
        assert.equal(
          await next(ws),
          '453-["message-back",{"a":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1}],' +
            '{"_placeholder":true,"num":2}]',
        );
        assert.deepEqual(await next(ws), bytes(0xc));
        assert.deepEqual(await next(ws), bytes(0xa));
        assert.deepEqual(await next(ws), bytes(0xb));
      });

      it("an empty binary attachment is carried", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('451-["message",{"_placeholder":true,"num":0}]');
        ws.send(Buffer.alloc(0));
        assert.equal(await next(ws), '451-["message-back",{"_placeholder":true,"num":0}]');
        assert.deepEqual(await next(ws), Buffer.alloc(0));
      });

      it("10 attachments are accepted", async () => {
        const { ws } = await sioSession(["/"]);
        const phs = Array.from({ length: 10 }, (_, i) => placeholder(i));
        ws.send(`4510-${JSON.stringify(["message", ...phs])}`);
        for (let i = 0; i < 10; i++) ws.send(bytes(i));
        assert.equal(await next(ws), `4510-${JSON.stringify(["message-back", ...phs])}`);
        for (let i = 0; i < 10; i++) assert.deepEqual(await next(ws), bytes(i));
      });

      it("the binary event: BINARY_ACK with [1,2,3] and {nested: [4,5]}", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('421["binary"]');
        assert.equal(
          await next(ws),
          '462-1[{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]',
        );
        assert.deepEqual(await next(ws), bytes(1, 2, 3));
        assert.deepEqual(await next(ws), bytes(4, 5));
      });

      it("a `message` with an ack id is echoed without ack", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('427["message",1]');
        assert.equal(await next(ws), '42["message-back",1]');
        await expectAlive(ws);
        assert.ok(!ws.queue.some((m) => typeof m === "string" && m.startsWith("43")), "an ACK was sent");
      });

      it("a blocked event: middleware-error, no ACK, the connection stays", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('427["blocked",1]');
        assert.equal(await next(ws), '42["middleware-error","blocked"]');
        await expectAlive(ws);
      });

      it("count: the catch-all counts blocked and unhandled events (not count itself)", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('42["message",1]');
        assert.equal(await next(ws), '42["message-back",1]');
        ws.send('42["blocked"]');
        assert.equal(await next(ws), '42["middleware-error","blocked"]');
        ws.send('42["unhandled"]');
        ws.send('421["message-with-ack"]');
        assert.equal(await next(ws), "431[]");
        ws.send('422["count"]');
        assert.equal(await next(ws), "432[4]");
      });

      it("a JSON string with lone UTF-16 surrogates is echoed", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('42["message","a\\ud800b","\\udc00"]');
        const reply = await next(ws);
        assert.ok(reply.startsWith("42"), `reply ${JSON.stringify(reply)}`);
        assert.deepEqual(JSON.parse(reply.slice(2)), ["message-back", "a\ud800b", "\udc00"]);
      });

      it("maxPayload over websocket: a message just under 1e6 bytes is echoed", async () => {
        const { ws } = await sioSession(["/"]);
        const text = "x".repeat(MAX_PAYLOAD - 16);
        const packet = `42["message","${text}"]`;
        assert.equal(packet.length, MAX_PAYLOAD);
        ws.send(packet);
        assert.equal(await next(ws, 5_000), `42["message-back","${text}"]`);
      });

      it("maxPayload over websocket: a larger message closes the connection", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send(`42["message","${"x".repeat(MAX_PAYLOAD)}"]`);
        const { before } = await expectClosed(ws, 3_000);
        assert.deepEqual(before, []);
      });

      it("[reference detail] maxPayload over websocket: closed with code 1009 (message too big)", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send(`42["message","${"x".repeat(MAX_PAYLOAD)}"]`);
        const { code } = await expectClosed(ws, 3_000);
        assert.equal(code, 1009);
      });
    });

    // ==================================================================== acks from the server

    describe(`[${target}] server acks`, { timeout: TEST_TIMEOUT }, () => {
      it("ask: the server's question carries an ack id; the client's ACK becomes {answer}", async () => {
        const nsp = freshNamespace();
        const { ws } = await sioSession([nsp]);
        ws.send(`42${nsp},5["ask",1000,"q",{"n":1}]`);
        const q = await next(ws);
        const m = new RegExp(`^42${nsp},(\\d+)\\["question","q",\\{"n":1\\}\\]$`).exec(q);
        assert.ok(m, `question ${JSON.stringify(q)}`);
        ws.send(`43${nsp},${m[1]}["yes",2]`);
        assert.equal(await next(ws), `43${nsp},5[{"answer":["yes",2]}]`);
      });

      it("[reference detail] server ack ids come from a per-namespace counter starting at 0", async () => {
        const nsp = freshNamespace();
        const a = await sioSession([nsp]);
        const b = await sioSession([nsp]);
        a.ws.send(`42${nsp},1["ask",1000]`);
        assert.equal(await next(a.ws), `42${nsp},0["question"]`);
        b.ws.send(`42${nsp},1["ask",1000]`);
        assert.equal(await next(b.ws), `42${nsp},1["question"]`);
        a.ws.send(`42${nsp},2["ask",1000]`);
        assert.equal(await next(a.ws), `42${nsp},2["question"]`);
        a.ws.send(`43${nsp},0[]`);
        assert.equal(await next(a.ws), `43${nsp},1[{"answer":[]}]`);
      });

      it("ask with binary: BINARY_EVENT question, BINARY_ACK answer", async () => {
        const nsp = freshNamespace();
        const { ws } = await sioSession([nsp]);
        ws.send(`451-${nsp},7["ask",1000,{"_placeholder":true,"num":0}]`);
        ws.send(bytes(9));
        const q = await next(ws);
        const m = new RegExp(`^451-${nsp},(\\d+)\\["question",\\{"_placeholder":true,"num":0\\}\\]$`).exec(q);
        assert.ok(m, `question ${JSON.stringify(q)}`);
        assert.deepEqual(await next(ws), bytes(9));
        ws.send(`461-${nsp},${m[1]}[{"_placeholder":true,"num":0}]`);
        ws.send(bytes(8));
        assert.equal(await next(ws), `461-${nsp},7[{"answer":[{"_placeholder":true,"num":0}]}]`);
        assert.deepEqual(await next(ws), bytes(8));
      });

      it("ask without an answer: {error: timeout}; a late or unknown ACK is ignored", async () => {
        const nsp = freshNamespace();
        const { ws } = await sioSession([nsp]);
        ws.send(`42${nsp},7["ask",150]`);
        const m = new RegExp(`^42${nsp},(\\d+)\\["question"\\]$`).exec(await next(ws));
        assert.ok(m);
        assert.equal(await next(ws), `43${nsp},7[{"error":"timeout"}]`);
        ws.send(`43${nsp},${m[1]}["late"]`);
        ws.send(`43${nsp},999["unknown"]`);
        await expectAlive(ws, nsp);
      });

      it("ask-all: one ack id shared by every target; {responses}", async () => {
        const nsp = freshNamespace();
        const a = await sioSession([nsp]);
        const b = await sioSession([nsp]);
        a.ws.send(`42${nsp},3["ask-all",1000]`);
        const qa = await next(a.ws);
        const qb = await next(b.ws);
        const m = new RegExp(`^42${nsp},(\\d+)\\["question-all"\\]$`).exec(qa);
        assert.ok(m, `question-all ${JSON.stringify(qa)}`);
        assert.equal(qb, qa, "both targets get the same packet (same ack id)");
        b.ws.send(`43${nsp},${m[1]}["from-b"]`);
        a.ws.send(`43${nsp},${m[1]}["from-a","second argument dropped"]`);
        const reply = await next(a.ws);
        const rm = new RegExp(`^43${nsp},3(.*)$`).exec(reply);
        assert.ok(rm, `ack ${JSON.stringify(reply)}`);
        const [{ responses }] = JSON.parse(rm[1]);
        assert.deepEqual([...responses].sort(), ["from-a", "from-b"]);
      });

      it("ask-all: a silent client → {error: timeout}", async () => {
        const nsp = freshNamespace();
        const a = await sioSession([nsp]);
        const b = await sioSession([nsp]);
        a.ws.send(`42${nsp},3["ask-all",200]`);
        const m = new RegExp(`^42${nsp},(\\d+)\\["question-all"\\]$`).exec(await next(a.ws));
        assert.ok(m);
        assert.match(await next(b.ws), /question-all/);
        a.ws.send(`43${nsp},${m[1]}["from-a"]`);
        assert.equal(await next(a.ws), `43${nsp},3[{"error":"timeout"}]`);
      });

      it("join / leave / sockets-in acks", async () => {
        const a = await sioSession(["/"]);
        const b = await sioSession(["/"]);
        const idA = a.ids["/"];
        const idB = b.ids["/"];
        const room = `r-${Math.random().toString(36).slice(2)}`;
        a.ws.send(`421["join","${room}"]`);
        assert.equal(await next(a.ws), `431${JSON.stringify([[room, idA].sort()])}`);
        b.ws.send(`421["join","${room}"]`);
        assert.equal(await next(b.ws), `431${JSON.stringify([[room, idB].sort()])}`);
        a.ws.send(`422["sockets-in","${room}"]`);
        assert.equal(await next(a.ws), `432${JSON.stringify([[idA, idB].sort()])}`);
        a.ws.send(`423["sockets-in","${idB}"]`);
        assert.equal(await next(a.ws), `433${JSON.stringify([[idB]])}`);
        b.ws.send(`424["leave","${room}"]`);
        assert.equal(await next(b.ws), `434${JSON.stringify([[idB]])}`);
        a.ws.send(`425["sockets-in","${room}"]`);
        assert.equal(await next(a.ws), `435${JSON.stringify([[idA]])}`);
      });

      it("volatile-burst over websocket: a subset of 0..n-1 in order, as EVENT packets without ack id", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('42["volatile-burst",10]');
        ws.send('421["message-with-ack","end"]');
        const got = [];
        for (;;) {
          const m = await next(ws);
          if (m === '431["end"]') break;
          const v = /^42\["volatile",(\d+)\]$/.exec(m);
          assert.ok(v, `unexpected ${JSON.stringify(m)}`);
          got.push(Number(v[1]));
        }
        for (let k = 1; k < got.length; k++) assert.ok(got[k] > got[k - 1], `order: ${got}`);
        for (const i of got) assert.ok(i >= 0 && i < 10);
      });
    });

    // ==================================================================== invalid packets

    describe(`[${target}] invalid packets close the connection`, { timeout: TEST_TIMEOUT }, () => {
      const cases = [
        ["unknown packet type 7", "47"],
        ["unknown packet type (letter)", "4x"],
        ["EVENT with an object payload", "42{}"],
        ["EVENT with an empty array", "42[]"],
        ["EVENT with a null event name", "42[null]"],
        ["EVENT with an object event name", '42[{"a":1}]'],
        ["EVENT with broken JSON", '42["message"'],
        ["EVENT with a non-digit ack id", '42abc["message"]'],
        ["DISCONNECT with a payload", "41{}"],
        ["ACK with an object payload", '43{"a":1}'],
        ["client CONNECT_ERROR", '44{"message":"x"}'],
        ["second CONNECT to a joined namespace", "40"],
        ["second CONNECT to a joined namespace, with auth", '40{"token":"1"}'],
        ["EVENT to a namespace not joined", '42/custom,["message","x"]'],
        ["ACK to a namespace not joined", '43/custom,1["x"]'],
        ["DISCONNECT of a namespace not joined", "41/custom,"],
        ["BINARY_EVENT with an empty attachment count", '45-["message",{"_placeholder":true,"num":0}]'],
        ["BINARY_EVENT with 0 attachments", '450-["message"]'],
        ["BINARY_EVENT without '-'", '451["message",{"_placeholder":true,"num":0}]'],
        ["BINARY_EVENT with a letter count", '45a-["message"]'],
        ["[reference detail] BINARY_EVENT with more than 10 attachments", '4511-["message"]'],
        ["binary frame when no binary packet is pending", bytes(1, 2, 3)],
        [
          "text frame while a binary packet is pending",
          ['451-["message",{"_placeholder":true,"num":0}]', '42["message"]'],
        ],
        [
          "placeholder number out of range",
          ['451-["message",{"_placeholder":true,"num":1}]', bytes(1)],
        ],
        [
          "placeholder number not an integer",
          ['451-["message",{"_placeholder":true,"num":"0"}]', bytes(1)],
        ],
      ];
      for (const reserved of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
        cases.push([`reserved event name "${reserved}"`, `42["${reserved}"]`]);
        cases.push([`reserved event name "${reserved}" with an ack id`, `421["${reserved}",1]`]);
      }
      for (const [name, frames] of cases) {
        it(`${name}: ${JSON.stringify(Buffer.isBuffer(frames) ? "<binary>" : frames)}`, async () => {
          const { ws } = await sioSession(["/"]);
          for (const f of Array.isArray(frames) ? frames : [frames]) ws.send(f);
          const { before } = await expectClosed(ws);
          for (const m of before) {
            assert.ok(!m.startsWith("42[\"message-back\""), `the packet was processed: ${m}`);
          }
        });
      }

      for (const [name, frame] of [
        ["EVENT before any CONNECT", '42["message","x"]'],
        ["ACK before any CONNECT", '43["x"]'],
        ["DISCONNECT before any CONNECT", "41"],
        ["CONNECT with a string payload", '40"str"'],
        ["CONNECT with an array payload", "40[]"],
        ["CONNECT with a boolean payload", "40true"],
        ["CONNECT with a null payload", "40null"],
      ]) {
        it(`${name}: ${JSON.stringify(frame)}`, async () => {
          const { ws } = await engineSession();
          ws.send(frame);
          const t0 = Date.now();
          await expectClosed(ws);
          assert.ok(Date.now() - t0 < 500, "closed by the connect timeout, not by the packet");
        });
      }
    });

    describe(`[${target}] unusual but valid packets keep the connection`, { timeout: TEST_TIMEOUT }, () => {
      it("an EVENT with a numeric event name is accepted (no handler)", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send("42[1]");
        ws.send('42[2,"x"]');
        await expectAlive(ws);
      });

      it("ACKs with unknown ids, with or without payload, are ignored", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('43999["x"]');
        ws.send("43998");
        ws.send("43[]");
        await expectAlive(ws);
      });

      it("a BINARY_EVENT whose attachment no placeholder refers to", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('451-["message",1]');
        ws.send(bytes(1));
        assert.equal(await next(ws), '42["message-back",1]');
        await expectAlive(ws);
      });

      it("an unhandled event, with and without an ack id, gets no reply", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send('42["nobody-listens",1]');
        ws.send('4233["nobody-listens",2]');
        await expectAlive(ws);
        assert.ok(!ws.queue.some((m) => m === "433[]" || (typeof m === "string" && m.startsWith("4333"))));
      });

      it("[reference detail] an EVENT without payload is ignored", async () => {
        const { ws } = await sioSession(["/"]);
        ws.send("42");
        await expectAlive(ws);
      });

      it("CONNECT packets without the comma after the namespace (40/random, 40/custom)", async () => {
        const { ws } = await engineSession();
        ws.send("40/random");
        assert.equal(await next(ws), '44/random,{"message":"Invalid namespace"}');
        ws.send("40/custom");
        assert.match(await next(ws), CONNECT_RE("/custom"));
        assert.equal(await next(ws), '42/custom,["auth",{}]');
        await expectAlive(ws, "/custom");
      });
    });

    // ==================================================================== polling

    describe(`[${target}] over HTTP long-polling`, { timeout: TEST_TIMEOUT }, () => {
      /** A polling session connected to "/": resolves {sid, socketId}. */
      async function pollingSession() {
        const { sid } = await http.handshake();
        assert.equal((await http.post(sid, "40")).body, "ok");
        const [reply, auth] = await http.collect(sid, 2);
        const m = CONNECT_RE().exec(reply);
        assert.ok(m, `CONNECT reply ${JSON.stringify(reply)}`);
        assert.notEqual(m[1], sid);
        assert.equal(auth, '42["auth",{}]');
        return { sid, socketId: m[1] };
      }

      it("CONNECT to / and /custom in one POST", async () => {
        const { sid } = await http.handshake();
        assert.equal((await http.post(sid, `40${SEP}40/custom,{"token":"t"}`)).body, "ok");
        const packets = await http.collect(sid, 4);
        assert.match(packets[0], CONNECT_RE());
        assert.equal(packets[1], '42["auth",{}]');
        assert.match(packets[2], CONNECT_RE("/custom"));
        assert.equal(packets[3], '42/custom,["auth",{"token":"t"}]');
      });

      it("several events in one POST are answered in order", async () => {
        const { sid } = await pollingSession();
        const events = Array.from({ length: 5 }, (_, i) => `42["message",${i}]`);
        assert.equal((await http.post(sid, events.join(SEP))).body, "ok");
        const packets = await http.collect(sid, 5);
        assert.deepEqual(
          packets,
          events.map((_, i) => `42["message-back",${i}]`),
        );
      });

      it("binary attachments travel as base64 'b' packets", async () => {
        const { sid } = await pollingSession();
        assert.equal(
          (await http.post(sid, `451-["message",{"_placeholder":true,"num":0}]${SEP}bAQID`)).body,
          "ok",
        );
        assert.deepEqual(await http.collect(sid, 2), ['451-["message-back",{"_placeholder":true,"num":0}]', "bAQID"]);
        assert.equal((await http.post(sid, '421["binary"]')).body, "ok");
        assert.deepEqual(await http.collect(sid, 3), [
          '462-1[{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]',
          "bAQID",
          "bBAU=",
        ]);
      });

      it("an invalid packet closes the session", async () => {
        const { sid } = await pollingSession();
        assert.equal((await http.post(sid, "42{}")).status, 200);
        // The session ends: a close packet in a GET, or the sid is unknown.
        for (let i = 0; i < 5; i++) {
          const res = await http.poll(sid);
          if (res.status === 400) return;
          assert.equal(res.status, 200);
          if (res.body.split(SEP).includes("1")) {
            assert.equal((await http.poll(sid)).status, 400);
            return;
          }
        }
        assert.fail("session still open");
      });

      it("a POST above maxPayload gets 413 and the session stays usable", async () => {
        const { sid } = await pollingSession();
        const big = await http.post(sid, `42["message","${"x".repeat(MAX_PAYLOAD)}"]`);
        assert.equal(big.status, 413);
        assert.equal((await http.post(sid, '42["message","small"]')).body, "ok");
        assert.deepEqual(await http.collect(sid, 1), ['42["message-back","small"]']);
      });

      it("a POST just under maxPayload is accepted", async () => {
        const { sid } = await pollingSession();
        const text = "y".repeat(MAX_PAYLOAD - 16);
        assert.equal((await http.post(sid, `42["message","${text}"]`, { timeoutMs: 10_000 })).body, "ok");
        const [echo] = await http.collect(sid, 1, { timeoutMs: 10_000 });
        assert.equal(echo, `42["message-back","${text}"]`);
      });

      it("disconnect-me(true): the DISCONNECT packets arrive before (not with) the close packet", async () => {
        const { sid } = await http.handshake();
        assert.equal((await http.post(sid, `40${SEP}40/custom,`)).body, "ok");
        await http.collect(sid, 4);
        assert.equal((await http.post(sid, '42/custom,["disconnect-me",true]')).body, "ok");
        // The reference flushes the DISCONNECT packets, then closes on a later
        // GET; a client decoding `41...\x1e1` in one payload sees the transport
        // close before the DISCONNECT packets (socket.io-client: "transport close").
        const payloads = [];
        for (let i = 0; i < 5; i++) {
          const res = await http.poll(sid);
          payloads.push(`${res.status} ${res.body}`);
          if (res.status !== 200) break;
          const packets = res.body.split(SEP);
          if (packets.includes("1")) break;
        }
        const all = payloads.join(" | ");
        const disconnects = payloads
          .flatMap((p) => p.replace(/^\d+ /, "").split(SEP))
          .filter((p) => p.startsWith("41"));
        assert.deepEqual(disconnects.sort(), ["41", "41/custom,"], all);
        const withClose = payloads.find((p) => p.startsWith("200 ") && p.slice(4).split(SEP).includes("1"));
        assert.ok(withClose, `no close packet: ${all}`);
        assert.ok(
          !withClose
            .slice(4)
            .split(SEP)
            .some((p) => p.startsWith("41")),
          `DISCONNECT and close packets in one payload: ${all}`,
        );
      });
    });

    // ==================================================================== --recovery

    describe(`[${target}] connection state recovery (--recovery)`, { timeout: TEST_TIMEOUT }, () => {
      let rserver;
      let unsupported = null;

      before(async () => {
        try {
          rserver = target === "node" ? await startNodeServer(["--recovery"]) : await startServer(["--recovery"]);
        } catch (err) {
          // A server that says it does not support --recovery yet: reported as TODO.
          if (/not supported/.test(err.message)) unsupported = err.message.split("\n").find((l) => /not supported/.test(l));
          else throw err;
        }
      });

      after(async () => {
        if (rserver) await rserver.stop();
      });

      /** A websocket session on the recovery server, pings answered. */
      async function rsession() {
        const ws = new Ws(`${rserver.wsUrl}/socket.io/?EIO=4&transport=websocket`);
        sockets.push(ws);
        ws.ws.on("message", (data, isBinary) => {
          if (!isBinary && data.toString() === "2") ws.send("3");
        });
        await ws.handshake();
        return ws;
      }

      const CONNECT_PID_RE = new RegExp(`^40\\{"sid":"(${ID})","pid":"(${ID})"\\}$`);
      const withOffset = (prefix) => new RegExp(`^${prefix.replace(/[[\]{}()*+?.\\^$|]/g, "\\$&")},"([^"]+)"\\]$`);

      it("CONNECT replies carry sid and pid; stored events get an offset, acks do not", async (t) => {
        if (unsupported) return t.todo(`the server does not support --recovery yet (${unsupported})`);
        const ws = await rsession();
        ws.send("40");
        const reply = await next(ws);
        assert.match(reply, CONNECT_PID_RE);
        assert.match(await next(ws), withOffset('42["auth",{}'));
        ws.send('42["message","a"]');
        assert.match(await next(ws), withOffset('42["message-back","a"'));
        ws.send('421["message-with-ack","a"]');
        assert.equal(await next(ws), '431["a"]');
      });

      it("a CONNECT with {pid, offset} restores the socket: missed packets first, then the same sid and pid", async (t) => {
        if (unsupported) return t.todo(`the server does not support --recovery yet (${unsupported})`);
        const nsp = freshNamespace();
        const first = await rsession();
        first.send(`40${nsp},`);
        const m = new RegExp(`^40${nsp},\\{"sid":"(${ID})","pid":"(${ID})"\\}$`).exec(await next(first));
        assert.ok(m, "CONNECT reply with pid");
        const [, sid, pid] = m;
        await next(first); // auth
        first.send(`42${nsp},["message","a"]`);
        const back = withOffset(`42${nsp},["message-back","a"`).exec(await next(first));
        assert.ok(back);
        const offset = back[1];
        const room = `r${Math.random().toString(36).slice(2)}`;
        first.send(`42${nsp},1["join","${room}"]`);
        assert.equal(await next(first), `43${nsp},1${JSON.stringify([[room, sid].sort()])}`);
        first.terminate();
        await sleep(100);
        // While it is away, another client sends to its room.
        const other = await rsession();
        other.send(`40${nsp},`);
        await next(other);
        await next(other);
        other.send(`42${nsp},["to-room","${room}","missed",1]`);
        other.send(`42${nsp},1["message-with-ack"]`);
        assert.equal(await next(other), `43${nsp},1[]`);
        // Back with the pid and the last offset seen.
        const again = await rsession();
        again.send(`40${nsp},${JSON.stringify({ pid, offset })}`);
        assert.match(await next(again), withOffset(`42${nsp},["room-message","missed",1`));
        assert.equal(await next(again), `40${nsp},{"sid":"${sid}","pid":"${pid}"}`);
        assert.match(await next(again), withOffset(`42${nsp},["auth",${JSON.stringify({ pid, offset })}`));
        again.send(`42${nsp},2["sockets-in","${room}"]`);
        assert.equal(await next(again), `43${nsp},2${JSON.stringify([[sid]])}`);
      });

      it("an unknown pid or offset gives a fresh socket", async (t) => {
        if (unsupported) return t.todo(`the server does not support --recovery yet (${unsupported})`);
        const ws = await rsession();
        ws.send('40{"pid":"AAAAAAAAAAAAAAAAAAAA","offset":"nope"}');
        const m = CONNECT_PID_RE.exec(await next(ws));
        assert.ok(m);
        assert.notEqual(m[2], "AAAAAAAAAAAAAAAAAAAA");
        assert.match(await next(ws), withOffset('42["auth",{"pid":"AAAAAAAAAAAAAAAAAAAA","offset":"nope"}'));
      });
    });
  });
}
