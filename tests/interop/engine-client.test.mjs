// The official npm engine.io-client (its `Socket`) against the Rust
// conformance server (`conformance --engine-io`: echo at /engine.io/,
// pingInterval 300, pingTimeout 200, maxPayload 1e6).
//
// Every scenario runs in three transport modes:
//   websocket        transports ["websocket"]
//   polling          transports ["polling"]
//   polling+upgrade  transports ["polling", "websocket"] (upgrade to websocket)

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { Socket } from "engine.io-client";

import { startServer } from "./lib/server.mjs";
import { Http, sleep, within } from "./lib/wire.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1_000_000;
const TEST_TIMEOUT = 20_000;

const MODES = [
  { name: "websocket", transports: ["websocket"], first: "websocket", final: "websocket", upgrades: [] },
  { name: "polling", transports: ["polling"], first: "polling", final: "polling", upgrades: ["websocket"] },
  {
    name: "polling+upgrade",
    transports: ["polling", "websocket"],
    first: "polling",
    final: "websocket",
    upgrades: ["websocket"],
    upgrade: true,
  },
];

/**
 * An engine.io-client Socket with everything it emits recorded, and its
 * messages queued for reading in order.
 */
class Client {
  constructor(url, mode, opts = {}) {
    this.mode = mode;
    this.queue = [];
    this.waiters = [];
    this.closes = [];
    this.errors = [];
    this.upgradeErrors = [];
    this.pings = 0;
    this.handshakeData = null;
    this.upgradedTo = null;
    this.socket = new Socket(url, { path: "/engine.io/", transports: mode.transports, ...opts });
    const s = this.socket;
    s.on("handshake", (data) => (this.handshakeData = data));
    s.on("message", (data) => {
      this.queue.push(data);
      this.wake();
    });
    s.on("ping", () => this.pings++);
    s.on("error", (err) => this.errors.push(err));
    s.on("upgradeError", (err) => this.upgradeErrors.push(err));
    this.opened = new Promise((resolve, reject) => {
      s.once("open", resolve);
      s.once("close", (reason) => reject(new Error(`closed before opening: ${reason}`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      s.on("close", (reason, description) => {
        this.closes.push({ reason, description });
        resolve({ reason, description });
        this.wake();
      });
    });
    this.upgraded = new Promise((resolve, reject) => {
      s.once("upgrade", (transport) => {
        this.upgradedTo = transport.name;
        resolve(transport.name);
      });
      s.once("upgradeError", (err) => reject(new Error(`upgrade failed: ${err.message}`)));
    });
    this.upgraded.catch(() => {});
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits for the open and, in the upgrade mode, for the upgrade. */
  async ready({ waitUpgrade = true } = {}) {
    await within(this.opened, 5_000, `${this.mode.name}: open`);
    if (this.mode.upgrade && waitUpgrade) await within(this.upgraded, 5_000, `${this.mode.name}: upgrade`);
    return this;
  }

  /** The next message (string or Buffer). */
  async next(timeoutMs = 5_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.queue.length > 0) return this.queue.shift();
      if (this.closes.length > 0) {
        throw new Error(`connection closed (${this.closes[0].reason}) while waiting for a message`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(data) {
    this.socket.send(data);
  }

  /** Sends `data` and resolves the echo. */
  async echo(data, timeoutMs) {
    this.send(data);
    return this.next(timeoutMs);
  }

  get transportName() {
    return this.socket.transport && this.socket.transport.name;
  }

  waitClose(timeoutMs = 5_000) {
    return within(this.closed, timeoutMs, `${this.mode.name}: close`);
  }

  dispose() {
    if (this.closes.length === 0) {
      try {
        this.socket.close();
      } catch {
        // already closing
      }
    }
  }
}

function asBytes(data) {
  assert.ok(Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data), `not binary: ${typeof data}`);
  return Buffer.isBuffer(data) ? data : Buffer.from(data instanceof ArrayBuffer ? data : data.buffer);
}

/** A close description, for diagnostics. */
function describe_(d) {
  if (!d) return "";
  const parts = [d.message, d.description && (d.description.message || d.description)].filter(Boolean);
  return parts.length ? ` (${parts.join(": ")})` : "";
}

let server;

before(async () => {
  server = await startServer(["--engine-io"]);
});

after(async () => {
  if (server) await server.stop();
});

for (const mode of MODES) {
  describe(`engine.io-client, ${mode.name}`, { timeout: TEST_TIMEOUT }, () => {
    /** A connected client, closed after `fn` however it ends. */
    async function withClient(fn, { waitUpgrade = true, url = server.url, opts } = {}) {
      const c = new Client(url, mode, opts);
      try {
        await c.ready({ waitUpgrade });
        return await fn(c);
      } finally {
        c.dispose();
      }
    }

    it("opens, with the expected handshake data", async () => {
      await withClient(
        async (c) => {
          const hs = c.handshakeData;
          assert.ok(hs, "handshake event");
          assert.match(hs.sid, /^[A-Za-z0-9_-]{20}$/);
          assert.equal(c.socket.id, hs.sid);
          assert.deepEqual(hs.upgrades, mode.upgrades);
          assert.equal(hs.pingInterval, PING_INTERVAL);
          assert.equal(hs.pingTimeout, PING_TIMEOUT);
          assert.equal(hs.maxPayload, MAX_PAYLOAD);
          if (mode.upgrade) {
            // The upgrade event fires and the transport becomes websocket.
            assert.equal(await within(c.upgraded, 5_000, "upgrade"), "websocket");
            assert.equal(c.transportName, "websocket");
          } else {
            assert.equal(c.transportName, mode.first);
            await sleep(400);
            assert.equal(c.upgradedTo, null, "no upgrade expected");
            assert.equal(c.transportName, mode.first);
          }
          assert.deepEqual(c.upgradeErrors, []);
          assert.deepEqual(c.errors, []);
        },
        { waitUpgrade: false },
      );
    });

    it("echoes text", async () => {
      await withClient(async (c) => {
        assert.equal(c.transportName, mode.final);
        assert.equal(await c.echo("hello"), "hello");
        // An empty string travels as a bare "4"; engine.io-parser decodes a
        // packet without data as `undefined` (the official client's own
        // behaviour, whatever the server).
        assert.equal(await c.echo(""), undefined);
        assert.equal(await c.echo('{"json": [1, 2, "3"]}'), '{"json": [1, 2, "3"]}');
      });
    });

    it("echoes binary (Uint8Array, Buffer, empty, 200 KiB)", async () => {
      await withClient(async (c) => {
        const small = Uint8Array.from([0, 1, 2, 3, 254, 255]);
        assert.deepEqual([...asBytes(await c.echo(small))], [...small]);
        const buf = Buffer.from("binary \x00 data", "latin1");
        assert.ok(asBytes(await c.echo(buf)).equals(buf));
        const empty = asBytes(await c.echo(new Uint8Array(0)));
        assert.equal(empty.length, 0);
        const big = randomBytes(200 * 1024);
        const back = asBytes(await c.echo(big, 10_000));
        assert.equal(back.length, big.length);
        assert.ok(back.equals(big), "200 KiB binary echo differs");
        // Binary stays binary, text stays text.
        assert.equal(typeof (await c.echo("after binary")), "string");
      });
    });

    it("200 messages (mixed text and binary) come back in order", async () => {
      // In the upgrade mode the messages go out right after the open, so
      // they straddle the upgrade.
      await withClient(
        async (c) => {
          const sent = [];
          for (let i = 0; i < 200; i++) {
            const m = i % 4 === 3 ? Buffer.from([i & 0xff, (i * 7) & 0xff, i >> 8]) : `message #${i}`;
            sent.push(m);
            c.send(m);
          }
          for (let i = 0; i < 200; i++) {
            const got = await c.next();
            if (Buffer.isBuffer(sent[i])) {
              assert.ok(asBytes(got).equals(sent[i]), `message ${i}: binary differs`);
            } else {
              assert.equal(got, sent[i], `message ${i}`);
            }
          }
          if (mode.upgrade) {
            assert.equal(await within(c.upgraded, 5_000, "upgrade"), "websocket");
          }
          assert.deepEqual(c.errors, []);
        },
        { waitUpgrade: false },
      );
    });

    it("echoes unicode text", async () => {
      await withClient(async (c) => {
        const samples = [
          "héllo wörld",
          "中文 日本語 한국어",
          "emoji 😀🎉 and a flag 🇫🇷",
          "line separators \u2028 and \u2029",
          "nul \u0000 and tab \t and newline \n",
          "\ufeffBOM first",
          "a".repeat(10_000) + "😀",
        ];
        // "\x1e" is the polling payload separator: engine.io-client does not
        // escape it, so a text message containing it cannot travel over
        // polling (the server would see two packets). WebSocket only.
        if (mode.final === "websocket") samples.push("record \u001e separator");
        for (const s of samples) {
          assert.equal(await c.echo(s), s, `echo of ${JSON.stringify(s.slice(0, 40))}`);
        }
      });
    });

    it("stays open for 1.5 s (heartbeat handled by the client) and still echoes", async () => {
      await withClient(async (c) => {
        const pingsBefore = c.pings;
        await sleep(1_500);
        assert.deepEqual(c.closes, [], "closed during the idle period");
        assert.ok(c.pings - pingsBefore >= 3, `only ${c.pings - pingsBefore} pings in 1.5 s`);
        assert.equal(await c.echo("still alive"), "still alive");
        assert.equal(c.transportName, mode.final);
      });
    });

    it("messages that together exceed maxPayload but each fit all come back", async () => {
      await withClient(async (c) => {
        // On polling the client splits them into several POSTs.
        const a = "a".repeat(600_000);
        const b = "b".repeat(600_000);
        c.send(a);
        c.send(b);
        assert.equal(await c.next(10_000), a);
        assert.equal(await c.next(10_000), b);
        assert.deepEqual(c.errors, []);
      });
    });

    it("close() on the client: 'close' with reason 'forced close', the server forgets the session", async () => {
      const c = new Client(server.url, mode);
      await c.ready();
      const sid = c.socket.id;
      assert.equal(await c.echo("before close"), "before close");
      c.socket.close();
      const { reason } = await c.waitClose();
      assert.equal(reason, "forced close");
      assert.equal(c.closes.length, 1);
      // The session is gone on the server (polling: the client POSTs `1`;
      // websocket: close frame).
      // (Wait first: a GET of ours overlapping the client's own pending GET
      // would close the session itself.)
      await sleep(150);
      const res = await new Http(server.url).poll(sid);
      assert.equal(res.status, 400);
      assert.equal(res.body, '{"code":1,"message":"Session ID unknown"}');
    });

    for (const signal of ["SIGTERM", "SIGKILL"]) {
      it(`server death (${signal}) mid-session: the client gets 'close'`, async (t) => {
        const own = await startServer(["--engine-io"]);
        const c = new Client(own.url, mode);
        try {
          await c.ready();
          assert.equal(await c.echo("alive"), "alive");
          // Let the client settle (on polling: its next GET is pending).
          await sleep(100);
          await own.stop(signal);
          const { reason, description } = await c.waitClose(3_000);
          t.diagnostic(`close reason: ${reason}${describe_(description)}`);
          if (signal === "SIGTERM") {
            // The server closes every session on SIGTERM: the pending GET
            // gets "1" / the websocket gets a close frame.
            assert.equal(reason, "transport close");
          } else {
            assert.ok(["transport close", "transport error"].includes(reason), `close reason ${reason}`);
          }
          assert.equal(c.closes.length, 1);
        } finally {
          c.dispose();
          await own.stop();
        }
      });
    }

    it("a message larger than maxPayload closes the connection", async (t) => {
      await withClient(async (c) => {
        const sid = c.socket.id;
        const huge = "x".repeat(MAX_PAYLOAD + 1);
        c.send(huge);
        const { reason, description } = await c.waitClose(5_000);
        t.diagnostic(
          `close reason: ${reason}${describe_(description)}; 'error' events: ${
            c.errors.map((e) => describe_(e)).join(", ") || "none"
          }`,
        );
        assert.ok(!c.queue.some((m) => typeof m === "string" && m.length > MAX_PAYLOAD), "oversize message echoed");
        if (mode.final === "websocket") {
          // The server closes the websocket (over its maxPayload).
          assert.ok(["transport close", "transport error"].includes(reason), `close reason ${reason}`);
        } else {
          // Polling: the POST is answered 413; engine.io-client treats any
          // non-200 POST as a transport error ("xhr post error", status as
          // description), emits 'error' and closes with "transport error".
          assert.equal(reason, "transport error");
          assert.equal(c.errors.length, 1);
          assert.equal(c.errors[0].message, "xhr post error");
          assert.equal(c.errors[0].description, 413);
          // The 413 itself leaves the session open on the server, but the
          // client closes its transport (POST "1") while closing: the
          // session is gone afterwards.
          // (Wait first: a GET of ours overlapping the client's own pending
          // GET would close the session itself.)
          await sleep(150);
          const res = await new Http(server.url).poll(sid);
          assert.equal(res.status, 400);
          assert.equal(res.body, '{"code":1,"message":"Session ID unknown"}');
        }
      });
    });
  });
}
