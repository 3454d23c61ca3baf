//! Prometheus text-format counters, kept in atomics (no registry needed for a
//! handful of series).

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    /// Responses by status class: 1xx..5xx.
    responses: [AtomicU64; 5],
    /// Total request time in microseconds.
    request_micros: AtomicU64,
    pub sign_ins_ok: AtomicU64,
    pub sign_ins_failed: AtomicU64,
    pub sign_ups: AtomicU64,
    /// SQL statements run, reads (`SELECT`) and the rest; shared with the
    /// database connection's callback.
    pub db_reads: Arc<AtomicU64>,
    pub db_writes: Arc<AtomicU64>,
}

impl Metrics {
    /// Counts every statement the connection runs (sea-orm's metric callback).
    pub fn count_statements(&self, db: &mut sea_orm::DatabaseConnection) {
        let (reads, writes) = (self.db_reads.clone(), self.db_writes.clone());
        db.set_metric_callback(move |info| {
            let sql = info.statement.sql.trim_start();
            let read = sql
                .get(..6)
                .is_some_and(|k| k.eq_ignore_ascii_case("select"));
            if read { &reads } else { &writes }.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// (reads, writes) so far.
    pub fn statements(&self) -> (u64, u64) {
        (
            self.db_reads.load(Ordering::Relaxed),
            self.db_writes.load(Ordering::Relaxed),
        )
    }

    pub fn observe(&self, status: u16, micros: u64) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        self.request_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Renders the exposition format. `password_hashes_in_flight` is read live.
    pub fn render(&self, password_hashes_in_flight: usize) -> String {
        let mut out = String::with_capacity(1024);
        self.render_http(&mut out);
        self.render_counters(&mut out);
        header(
            &mut out,
            "portcullis_password_hashes_in_flight",
            "Argon2id hashes running or queued.",
            "gauge",
        );
        let _ = writeln!(
            out,
            "portcullis_password_hashes_in_flight {password_hashes_in_flight}"
        );
        out
    }

    /// Responses by status class, and the time spent serving them.
    fn render_http(&self, out: &mut String) {
        let total: u64 = self
            .responses
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum();
        header(
            out,
            "portcullis_http_responses_total",
            "HTTP responses by status class.",
            "counter",
        );
        for (i, c) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "portcullis_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        header(
            out,
            "portcullis_http_request_duration_seconds",
            "Time spent serving requests.",
            "summary",
        );
        let _ = writeln!(
            out,
            "portcullis_http_request_duration_seconds_sum {}",
            self.request_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "portcullis_http_request_duration_seconds_count {total}"
        );
    }

    /// Sign-ins, sign-ups and SQL statements.
    fn render_counters(&self, out: &mut String) {
        for (name, help, c) in [
            (
                "portcullis_sign_ins_total{result=\"ok\"}",
                "Password sign-ins.",
                &self.sign_ins_ok,
            ),
            (
                "portcullis_sign_ins_total{result=\"failed\"}",
                "",
                &self.sign_ins_failed,
            ),
            (
                "portcullis_sign_ups_total",
                "Accounts created.",
                &self.sign_ups,
            ),
            (
                "portcullis_db_statements_total{kind=\"read\"}",
                "SQL statements run.",
                &self.db_reads,
            ),
            (
                "portcullis_db_statements_total{kind=\"write\"}",
                "",
                &self.db_writes,
            ),
        ] {
            if !help.is_empty() {
                let family = name.split('{').next().unwrap_or(name);
                header(out, family, help, "counter");
            }
            let _ = writeln!(out, "{name} {}", c.load(Ordering::Relaxed));
        }
    }
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn header(out: &mut String, family: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {family} {help}");
    let _ = writeln!(out, "# TYPE {family} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let m = Metrics::default();
        m.observe(200, 1_500_000);
        m.observe(404, 500_000);
        m.sign_ins_ok.fetch_add(3, Ordering::Relaxed);
        m.db_writes.fetch_add(2, Ordering::Relaxed);
        let expected = "\
# HELP portcullis_http_responses_total HTTP responses by status class.
# TYPE portcullis_http_responses_total counter
portcullis_http_responses_total{class=\"1xx\"} 0
portcullis_http_responses_total{class=\"2xx\"} 1
portcullis_http_responses_total{class=\"3xx\"} 0
portcullis_http_responses_total{class=\"4xx\"} 1
portcullis_http_responses_total{class=\"5xx\"} 0
# HELP portcullis_http_request_duration_seconds Time spent serving requests.
# TYPE portcullis_http_request_duration_seconds summary
portcullis_http_request_duration_seconds_sum 2
portcullis_http_request_duration_seconds_count 2
# HELP portcullis_sign_ins_total Password sign-ins.
# TYPE portcullis_sign_ins_total counter
portcullis_sign_ins_total{result=\"ok\"} 3
portcullis_sign_ins_total{result=\"failed\"} 0
# HELP portcullis_sign_ups_total Accounts created.
# TYPE portcullis_sign_ups_total counter
portcullis_sign_ups_total 0
# HELP portcullis_db_statements_total SQL statements run.
# TYPE portcullis_db_statements_total counter
portcullis_db_statements_total{kind=\"read\"} 0
portcullis_db_statements_total{kind=\"write\"} 2
# HELP portcullis_password_hashes_in_flight Argon2id hashes running or queued.
# TYPE portcullis_password_hashes_in_flight gauge
portcullis_password_hashes_in_flight 4
";
        assert_eq!(m.render(4), expected);
    }
}
