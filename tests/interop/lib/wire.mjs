// Low-level Engine.IO v4 wire helpers for the protocol tests: plain HTTP
// requests (fetch) and a WebSocket (the `ws` package) whose incoming
// messages are queued, so a test can read them one by one in order.

import assert from "node:assert/strict";
import WebSocket from "ws";

export const SEP = "\x1e";

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with `message` if `promise` does not settle within `ms`. */
export function within(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message} (no result after ${ms} ms)`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The arguments of the next `event` on `emitter` (an EventEmitter or a
 * socket.io client socket), within `ms`.
 */
export function nextArgs(emitter, event, ms) {
  let listener;
  const p = new Promise((resolve) => {
    listener = (...args) => resolve(args);
    emitter.once(event, listener);
  });
  return within(p, ms, `event "${event}"`).finally(() => emitter.off(event, listener));
}

/**
 * HTTP access to one server's Engine.IO path.
 */
export class Http {
  /** @param {string} baseUrl e.g. "http://127.0.0.1:1234" */
  constructor(baseUrl, path = "/engine.io/") {
    this.baseUrl = baseUrl;
    this.path = path;
  }

  url(query) {
    return `${this.baseUrl}${this.path}${query === undefined ? "" : `?${query}`}`;
  }

  /**
   * One request. Resolves {status, body (text), headers (Headers)}; rejects
   * on network errors (fetch's TypeError).
   */
  async request(method, query, { body, headers, timeoutMs = 5_000 } = {}) {
    const res = await fetch(this.url(query), {
      method,
      body,
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, body: text, headers: res.headers };
  }

  /** A new polling session: resolves {sid, body, res}. */
  async handshake(extraQuery = "") {
    const res = await this.request("GET", `EIO=4&transport=polling${extraQuery}`);
    assert.equal(res.status, 200, `handshake status (body ${JSON.stringify(res.body)})`);
    assert.ok(res.body.startsWith("0"), `handshake body ${JSON.stringify(res.body)}`);
    const data = JSON.parse(res.body.slice(1));
    return { sid: data.sid, data, body: res.body, res };
  }

  /** GET (long poll) on a session. */
  poll(sid, extraQuery = "", opts = {}) {
    return this.request("GET", `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}${extraQuery}`, opts);
  }

  /** POST a payload on a session. */
  post(sid, payload, opts = {}) {
    return this.request("POST", `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, {
      ...opts,
      body: payload,
    });
  }

  /**
   * Polls until `count` non-ping packets arrived, answering each ping with a
   * pong, so heartbeats cannot disturb a test about something else.
   * Resolves the packets (strings, in order).
   */
  async collect(sid, count, { timeoutMs = 5_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    const packets = [];
    while (packets.length < count) {
      const left = deadline - Date.now();
      assert.ok(left > 0, `only ${packets.length} of ${count} packets after ${timeoutMs} ms: ${JSON.stringify(packets)}`);
      const res = await this.poll(sid, "", { timeoutMs: left });
      assert.equal(res.status, 200, `GET while collecting (body ${JSON.stringify(res.body)})`);
      let pinged = false;
      for (const p of res.body.split(SEP)) {
        if (p === "2") pinged = true;
        else packets.push(p);
      }
      if (pinged) {
        const pong = await this.post(sid, "3");
        assert.equal(pong.status, 200, "pong POST");
      }
    }
    return packets;
  }
}

/**
 * A WebSocket whose messages are queued. Text messages are strings, binary
 * ones Buffers.
 */
export class Ws {
  constructor(url, options = {}) {
    this.url = url;
    this.queue = [];
    this.waiters = [];
    this.errors = [];
    this.httpResponse = null;
    this.closeInfo = null;
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    this.ws.on("message", (data, isBinary) => {
      this.queue.push(isBinary ? Buffer.from(data) : data.toString("utf8"));
      this.wake();
    });
    this.ws.on("error", (err) => {
      this.errors.push(err);
    });
    // A non-101 answer to the handshake: keep its status and body.
    this.ws.on("unexpected-response", (req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      const done = () => {
        this.httpResponse = { status: res.statusCode, headers: res.headers, body };
        this.ws.terminate();
      };
      res.on("end", done);
      res.on("error", done);
      res.on("close", done);
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("close", () => reject(new Error(`websocket closed before opening (${url})`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * The next message (string or Buffer). `skipPings`: drop "2" messages.
   * Rejects on timeout, or when the socket closed with nothing queued.
   */
  async next({ timeoutMs = 2_000, skipPings = false } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const m = this.queue.shift();
        if (skipPings && m === "2") continue;
        return m;
      }
      if (this.closeInfo) {
        throw new Error(`websocket closed (code ${this.closeInfo.code}) while waiting for a message`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no websocket message within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The open packet: resolves its parsed JSON (and checks it is first). */
  async handshake() {
    const m = await this.next();
    assert.equal(typeof m, "string", "open packet must be a text frame");
    assert.ok(m.startsWith("0"), `first message ${JSON.stringify(m)}`);
    return { data: JSON.parse(m.slice(1)), raw: m };
  }

  send(data) {
    this.ws.send(data);
  }

  /** Waits for the close (rejects after `timeoutMs`). */
  waitClose(timeoutMs = 3_000) {
    return within(this.closed, timeoutMs, `websocket ${this.url} not closed`);
  }

  terminate() {
    try {
      this.ws.terminate();
    } catch {
      // already gone
    }
  }
}
