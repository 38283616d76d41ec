// Fixtures for sio-client's option tests (crates/sio-client/tests/options.rs),
// on the official packages. Prints `listening on 127.0.0.1:PORT`.
//
//   node handshake-server.mjs PORT handshake
//     npm socket.io at path /custom-path/: on connection, emits `handshake`
//     with what it saw: {query, token (the x-token header), auth, transport}.
//   node handshake-server.mjs PORT early
//     npm engine.io (the bare Engine.IO server): answers a CONNECT to `/`
//     with an EVENT `early` first and the CONNECT reply after it, to check
//     that a client delivers events that arrive before `connect` only
//     after `connect`. Then an EVENT `late`.
//   node handshake-server.mjs PORT early-client TRANSPORT
//     not a server: the official socket.io-client against the `early`
//     fixture on PORT; prints what it saw (connect and every event, in
//     order) as one JSON line, then exits.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { attach } from "engine.io";
import { io as connect } from "socket.io-client";

const [port, mode] = process.argv.slice(2);
const http = createServer();

if (mode === "handshake") {
  const io = new Server(http, { path: "/custom-path/" });
  io.on("connection", (socket) => {
    const { query, headers, auth } = socket.handshake;
    const { EIO, transport, t, ...rest } = query;
    socket.emit("handshake", {
      query: rest,
      token: headers["x-token"] ?? null,
      auth,
      transport: socket.conn.transport.name,
    });
  });
} else if (mode === "early") {
  const engine = attach(http, { path: "/socket.io/" });
  engine.on("connection", (conn) => {
    conn.on("message", (data) => {
      if (typeof data === "string" && data.startsWith("0")) {
        conn.send('2["early",1]');
        conn.send('0{"sid":"early-sid-0000000000"}');
        conn.send('2["late",2]');
      }
    });
  });
} else if (mode === "early-client") {
  const socket = connect(`http://127.0.0.1:${port}/`, { transports: [process.argv[4]] });
  const log = [];
  socket.on("connect", () => log.push(`connect:${socket.id}`));
  socket.onAny((event, arg) => {
    log.push(`${event}:${arg}`);
    if (log.length === 3) {
      console.log(JSON.stringify(log));
      socket.close();
      process.exit(0);
    }
  });
  setTimeout(() => process.exit(1), 10_000);
} else {
  console.error("mode: handshake | early");
  process.exit(2);
}

if (mode !== "early-client") http.listen(Number(port), "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${port}`);
});
