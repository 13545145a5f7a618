//! The field: police units in patrol cars, with their radios, their PTT and their routes.
//!
//! - [`route`]: waypoints driven at a speed, positions and LIP reports;
//! - [`unit`]: a unit's PTT, marked speech and position reports, sans-IO.
pub mod route;
pub mod unit;
