//! Sizes (`32G`, `512M`) and durations (`1h`, `90m`, `45s`) as the `image` options spell them.

use std::fmt;
use std::time::Duration;

/// A byte count. Written as a whole number and one of the binary units K, M, G, T (1G = 1024 MiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(u64);

impl Size {
    pub const fn from_bytes(bytes: u64) -> Size {
        Size(bytes)
    }

    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// The size in MiB, rounded down.
    pub const fn mib(self) -> u64 {
        self.0 >> 20
    }
}

impl fmt::Display for Size {
    /// The largest unit that expresses the size exactly, e.g. `32G`, `1536M`, `1000K`, or bytes as `B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (shift, unit) in [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')] {
            if self.0 != 0 && self.0.is_multiple_of(1 << shift) {
                return write!(f, "{}{unit}", self.0 >> shift);
            }
        }
        write!(f, "{}B", self.0)
    }
}

/// Parses a size such as `32G` or `512M` (a clap value parser: the message is shown after "invalid value").
pub fn parse_size(text: &str) -> Result<Size, String> {
    if text.is_empty() {
        return Err("empty size; write a number and a unit, e.g. 32G or 512M".to_string());
    }
    let (number, unit) = split_number(text).ok_or_else(|| {
        format!("`{text}` is not a size; write a number and a unit, e.g. 32G or 512M")
    })?;
    let shift = match unit {
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        "T" | "t" => 40,
        "" => {
            return Err(format!(
                "`{text}` has no unit; write e.g. {text}G or {text}M (K, M, G, T are powers of 1024)"
            ));
        }
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`; use K, M, G or T (powers of 1024)"
            ));
        }
    };
    let bytes = number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if bytes == 0 {
        return Err(format!("`{text}` is zero; give a size above zero"));
    }
    Ok(Size(bytes))
}

/// Parses a memory size: like [`parse_size`], and a whole number of MiB as QEMU's `-m` takes it.
pub fn parse_memory(text: &str) -> Result<Size, String> {
    let size = parse_size(text)?;
    if !size.bytes().is_multiple_of(1 << 20) {
        return Err(format!("`{text}` is not a whole number of MiB"));
    }
    Ok(size)
}

/// Parses a duration: one or more `<number><unit>` parts with units h, m, s, e.g. `1h`, `90m`, `1h30m`, `45s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total: u64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return Err("empty duration; write e.g. 1h, 90m or 45s".to_string());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration; write e.g. 1h, 90m, 1h30m or 45s"
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` is too long a duration"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .chars()
            .next()
            .filter(|c| c.is_ascii_alphabetic())
            .map_or(0, char::len_utf8);
        let seconds = match &rest[..unit_len] {
            "h" => 3600,
            "m" => 60,
            "s" => 1,
            "" => {
                return Err(format!(
                    "`{text}` has a number without a unit; use h, m or s, e.g. {number}m"
                ));
            }
            unit => {
                return Err(format!("unknown unit `{unit}` in `{text}`; use h, m or s"));
            }
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
    }
    if total == 0 {
        return Err(format!("`{text}` is zero; give a duration above zero"));
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration as `h:mm:ss`, the way the progress display shows elapsed time.
pub fn clock(duration: Duration) -> String {
    let s = duration.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Formats a byte count for people: `0 B`, `512 KiB`, `2.1 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// Splits `32G` into 32 and `G`; `None` when the text does not start with a number that fits in u64.
fn split_number(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("32G"), Ok(Size(32 << 30)));
        assert_eq!(parse_size("8g"), Ok(Size(8 << 30)));
        assert_eq!(parse_size("512M"), Ok(Size(512 << 20)));
        assert_eq!(parse_size("1T"), Ok(Size(1 << 40)));
        assert_eq!(parse_size("64K"), Ok(Size(64 << 10)));
        assert_eq!(parse_size("32G").map(Size::mib), Ok(32 * 1024));
    }

    #[test]
    fn size_errors_say_what_to_write() {
        assert_eq!(
            parse_size("32"),
            Err(
                "`32` has no unit; write e.g. 32G or 32M (K, M, G, T are powers of 1024)"
                    .to_string()
            )
        );
        assert_eq!(
            parse_size("32GB"),
            Err("unknown unit `GB` in `32GB`; use K, M, G or T (powers of 1024)".to_string())
        );
        assert_eq!(
            parse_size("big"),
            Err("`big` is not a size; write a number and a unit, e.g. 32G or 512M".to_string())
        );
        assert_eq!(
            parse_size(""),
            Err("empty size; write a number and a unit, e.g. 32G or 512M".to_string())
        );
        assert_eq!(
            parse_size("0G"),
            Err("`0G` is zero; give a size above zero".to_string())
        );
        assert_eq!(
            parse_size("99999999999T"),
            Err("`99999999999T` is too large".to_string())
        );
        assert_eq!(
            parse_size("-1G"),
            Err("`-1G` is not a size; write a number and a unit, e.g. 32G or 512M".to_string())
        );
    }

    #[test]
    fn memory_is_whole_mib() {
        assert_eq!(parse_memory("8G"), Ok(Size(8 << 30)));
        assert_eq!(
            parse_memory("1500K"),
            Err("`1500K` is not a whole number of MiB".to_string())
        );
    }

    #[test]
    fn sizes_display_in_their_largest_exact_unit() {
        assert_eq!(Size(32 << 30).to_string(), "32G");
        assert_eq!(Size(1536 << 20).to_string(), "1536M");
        assert_eq!(Size(1000 << 10).to_string(), "1000K");
        assert_eq!(Size(1000).to_string(), "1000B");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2m5s"), Ok(Duration::from_secs(125)));
    }

    #[test]
    fn duration_errors_say_what_to_write() {
        assert_eq!(
            parse_duration("90"),
            Err("`90` has a number without a unit; use h, m or s, e.g. 90m".to_string())
        );
        assert_eq!(
            parse_duration("1d"),
            Err("unknown unit `d` in `1d`; use h, m or s".to_string())
        );
        assert_eq!(
            parse_duration("soon"),
            Err("`soon` is not a duration; write e.g. 1h, 90m, 1h30m or 45s".to_string())
        );
        assert_eq!(
            parse_duration(""),
            Err("empty duration; write e.g. 1h, 90m or 45s".to_string())
        );
        assert_eq!(
            parse_duration("0s"),
            Err("`0s` is zero; give a duration above zero".to_string())
        );
        assert_eq!(
            parse_duration("99999999999999999999h"),
            Err("`99999999999999999999h` is too long a duration".to_string())
        );
        assert_eq!(
            parse_duration("9999999999999999h"),
            Err("`9999999999999999h` is too long a duration".to_string())
        );
    }

    #[test]
    fn clock_and_bytes_for_the_progress_line() {
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
        assert_eq!(clock(Duration::from_millis(999)), "0:00:00");
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(512 << 10), "512 KiB");
        assert_eq!(human_bytes((21 << 30) / 10), "2.1 GiB");
        assert_eq!(human_bytes(32 << 30), "32 GiB");
    }
}
