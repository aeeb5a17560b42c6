//! The request table every input becomes: one row per request AWS authorized (an event
//! may make several), with where it came from and what AWS answered.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `source` | text | the file the row was read from |
//! | `record` | uint64 | the record's position in that file (0-based record, or line number) |
//! | `event_time` | text | the event's time (`eventTime`), when recorded |
//! | `event_name` | text | the API operation (`GetObject`), when recorded |
//! | `event_id` | text | the event's id (`eventID`, an access log's request id, a request line's `id`) |
//! | `identity` | text | the Cognito identity id, when known |
//! | `principal` | text | the caller's ARN, when known |
//! | `action` | text | the IAM action |
//! | `resource` | text | the resource ARN (or `*`) |
//! | `context` | text | the other context keys, as a JSON object (the request lines' `context`) |
//! | `recorded` | boolean | whether AWS's own answer is recorded (logs: yes; request tables: no) |
//! | `error_code` | text | the error AWS answered with (`AccessDenied`), null when it succeeded |
//!
//! Request tables given as Parquet or JSON Lines need `action` and `resource`; the other
//! request columns (`id`, `identity`, `principal`, `context`) are optional.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, LargeStringArray, StringArray, StringViewArray,
    StringViewBuilder, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use policy_sim::Request;
use policy_sim::lang::keys::COGNITO_SUB;
use policy_sim::logs::push_json_string;

/// Rows per batch the readers produce.
pub const BATCH_ROWS: usize = 1024;

/// The request table's schema (see the module documentation). Its text columns are
/// `Utf8View`: a Parquet table's strings are then read as views into the pages they were
/// read in (no copy of each cell into a fresh array), and the engine passes them on as
/// they are. What `--out` writes has plain `Utf8` columns ([`plain_text`]).
pub fn request_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8View, nullable);
    Arc::new(Schema::new(vec![
        text("source", false),
        Field::new("record", DataType::UInt64, false),
        text("event_time", true),
        text("event_name", true),
        text("event_id", true),
        text("identity", true),
        text("principal", true),
        text("action", true),
        text("resource", true),
        text("context", true),
        Field::new("recorded", DataType::Boolean, false),
        text("error_code", true),
    ]))
}

/// A text column of a batch, whichever of Arrow's string types it has (the readers give
/// `Utf8View`, the functions' results are `Utf8`, another engine may give `LargeUtf8`):
/// its cells are read in place, without a cast.
#[derive(Debug, Clone, Copy)]
pub enum TextArray<'a> {
    /// `Utf8`.
    Utf8(&'a StringArray),
    /// `LargeUtf8`.
    Large(&'a LargeStringArray),
    /// `Utf8View`.
    View(&'a StringViewArray),
}

impl<'a> TextArray<'a> {
    /// `array` as text, or `None` when it holds no strings.
    pub fn of(array: &'a dyn Array) -> Option<TextArray<'a>> {
        match array.data_type() {
            DataType::Utf8 => Some(TextArray::Utf8(array.as_string::<i32>())),
            DataType::LargeUtf8 => Some(TextArray::Large(array.as_string::<i64>())),
            DataType::Utf8View => Some(TextArray::View(array.as_string_view())),
            _ => None,
        }
    }

    /// The number of cells.
    pub fn len(self) -> usize {
        match self {
            TextArray::Utf8(a) => a.len(),
            TextArray::Large(a) => a.len(),
            TextArray::View(a) => a.len(),
        }
    }

    /// Whether there are no cells.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The cell of `row`, `None` where it is null. `row` must be below [`TextArray::len`]
    /// (Arrow panics past the end).
    pub fn get(self, row: usize) -> Option<&'a str> {
        match self {
            TextArray::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            TextArray::Large(a) => a.is_valid(row).then(|| a.value(row)),
            TextArray::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// One row, borrowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Row<'a> {
    /// The file.
    pub source: &'a str,
    /// The record's position in it.
    pub record: u64,
    /// `eventTime`.
    pub event_time: Option<&'a str>,
    /// `eventName`.
    pub event_name: Option<&'a str>,
    /// `eventID` or the request's id.
    pub event_id: Option<&'a str>,
    /// The Cognito identity id.
    pub identity: Option<&'a str>,
    /// The caller's ARN.
    pub principal: Option<&'a str>,
    /// The action.
    pub action: Option<&'a str>,
    /// The resource.
    pub resource: Option<&'a str>,
    /// The other context keys as a JSON object.
    pub context: Option<&'a str>,
    /// Whether AWS's answer is recorded.
    pub recorded: bool,
    /// AWS's error, when it failed.
    pub error_code: Option<&'a str>,
}

/// Builds request-table batches row by row.
#[derive(Debug)]
pub struct TableBuilder {
    schema: SchemaRef,
    source: StringViewBuilder,
    record: UInt64Builder,
    event_time: StringViewBuilder,
    event_name: StringViewBuilder,
    event_id: StringViewBuilder,
    identity: StringViewBuilder,
    principal: StringViewBuilder,
    action: StringViewBuilder,
    resource: StringViewBuilder,
    context: StringViewBuilder,
    recorded: BooleanBuilder,
    error_code: StringViewBuilder,
    rows: usize,
    /// Scratch for a request's context as JSON.
    json: String,
}

impl Default for TableBuilder {
    fn default() -> TableBuilder {
        TableBuilder::new()
    }
}

impl TableBuilder {
    /// An empty builder.
    pub fn new() -> TableBuilder {
        TableBuilder {
            schema: request_schema(),
            source: StringViewBuilder::new(),
            record: UInt64Builder::new(),
            event_time: StringViewBuilder::new(),
            event_name: StringViewBuilder::new(),
            event_id: StringViewBuilder::new(),
            identity: StringViewBuilder::new(),
            principal: StringViewBuilder::new(),
            action: StringViewBuilder::new(),
            resource: StringViewBuilder::new(),
            context: StringViewBuilder::new(),
            recorded: BooleanBuilder::new(),
            error_code: StringViewBuilder::new(),
            rows: 0,
            json: String::new(),
        }
    }

    /// Rows pushed since the last batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// No rows pushed since the last batch.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Add a row.
    pub fn push(&mut self, row: &Row<'_>) {
        self.source.append_value(row.source);
        self.record.append_value(row.record);
        self.event_time.append_option(row.event_time);
        self.event_name.append_option(row.event_name);
        self.event_id.append_option(row.event_id);
        self.identity.append_option(row.identity);
        self.principal.append_option(row.principal);
        self.action.append_option(row.action);
        self.resource.append_option(row.resource);
        self.context.append_option(row.context);
        self.recorded.append_value(row.recorded);
        self.error_code.append_option(row.error_code);
        self.rows += 1;
    }

    /// Add a request mapped from a log record: its identity (the context's
    /// `cognito-identity.amazonaws.com:sub`) goes to `identity`, its principal's ARN to
    /// `principal`, every other key to `context`.
    pub fn push_request(&mut self, base: &Row<'_>, request: &Request) {
        let mut json = std::mem::take(&mut self.json);
        json.clear();
        let mut identity = None;
        json.push('{');
        for (key, values) in request.context.iter() {
            if key.eq_ignore_ascii_case(COGNITO_SUB)
                && let [one] = values
            {
                identity = Some(one.as_str());
                continue;
            }
            if json.len() > 1 {
                json.push(',');
            }
            push_json_string(&mut json, key);
            json.push(':');
            match values {
                [one] => push_json_string(&mut json, one),
                many => {
                    json.push('[');
                    for (i, v) in many.iter().enumerate() {
                        if i > 0 {
                            json.push(',');
                        }
                        push_json_string(&mut json, v);
                    }
                    json.push(']');
                }
            }
        }
        json.push('}');
        let principal = request.principal.as_ref().map(|c| c.arn());
        self.push(&Row {
            identity,
            principal,
            action: Some(&request.action),
            resource: Some(&request.resource),
            context: (json.len() > 2).then_some(json.as_str()),
            ..*base
        });
        self.json = json;
    }

    /// The rows pushed so far as a batch; the builder is empty after.
    ///
    /// Each column's builder starts the next batch with the room this one took, so that
    /// batches of alike rows are built without growing (and copying) their buffers.
    pub fn finish(&mut self) -> RecordBatch {
        let rows = self.rows;
        let columns: Vec<ArrayRef> = vec![
            take_text(&mut self.source, rows),
            Arc::new(self.record.finish()),
            take_text(&mut self.event_time, rows),
            take_text(&mut self.event_name, rows),
            take_text(&mut self.event_id, rows),
            take_text(&mut self.identity, rows),
            take_text(&mut self.principal, rows),
            take_text(&mut self.action, rows),
            take_text(&mut self.resource, rows),
            take_text(&mut self.context, rows),
            Arc::new(self.recorded.finish()),
            take_text(&mut self.error_code, rows),
        ];
        self.record = UInt64Builder::with_capacity(rows);
        self.recorded = BooleanBuilder::with_capacity(rows);
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .expect("the builders follow the schema")
    }
}

/// The column `builder` holds, as an array; the builder is left empty with room for as
/// many rows (its data blocks grow as the cells need).
fn take_text(builder: &mut StringViewBuilder, rows: usize) -> ArrayRef {
    let array = builder.finish();
    *builder = StringViewBuilder::with_capacity(rows);
    Arc::new(array)
}

/// Whether `t` is one of Arrow's string types.
fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// `schema` with its text fields (at the top level, of any of Arrow's string types) as
/// `to`; every other field, and the metadata, as they are.
pub fn text_as(schema: &Schema, to: &DataType) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match is_text(f.data_type()) {
            true => f.as_ref().clone().with_data_type(to.clone()),
            false => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` with its text columns as `Utf8` (a copy of the `Utf8View` and `LargeUtf8`
/// ones; the others are shared): what `--out` writes and `--sql` prints, so that the
/// files it writes read as plain strings in any Parquet or JSON reader.
pub fn plain_text(
    batch: &RecordBatch,
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let schema = batch.schema();
    let plain = text_as(&schema, &DataType::Utf8);
    if plain == schema {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(plain.fields())
        .map(|(c, f)| match c.data_type() == f.data_type() {
            true => Ok(Arc::clone(c)),
            false => datafusion::arrow::compute::cast(c, f.data_type()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(plain, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_into_identity_principal_and_context() {
        let mut r = Request::new("s3:GetObject", "arn:aws:s3:::b/k").with_identity("us-east-1:abc");
        r.context.add("aws:SourceIp", "192.0.2.1");
        r.context.add("s3:prefix", "a\"b");
        r.context.add("s3:prefix", "c");
        let mut b = TableBuilder::new();
        b.push_request(
            &Row {
                source: "f",
                recorded: true,
                ..Row::default()
            },
            &r,
        );
        let batch = b.finish();
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<datafusion::arrow::array::StringViewArray>()
                .unwrap()
                .value(0)
                .to_string()
        };
        assert_eq!(text("identity"), "us-east-1:abc");
        assert_eq!(
            text("context"),
            r#"{"aws:sourceip":"192.0.2.1","s3:prefix":["a\"b","c"]}"#
        );
        assert_eq!(batch.num_rows(), 1);
        assert!(b.is_empty());
    }
}
