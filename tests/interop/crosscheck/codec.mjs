#!/usr/bin/env node
// Cross-check of the Rust codecs against the official npm packages.
//
//   node tests/interop/crosscheck/codec.mjs gen
//       Prints the built-in corpus as JSON lines. Valid cases carry the
//       frames the npm ENCODER produced from the description; invalid cases
//       carry frames the npm DECODER rejects, with its error message.
//
//   node tests/interop/crosscheck/codec.mjs check < lines
//       Reads {"name","codec","frames","packet"} lines whose frames were
//       produced by the Rust encoder. Each one is decoded with the npm
//       decoder (compared with "packet") and "packet" is encoded with the
//       npm encoder (compared byte-exact with "frames"). Lines without
//       "packet" (invalid cases) are skipped. Ends with
//       "crosscheck: N passed, M failed"; exits 1 if M > 0 or nothing ran.
//
// Exchange format (one JSON object per line):
//   Frame        {"text": "..."} | {"binary": "<standard base64, padded>"}
//   binary value {"$binary": "<base64>"} inside any description
//   socketio-json / socketio-msgpack
//                {"type": 0..4, "nsp": "/..", "id"?: int, "data"?: value}
//                (type is logical: binary EVENT/ACK are described as 2/3)
//   engine-ws    {"type": "open"|"close"|"ping"|"pong"|"message"|"upgrade"|"noop",
//                 "data"?: string | {"$binary": ..}}   -> exactly one frame
//   engine-polling
//                {"packets": [engine packet...]}      -> exactly one text frame
//
// Engine.IO text data "" and absent data are the same thing on the wire
// ("4"), so the comparison of decoded engine packets treats them as equal.

import process from "node:process";
import { Buffer } from "node:buffer";

let SioJson, SioMsgpack, Eio;
try {
  SioJson = await import("socket.io-parser");
  SioMsgpack = (await import("socket.io-msgpack-parser")).default;
  Eio = await import("engine.io-parser");
} catch (err) {
  process.stderr.write(
    `codec.mjs: cannot load the npm packages (${err.message}).\n` +
      "Run scripts/setup (npm ci in tests/interop) first.\n",
  );
  process.exit(2);
}

const CODECS = ["socketio-json", "socketio-msgpack", "engine-ws", "engine-polling"];
const ENGINE_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];
const SIO_TYPES = { CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4 };

// ---------------------------------------------------------------------------
// Conversions between descriptions (JSON with $binary markers) and JS values
// ---------------------------------------------------------------------------

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !isBinaryValue(v);
}

function isBinaryValue(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function isBinaryMarker(v) {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    Object.prototype.hasOwnProperty.call(v, "$binary") &&
    typeof v.$binary === "string"
  );
}

// Strict base64: standard alphabet, padded, canonical.
function decodeBase64(s, where) {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new Error(`${where}: not standard padded base64: ${preview(JSON.stringify(s))}`);
  }
  const buf = Buffer.from(s, "base64");
  if (buf.toString("base64") !== s) {
    throw new Error(`${where}: non-canonical base64: ${preview(s)}`);
  }
  return buf;
}

function setOwn(obj, key, value) {
  // defineProperty so that a "__proto__" key stays an own property
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

// description value -> JS value (Buffers for $binary markers)
function descToJs(v, where = "data") {
  if (Array.isArray(v)) return v.map((x, i) => descToJs(x, `${where}[${i}]`));
  if (isBinaryMarker(v)) return decodeBase64(v.$binary, where);
  if (v !== null && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) setOwn(out, k, descToJs(v[k], `${where}.${k}`));
    return out;
  }
  return v;
}

// JS value -> description value
function jsToDesc(v) {
  if (v === undefined) return undefined;
  if (isBinaryValue(v)) return { $binary: toBuffer(v).toString("base64") };
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : jsToDesc(x)));
  if (v instanceof Date) return { $unrepresentable: `Date ${v.toISOString()}` };
  if (v !== null && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) {
      if (v[k] !== undefined) setOwn(out, k, jsToDesc(v[k]));
    }
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

function toFrame(x) {
  if (typeof x === "string") return { text: x };
  if (isBinaryValue(x)) return { binary: toBuffer(x).toString("base64") };
  throw new Error(`encoder produced an unexpected frame of type ${typeof x}`);
}

// exchange frame -> what a transport hands to the decoder (string or Buffer)
function fromFrame(f, i) {
  if (f === null || typeof f !== "object" || Array.isArray(f)) {
    throw new Error(`frames[${i}] is not an object`);
  }
  const keys = Object.keys(f);
  if (keys.length === 1 && keys[0] === "text" && typeof f.text === "string") return f.text;
  if (keys.length === 1 && keys[0] === "binary") return decodeBase64(f.binary, `frames[${i}].binary`);
  throw new Error(`frames[${i}] must be {"text": string} or {"binary": base64}`);
}

function preview(s, max = 240) {
  if (s.length <= max) return s;
  return `${s.slice(0, max)}...(${s.length} chars)`;
}

function showFrames(frames) {
  return preview(JSON.stringify(frames), 600);
}

function framesDiff(rust, npm) {
  if (!Array.isArray(rust)) return "rust frames is not an array";
  if (rust.length !== npm.length) return `frame count ${rust.length} (rust) vs ${npm.length} (npm)`;
  for (let i = 0; i < npm.length; i++) {
    const r = rust[i];
    const n = npm[i];
    if (n.text !== undefined) {
      if (r.text === undefined) return `frame ${i}: rust sent binary, npm sends text`;
      if (r.text !== n.text) {
        let j = 0;
        while (j < r.text.length && j < n.text.length && r.text[j] === n.text[j]) j++;
        return `frame ${i}: text differs at UTF-16 index ${j} (lengths ${r.text.length} vs ${n.text.length})`;
      }
    } else {
      if (r.binary === undefined) return `frame ${i}: rust sent text, npm sends binary`;
      const rb = decodeBase64(r.binary, `frames[${i}].binary`);
      const nb = Buffer.from(n.binary, "base64");
      if (!rb.equals(nb)) {
        let j = 0;
        while (j < rb.length && j < nb.length && rb[j] === nb[j]) j++;
        return `frame ${i}: binary differs at byte ${j} (lengths ${rb.length} vs ${nb.length})`;
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Deep comparison of descriptions; returns null or a description of the
// first difference. Numbers by value, binaries byte by byte, object keys
// order-insensitive.
// ---------------------------------------------------------------------------

function valueDiff(expected, actual, path) {
  const eb = isBinaryMarker(expected);
  const ab = isBinaryMarker(actual);
  if (eb || ab) {
    if (!(eb && ab)) return `${path}: expected ${brief(expected)}, got ${brief(actual)}`;
    const x = decodeBase64(expected.$binary, path);
    const y = Buffer.from(actual.$binary, "base64");
    if (!x.equals(y)) return `${path}: binary differs (${x.length} vs ${y.length} bytes)`;
    return null;
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!(Array.isArray(expected) && Array.isArray(actual))) {
      return `${path}: expected ${brief(expected)}, got ${brief(actual)}`;
    }
    if (expected.length !== actual.length) {
      return `${path}: array length ${expected.length} expected, got ${actual.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const d = valueDiff(expected[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (isPlainObject(expected) || isPlainObject(actual)) {
    if (!(isPlainObject(expected) && isPlainObject(actual))) {
      return `${path}: expected ${brief(expected)}, got ${brief(actual)}`;
    }
    const ek = Object.keys(expected);
    const ak = Object.keys(actual);
    for (const k of ek) {
      if (!Object.prototype.hasOwnProperty.call(actual, k)) return `${path}: key ${JSON.stringify(k)} missing`;
    }
    for (const k of ak) {
      if (!Object.prototype.hasOwnProperty.call(expected, k)) return `${path}: unexpected key ${JSON.stringify(k)}`;
    }
    for (const k of ek) {
      const d = valueDiff(expected[k], actual[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  if (typeof expected !== typeof actual || expected !== actual) {
    return `${path}: expected ${brief(expected)}, got ${brief(actual)}`;
  }
  return null;
}

function brief(v) {
  if (v === undefined) return "nothing";
  return preview(JSON.stringify(v), 120);
}

// ---------------------------------------------------------------------------
// Socket.IO packets
// ---------------------------------------------------------------------------

function validateSioDesc(d) {
  if (!isPlainObject(d)) throw new Error("packet must be an object");
  for (const k of Object.keys(d)) {
    if (!["type", "nsp", "id", "data"].includes(k)) throw new Error(`packet has unknown key ${JSON.stringify(k)}`);
  }
  if (!Number.isInteger(d.type) || d.type < 0 || d.type > 4) {
    throw new Error(`packet.type must be a logical type 0..4, got ${JSON.stringify(d.type)}`);
  }
  if (typeof d.nsp !== "string") throw new Error("packet.nsp must be a string");
  if ("id" in d && !Number.isInteger(d.id)) throw new Error("packet.id must be an integer");
}

// description -> packet object for the npm encoders; key order type, data, nsp, id
function sioDescToPacket(d) {
  const p = { type: d.type };
  if ("data" in d) p.data = descToJs(d.data);
  p.nsp = d.nsp;
  if ("id" in d) p.id = d.id;
  return p;
}

// decoded npm packet -> description (keys type, nsp, id, data)
function sioPacketToDesc(p) {
  const d = { type: p.type, nsp: p.nsp };
  if (p.id !== undefined) d.id = p.id;
  if (p.data !== undefined) d.data = jsToDesc(p.data);
  for (const k of Object.keys(p)) {
    if (!["type", "nsp", "id", "data"].includes(k) && p[k] !== undefined) {
      d[k] = jsToDesc(p[k]); // surfaces unexpected extra keys in comparisons
    }
  }
  return d;
}

function sioJsonEncode(d) {
  return new SioJson.Encoder().encode(sioDescToPacket(d)).map(toFrame);
}

function sioMsgpackEncode(d) {
  return new SioMsgpack.Encoder().encode(sioDescToPacket(d)).map(toFrame);
}

// Feeds frames to a decoder; ok only if exactly one packet comes out, on the
// last frame. `thrown` tells whether the decoder itself threw.
function feedDecoder(decoder, frames) {
  const out = [];
  let current = -1;
  decoder.on("decoded", (p) => out.push({ p, at: current }));
  for (let i = 0; i < frames.length; i++) {
    current = i;
    const input = fromFrame(frames[i], i);
    try {
      decoder.add(input);
    } catch (err) {
      return { ok: false, thrown: true, error: String(err && err.message), atFrame: i };
    }
  }
  if (out.length === 0) return { ok: false, thrown: false, error: "no packet decoded (incomplete)" };
  if (out.length > 1) return { ok: false, thrown: false, error: `${out.length} packets decoded from one case` };
  if (out[0].at !== frames.length - 1) {
    return { ok: false, thrown: false, error: `packet complete after frame ${out[0].at} of ${frames.length}` };
  }
  return { ok: true, desc: sioPacketToDesc(out[0].p) };
}

function sioJsonDecode(frames) {
  return feedDecoder(new SioJson.Decoder(), frames);
}

function sioMsgpackDecode(frames) {
  return feedDecoder(new SioMsgpack.Decoder(), frames);
}

function sioDiff(expected, actual) {
  if (actual.type === 5 || actual.type === 6) {
    return `decoded type ${actual.type}: the npm decoder should have normalised BINARY_* to 2/3`;
  }
  return valueDiff(expected, actual, "packet");
}

// ---------------------------------------------------------------------------
// Engine.IO packets
// ---------------------------------------------------------------------------

function validateEngineDesc(d, where = "packet") {
  if (!isPlainObject(d)) throw new Error(`${where} must be an object`);
  for (const k of Object.keys(d)) {
    if (k !== "type" && k !== "data") throw new Error(`${where} has unknown key ${JSON.stringify(k)}`);
  }
  if (!ENGINE_TYPES.includes(d.type)) throw new Error(`${where}.type unknown: ${JSON.stringify(d.type)}`);
  if ("data" in d && typeof d.data !== "string" && !isBinaryMarker(d.data)) {
    throw new Error(`${where}.data must be a string or {"$binary": ..}`);
  }
}

function validatePollingDesc(d) {
  if (!isPlainObject(d) || !Array.isArray(d.packets) || Object.keys(d).length !== 1) {
    throw new Error('packet must be {"packets": [...]}');
  }
  d.packets.forEach((p, i) => validateEngineDesc(p, `packet.packets[${i}]`));
}

function engineDescToPacket(d) {
  const p = { type: d.type };
  if ("data" in d) p.data = descToJs(d.data);
  return p;
}

function enginePacketToDesc(p) {
  const d = { type: p.type };
  if (p.data !== undefined) d.data = typeof p.data === "string" ? p.data : jsToDesc(p.data);
  return d;
}

function normaliseEngineDesc(d) {
  if (d && d.data === "") return { type: d.type };
  return d;
}

function syncCallback(fn) {
  let result;
  let called = false;
  fn((r) => {
    result = r;
    called = true;
  });
  if (!called) throw new Error("npm encoder produced nothing");
  return result;
}

function engineWsEncode(d) {
  return [toFrame(syncCallback((cb) => Eio.encodePacket(engineDescToPacket(d), true, cb)))];
}

function enginePollingEncode(d) {
  const packets = d.packets.map(engineDescToPacket);
  return [toFrame(syncCallback((cb) => Eio.encodePayload(packets, cb)))];
}

function engineWsDecode(frames) {
  if (frames.length !== 1) return { ok: false, thrown: false, error: `expected 1 frame, got ${frames.length}` };
  const p = Eio.decodePacket(fromFrame(frames[0], 0));
  if (p.type === "error") return { ok: false, thrown: true, error: p.data };
  return { ok: true, desc: enginePacketToDesc(p) };
}

function enginePollingDecode(frames) {
  if (frames.length !== 1) return { ok: false, thrown: false, error: `expected 1 frame, got ${frames.length}` };
  const body = fromFrame(frames[0], 0);
  if (typeof body !== "string") return { ok: false, thrown: false, error: "a polling payload is a text frame" };
  const packets = Eio.decodePayload(body);
  const bad = packets.findIndex((p) => p.type === "error");
  if (bad !== -1) return { ok: false, thrown: true, error: packets[bad].data, atPacket: bad };
  return { ok: true, desc: { packets: packets.map(enginePacketToDesc) } };
}

function engineWsDiff(expected, actual) {
  return valueDiff(normaliseEngineDesc(expected), normaliseEngineDesc(actual), "packet");
}

function enginePollingDiff(expected, actual) {
  return valueDiff(
    { packets: expected.packets.map(normaliseEngineDesc) },
    { packets: actual.packets.map(normaliseEngineDesc) },
    "packet",
  );
}

// ---------------------------------------------------------------------------
// Codec table
// ---------------------------------------------------------------------------

const CODEC = {
  "socketio-json": { validate: validateSioDesc, encode: sioJsonEncode, decode: sioJsonDecode, diff: sioDiff },
  "socketio-msgpack": { validate: validateSioDesc, encode: sioMsgpackEncode, decode: sioMsgpackDecode, diff: sioDiff },
  "engine-ws": { validate: validateEngineDesc, encode: engineWsEncode, decode: engineWsDecode, diff: engineWsDiff },
  "engine-polling": {
    validate: validatePollingDesc,
    encode: enginePollingEncode,
    decode: enginePollingDecode,
    diff: enginePollingDiff,
  },
};

// ---------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------

function pattern(len, mul, add) {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * mul + add) & 0xff;
  return b;
}

const BIN_SMALL = Buffer.from([0x00, 0x01, 0x02, 0xfe, 0xff]);
const BIN_TEXTLIKE = Buffer.from("hello, binary ✓", "utf8");
const BIN_EMPTY = Buffer.alloc(0);
const BIN_100K = pattern(100 * 1024, 7, 3);
const BIN_64K = pattern(64 * 1024, 13, 5);
const BIN_300 = pattern(300, 3, 1); // bin16 in msgpack

const ALL_CONTROL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("") + "\x7f";

const STRINGS = {
  empty: "",
  ascii: "hello world",
  accents: "àéîõü ÀÉÎÕÜ ç ñ ß",
  cjk: "漢字かなカナ한국어",
  emoji: "😀🎉👍🏽👨‍👩‍👧‍👦",
  nul: "a\u0000b",
  newline: "line1\nline2\r\nline3",
  quote: 'say "hi"',
  backslash: "C:\\path\\to\\file \\u0041",
  ls_ps: "a\u2028b\u2029c",
  control: ALL_CONTROL,
  slash: "</script><!-- / -->",
  json_object: '{"a":1,"b":[true,null]}',
  json_array: '[1,2,"three"]',
  json_number: "42",
  json_null: "null",
  json_string: '"quoted"',
  packet_like: '2["evil",1]',
  separator: "rec\u001esep",
  bom_nbsp: "\ufeffbom\u00a0nbsp",
  len31: "x".repeat(31),
  len32: "y".repeat(32),
  len255: "z".repeat(255),
  len256: "w".repeat(256),
  len65536: "v".repeat(65536),
};

const NUMBERS = {
  zero: 0,
  minus_one: -1,
  one_point_five: 1.5,
  small_negative_exp: -2.25e-7,
  "1e21": 1e21,
  "1e300": 1e300,
  "123456789012": 123456789012,
  min_safe: -9007199254740991,
  max_safe: 9007199254740991,
  "2pow53": 2 ** 53,
  "2pow53_plus_2": 2 ** 53 + 2,
  "0.1+0.2": 0.1 + 0.2,
  min_subnormal: 5e-324,
  max_double: 1.7976931348623157e308,
  "1e20": 1e20,
  "1e-6": 0.000001,
  "1e-7": 1e-7,
  "123e-20": 123e-20,
  "1.5e300": 1.5e300,
  "-0.5": -0.5,
  "4.35": 4.35,
  "1/3": 1 / 3,
  "2pow63": 2 ** 63,
  "-2pow63": -(2 ** 63),
};

// msgpack integer-encoding boundaries
const INT_BOUNDARIES = [
  127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -32, -33, -128, -129, -32768, -32769, -2147483648,
  -2147483649,
];

// notepack.io (used by socket.io-msgpack-parser) writes integer-valued
// numbers outside [-2^63, 2^64) as corrupted 64-bit integers: such values do
// not survive a msgpack round trip in the npm implementation itself.
function msgpackSafe(v) {
  if (typeof v === "number") return !(Number.isInteger(v) && (v >= 2 ** 64 || v < -(2 ** 63)));
  if (Array.isArray(v)) return v.every(msgpackSafe);
  if (isBinaryValue(v)) return true;
  if (v !== null && typeof v === "object") {
    // notepack's decoder assigns map keys with `obj[key] =`, so a "__proto__"
    // key is lost on decode
    if (Object.prototype.hasOwnProperty.call(v, "__proto__")) return false;
    return Object.keys(v).every((k) => msgpackSafe(v[k]));
  }
  return true;
}

function objectWithProtoKey() {
  const o = {};
  setOwn(o, "__proto__", { polluted: true });
  setOwn(o, "safe", 1);
  return o;
}

function deepNest(depth) {
  let v = "bottom";
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { level: i, next: v } : [i, v];
  return v;
}

function manyKeys(n) {
  const o = {};
  for (let i = 0; i < n; i++) o[`key${String(i).padStart(2, "0")}`] = i;
  return o;
}

const NSPS = ["/", "/admin", "/dynamic-101", "/émoji-✓"];
const ACK_IDS = [0, 1, 42, 4294967295, 9007199254740991];

// Valid Socket.IO cases: [name, packet with JS values (Buffers for binary)]
function socketioCases() {
  const cases = [];
  const add = (name, type, nsp, extra = {}) => {
    const p = { type };
    if ("data" in extra) p.data = extra.data;
    p.nsp = nsp;
    if ("id" in extra) p.id = extra.id;
    cases.push({ name, packet: p, jsonOnly: extra.jsonOnly === true });
  };
  const { CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR } = SIO_TYPES;

  // CONNECT
  for (const nsp of NSPS) add(`connect${nsp}`, CONNECT, nsp);
  add("connect/auth-token", CONNECT, "/", { data: { token: "abc123" } });
  add("connect/auth-empty", CONNECT, "/", { data: {} });
  add("connect/admin/auth-nested", CONNECT, "/admin", {
    data: { token: "abc", n: 1, nested: { list: [1, "two", null, false] }, ok: true },
  });
  add("connect/emoji-nsp/auth-unicode", CONNECT, "/émoji-✓", { data: { user: "ünïcødé ✓ 漢字 😀" } });
  add("connect/dynamic/auth-recovery", CONNECT, "/dynamic-101", { data: { pid: "4u_-Zf1e", offset: "MzUPkW0" } });
  add("connect/server-reply-sid", CONNECT, "/", { data: { sid: "lv_VI97HAXpY6yYWAAAC" } });
  add("connect/admin/server-reply-sid-pid", CONNECT, "/admin", {
    data: { sid: "wZX3oN0bSVIhsaknAAAI", pid: "YHcX2sdAF1z0W0C1" },
  });

  // DISCONNECT
  for (const nsp of NSPS) add(`disconnect${nsp}`, DISCONNECT, nsp);

  // EVENT: argument counts
  const argLists = [
    ["ping"],
    ["message", "hello"],
    ["two", 1, "b"],
    ["three", { a: 1 }, [1, 2], "c"],
    ["four", true, false, null, 0],
    ["five", 1, "two", true, null, { five: 5 }],
  ];
  argLists.forEach((data, n) => {
    for (const nsp of NSPS) add(`event/${n}-args${nsp}`, EVENT, nsp, { data });
  });
  // EVENT with ack ids
  for (const id of ACK_IDS) {
    add(`event/ack-id-${id}`, EVENT, "/", { data: ["with-ack", "x"], id });
    add(`event/admin/ack-id-${id}`, EVENT, "/admin", { data: ["with-ack", { y: 1 }], id });
  }
  add("event/emoji-nsp/ack-id-7", EVENT, "/émoji-✓", { data: ["unicode-nsp", "✓"], id: 7 });
  // EVENT: event names
  add("event/name-number", EVENT, "/", { data: [1, "a"] });
  add("event/name-zero", EVENT, "/", { data: [0] });
  add("event/name-negative-float", EVENT, "/admin", { data: [-1.5, "x"], id: 3 });
  add("event/name-unicode", EVENT, "/", { data: ["événement-✓-漢字-😀", 1] });
  add("event/name-empty-string", EVENT, "/", { data: ["", "empty name"] });
  add("event/name-with-spaces-and-quotes", EVENT, "/", { data: ['my "event" name', 1] });
  add("event/name-connect-like", EVENT, "/", { data: ["connected", "connect_errors", "Disconnect"] });
  // EVENT: strings
  for (const [k, s] of Object.entries(STRINGS)) add(`event/string-${k}`, EVENT, "/", { data: ["str", s] });
  add("event/strings-all", EVENT, "/admin", { data: ["strings", Object.values(STRINGS).slice(0, 20)] });
  add("event/string-keys-unicode", EVENT, "/", { data: ["keys", { "clé-é": 1, "键": 2, "😀": 3, "a\nb": 4, "": 5 }] });
  // EVENT: numbers
  for (const [k, v] of Object.entries(NUMBERS)) add(`event/number-${k}`, EVENT, "/", { data: ["num", v] });
  add("event/numbers-all", EVENT, "/", { data: ["nums", ...Object.values(NUMBERS)] });
  add("event/numbers-in-object", EVENT, "/", { data: ["nums", { ...NUMBERS }] });
  // the same without the values notepack.io cannot round-trip (see msgpackSafe)
  add("event/numbers-msgpack-safe", EVENT, "/", { data: ["nums", ...Object.values(NUMBERS).filter(msgpackSafe)] });
  add("event/int-boundaries", EVENT, "/", { data: ["ints", INT_BOUNDARIES] });
  // EVENT: booleans / null / structures
  add("event/booleans-null", EVENT, "/", { data: ["flags", true, false, null] });
  add("event/nested-objects", EVENT, "/", {
    data: ["nested", { a: { b: { c: { d: [1, { e: "f" }] } } }, list: [[], {}, [[]], [{}]] }],
  });
  add("event/nested-deep-32", EVENT, "/", { data: ["deep", deepNest(32)] });
  add("event/empty-containers", EVENT, "/", { data: ["empty", [], {}, "", 0] });
  add("event/array-16-elements", EVENT, "/", { data: ["arr16", Array.from({ length: 16 }, (_, i) => i)] });
  add("event/array-300-elements", EVENT, "/", { data: ["arr300", Array.from({ length: 300 }, (_, i) => i * 3)] });
  add("event/object-15-keys", EVENT, "/", { data: ["obj15", manyKeys(15)] });
  add("event/object-16-keys", EVENT, "/", { data: ["obj16", manyKeys(16)] });
  add("event/object-integer-like-keys", EVENT, "/", { data: ["keys", { z: 1, 10: 2, a: 3, 2: 4 }] });
  add("event/object-proto-key", EVENT, "/", { data: ["proto", objectWithProtoKey()], jsonOnly: true });
  add("event/placeholder-lookalike-no-binary", EVENT, "/", {
    data: ["looks", { _placeholder: false, num: 0 }, { placeholder: true }],
  });
  add("event/mixed-kitchen-sink", EVENT, "/dynamic-101", {
    data: ["sink", { s: STRINGS.emoji, n: -2.25e-7, b: true, z: null, a: [STRINGS.cjk, 1e21, [false]] }],
    id: 9,
  });

  // EVENT: binary
  add("event/binary-top-level", EVENT, "/", { data: ["upload", BIN_SMALL] });
  add("event/binary-multiple-top-level", EVENT, "/", { data: ["files", BIN_SMALL, BIN_TEXTLIKE, BIN_EMPTY] });
  add("event/binary-nested-object", EVENT, "/", {
    data: ["file", { name: "a.bin", content: BIN_SMALL, meta: { thumb: BIN_TEXTLIKE, size: 5 } }],
  });
  add("event/binary-nested-array", EVENT, "/", { data: ["arrays", [BIN_SMALL, [BIN_TEXTLIKE, [BIN_EMPTY]]]] });
  add("event/binary-empty", EVENT, "/", { data: ["empty-bin", BIN_EMPTY] });
  add("event/binary-100k", EVENT, "/", { data: ["big", BIN_100K] });
  add("event/binary-300-bytes", EVENT, "/", { data: ["bin16", BIN_300] });
  add("event/binary-same-buffer-twice", EVENT, "/", { data: ["twice", BIN_SMALL, BIN_SMALL] });
  add("event/binary-ten-attachments", EVENT, "/", {
    data: ["ten", ...Array.from({ length: 10 }, (_, i) => Buffer.from([i, i + 1]))],
  });
  add("event/binary-with-ack", EVENT, "/", { data: ["upload", BIN_SMALL], id: 42 });
  add("event/admin/binary-with-ack", EVENT, "/admin", { data: ["upload", { f: BIN_TEXTLIKE }, "x"], id: 4294967295 });
  add("event/emoji-nsp/binary", EVENT, "/émoji-✓", { data: ["upload", BIN_SMALL, "✓"] });
  add("event/binary-name-number", EVENT, "/", { data: [7, BIN_SMALL] });
  add("event/binary-mixed-with-json", EVENT, "/dynamic-101", {
    data: ["mixed", 1.5, null, { bin: BIN_EMPTY, t: "ok", list: [true, BIN_SMALL] }, STRINGS.newline],
    id: 0,
  });

  // ACK
  for (const id of ACK_IDS) {
    add(`ack/empty-id-${id}`, ACK, "/", { data: [], id });
    add(`ack/admin/empty-id-${id}`, ACK, "/admin", { data: [], id });
  }
  add("ack/one-string", ACK, "/", { data: ["ok"], id: 1 });
  add("ack/null", ACK, "/", { data: [null], id: 2 });
  add("ack/several", ACK, "/dynamic-101", { data: [1, "two", { three: [3] }, false], id: 3 });
  add("ack/object", ACK, "/", { data: [{ status: "ok", items: [1, 2, 3] }], id: 4 });
  add("ack/unicode", ACK, "/émoji-✓", { data: [STRINGS.emoji, STRINGS.accents], id: 5 });
  add("ack/numbers", ACK, "/", { data: Object.values(NUMBERS), id: 6 });
  add("ack/binary", ACK, "/", { data: [BIN_SMALL], id: 7 });
  add("ack/binary-nested", ACK, "/admin", { data: [{ file: BIN_TEXTLIKE, parts: [BIN_EMPTY, BIN_SMALL] }], id: 8 });
  add("ack/binary-100k", ACK, "/", { data: [BIN_100K, "done"], id: 9007199254740991 });

  // CONNECT_ERROR
  add("connect-error/string", CONNECT_ERROR, "/", { data: "Not authorized" });
  add("connect-error/admin/string-unicode", CONNECT_ERROR, "/admin", { data: "Accès refusé ✗ 拒绝" });
  add("connect-error/message", CONNECT_ERROR, "/", { data: { message: "Not authorized" } });
  add("connect-error/invalid-namespace", CONNECT_ERROR, "/dynamic-101", { data: { message: "Invalid namespace" } });
  add("connect-error/message-data", CONNECT_ERROR, "/admin", {
    data: { message: "Forbidden", data: { code: 403, reason: "token expired", retry: false } },
  });
  add("connect-error/emoji-nsp/message-data-array", CONNECT_ERROR, "/émoji-✓", {
    data: { message: "nope 😀", data: [1, "two"] },
  });
  add("connect-error/empty-string", CONNECT_ERROR, "/", { data: "" });
  return cases;
}

// Invalid socketio-json cases: [name, frames (strings / Buffers)]
function socketioJsonInvalid() {
  const ph = (n) => JSON.stringify({ _placeholder: true, num: n });
  const b1 = Buffer.from([1, 2, 3]);
  const cases = [
    ["unknown-type-7", ['7["a"]']],
    ["unknown-type-8", ["8"]],
    ["unknown-type-9", ["9[]"]],
    ["unknown-type-letter", ['x["a"]']],
    ["unknown-type-minus", ['-1["a"]']],
    ["leading-space", [' 2["a"]']],
    ["event-object", ["2{}"]],
    ["event-string", ['2"hello"']],
    ["event-number", ["2/admin,1.5"]],
    ["event-empty-array", ["2[]"]],
    ["event-name-null", ["2[null]"]],
    ["event-name-bool", ["2[true]"]],
    ["event-name-object", ['2[{"a":1}]']],
    ["event-name-array", ['2[["a"]]']],
    ["event-null", ["2null"]],
    ["event-false", ["2false"]],
    ["event-abc", ["2abc"]],
    ["connect-error-abc", ["4abc"]],
    ["connect-error-id-abc", ['42abc["a"]']],
    ["connect-error-array", ['4["a"]']],
    ["connect-error-bool", ["4/admin,true"]],
    ["connect-error-number", ["4-5"]],
    ["connect-error-null", ["4null"]],
    ["disconnect-with-array", ["1[]"]],
    ["disconnect-with-object", ["1{}"]],
    ["disconnect-with-string", ['1"bye"']],
    ["disconnect-admin-with-object", ['1/admin,{"a":1}']],
    ["connect-array", ["0[]"]],
    ["connect-string", ['0"token"']],
    ["connect-null", ["0null"]],
    ["connect-garbage", ["0/admin,x"]],
    ["ack-object", ['3{"a":1}']],
    ["ack-object-with-id", ["31{}"]],
    ["ack-string", ['3/admin,2"x"']],
    ["ack-null", ["3null"]],
    ["bad-json-unterminated", ['2["a"']],
    ["bad-json-trailing-comma", ['2["a",]']],
    ["bad-json-trailing-garbage", ['2["a"]x']],
    ["bad-json-unquoted", ["2[a]"]],
    ["bad-json-single-quotes", ["2['a']"]],
    ["bad-json-nan", ['2["a",NaN]']],
    ["nsp-without-slash", ['2admin,["a"]']],
    ["nsp-then-garbage", ["2/admin,abc"]],
    ["nsp-id-then-garbage", ['2/admin,12x["a"]']],
    ["binary-missing-dash", ['51["a",' + ph(0) + "]"]],
    ["binary-type-only", ["5"]],
    ["binary-missing-count", ['5-["a",' + ph(0) + "]"]],
    ["binary-missing-count-no-data", ["51"]],
    ["binary-zero-attachments", ['50-["a"]']],
    ["binary-ack-zero-attachments", ["60-[]"]],
    ["binary-too-many-attachments", ['511-["a",' + ph(0) + "]"]],
    ["binary-too-many-attachments-99", ["699-[]"]],
    ["binary-fractional-count", ['51.5-["a",' + ph(0) + "]"]],
    ["binary-letter-count", ['5a-["a",' + ph(0) + "]"]],
    ["binary-negative-count", ['5-1-["a",' + ph(0) + "]"]],
    ["binary-event-object", ["51-{}"]],
    ["binary-ack-object", ['61-{"a":' + ph(0) + "}"]],
    ...["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"].map((ev) => [
      `binary-reserved-${ev}`,
      [`51-[${JSON.stringify(ev)},${ph(0)}]`],
    ]),
    ["placeholder-num-out-of-range", ['51-["a",' + ph(1) + "]", b1]],
    ["placeholder-num-negative", ['51-["a",' + ph(-1) + "]", b1]],
    ["placeholder-num-string", ['51-["a",{"_placeholder":true,"num":"0"}]', b1]],
    ["placeholder-num-missing", ['51-["a",{"_placeholder":true}]', b1]],
    ["placeholder-num-out-of-range-nested", ['52-["a",{"x":[' + ph(0) + "," + ph(2) + "]}]", b1, b1]],
    ["binary-frame-without-header", [b1]],
    ["binary-frame-after-complete-packet", ['2["a"]', b1]],
    ["text-while-attachments-pending", ['51-["a",' + ph(0) + "]", '2["b"]']],
    ["text-while-second-attachment-pending", ['52-["a",' + ph(0) + "," + ph(1) + "]", b1, "3[]"]],
  ];
  for (const ev of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
    cases.push([`event-reserved-${ev}`, [`2[${JSON.stringify(ev)}]`]]);
    cases.push([`event-reserved-${ev}-admin-ack`, [`2/admin,5[${JSON.stringify(ev)},1]`]]);
  }
  return cases;
}

// Invalid socketio-msgpack cases: [name, frames]
function socketioMsgpackInvalid() {
  const enc = (o) => new SioMsgpack.Encoder().encode(o)[0];
  const good = enc({ type: 2, data: ["a"], nsp: "/" });
  const cases = [
    ["type-5-binary-event", [enc({ type: 5, data: ["a"], nsp: "/" })]],
    ["type-6-binary-ack", [enc({ type: 6, data: [], nsp: "/", id: 1 })]],
    ["type-7", [enc({ type: 7, data: ["a"], nsp: "/" })]],
    ["type-negative", [enc({ type: -1, data: ["a"], nsp: "/" })]],
    ["type-float", [enc({ type: 1.5, nsp: "/" })]],
    ["type-string", [enc({ type: "2", data: ["a"], nsp: "/" })]],
    ["type-missing", [enc({ data: ["a"], nsp: "/" })]],
    ["type-nil", [enc({ type: null, data: ["a"], nsp: "/" })]],
    ["nsp-missing", [enc({ type: 2, data: ["a"] })]],
    ["nsp-number", [enc({ type: 2, data: ["a"], nsp: 1 })]],
    ["nsp-nil", [enc({ type: 0, nsp: null })]],
    ["nsp-binary", [enc({ type: 0, nsp: Buffer.from("/") })]],
    ["connect-array", [enc({ type: 0, data: [], nsp: "/" })]],
    ["connect-string", [enc({ type: 0, data: "token", nsp: "/" })]],
    ["connect-nil", [enc({ type: 0, data: null, nsp: "/" })]],
    ["disconnect-with-object", [enc({ type: 1, data: {}, nsp: "/" })]],
    ["disconnect-with-nil", [enc({ type: 1, data: null, nsp: "/admin" })]],
    ["event-object", [enc({ type: 2, data: { a: 1 }, nsp: "/" })]],
    ["event-string", [enc({ type: 2, data: "a", nsp: "/" })]],
    ["event-missing-data", [enc({ type: 2, nsp: "/" })]],
    ["event-nil-data", [enc({ type: 2, data: null, nsp: "/" })]],
    ["ack-object", [enc({ type: 3, data: { a: 1 }, nsp: "/", id: 1 })]],
    ["ack-missing-data", [enc({ type: 3, nsp: "/", id: 1 })]],
    ["connect-error-number", [enc({ type: 4, data: 42, nsp: "/" })]],
    ["connect-error-array", [enc({ type: 4, data: ["a"], nsp: "/" })]],
    ["connect-error-missing-data", [enc({ type: 4, nsp: "/" })]],
    ["id-float", [enc({ type: 2, data: ["a"], nsp: "/", id: 1.5 })]],
    ["id-string", [enc({ type: 2, data: ["a"], nsp: "/", id: "1" })]],
    ["id-nil", [enc({ type: 3, data: [], nsp: "/", id: null })]],
    ["root-array", [enc([2, "/", ["a"]])]],
    ["root-string", [enc("2[\"a\"]")]],
    ["root-nil", [Buffer.from([0xc0])]],
    ["root-integer", [Buffer.from([0x02])]],
    ["empty-frame", [Buffer.alloc(0)]],
    ["reserved-byte-c1", [Buffer.from([0xc1])]],
    ["truncated-last-byte", [good.subarray(0, good.length - 1)]],
    ["truncated-after-3-bytes", [good.subarray(0, 3)]],
    ["trailing-byte", [Buffer.concat([good, Buffer.from([0xc0])])]],
    ["two-packets-in-one-frame", [Buffer.concat([good, good])]],
    ["text-frame", ['2["a"]']],
  ];
  return cases;
}

const ENGINE_HANDSHAKE = JSON.stringify({
  sid: "lv_VI97HAXpY6yYWAAAC",
  upgrades: ["websocket"],
  pingInterval: 25000,
  pingTimeout: 20000,
  maxPayload: 1000000,
});

// Valid engine packets (JS values), usable on both transports unless wsOnly
function engineCases() {
  const cases = [];
  const add = (name, packet, wsOnly = false) => cases.push({ name, packet, wsOnly });
  for (const type of ENGINE_TYPES) add(`${type}/no-data`, { type });
  add("open/handshake", { type: "open", data: ENGINE_HANDSHAKE });
  add("close/data", { type: "close", data: "bye" });
  add("ping/probe", { type: "ping", data: "probe" });
  add("pong/probe", { type: "pong", data: "probe" });
  add("ping/data", { type: "ping", data: "x" });
  add("upgrade/data", { type: "upgrade", data: "5" });
  add("noop/data", { type: "noop", data: "noop" });
  add("message/text", { type: "message", data: "hello" });
  add("message/socketio-packet", { type: "message", data: '2["event",{"a":1}]' });
  add("message/unicode", { type: "message", data: STRINGS.accents + STRINGS.cjk + STRINGS.emoji });
  add("message/control-chars", { type: "message", data: STRINGS.control.replace("\u001e", "") });
  add("message/newlines-quotes", { type: "message", data: STRINGS.newline + STRINGS.quote + STRINGS.backslash });
  add("message/ls-ps", { type: "message", data: STRINGS.ls_ps });
  add("message/starts-with-b", { type: "message", data: "bAQID" });
  add("message/digits", { type: "message", data: "4444" });
  add("message/long-text", { type: "message", data: "0123456789".repeat(10000) });
  add("message/record-separator", { type: "message", data: STRINGS.separator }, true);
  add("message/binary-small", { type: "message", data: BIN_SMALL });
  add("message/binary-empty", { type: "message", data: BIN_EMPTY });
  add("message/binary-textlike", { type: "message", data: BIN_TEXTLIKE });
  add("message/binary-64k", { type: "message", data: BIN_64K });
  return cases;
}

function pollingCases() {
  const txt = (data) => ({ type: "message", data });
  const bin = (data) => ({ type: "message", data });
  return [
    ["one-text", [txt("hello")]],
    ["one-binary", [bin(BIN_SMALL)]],
    ["one-binary-empty", [bin(BIN_EMPTY)]],
    ["one-ping", [{ type: "ping" }]],
    ["one-open", [{ type: "open", data: ENGINE_HANDSHAKE }]],
    ["one-noop", [{ type: "noop" }]],
    ["one-close", [{ type: "close" }]],
    ["two-text", [txt("a"), txt("b")]],
    ["two-mixed", [txt('2["a"]'), bin(BIN_SMALL)]],
    ["two-binary-attachments", [txt('51-["up",{"_placeholder":true,"num":0}]'), bin(BIN_TEXTLIKE)]],
    ["three-mixed", [{ type: "pong", data: "probe" }, bin(BIN_EMPTY), txt(STRINGS.emoji)]],
    ["four-mixed", [txt(STRINGS.cjk), bin(BIN_SMALL), { type: "noop" }, { type: "message" }]],
    [
      "five-mixed",
      [{ type: "ping" }, txt("x"), bin(BIN_TEXTLIKE), txt(STRINGS.accents + STRINGS.newline), { type: "close" }],
    ],
    ["five-binary", [bin(BIN_SMALL), bin(BIN_EMPTY), bin(BIN_TEXTLIKE), bin(BIN_300), bin(BIN_SMALL)]],
    ["five-text", [txt("1"), txt("22"), txt("333"), { type: "message" }, txt(STRINGS.quote)]],
    ["binary-64k", [bin(BIN_64K), txt("after")]],
    ["text-unicode-and-control", [txt(STRINGS.control.replace("\u001e", "")), txt(STRINGS.ls_ps)]],
  ];
}

function engineWsInvalid() {
  return [
    ["empty-text-frame", [""]],
    ["unknown-type-7", ["7"]],
    ["unknown-type-8-data", ["8hello"]],
    ["unknown-type-9", ["9"]],
    ["unknown-type-letter", ["x"]],
    ["uppercase-B", ["BAQID"]],
    ["leading-space", [" 4hello"]],
    ["non-ascii-type", ["é"]],
    ["minus-type", ["-1"]],
  ];
}

function enginePollingInvalid() {
  return [
    ["empty-payload", [""]],
    ["unknown-type", ["7"]],
    ["trailing-separator", ["4hello\u001e"]],
    ["leading-separator", ["\u001e4hello"]],
    ["double-separator", ["4a\u001e\u001e4b"]],
    ["bad-second-packet", ["4a\u001e7b"]],
    ["bad-middle-packet", ["4a\u001ex\u001e4b"]],
    ["bad-last-of-five", ["2\u001e3\u001e4a\u001ebAQID\u001e9"]],
    ["uppercase-B", ["BAQID"]],
  ];
}

// ---------------------------------------------------------------------------
// gen
// ---------------------------------------------------------------------------

function buildValidCorpus() {
  const out = [];
  for (const c of socketioCases()) {
    const desc = sioPacketToDesc(c.packet);
    out.push({ name: c.name, codec: "socketio-json", packet: desc });
    if (!c.jsonOnly && msgpackSafe(c.packet.data)) out.push({ name: c.name, codec: "socketio-msgpack", packet: desc });
  }
  for (const c of engineCases()) out.push({ name: c.name, codec: "engine-ws", packet: enginePacketToDesc(c.packet) });
  for (const c of engineCases()) {
    if (!c.wsOnly) out.push({ name: `single/${c.name}`, codec: "engine-polling", packet: { packets: [enginePacketToDesc(c.packet)] } });
  }
  for (const [name, packets] of pollingCases()) {
    out.push({ name, codec: "engine-polling", packet: { packets: packets.map(enginePacketToDesc) } });
  }
  return out;
}

function buildInvalidCorpus() {
  const out = [];
  const add = (codec, list) => {
    for (const [name, raw] of list) out.push({ name, codec, frames: raw.map(toFrame) });
  };
  add("socketio-json", socketioJsonInvalid());
  add("socketio-msgpack", socketioMsgpackInvalid());
  add("engine-ws", engineWsInvalid());
  add("engine-polling", enginePollingInvalid());
  return out;
}

function writeLine(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function gen() {
  let problems = 0;
  const seen = new Set();
  const counts = {};
  const count = (codec, kind) => {
    counts[codec] ??= { valid: 0, invalid: 0 };
    counts[codec][kind]++;
  };
  const unique = (c) => {
    const key = `${c.codec}\u0000${c.name}`;
    if (seen.has(key)) {
      process.stderr.write(`gen: duplicate case name ${c.codec} ${c.name}\n`);
      problems++;
    }
    seen.add(key);
  };

  for (const c of buildValidCorpus()) {
    unique(c);
    const codec = CODEC[c.codec];
    try {
      codec.validate(c.packet);
      const frames = codec.encode(c.packet);
      // self-check: the npm decoder must give the description back
      const dec = codec.decode(frames);
      if (!dec.ok) throw new Error(`npm decoder rejects the npm encoding: ${dec.error}`);
      const d = codec.diff(c.packet, dec.desc);
      if (d) throw new Error(`npm round trip differs: ${d}`);
      // and the line must survive JSON
      const line = JSON.parse(JSON.stringify({ packet: c.packet })).packet;
      const d2 = codec.diff(c.packet, line);
      if (d2) throw new Error(`description does not survive JSON: ${d2}`);
      writeLine({ name: c.name, codec: c.codec, frames, packet: c.packet });
      count(c.codec, "valid");
    } catch (err) {
      process.stderr.write(`gen: valid case ${c.codec} ${c.name}: ${err.message}\n`);
      problems++;
    }
  }

  for (const c of buildInvalidCorpus()) {
    unique(c);
    let dec;
    try {
      dec = CODEC[c.codec].decode(c.frames);
    } catch (err) {
      process.stderr.write(`gen: invalid case ${c.codec} ${c.name}: harness error ${err.message}\n`);
      problems++;
      continue;
    }
    if (dec.ok || !dec.thrown) {
      const what = dec.ok ? `decoded fine as ${preview(JSON.stringify(dec.desc), 200)}` : `not rejected (${dec.error})`;
      process.stderr.write(`gen: invalid case ${c.codec} ${c.name}: npm decoder ${what}\n`);
      problems++;
      continue;
    }
    writeLine({ name: c.name, codec: c.codec, frames: c.frames, error: dec.error });
    count(c.codec, "invalid");
  }

  if (process.env.SIO_CROSSCHECK_STATS) {
    for (const [codec, n] of Object.entries(counts)) {
      process.stderr.write(`gen: ${codec}: ${n.valid} valid, ${n.invalid} invalid\n`);
    }
  }
  if (problems > 0) {
    process.stderr.write(`gen: ${problems} corpus problem(s)\n`);
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------

function checkOne(c) {
  const problems = [];
  let npmFrames = null;
  if (typeof c.name !== "string") problems.push('"name" must be a string');
  const codec = CODEC[c.codec];
  if (!codec) return { problems: [`unknown codec ${JSON.stringify(c.codec)} (known: ${CODECS.join(", ")})`], npmFrames };
  try {
    codec.validate(c.packet);
  } catch (err) {
    return { problems: [`bad description: ${err.message}`], npmFrames };
  }
  if (!Array.isArray(c.frames)) return { problems: ['"frames" must be an array'], npmFrames };

  // (a) npm decoder on the Rust frames
  try {
    const dec = codec.decode(c.frames);
    if (!dec.ok) {
      problems.push(`npm decoder rejects the rust frames: ${dec.error}`);
    } else {
      const d = codec.diff(c.packet, dec.desc);
      if (d) problems.push(`npm decode differs: ${d}; npm decoded ${preview(JSON.stringify(dec.desc), 300)}`);
    }
  } catch (err) {
    problems.push(`decode: ${err.message}`);
  }

  // (b) npm encoder on the description, byte-exact with the Rust frames
  try {
    npmFrames = codec.encode(c.packet);
    const d = framesDiff(c.frames, npmFrames);
    if (d) problems.push(`encoding differs: ${d}`);
  } catch (err) {
    problems.push(`encode: ${err.message}`);
  }
  return { problems, npmFrames };
}

async function check() {
  let input = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) input += chunk;

  let passed = 0;
  let failed = 0;
  let lineNo = 0;
  for (const raw of input.split("\n")) {
    lineNo++;
    const line = raw.trim();
    if (line === "") continue;
    let c;
    try {
      c = JSON.parse(line);
    } catch (err) {
      failed++;
      console.log(`FAIL line ${lineNo}: not JSON (${err.message}): ${preview(line, 200)}`);
      continue;
    }
    if (c === null || typeof c !== "object" || !("packet" in c)) continue; // invalid case: not checked here
    const { problems, npmFrames } = checkOne(c);
    if (problems.length === 0) {
      passed++;
    } else {
      failed++;
      console.log(
        `FAIL ${c.codec} ${c.name}: ${problems.join(" | ")} || rust: ${showFrames(c.frames)} || npm: ${
          npmFrames ? showFrames(npmFrames) : "(none)"
        }`,
      );
    }
  }
  console.log(`crosscheck: ${passed} passed, ${failed} failed`);
  if (passed + failed === 0) {
    process.stderr.write("check: no case with a \"packet\" was read from stdin\n");
    process.exitCode = 1;
  } else if (failed > 0) {
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------

const mode = process.argv[2];
if (mode === "gen") {
  gen();
} else if (mode === "check") {
  await check();
} else {
  process.stderr.write("usage: node codec.mjs gen | node codec.mjs check < cases.jsonl\n");
  process.exitCode = 2;
}
