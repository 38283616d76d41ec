// The official socket.io-client's lifecycle events, one line each on stdout,
// for comparing sio-client's order with the reference's
// (crates/sio-client/tests/lifecycle.rs).
//
//   node client-lifecycle.mjs URL '{"transports":["websocket"],...}'
//
// Lines: connect, connect_error, disconnect:<reason>, reconnect_attempt:<n>,
// reconnect_error, reconnect:<n>, reconnect_failed, and transport:<name>
// after connect. Exits when stdin closes.
import { io } from "socket.io-client";

const [url, json] = process.argv.slice(2);
const socket = io(url, JSON.parse(json ?? "{}"));
const say = (line) => process.stdout.write(line + "\n");

socket.on("connect", () => {
  say("connect");
  say("transport:" + socket.io.engine.transport.name);
});
socket.on("connect_error", () => say("connect_error"));
socket.on("disconnect", (reason) => say("disconnect:" + reason));
socket.io.on("reconnect_attempt", (n) => say("reconnect_attempt:" + n));
socket.io.on("reconnect_error", () => say("reconnect_error"));
socket.io.on("reconnect", (n) => say("reconnect:" + n));
socket.io.on("reconnect_failed", () => say("reconnect_failed"));

process.stdin.resume();
process.stdin.on("end", () => {
  socket.close();
  process.exit(0);
});
