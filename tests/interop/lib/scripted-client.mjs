// The official socket.io-client driven line by line, for the Rust tests that
// check sio's server API from the reference client's side (tests/server_api.rs).
//
//   node scripted-client.mjs URL '{"auth":{...},"transports":["websocket"]}'
//
// stdout, one JSON array a line:
//   ["connect", id]  ["connect_error", message, data]  ["disconnect", reason]
//   ["event", name, ...args] for every event received (onAny)
//   ["ack", n, ...args] / ["ack-error", n, message] answering command n
// stdin, one JSON array a line (n numbers the command):
//   ["emit", n, event, ...args]             plain emit
//   ["emitWithAck", n, timeoutMs, event, ...args]   emit with an ack and a timeout
// Exits when stdin closes.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, json] = process.argv.slice(2);
const socket = io(url, { reconnection: false, ...JSON.parse(json ?? "{}") });
const say = (...line) => process.stdout.write(JSON.stringify(line) + "\n");

socket.on("connect", () => say("connect", socket.id));
socket.on("connect_error", (err) => say("connect_error", err.message, err.data ?? null));
socket.on("disconnect", (reason) => say("disconnect", reason));
socket.onAny((name, ...args) => say("event", name, ...args));

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const [cmd, n, ...rest] = JSON.parse(line);
  if (cmd === "emit") {
    socket.emit(...rest);
  } else if (cmd === "emitWithAck") {
    const [timeout, ...args] = rest;
    try {
      say("ack", n, await socket.timeout(timeout).emitWithAck(...args));
    } catch (err) {
      say("ack-error", n, err.message);
    }
  }
});
lines.on("close", () => {
  socket.close();
  process.exit(0);
});
