//! Describes where the benchmark ran: cores, kernel, CPU model, librdkafka, and the date.

use std::time::{SystemTime, UNIX_EPOCH};

/// The machine and software the numbers were measured on.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    /// Cores available to this process (what `nproc` prints).
    pub(crate) nproc: usize,
    /// `uname -r`.
    pub(crate) kernel: String,
    /// `model name` from /proc/cpuinfo.
    pub(crate) cpu: String,
    /// librdkafka's version string.
    pub(crate) librdkafka: String,
    /// When the run started, UTC (`YYYY-MM-DD HH:MM UTC`).
    pub(crate) date: String,
}

impl Machine {
    /// Reads the description of this machine.
    pub(crate) fn detect() -> Self {
        let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| cpu_model(&info))
            .unwrap_or_else(|| "unknown".to_owned());
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            nproc,
            kernel,
            cpu,
            librdkafka: rdkafka::util::get_rdkafka_version().1,
            date: utc_date_time(secs),
        }
    }

    /// One line: cores, CPU model, kernel release and librdkafka version.
    pub(crate) fn one_line(&self) -> String {
        format!(
            "nproc {}, CPU \"{}\", Linux {} (`uname -r`), librdkafka {}",
            self.nproc, self.cpu, self.kernel, self.librdkafka
        )
    }
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == "model name").then(|| v.trim().to_owned())
    })
}

/// `YYYY-MM-DD HH:MM UTC` for seconds since the Unix epoch.
fn utc_date_time(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date_time(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn cpu_model_line() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(info).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("processor : 0\n"), None);
    }
}
