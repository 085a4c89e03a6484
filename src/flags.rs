//! Value parsers for flags, shared by the option structs that declare them
//! (`Config`, `ServeOptions`, `DatabaseOptions`): each value is checked
//! where clap parses it.

use std::time::Duration;

/// A duration of more than zero (a timeout of zero would fail everything).
pub fn positive_duration(spec: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(spec).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        Err("must be more than zero".into())
    } else {
        Ok(duration)
    }
}

/// A count of at least `MIN`.
pub fn at_least<const MIN: usize>(spec: &str) -> Result<usize, String> {
    let n: usize = spec.parse().map_err(|e| format!("{e}"))?;
    if n < MIN {
        Err(format!("must be at least {MIN}"))
    } else {
        Ok(n)
    }
}

/// `on` or `off`.
pub fn on_off(spec: &str) -> Result<bool, String> {
    match spec {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

/// `--max-unsent-bytes`: 0 for no limit (`None`), else at least 4 KiB.
pub fn parse_max_unsent(spec: &str) -> Result<Option<u32>, String> {
    match spec.parse::<u32>().map_err(|e| format!("{e}"))? {
        0 => Ok(None),
        bytes if bytes < 4096 => Err("must be 0 (no limit) or at least 4096".into()),
        bytes => Ok(Some(bytes)),
    }
}
