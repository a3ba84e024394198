//! Sizes (`32G`, `512M`) and durations (`1h`, `90m`, `45s`) as the `image` options spell them.

use std::fmt;
use std::time::Duration;

/// A byte count. Written as a whole number and one of the binary units K, M, G, T (1G = 1024 MiB), which
/// may also be spelled KiB, MiB, GiB, TiB, as sizes are printed.
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

/// Parses a size such as `32G`, `512M` or `32GiB` (a clap value parser: the message is shown after
/// "invalid value").
pub fn parse_size(text: &str) -> Result<Size, String> {
    if text.is_empty() {
        return Err("empty size; write a number and a unit, e.g. 32G or 512M".to_string());
    }
    let (number, unit) = split_number(text).ok_or_else(|| {
        format!("`{text}` is not a size; write a number and a unit, e.g. 32G or 512M")
    })?;
    let unit = unit.trim_start();
    let shift = match unit.to_ascii_uppercase().as_str() {
        "K" | "KIB" => 10,
        "M" | "MIB" => 20,
        "G" | "GIB" => 30,
        "T" | "TIB" => 40,
        "" => {
            return Err(format!(
                "`{text}` has no unit; write e.g. {text}G or {text}M (K, M, G, T are powers of 1024)"
            ));
        }
        "KB" | "MB" | "GB" | "TB" => {
            let binary = &unit[..1];
            return Err(format!(
                "`{text}` is ambiguous (powers of 1000 or of 1024?); write {number}{binary} or \
                 {number}{binary}iB (powers of 1024)"
            ));
        }
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`; use K, M, G or T (powers of 1024)"
            ));
        }
    };
    let bytes = number
        .bytes(shift)
        .ok_or_else(|| format!("`{text}` is too large or not a whole number of bytes"))?;
    if bytes == 0 {
        return Err(format!("`{text}` is zero; give a size above zero"));
    }
    Ok(Size(bytes))
}

/// The smallest boot disk ESXi 7 and later install on.
pub const MIN_DISK: Size = Size(32 << 30);
/// The least memory ESXi 7 and later install with.
pub const MIN_MEMORY: Size = Size(8 << 30);

/// Parses the size of the disk ESXi installs to: like [`parse_size`], and at least [`MIN_DISK`].
pub fn parse_disk_size(text: &str) -> Result<Size, String> {
    let size = parse_size(text)?;
    if size < MIN_DISK {
        return Err(format!(
            "`{text}` is less than the {MIN_DISK} boot disk that ESXi 7 and later need"
        ));
    }
    Ok(size)
}

/// Parses a memory size: like [`parse_size`], a whole number of MiB as QEMU's `-m` takes it, and at least
/// [`MIN_MEMORY`].
pub fn parse_memory(text: &str) -> Result<Size, String> {
    let size = parse_size(text)?;
    if !size.bytes().is_multiple_of(1 << 20) {
        return Err(format!("`{text}` is not a whole number of MiB"));
    }
    if size < MIN_MEMORY {
        return Err(format!(
            "`{text}` is less than the {MIN_MEMORY} of memory that ESXi 7 and later need"
        ));
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

/// A number as sizes are written: digits, and maybe a decimal fraction (`8.0` as sizes are printed).
#[derive(Clone, Copy, Debug)]
struct Decimal<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl fmt::Display for Decimal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fraction {
            "" => f.write_str(self.whole),
            fraction => write!(f, "{}.{fraction}", self.whole),
        }
    }
}

impl Decimal<'_> {
    /// The number times 2^`shift`, when that is a whole number that fits in u64.
    fn bytes(&self, shift: u32) -> Option<u64> {
        let scale = 10u128.checked_pow(u32::try_from(self.fraction.len()).ok()?)?;
        let digits: u128 = format!("{}{}", self.whole, self.fraction).parse().ok()?;
        let scaled = digits.checked_mul(1u128 << shift)?;
        (scaled % scale == 0)
            .then(|| u64::try_from(scaled / scale).ok())
            .flatten()
    }
}

/// Splits `32G` into 32 and `G`, `8.0 GiB` into 8.0 and ` GiB`; `None` when the text does not start with
/// a number.
fn split_number(text: &str) -> Option<(Decimal<'_>, &str)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let whole = digits(text);
    if whole == 0 {
        return None;
    }
    let rest = &text[whole..];
    let fraction = match rest.strip_prefix('.') {
        Some(after) if digits(after) > 0 => digits(after),
        _ => {
            return Some((
                Decimal {
                    whole: &text[..whole],
                    fraction: "",
                },
                rest,
            ));
        }
    };
    Some((
        Decimal {
            whole: &text[..whole],
            fraction: &rest[1..=fraction],
        },
        &rest[1 + fraction..],
    ))
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
    fn sizes_as_they_are_printed_are_read_back() {
        for size in [
            Size(32 << 30),
            Size(8 << 30),
            Size(512 << 20),
            Size(64 << 10),
        ] {
            assert_eq!(parse_size(&human_bytes(size.bytes())), Ok(size));
        }
        assert_eq!(parse_size("32GiB"), Ok(Size(32 << 30)));
        assert_eq!(parse_size("8 gib"), Ok(Size(8 << 30)));
        assert_eq!(parse_size("1TiB"), Ok(Size(1 << 40)));
        assert_eq!(parse_size("8.0 GiB"), Ok(Size(8 << 30)));
        assert_eq!(parse_size("1.5G"), Ok(Size(3 << 29)));
        assert_eq!(
            parse_size("2.1 GiB"),
            Err("`2.1 GiB` is too large or not a whole number of bytes".to_string())
        );
    }

    #[test]
    fn the_disk_and_memory_have_esxi_minimums() {
        assert_eq!(parse_disk_size("32G"), Ok(MIN_DISK));
        assert_eq!(
            parse_disk_size("1G"),
            Err("`1G` is less than the 32G boot disk that ESXi 7 and later need".to_string())
        );
        assert_eq!(parse_memory("8G"), Ok(MIN_MEMORY));
        assert_eq!(
            parse_memory("1G"),
            Err("`1G` is less than the 8G of memory that ESXi 7 and later need".to_string())
        );
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
            Err(
                "`32GB` is ambiguous (powers of 1000 or of 1024?); write 32G or 32GiB (powers of 1024)"
                    .to_string()
            )
        );
        assert_eq!(
            parse_size("32XB"),
            Err("unknown unit `XB` in `32XB`; use K, M, G or T (powers of 1024)".to_string())
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
            Err("`99999999999T` is too large or not a whole number of bytes".to_string())
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
            parse_memory("8389000K"),
            Err("`8389000K` is not a whole number of MiB".to_string())
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
