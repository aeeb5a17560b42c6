//! `check --requests`: the summary of a batch run in which some lines failed (the
//! decisions themselves are JSON lines, see [`super::check`]).

use crate::eval::batch::BatchSummary;

/// `N request(s) decided, M line(s) failed` (with the newline), or `None` when no line
/// failed.
pub fn failures_text(summary: &BatchSummary) -> Option<String> {
    (summary.failed > 0).then(|| {
        format!(
            "{} request(s) decided, {} line(s) failed\n",
            summary.decided, summary.failed
        )
    })
}
