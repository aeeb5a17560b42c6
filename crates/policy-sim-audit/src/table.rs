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

use datafusion::arrow::array::{ArrayRef, BooleanBuilder, StringBuilder, UInt64Builder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use policy_sim::Request;
use policy_sim::lang::keys::COGNITO_SUB;
use policy_sim::logs::push_json_string;

/// Rows per batch the readers produce.
pub const BATCH_ROWS: usize = 1024;

/// The request table's schema (see the module documentation).
pub fn request_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
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
    source: StringBuilder,
    record: UInt64Builder,
    event_time: StringBuilder,
    event_name: StringBuilder,
    event_id: StringBuilder,
    identity: StringBuilder,
    principal: StringBuilder,
    action: StringBuilder,
    resource: StringBuilder,
    context: StringBuilder,
    recorded: BooleanBuilder,
    error_code: StringBuilder,
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
            source: StringBuilder::new(),
            record: UInt64Builder::new(),
            event_time: StringBuilder::new(),
            event_name: StringBuilder::new(),
            event_id: StringBuilder::new(),
            identity: StringBuilder::new(),
            principal: StringBuilder::new(),
            action: StringBuilder::new(),
            resource: StringBuilder::new(),
            context: StringBuilder::new(),
            recorded: BooleanBuilder::new(),
            error_code: StringBuilder::new(),
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
/// many rows and bytes.
fn take_text(builder: &mut StringBuilder, rows: usize) -> ArrayRef {
    let array = builder.finish();
    *builder = StringBuilder::with_capacity(rows, array.values().len());
    Arc::new(array)
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
                .downcast_ref::<datafusion::arrow::array::StringArray>()
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
