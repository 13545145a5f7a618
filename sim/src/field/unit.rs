//! A simulated field unit: a police radio in a patrol car. It presses PTT when the scenario
//! says, waits for the network's grant, speaks marked 20 ms frames from a human reaction time
//! after the grant until it lets go, drives its route and reports its position by LIP.
//!
//! Sans-IO: the world tells it what the SwMI decided ([`FieldUnit::granted`],
//! [`FieldUnit::cut`]) and runs [`FieldUnit::handle_timeout`] when
//! [`FieldUnit::poll_timeout`] is due; it answers with [`UnitAction`]s for the SwMI.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::FRAME_LEN;

use super::route::{Position, Route};
use crate::swmi::TerminalId;
use crate::voice::marker::Marker;

/// One frame every 20 ms.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(20);

/// What the unit does with its PTT key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ptt {
    /// Not pressed.
    Idle,
    /// Pressed, waiting for the grant.
    Waiting { release_at: Instant },
    /// Granted: speaking from `next_frame` on.
    Talking {
        release_at: Instant,
        next_frame: Instant,
        seq: u16,
    },
    /// Pressed, but the network took the channel away: silent until let go.
    Cut { release_at: Instant },
}

/// What the unit asks of the network.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitAction {
    /// A 20 ms frame for the air.
    Speak([u8; FRAME_LEN], Marker),
    /// PTT let go: cease (or withdraw the demand).
    Release,
    /// A position report is due.
    Lip(Position),
    /// The unit reached waypoint `index` of its route.
    Waypoint(usize),
}

/// A field unit; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct FieldUnit {
    /// Its name in the scenario.
    pub name: String,
    /// Its number in voice markers.
    pub number: u16,
    /// Its terminal on the SwMI.
    pub terminal: TerminalId,
    /// Its own identity (kept when roaming).
    pub identity: Tsi,
    /// The network it is registered on now.
    pub network: Network,
    /// The group it has selected now.
    pub group: Tsi,
    route: Option<Route>,
    next_waypoint: usize,
    lip: Option<(Duration, Instant)>,
    ptt: Ptt,
    /// The transmission being spoken, numbered by the world.
    transmission: u32,
}

impl FieldUnit {
    /// A unit standing by on `group`.
    pub fn new(
        name: &str,
        number: u16,
        terminal: TerminalId,
        identity: Tsi,
        network: Network,
        group: Tsi,
    ) -> Self {
        FieldUnit {
            name: name.to_string(),
            number,
            terminal,
            identity,
            network,
            group,
            route: None,
            next_waypoint: 0,
            lip: None,
            ptt: Ptt::Idle,
            transmission: 0,
        }
    }

    /// Gives the unit a route, and LIP reports every `lip_interval` from its start.
    pub fn with_route(mut self, route: Route, lip_interval: Option<Duration>) -> Self {
        self.lip = lip_interval.map(|i| (i, route.start()));
        self.next_waypoint = 1;
        self.route = Some(route);
        self
    }

    /// Where the unit is, if it has a route.
    pub fn position(&self, now: Instant) -> Option<Position> {
        self.route.as_ref().map(|r| r.position(now))
    }

    /// The route.
    pub fn route(&self) -> Option<&Route> {
        self.route.as_ref()
    }

    /// PTT pressed at `now`, held until `release_at`, for transmission number `transmission`.
    /// `false` if the unit is still holding PTT from before (the press is ignored).
    pub fn press(&mut self, transmission: u32, release_at: Instant) -> bool {
        if self.ptt != Ptt::Idle {
            return false;
        }
        self.transmission = transmission;
        self.ptt = Ptt::Waiting { release_at };
        true
    }

    /// The network granted transmit; speech starts after `reaction`.
    pub fn granted(&mut self, now: Instant, reaction: Duration) {
        if let Ptt::Waiting { release_at } = self.ptt {
            self.ptt = Ptt::Talking {
                release_at,
                next_frame: now + reaction,
                seq: 0,
            };
        }
    }

    /// The network took the channel away (pre-empted, interrupted, refused).
    pub fn cut(&mut self) {
        match self.ptt {
            Ptt::Waiting { release_at } | Ptt::Talking { release_at, .. } => {
                self.ptt = Ptt::Cut { release_at }
            }
            Ptt::Idle | Ptt::Cut { .. } => {}
        }
    }

    /// Whether PTT is held.
    pub fn pressed(&self) -> bool {
        self.ptt != Ptt::Idle
    }

    /// The transmission number of the current (or last) press.
    pub fn transmission(&self) -> u32 {
        self.transmission
    }

    /// When [`FieldUnit::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ptt = match self.ptt {
            Ptt::Idle => None,
            Ptt::Waiting { release_at } | Ptt::Cut { release_at } => Some(release_at),
            Ptt::Talking {
                release_at,
                next_frame,
                ..
            } => Some(release_at.min(next_frame)),
        };
        let waypoint = self
            .route
            .as_ref()
            .and_then(|r| r.arrivals().get(self.next_waypoint).copied());
        let lip = self.lip.map(|(_, at)| at);
        [ptt, waypoint, lip].into_iter().flatten().min()
    }

    /// Runs what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<UnitAction>) {
        match self.ptt {
            Ptt::Waiting { release_at } | Ptt::Cut { release_at } if release_at <= now => {
                self.ptt = Ptt::Idle;
                out.push(UnitAction::Release);
            }
            Ptt::Talking {
                release_at,
                mut next_frame,
                mut seq,
            } => {
                while next_frame <= now && next_frame < release_at {
                    let marker = Marker {
                        talker: self.number,
                        transmission: self.transmission,
                        seq,
                        sent: next_frame,
                    };
                    out.push(UnitAction::Speak(marker.frame(), marker));
                    seq = seq.wrapping_add(1);
                    next_frame += FRAME_INTERVAL;
                }
                if release_at <= now {
                    self.ptt = Ptt::Idle;
                    out.push(UnitAction::Release);
                } else {
                    self.ptt = Ptt::Talking {
                        release_at,
                        next_frame,
                        seq,
                    };
                }
            }
            _ => {}
        }
        if let Some(route) = &self.route {
            while let Some(at) = route.arrivals().get(self.next_waypoint)
                && *at <= now
            {
                out.push(UnitAction::Waypoint(self.next_waypoint));
                self.next_waypoint += 1;
            }
            if let Some((interval, at)) = self.lip
                && at <= now
            {
                out.push(UnitAction::Lip(route.position(now)));
                // Reports stop once the unit has parked at the end of its route.
                let next = at + interval;
                let end = route.arrivals().last().copied().unwrap_or(now);
                self.lip = (at < end).then_some((interval, next));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> FieldUnit {
        let g = Tsi::from_parts(206, 1, 2_061_001).unwrap();
        let me = Tsi::from_parts(206, 1, 1_234_567).unwrap();
        FieldUnit::new("BE-1", 1, TerminalId(0), me, Network::Astrid, g)
    }

    fn drive(u: &mut FieldUnit, until: Instant) -> Vec<(Instant, UnitAction)> {
        let mut out = Vec::new();
        while let Some(t) = u.poll_timeout().filter(|t| *t <= until) {
            let mut actions = Vec::new();
            u.handle_timeout(t, &mut actions);
            out.extend(actions.into_iter().map(|a| (t, a)));
        }
        out
    }

    #[test]
    fn speaks_a_frame_every_20_ms_from_the_reaction_time_until_release() {
        let mut u = unit();
        assert!(u.press(7, Instant::from_millis(2_000)));
        assert!(!u.press(8, Instant::from_millis(3_000)), "already pressed");
        u.granted(Instant::from_millis(300), Duration::from_millis(200));
        let actions = drive(&mut u, Instant::from_millis(10_000));
        let frames: Vec<&Marker> = actions
            .iter()
            .filter_map(|(_, a)| match a {
                UnitAction::Speak(_, m) => Some(m),
                _ => None,
            })
            .collect();
        // From 500 ms to 2000 ms: 75 frames.
        assert_eq!(frames.len(), 75);
        assert_eq!(frames[0].sent, Instant::from_millis(500));
        assert!(
            frames
                .iter()
                .enumerate()
                .all(|(i, m)| m.seq as usize == i && m.transmission == 7)
        );
        assert_eq!(actions.last().unwrap().1, UnitAction::Release);
        assert!(!u.pressed());
    }

    #[test]
    fn a_cut_unit_is_silent_until_it_lets_go() {
        let mut u = unit();
        u.press(1, Instant::from_millis(1_000));
        u.granted(Instant::ZERO, Duration::ZERO);
        let mut out = Vec::new();
        u.handle_timeout(Instant::from_millis(100), &mut out);
        assert_eq!(out.len(), 6);
        u.cut();
        let rest = drive(&mut u, Instant::from_millis(5_000));
        assert_eq!(rest, [(Instant::from_millis(1_000), UnitAction::Release)]);
    }
}
