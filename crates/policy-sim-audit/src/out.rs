//! `--out`: the decided table (or the `--sql` result) as Parquet or JSON Lines, chosen by
//! the file's extension.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;

use crate::error::AuditError;

/// The formats `--out` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// `.parquet`.
    Parquet,
    /// `.jsonl` (or `.ndjson`).
    JsonLines,
}

impl OutFormat {
    /// The format a file name asks for.
    pub fn of(path: &Path) -> Result<OutFormat, AuditError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("parquet") => Ok(OutFormat::Parquet),
            Some("jsonl" | "ndjson") => Ok(OutFormat::JsonLines),
            _ => Err(AuditError::Usage(format!(
                "--out {}: name a .parquet or .jsonl file",
                path.display()
            ))),
        }
    }
}

enum Sink {
    Parquet(ArrowWriter<BufWriter<File>>),
    Json(LineDelimitedWriter<BufWriter<File>>),
    /// Created, nothing written yet: the schema comes with the first batch.
    Pending(BufWriter<File>),
    Done,
}

/// A writer of batches to one file.
pub struct OutWriter {
    path: PathBuf,
    format: OutFormat,
    sink: Sink,
    rows: u64,
}

impl std::fmt::Debug for OutWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutWriter")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("rows", &self.rows)
            .finish()
    }
}

impl OutWriter {
    /// Create (or truncate) `path`, in the format its extension names.
    pub fn create(path: &Path) -> Result<OutWriter, AuditError> {
        let format = OutFormat::of(path)?;
        let file = File::create(path).map_err(|e| AuditError::Write {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(OutWriter {
            path: path.to_path_buf(),
            format,
            sink: Sink::Pending(BufWriter::new(file)),
            rows: 0,
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> AuditError {
        AuditError::Write {
            file: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    fn open(&mut self, schema: SchemaRef) -> Result<(), AuditError> {
        if let Sink::Pending(_) = self.sink {
            let Sink::Pending(file) = std::mem::replace(&mut self.sink, Sink::Done) else {
                unreachable!("checked above")
            };
            self.sink = match self.format {
                OutFormat::Parquet => Sink::Parquet(
                    ArrowWriter::try_new(file, schema, None).map_err(|e| self.error(e))?,
                ),
                OutFormat::JsonLines => Sink::Json(LineDelimitedWriter::new(file)),
            };
        }
        Ok(())
    }

    /// Write a batch (its text columns as plain `Utf8`: [`crate::table::plain_text`]).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), AuditError> {
        let batch = &crate::table::plain_text(batch).map_err(|e| self.error(e))?;
        self.open(batch.schema())?;
        let result = match &mut self.sink {
            Sink::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            Sink::Json(w) => w.write(batch).map_err(|e| e.to_string()),
            Sink::Pending(_) | Sink::Done => Err("the file is closed".to_string()),
        };
        result.map_err(|e| self.error(e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finish the file (an empty result still gets a valid file when `schema` is given);
    /// the rows written.
    pub fn finish_with(mut self, schema: Option<SchemaRef>) -> Result<u64, AuditError> {
        if let (Sink::Pending(_), Some(schema)) = (&self.sink, schema) {
            self.open(crate::table::text_as(
                &schema,
                &datafusion::arrow::datatypes::DataType::Utf8,
            ))?;
        }
        match std::mem::replace(&mut self.sink, Sink::Done) {
            Sink::Parquet(w) => {
                w.close().map_err(|e| self.error(e))?;
            }
            Sink::Json(mut w) => {
                w.finish().map_err(|e| self.error(e))?;
                let inner = w.into_inner();
                inner.into_inner().map_err(|e| self.error(e.error()))?;
            }
            Sink::Pending(w) => {
                w.into_inner().map_err(|e| self.error(e.error()))?;
            }
            Sink::Done => {}
        }
        Ok(self.rows)
    }

    /// Throw away what was written and start the file again, empty (a run made again
    /// writes its rows anew).
    pub fn start_over(self) -> Result<OutWriter, AuditError> {
        let path = self.path.clone();
        // What the writer still buffers goes to the file it truncates next.
        drop(self);
        OutWriter::create(&path)
    }

    /// [`OutWriter::finish_with`] without a schema.
    pub fn finish(self) -> Result<u64, AuditError> {
        self.finish_with(None)
    }
}
