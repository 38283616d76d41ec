// The official socket.io server over HTTPS, for the client's TLS tests.
//
//   node tests/interop/lib/tls-server.mjs --port P --key key.pem --cert cert.pem
//
// Handlers: `message-with-ack` acks its arguments; on connection the server
// emits `secure` with handshake.secure. Prints "listening on 127.0.0.1:P".

import { readFileSync } from "node:fs";
import https from "node:https";
import { Server } from "socket.io";

const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const server = https.createServer({ key: readFileSync(arg("--key")), cert: readFileSync(arg("--cert")) });
const io = new Server(server, { pingInterval: 300, pingTimeout: 200 });
io.on("connection", (socket) => {
  socket.emit("secure", socket.handshake.secure);
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
});
server.listen(Number(arg("--port")), "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
const stop = () => io.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
