//! What every capability stands on and none of them owns: typed settings, the root secret
//! and the ciphers derived from it, the files of the data directory, the clock, the
//! per-thread memo, logs and metrics.
//!
//! May import: nothing of this crate outside `platform`. Modules here may use each other
//! (crypto reads settings, telemetry reads the log format) but never through a cycle.

pub mod clock;
pub mod config;
pub mod crypto;
pub mod data_dir;
pub mod memo;
pub mod metrics;
pub mod telemetry;
