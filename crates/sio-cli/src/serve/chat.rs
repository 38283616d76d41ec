//! The chat of `sio serve`, on the main namespace `/`.
//!
//! The protocol (client → server events carry one object and expect an ack;
//! every ack is `{ok: true, ...}` or `{ok: false, error: "..."}`):
//!
//! | client emits | payload | ack on success |
//! | --- | --- | --- |
//! | `join` | `{room}` | `{ok, room, members, history}` |
//! | `leave` | `{room}` | `{ok, room}` |
//! | `message` | `{room, text}` | `{ok, id, at}` (the "sent" tick) |
//! | `typing` | `{room, typing}` | none (not acked) |
//!
//! | server emits | payload | when |
//! | --- | --- | --- |
//! | `members` | `{room, members: [{id, name}]}` | to the room, after a join, leave or disconnect |
//! | `message` | `{id, room, from: {id, name}, text, at}` (asks for an ack) | to the other members of the room |
//! | `delivered` | `{room, id, to}` | to the sender, once all `to` recipients acked (the "delivered" tick) |
//! | `typing` | `{room, id, name, typing}` | to the other members of the room (volatile) |
//!
//! The name comes from the handshake's `auth.name` (trimmed, at most
//! [`MAX_NAME`] characters; otherwise `guest-` and the start of the
//! socket id). Every input is checked: a bad one gets `{ok: false, error}`
//! (or is dropped when it wants no ack), never a crash. Sizes are bounded:
//! [`MAX_TEXT`] per message, [`MAX_ROOMS_PER_SOCKET`], [`MAX_ROOMS`] rooms
//! with history, [`HISTORY`] messages kept per room (dropped when the room
//! empties), [`MAX_PENDING_DELIVERIES`] messages per socket waiting for
//! their "delivered".

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sio_server::proto::Value;
use sio_server::{Event, Namespace, Socket, SocketIo};

/// The longest name, in characters.
pub const MAX_NAME: usize = 32;
/// The longest room name, in characters.
pub const MAX_ROOM: usize = 40;
/// The longest message, in characters.
pub const MAX_TEXT: usize = 2000;
/// How many rooms one socket may be in.
pub const MAX_ROOMS_PER_SOCKET: usize = 16;
/// How many rooms the server keeps history for.
pub const MAX_ROOMS: usize = 1000;
/// Messages kept per room (sent to whoever joins).
pub const HISTORY: usize = 50;
/// How long the server waits for recipients to ack a message.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages of one socket waiting for their recipients' acks: past that,
/// new ones are refused ("slow down") instead of piling up waiting tasks.
pub const MAX_PENDING_DELIVERIES: usize = 64;

/// A chat message, as broadcast and kept in history.
#[derive(Debug, Clone, Serialize)]
struct Message {
    id: String,
    room: String,
    from: Member,
    text: String,
    at: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Member {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct RoomReq {
    room: String,
}

#[derive(Deserialize)]
struct MessageReq {
    room: String,
    text: String,
}

#[derive(Deserialize)]
struct TypingReq {
    room: String,
    typing: bool,
}

/// What the chat keeps: history per room, and the message counter.
#[derive(Default)]
struct Chat {
    history: Mutex<HashMap<String, VecDeque<Message>>>,
    next_id: AtomicU64,
    /// Members live on several nodes (`--redis`): member lists come from
    /// `fetch_sockets` across the cluster instead of this node's sockets.
    clustered: bool,
}

impl Chat {
    fn history_of(&self, room: &str) -> Vec<Message> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history
            .get(room)
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Keeps `msg`; false when the room is new and there are too many rooms.
    fn record(&self, msg: &Message) -> bool {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if !history.contains_key(&msg.room) && history.len() >= MAX_ROOMS {
            return false;
        }
        let kept = history.entry(msg.room.clone()).or_default();
        if kept.len() == HISTORY {
            kept.pop_front();
        }
        kept.push_back(msg.clone());
        true
    }

    fn forget(&self, room: &str) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.remove(room);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A name from `auth.name`, or `guest-xxxx`.
fn name_from_auth(auth: &Value, id: &str) -> String {
    let given = match auth.get("name") {
        Some(Value::String(s)) => s.trim(),
        _ => "",
    };
    let clean = given.chars().count() <= MAX_NAME && !given.chars().any(char::is_control);
    if !given.is_empty() && clean {
        given.to_owned()
    } else {
        format!("guest-{}", id.chars().take(4).collect::<String>())
    }
}

fn name_of(socket: &Socket) -> String {
    match socket.data() {
        Value::String(name) => name,
        _ => "?".to_owned(),
    }
}

/// A room name: trimmed, not empty, no control characters, not a socket id.
fn check_room(room: &str, ns: &Namespace) -> Result<String, String> {
    let room = room.trim();
    if room.is_empty() {
        return Err("the room name is empty".into());
    }
    if room.chars().count() > MAX_ROOM {
        return Err(format!(
            "the room name is longer than {MAX_ROOM} characters"
        ));
    }
    if room.chars().any(char::is_control) {
        return Err("the room name has control characters".into());
    }
    // Every socket is alone in the room named by its id: not a chat room.
    if ns.get_socket(room).is_some() {
        return Err("that room name is taken".into());
    }
    Ok(room.to_owned())
}

/// The chat rooms `socket` is in (not its own id room).
fn chat_rooms(socket: &Socket) -> Vec<String> {
    let own = socket.id().to_string();
    socket
        .rooms()
        .into_iter()
        .map(|r| r.to_string())
        .filter(|r| *r != own)
        .collect()
}

fn members_of(ns: &Arc<Namespace>, room: &str, except: Option<&str>) -> Vec<Member> {
    let mut members: Vec<Member> = ns
        .to(room)
        .local_sockets()
        .into_iter()
        .filter(|s| Some(s.id().as_str()) != except)
        .map(|s| Member {
            id: s.id().to_string(),
            name: name_of(&s),
        })
        .collect();
    members.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    members
}

/// Sends the room's member list to the room (without `except`, who is leaving).
fn announce_members(chat: &Arc<Chat>, ns: &Arc<Namespace>, room: &str, except: Option<&str>) {
    if chat.clustered {
        // The members of every node: asked over the adapter, so the list goes
        // out once the other nodes have answered.
        let (chat, ns, room) = (chat.clone(), ns.clone(), room.to_owned());
        let except = except.map(str::to_owned);
        tokio::spawn(async move {
            let sockets = match ns.to(room.as_str()).fetch_sockets().await {
                Ok(sockets) => sockets,
                Err(e) => {
                    eprintln!("sio serve: member list of {room:?}: {e}");
                    return;
                }
            };
            let mut members: Vec<Member> = sockets
                .iter()
                .filter(|s| Some(s.id().as_str()) != except.as_deref())
                .map(|s| Member {
                    id: s.id().to_string(),
                    name: match s.data() {
                        Value::String(name) => name.clone(),
                        _ => "?".to_owned(),
                    },
                })
                .collect();
            members.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            send_members(&chat, &ns, &room, except.as_deref(), members);
        });
        return;
    }
    let members = members_of(ns, room, except);
    send_members(chat, ns, room, except, members);
}

fn send_members(
    chat: &Chat,
    ns: &Arc<Namespace>,
    room: &str,
    except: Option<&str>,
    members: Vec<Member>,
) {
    if members.is_empty() {
        chat.forget(room);
        return;
    }
    let op = match except {
        Some(id) => ns.to(room).except(id),
        None => ns.to(room),
    };
    let _ = op.emit("members", &(json!({ "room": room, "members": members }),));
}

/// Answers the event's ack, if it asked for one.
fn reply(ev: &Event, result: Result<serde_json::Value, String>) {
    if !ev.wants_ack() {
        return;
    }
    let answer = match result {
        Ok(mut ok) => {
            ok["ok"] = json!(true);
            ok
        }
        Err(error) => json!({ "ok": false, "error": error }),
    };
    let _ = ev.ack(&(answer,));
}

/// The payload object of an event, or a clear error.
fn payload<T: serde::de::DeserializeOwned>(ev: &Event, shape: &str) -> Result<T, String> {
    ev.args::<(T,)>()
        .map(|(t,)| t)
        .map_err(|_| format!("expected one object {shape}"))
}

/// Sets up the chat on the main namespace of `io`; `clustered` when `io`
/// shares its rooms with other nodes (a Redis adapter).
pub fn install(io: &SocketIo, clustered: bool) {
    let chat = Arc::new(Chat {
        clustered,
        ..Chat::default()
    });
    io.ns("/", move |socket: Arc<Socket>| {
        let chat = chat.clone();
        async move { on_connection(chat, socket) }
    });
}

fn on_connection(chat: Arc<Chat>, socket: Arc<Socket>) {
    let name = name_from_auth(&socket.handshake().auth, socket.id());
    socket.set_data(Value::String(name.clone()));
    let addr = socket
        .handshake()
        .address
        .map_or_else(|| "?".to_owned(), |a| a.to_string());
    eprintln!(
        "sio serve: connect {} \"{name}\" from {addr} over {}",
        socket.id(),
        socket.conn().transport().as_str()
    );

    on_request(&socket, &chat, "join", join);
    on_request(&socket, &chat, "leave", leave);
    let c = chat.clone();
    let pending = Arc::new(AtomicUsize::new(0));
    socket.on("message", move |ev| {
        let chat = c.clone();
        let pending = pending.clone();
        async move { message(&chat, &ev, pending) }
    });
    socket.on("typing", |ev| async move {
        let socket = ev.socket();
        let Ok(req) = payload::<TypingReq>(&ev, "{room, typing}") else {
            return;
        };
        if !chat_rooms(socket).contains(&req.room) {
            return;
        }
        let _ = socket.to(req.room.as_str()).volatile().emit(
            "typing",
            &(json!({ "room": req.room, "id": socket.id().as_str(), "name": name_of(socket), "typing": req.typing }),),
        );
    });
    // The member lists change when a socket goes: computed while its rooms
    // are still known (disconnecting), without it.
    let c = chat.clone();
    socket.on_disconnecting(move |socket, reason| {
        for room in chat_rooms(&socket) {
            announce_members(&c, socket.ns(), &room, Some(socket.id().as_str()));
        }
        eprintln!(
            "sio serve: disconnect {} \"{}\" ({reason})",
            socket.id(),
            name_of(&socket)
        );
        async {}
    });
}

/// A request: `handler`'s result is the ack.
fn on_request(
    socket: &Socket,
    chat: &Arc<Chat>,
    event: &str,
    handler: fn(&Arc<Chat>, &Event) -> Result<serde_json::Value, String>,
) {
    let chat = chat.clone();
    socket.on(event, move |ev| {
        let chat = chat.clone();
        async move { reply(&ev, handler(&chat, &ev)) }
    });
}

fn join(chat: &Arc<Chat>, ev: &Event) -> Result<serde_json::Value, String> {
    let socket = ev.socket();
    let req = payload::<RoomReq>(ev, "{room}")?;
    let room = check_room(&req.room, socket.ns())?;
    let rooms = chat_rooms(socket);
    if !rooms.contains(&room) && rooms.len() >= MAX_ROOMS_PER_SOCKET {
        return Err(format!("at most {MAX_ROOMS_PER_SOCKET} rooms at once"));
    }
    socket.join(room.as_str());
    eprintln!(
        "sio serve: {} \"{}\" joined {room:?}",
        socket.id(),
        name_of(socket)
    );
    announce_members(chat, socket.ns(), &room, None);
    Ok(json!({
        "room": room,
        "members": members_of(socket.ns(), &room, None),
        "history": chat.history_of(&room),
    }))
}

fn leave(chat: &Arc<Chat>, ev: &Event) -> Result<serde_json::Value, String> {
    let socket = ev.socket();
    let req = payload::<RoomReq>(ev, "{room}")?;
    let room = req.room.trim();
    if !chat_rooms(socket).iter().any(|r| r == room) {
        return Err(format!("not in room {room:?}"));
    }
    socket.leave(room);
    eprintln!(
        "sio serve: {} \"{}\" left {room:?}",
        socket.id(),
        name_of(socket)
    );
    announce_members(chat, socket.ns(), room, None);
    Ok(json!({ "room": room }))
}

/// Counts one delivery in flight for as long as it lives.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn message(chat: &Chat, ev: &Event, pending: Arc<AtomicUsize>) {
    let socket = ev.socket();
    if pending.load(Ordering::Relaxed) >= MAX_PENDING_DELIVERIES {
        return reply(
            ev,
            Err("too many messages waiting for delivery; slow down".into()),
        );
    }
    let checked = payload::<MessageReq>(ev, "{room, text}").and_then(|req| {
        if !chat_rooms(socket).contains(&req.room) {
            return Err(format!("join room {:?} first", req.room));
        }
        let text = req.text.trim_end();
        if text.trim().is_empty() {
            return Err("the message is empty".into());
        }
        if text.chars().count() > MAX_TEXT {
            return Err(format!("the message is longer than {MAX_TEXT} characters"));
        }
        Ok(Message {
            id: format!("m{}", chat.next_id.fetch_add(1, Ordering::Relaxed) + 1),
            room: req.room,
            from: Member {
                id: socket.id().to_string(),
                name: name_of(socket),
            },
            text: text.to_owned(),
            at: now_ms(),
        })
    });
    let msg = match checked {
        Ok(msg) if chat.record(&msg) => msg,
        Ok(_) => return reply(ev, Err("too many rooms on this server".into())),
        Err(e) => return reply(ev, Err(e)),
    };
    // First tick: the server has it (the ack goes out before the broadcast,
    // so it reaches the sender before `delivered`).
    reply(ev, Ok(json!({ "id": msg.id, "at": msg.at })));
    // Second tick: every other member acknowledged it.
    let delivery = socket
        .to(msg.room.as_str())
        .timeout(DELIVERY_TIMEOUT)
        .emit_with_ack::<_, Vec<Value>>("message", &(&msg,));
    let sender = socket.clone();
    pending.fetch_add(1, Ordering::Relaxed);
    let in_flight = InFlight(pending);
    tokio::spawn(async move {
        let _in_flight = in_flight;
        let delivered = match delivery.await {
            Ok(acks) => json!({ "room": msg.room, "id": msg.id, "to": acks.len() }),
            Err(e) => json!({ "room": msg.room, "id": msg.id, "error": e.to_string() }),
        };
        let _ = sender.emit("delivered", &(delivered,));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_auth_or_are_made_up() {
        let auth: Value = serde_json::from_str(r#"{"name":"  alice "}"#).unwrap();
        assert_eq!(name_from_auth(&auth, "abcdef"), "alice");
        assert_eq!(name_from_auth(&Value::Null, "abcdef"), "guest-abcd");
        let long: Value =
            serde_json::from_value(json!({ "name": "x".repeat(MAX_NAME + 1) })).unwrap();
        assert_eq!(name_from_auth(&long, "abcdef"), "guest-abcd");
        let control: Value = serde_json::from_value(json!({ "name": "a\u{7}" })).unwrap();
        assert_eq!(name_from_auth(&control, "abcdef"), "guest-abcd");
        let number: Value = serde_json::from_value(json!({ "name": 5 })).unwrap();
        assert_eq!(name_from_auth(&number, "abcdef"), "guest-abcd");
    }

    #[test]
    fn history_is_bounded() {
        let chat = Chat::default();
        let msg = |room: &str, n: usize| Message {
            id: format!("m{n}"),
            room: room.into(),
            from: Member {
                id: "s".into(),
                name: "a".into(),
            },
            text: n.to_string(),
            at: 0,
        };
        for n in 0..HISTORY + 5 {
            assert!(chat.record(&msg("r", n)));
        }
        let kept = chat.history_of("r");
        assert_eq!(kept.len(), HISTORY);
        assert_eq!(kept[0].id, "m5");
        for n in 1..MAX_ROOMS {
            assert!(chat.record(&msg(&format!("room{n}"), 0)));
        }
        assert!(!chat.record(&msg("one too many", 0)));
        chat.forget("r");
        assert!(chat.history_of("r").is_empty());
        assert!(chat.record(&msg("one too many", 0)));
    }
}
