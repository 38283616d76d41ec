// The chat page of `sio serve`. It talks to the server with the official
// Socket.IO browser client (window.io, from /socket.io/socket.io.js).
// Protocol: see crates/sio-cli/src/serve/chat.rs. User text only ever goes
// into the page through textContent.
"use strict";

const ACK_TIMEOUT_MS = 5000;
const TYPING_IDLE_MS = 2000; // stop "typing" after this long without a key
const TYPING_SHOWN_MS = 5000; // forget someone's "typing" after this long

const $ = (id) => document.getElementById(id);

const state = {
  socket: null,
  name: "",
  /** room → { joined, messages: [], members: [], typing: Map(id → {name, timer}), unread: 0 }:
   *  created when we ask to join (events for it may come before the answer),
   *  deleted when we leave. */
  rooms: new Map(),
  current: null,
  typingTimer: null,
  typingRoom: null,
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setStatus(kind, text) {
  const status = $("status");
  status.dataset.state = kind;
  status.textContent = text;
}

function timeOf(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function roomState(room) {
  let r = state.rooms.get(room);
  if (!r) {
    r = { joined: false, messages: [], members: [], typing: new Map(), unread: 0 };
    state.rooms.set(room, r);
  }
  return r;
}

/** The state of a room we are in or joining; null for any other room. */
const known = (room) => state.rooms.get(room) ?? null;

// ---- rendering -------------------------------------------------------

const TICKS = { pending: "…", sent: "✓", delivered: "✓✓", failed: "✗" };

function renderTick(msg) {
  if (!msg.tickEl) return;
  msg.tickEl.dataset.state = msg.state;
  msg.tickEl.textContent = TICKS[msg.state];
  msg.tickEl.title =
    msg.state === "delivered"
      ? `delivered to ${msg.deliveredTo} member(s)`
      : msg.state === "failed"
        ? `not sent: ${msg.error || "no answer"}`
        : msg.state === "sent"
          ? "the server has it"
          : "sending";
}

function messageElement(msg) {
  if (msg.system) return el("li", "system", msg.text);
  const li = el("li", msg.mine ? "msg mine" : "msg");
  if (msg.id) li.dataset.id = msg.id;
  if (!msg.mine) li.append(el("div", "from", msg.from.name));
  li.append(el("div", "text", msg.text));
  const meta = el("div", "meta", timeOf(msg.at));
  if (msg.mine) {
    msg.tickEl = el("span", "tick");
    meta.append(msg.tickEl);
    renderTick(msg);
  }
  li.append(meta);
  return li;
}

function renderMessages() {
  const list = $("messages");
  list.replaceChildren();
  if (!state.current) return;
  for (const msg of roomState(state.current).messages) list.append(messageElement(msg));
  list.scrollTop = list.scrollHeight;
}

function addMessage(room, msg) {
  const r = known(room);
  if (!r) return;
  r.messages.push(msg);
  if (r.messages.length > 500) r.messages.shift();
  if (room === state.current) {
    const list = $("messages");
    list.append(messageElement(msg));
    list.scrollTop = list.scrollHeight;
  } else if (!msg.mine && !msg.system) {
    r.unread += 1;
    renderRooms();
  }
}

function renderRooms() {
  const list = $("rooms");
  list.replaceChildren();
  for (const [room, r] of state.rooms) {
    if (!r.joined) continue;
    const li = el("li");
    li.dataset.room = room;
    li.setAttribute("aria-current", String(room === state.current));
    const label = el("span", "name", room);
    li.append(label);
    if (r.unread > 0) li.append(el("span", "unread", `(${r.unread})`));
    const leaveBtn = el("button", "leave", "×");
    leaveBtn.type = "button";
    leaveBtn.title = `leave ${room}`;
    leaveBtn.addEventListener("click", (e) => {
      e.stopPropagation();
      leave(room);
    });
    li.append(leaveBtn);
    li.addEventListener("click", () => switchTo(room));
    list.append(li);
  }
}

function renderMembers() {
  const list = $("members");
  list.replaceChildren();
  if (!state.current) return;
  for (const m of roomState(state.current).members) {
    const me = state.socket && m.id === state.socket.id;
    const li = el("li", me ? "me" : "", me ? `${m.name} (you)` : m.name);
    li.dataset.id = m.id;
    list.append(li);
  }
}

function renderTyping() {
  const r = state.current && roomState(state.current);
  const names = r ? [...r.typing.values()].map((t) => t.name) : [];
  $("typing").textContent =
    names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

function switchTo(room) {
  stopTyping();
  state.current = room;
  const r = room && roomState(room);
  if (r) r.unread = 0;
  $("current-room").textContent = room ? `# ${room}` : "Join a room to start";
  $("text").disabled = !room;
  $("send").disabled = !room;
  renderRooms();
  renderMembers();
  renderMessages();
  renderTyping();
  if (room) $("text").focus();
}

// ---- talking to the server ------------------------------------------

function connect(name) {
  state.name = name;
  // Same origin, default path /socket.io/: the server that served this page.
  const socket = io({ auth: { name } });
  state.socket = socket;
  $("name").disabled = true;

  const showTransport = () =>
    setStatus("connected", `connected as ${name} (${socket.io.engine.transport.name})`);
  socket.on("connect", () => {
    showTransport();
    socket.io.engine.once("upgrade", showTransport);
    // After a reconnection, the server has forgotten our rooms: join again.
    for (const room of state.rooms.keys()) join(room, { quiet: true });
  });
  socket.on("disconnect", (reason) => setStatus("disconnected", `disconnected (${reason}), retrying…`));
  socket.on("connect_error", (err) => setStatus("error", `cannot connect: ${err.message}`));

  socket.on("message", (msg, ack) => {
    addMessage(msg.room, { ...msg, mine: false });
    if (known(msg.room)?.typing.delete(msg.from.id)) renderTyping();
    // Tells the server (and so the sender) that it arrived.
    if (typeof ack === "function") ack("received");
  });
  socket.on("delivered", ({ room, id, to, error }) => {
    const msg = known(room)?.messages.find((m) => m.mine && m.id === id);
    if (!msg) return;
    if (error) {
      msg.deliveryError = error; // stays "sent": someone did not confirm in time
    } else {
      msg.state = "delivered";
      msg.deliveredTo = to;
    }
    renderTick(msg);
  });
  socket.on("members", ({ room, members }) => {
    const r = known(room);
    if (!r) return;
    r.members = members;
    // Someone who left stops typing.
    for (const id of [...r.typing.keys()]) if (!members.some((m) => m.id === id)) r.typing.delete(id);
    if (room === state.current) {
      renderMembers();
      renderTyping();
    }
  });
  socket.on("typing", ({ room, id, name: who, typing }) => {
    const r = known(room);
    if (!r) return;
    clearTimeout(r.typing.get(id)?.timer);
    if (typing) {
      const timer = setTimeout(() => {
        r.typing.delete(id);
        renderTyping();
      }, TYPING_SHOWN_MS);
      r.typing.set(id, { name: who, timer });
    } else {
      r.typing.delete(id);
    }
    if (room === state.current) renderTyping();
  });
}

function join(room, { quiet = false } = {}) {
  roomState(room);
  state.socket.timeout(ACK_TIMEOUT_MS).emit("join", { room }, (err, res) => {
    if (err || !res.ok) {
      const reason = err ? "no answer from the server" : res.error;
      if (!quiet) $("join-error").textContent = `cannot join ${room}: ${reason}`;
      if (!known(room)?.joined) state.rooms.delete(room);
      return;
    }
    $("join-error").textContent = "";
    const r = roomState(res.room);
    const isNew = !r.joined;
    r.joined = true;
    r.members = res.members;
    if (isNew) {
      for (const msg of res.history) {
        r.messages.push({ ...msg, mine: msg.from.name === state.name, state: "sent" });
      }
      r.messages.push({ system: true, text: `you joined ${res.room}` });
    }
    if (!quiet || state.current === res.room) switchTo(res.room);
  });
}

function leave(room) {
  state.socket.timeout(ACK_TIMEOUT_MS).emit("leave", { room }, () => {
    // Gone from our list whatever the answer: the server drops us anyway
    // on the next reconnection.
  });
  state.rooms.delete(room);
  const next = [...state.rooms].find(([, r]) => r.joined)?.[0] ?? null;
  if (state.current === room) switchTo(next);
  else renderRooms();
}

function send(text) {
  const room = state.current;
  const msg = {
    id: null,
    mine: true,
    from: { id: state.socket.id, name: state.name },
    text,
    at: Date.now(),
    state: "pending",
  };
  addMessage(room, msg);
  stopTyping();
  state.socket.timeout(ACK_TIMEOUT_MS).emit("message", { room, text }, (err, res) => {
    if (err || !res.ok) {
      msg.state = "failed";
      msg.error = err ? "no answer from the server" : res.error;
    } else if (msg.state === "pending") {
      msg.id = res.id;
      msg.state = "sent";
      if (msg.tickEl) msg.tickEl.closest("li").dataset.id = res.id;
    }
    renderTick(msg);
  });
}

function startTyping() {
  const room = state.current;
  if (!room || !state.socket?.connected) return;
  if (state.typingRoom !== room) {
    stopTyping();
    state.typingRoom = room;
    state.socket.emit("typing", { room, typing: true });
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingRoom && state.socket?.connected) {
    state.socket.emit("typing", { room: state.typingRoom, typing: false });
  }
  state.typingRoom = null;
}

// ---- the forms ------------------------------------------------------

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("name").value.trim();
  const room = $("room").value.trim();
  if (!name || !room) return;
  if (!state.socket) connect(name);
  join(room);
});

$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim() || !state.current) return;
  $("text").value = "";
  send(text);
});

$("text").addEventListener("input", () => {
  if ($("text").value) startTyping();
  else stopTyping();
});

if (typeof io !== "function") {
  setStatus("error", "the Socket.IO client did not load from /socket.io/socket.io.js");
}
