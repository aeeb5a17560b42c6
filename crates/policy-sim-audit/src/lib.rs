//! # policy-sim-audit
//!
//! Recorded AWS traffic (CloudTrail log files and exports, S3 server access logs, request
//! tables) decided against IAM policies with the policy-sim library, on Apache
//! DataFusion: replay of a policy change (which recorded requests would change decision),
//! isolation observed (did an identity reach another identity's area), and summaries
//! (decisions per action, identity and deciding statement; unused statements).
//!
//! | piece | module |
//! |---|---|
//! | the request table every input becomes | [`table`] |
//! | inputs: kinds, discovery, readers | [`inputs`] |
//! | whole gzip files, decompressed at once (libdeflate) | `gunzip` |
//! | loading the policies (as `policy-sim check` does) | [`policies`] |
//! | the SQL functions `decide`, `area_touch` and `field_of` | [`udf`] |
//! | the run: plan, passes, `--sql` | [`audit`] |
//! | tallying the decided table | [`tally`] |
//! | the typed result and its text | [`report`] |
//! | `--out` (Parquet, JSON Lines) | [`out`] |
//! | the same plan on Ballista (feature `ballista`) | `distributed` |
//! | errors | [`error`] |

#![warn(missing_docs)]

pub mod audit;
#[cfg(feature = "ballista")]
pub mod distributed;
pub mod error;
mod gunzip;
pub mod inputs;
pub mod out;
pub mod policies;
pub mod records;
pub mod report;
pub mod sessions;
pub mod table;
pub mod tally;
pub mod udf;

pub use audit::{Audit, Engine};
pub use error::AuditError;
pub use report::{AuditReport, Verdict};
