// The reference for serving the browser client: the official Node.js
// socket.io server with its default `serveClient: true`, on 127.0.0.1 and a
// free port. Prints `listening PORT` once ready; exits when stdin closes
// (so the Rust test that spawned it never leaves it behind).
//
//   node tests/interop/lib/serve-client-reference.mjs [--cors]

import { createServer } from "node:http";
import { Server } from "socket.io";

const cors = process.argv.includes("--cors") ? { origin: "*" } : undefined;
const httpServer = createServer();
new Server(httpServer, { cors });
httpServer.listen(0, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
