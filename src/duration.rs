//! Durations as people write them in `daft.yml` (`30s`, `10m`, `1h30m`, `500ms`) and as daft
//! prints them.

use std::time::Duration;

/// Parses `90`, `90s`, `10m`, `1h30m`, `250ms`. A bare number is seconds.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let expected = || format!("`{text}` is not a duration; expected e.g. 30s, 10m, 1h30m or 500ms");
    if text.is_empty() {
        return Err(expected());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(expected());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| expected())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(expected()),
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// `0.3s`, `12.1s`, `3m05s`, `2h05m`, `30d00h`: short enough for a summary line.
pub(crate) fn human(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    let whole = duration.as_secs();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if whole < 3600 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else if whole < 86_400 {
        format!("{}h{:02}m", whole / 3600, whole % 3600 / 60)
    } else {
        format!("{}d{:02}h", whole / 86_400, whole % 86_400 / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_people_write() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        assert!(parse("ten minutes").is_err());
        assert!(parse("").is_err());
        assert!(parse("5d").is_err());
        assert!(parse("m").is_err());
    }

    #[test]
    fn prints_short_durations() {
        assert_eq!(human(Duration::from_millis(1234)), "1.2s");
        assert_eq!(human(Duration::from_secs(185)), "3m05s");
        assert_eq!(human(Duration::from_secs(7500)), "2h05m");
        assert_eq!(human(Duration::from_secs(u64::MAX)), "213503982334601d07h");
    }
}
