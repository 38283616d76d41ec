//! [`Heartbeat`]: the Engine.IO v4 server heartbeat, as a state machine.
//!
//! The server sends a ping `pingInterval` after the session opens and after
//! every pong; if no pong comes within `pingTimeout` of a ping, the session
//! is dead (`ping timeout`). Only a pong counts as liveness. There is never
//! more than one ping outstanding. Time is an argument: the caller owns the
//! clock and the timer, and calls [`on_timeout`](Heartbeat::on_timeout) when
//! [`deadline`](Heartbeat::deadline) passes (waking early or late is fine).

use std::time::{Duration, Instant};

/// Timers fire at their deadline at the earliest, and usually up to a
/// millisecond or two later (tokio rounds up to the next millisecond): a
/// deadline this close counts as reached, so that a silent peer is closed at
/// `pingTimeout`, not at `pingTimeout` plus the timer's lag.
pub const TIMER_SLACK: Duration = Duration::from_millis(2);

/// What the caller must do after a timer fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatAction {
    /// Nothing yet (woke up early): sleep until the new deadline.
    Wait,
    /// Send a ping (`2`) now.
    SendPing,
    /// No pong in time: close the session with reason `ping timeout`.
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The next ping is due at this instant.
    Idle { ping_at: Instant },
    /// A ping went out; the pong is due by this instant.
    AwaitingPong { deadline: Instant },
}

/// The server side of the Engine.IO v4 heartbeat.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sio_proto::engine::{Heartbeat, HeartbeatAction};
///
/// let t0 = Instant::now();
/// let ms = Duration::from_millis;
/// let mut hb = Heartbeat::new(t0, ms(300), ms(200));
/// assert_eq!(hb.deadline(), t0 + ms(300));
/// assert_eq!(hb.on_timeout(t0 + ms(300)), HeartbeatAction::SendPing);
/// assert_eq!(hb.deadline(), t0 + ms(500));
/// hb.on_pong(t0 + ms(350));                      // the next ping is due 300 ms after the pong
/// assert_eq!(hb.deadline(), t0 + ms(650));
/// assert_eq!(hb.on_timeout(t0 + ms(650)), HeartbeatAction::SendPing);
/// assert_eq!(hb.on_timeout(t0 + ms(850)), HeartbeatAction::TimedOut);
/// ```
#[derive(Debug, Clone)]
pub struct Heartbeat {
    interval: Duration,
    timeout: Duration,
    state: State,
}

impl Heartbeat {
    /// A heartbeat for a session opened at `now`.
    pub fn new(now: Instant, interval: Duration, timeout: Duration) -> Heartbeat {
        Heartbeat {
            interval,
            timeout,
            state: State::Idle {
                ping_at: now + interval,
            },
        }
    }

    /// When [`on_timeout`](Heartbeat::on_timeout) must be called next.
    pub fn deadline(&self) -> Instant {
        match self.state {
            State::Idle { ping_at } => ping_at,
            State::AwaitingPong { deadline } => deadline,
        }
    }

    /// Whether a ping is outstanding.
    pub fn awaiting_pong(&self) -> bool {
        matches!(self.state, State::AwaitingPong { .. })
    }

    /// The timer fired at `now`.
    pub fn on_timeout(&mut self, now: Instant) -> HeartbeatAction {
        match self.state {
            State::Idle { ping_at } if now + TIMER_SLACK >= ping_at => {
                // The pong is due `timeout` after the ping was due, not after
                // the timer happened to fire (timers round up); but a timer
                // that fired very late still leaves the peer a fair chance.
                let deadline = (ping_at + self.timeout).max(now + self.timeout / 4);
                self.state = State::AwaitingPong { deadline };
                HeartbeatAction::SendPing
            }
            State::AwaitingPong { deadline } if now + TIMER_SLACK >= deadline => {
                HeartbeatAction::TimedOut
            }
            _ => HeartbeatAction::Wait,
        }
    }

    /// A pong arrived at `now` (an unsolicited one also pushes the next ping back).
    pub fn on_pong(&mut self, now: Instant) {
        self.state = State::Idle {
            ping_at: now + self.interval,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_wakeups_wait() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut hb = Heartbeat::new(t0, ms(100), ms(50));
        assert_eq!(hb.on_timeout(t0 + ms(97)), HeartbeatAction::Wait);
        assert_eq!(hb.on_timeout(t0 + ms(120)), HeartbeatAction::SendPing);
        // The pong deadline counts from when the ping was due.
        assert_eq!(hb.deadline(), t0 + ms(150));
        assert_eq!(hb.on_timeout(t0 + ms(147)), HeartbeatAction::Wait);
        assert!(hb.awaiting_pong());
        assert_eq!(hb.on_timeout(t0 + ms(150)), HeartbeatAction::TimedOut);
    }

    #[test]
    fn a_very_late_timer_still_leaves_time_for_the_pong() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut hb = Heartbeat::new(t0, ms(100), ms(40));
        assert_eq!(hb.on_timeout(t0 + ms(500)), HeartbeatAction::SendPing);
        assert_eq!(hb.deadline(), t0 + ms(510));
    }
}
