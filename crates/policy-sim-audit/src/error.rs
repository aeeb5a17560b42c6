//! The audit's errors: every one names the file (and line or JSON path) it comes from and
//! exits 2.

use policy_sim::logs::LogError;

/// Why an audit could not run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AuditError {
    /// A policy input could not be loaded (the core loader's error, with its location).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Load(#[from] policy_sim::load::Error),
    /// A template that cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Template(#[from] policy_sim::template::TemplateError),
    /// A policy type file (resource policy, boundary, SCP ...) could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Types(#[from] policy_sim::load::types::TypesError),
    /// A path outside the project root, or one that cannot be opened.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Root(#[from] policy_sim::root::RootError),
    /// A log file that cannot be read as its kind.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Log(#[from] LogError),
    /// An input whose kind cannot be told.
    #[error("{file}: {reason}")]
    #[diagnostic(code(policy_sim_audit::input))]
    Input {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Wrong or conflicting options.
    #[error("{0}")]
    #[diagnostic(code(policy_sim_audit::usage))]
    Usage(String),
    /// The isolation areas cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Areas(#[from] policy_sim::analysis::prover::ProverError),
    /// The query engine failed (a wrong `--sql`, an unreadable Parquet file ...).
    #[error("query engine: {0}")]
    #[diagnostic(code(policy_sim_audit::engine))]
    Engine(String),
    /// An input reader's error, as it came back through the engine (its text names the
    /// file and line).
    #[error("{0}")]
    #[diagnostic(code(policy_sim_audit::read))]
    Reader(String),
    /// Writing a result failed.
    #[error("{file}: {reason}")]
    #[diagnostic(code(policy_sim_audit::write))]
    Write {
        /// The file (or `standard output`).
        file: String,
        /// The system's reason.
        reason: String,
    },
}

impl From<datafusion::error::DataFusionError> for AuditError {
    fn from(e: datafusion::error::DataFusionError) -> AuditError {
        use datafusion::error::DataFusionError;
        // An error raised by our own input readers travels through the engine as an
        // external error (possibly shared between streams): show it as it was raised, with
        // its file and line.
        if let DataFusionError::External(inner) = e.find_root()
            && let Some(audit) = inner.downcast_ref::<AuditError>()
        {
            return AuditError::Reader(audit.to_string());
        }
        match e {
            DataFusionError::External(inner) => match inner.downcast::<AuditError>() {
                Ok(audit) => *audit,
                Err(other) => AuditError::Engine(other.to_string()),
            },
            other => AuditError::Engine(other.to_string()),
        }
    }
}

impl From<datafusion::arrow::error::ArrowError> for AuditError {
    fn from(e: datafusion::arrow::error::ArrowError) -> AuditError {
        AuditError::Engine(e.to_string())
    }
}
