//! The scalar functions the audit's plans call: `decide` (the policies' decision of each
//! row) and `area_touch` (whose isolation area a row reached). Both read Arrow string
//! columns through the core library's columnar API
//! ([`policy_sim::eval::columns`]), which knows nothing of Arrow. `field_of` reads a field
//! of their results (see [`FieldOf`] for why not `value['name']`).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, StringBuilder, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use policy_sim::analysis::prover::{AreaOwners, Touch};
use policy_sim::eval::authorize::{Policies, TypedRef};
use policy_sim::eval::columns::{ColumnDecider, Columns, RowResult, TextColumn};
use policy_sim::lang::principal::Caller;
use policy_sim::lang::variables::VariableSource;
use policy_sim::request::Context;
use policy_sim::request::lines::parse_context_into;

use crate::table::TextArray;

/// A string argument of a function, whichever string type the engine hands over.
enum Text<'a> {
    Array(TextArray<'a>),
    Scalar(Option<&'a str>, usize),
}

impl<'a> Text<'a> {
    fn of(value: &'a ColumnarValue, rows: usize, what: &str) -> Result<Text<'a>> {
        match value {
            ColumnarValue::Array(a) => match TextArray::of(a.as_ref()) {
                Some(t) => Ok(Text::Array(t)),
                None if a.data_type() == &DataType::Null => Ok(Text::Scalar(None, rows)),
                None => exec_err!("{what} must be text, not {}", a.data_type()),
            },
            ColumnarValue::Scalar(s) => match s {
                ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
                    Ok(Text::Scalar(v.as_deref(), rows))
                }
                ScalarValue::Null => Ok(Text::Scalar(None, rows)),
                other => exec_err!("{what} must be text, not {}", other.data_type()),
            },
        }
    }
}

impl TextColumn for Text<'_> {
    fn len(&self) -> usize {
        match self {
            Text::Array(a) => a.len(),
            Text::Scalar(_, n) => *n,
        }
    }

    fn get(&self, row: usize) -> Option<&str> {
        match self {
            Text::Array(a) => (row < a.len()).then(|| a.get(row)).flatten(),
            Text::Scalar(v, _) => *v,
        }
    }
}

/// Every statement of `policies` with its typed reference, in the order of the policy
/// sets ([`Policies::sets`]).
pub fn statements(
    policies: &Policies,
) -> impl Iterator<Item = (TypedRef, &policy_sim::lang::model::Statement)> {
    policies.sets().flat_map(|(policy_type, index, set)| {
        set.policies()
            .iter()
            .enumerate()
            .flat_map(move |(p, policy)| {
                policy
                    .statements
                    .iter()
                    .enumerate()
                    .map(move |(statement, st)| {
                        let r = TypedRef {
                            policy_type,
                            index,
                            statement: policy_sim::eval::StatementRef {
                                policy: p,
                                statement,
                            },
                        };
                        (r, st)
                    })
            })
    })
}

/// The last argument of a function call: the digest of what the plan was made with. A
/// function built from other policies (or areas) refuses to run, so that an executor
/// started with other files fails the query instead of answering for them.
fn check_digest(name: &str, args: &[ColumnarValue], mine: &str, what: &str) -> Result<()> {
    let given = match args.last() {
        Some(ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(d))
            | ScalarValue::LargeUtf8(Some(d))
            | ScalarValue::Utf8View(Some(d)),
        )) => d.as_str(),
        _ => {
            return exec_err!(
                "{name}: the last argument must be the digest of the {what}, as text"
            );
        }
    };
    if given != mine {
        return exec_err!(
            "{name}: the plan was made for {what} with digest {given}, this process has {mine}: start every scheduler and executor with the same policy files and areas as the client"
        );
    }
    Ok(())
}

/// A statement's label, with its policy type unless identity-based.
pub fn typed_label(policies: &Policies, r: TypedRef) -> String {
    match r.policy_type {
        policy_sim::eval::authorize::PolicyType::Identity => policies.label(r),
        other => format!("{} policy {}", other.as_str(), policies.label(r)),
    }
}

/// The fields of `decide`'s result.
pub fn decision_fields() -> Fields {
    Fields::from(vec![
        Field::new("decision", DataType::Utf8, true),
        Field::new("decided_by", DataType::Utf8, true),
        Field::new("statement", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
    ])
}

/// `decide(action, resource, identity, principal, context, digest)`: the decision of the row as
/// `check --requests` decides the same request line, as a struct of `decision`
/// (`Allow`, `ExplicitDeny`, `ImplicitDeny`; null when the row cannot be decided),
/// `decided_by` (the policy type that decided), `statement` (the first deciding
/// statement's label) and `error` (why the row cannot be decided). `digest` must be the
/// policies' digest ([`crate::policies::Loaded::digest`]).
#[derive(Debug)]
pub struct Decide {
    name: String,
    /// A digest of the policies: two functions of the same name decide alike only if
    /// they were built from the same policies.
    digest: String,
    policies: Arc<Policies>,
    principal: Option<Caller>,
    now: jiff::Timestamp,
    labels: Vec<(TypedRef, String)>,
    /// Where each statement's label is in `labels`: a row's label is found in constant
    /// time, however many statements the policies have.
    label_of: crate::tally::Map<TypedRef, usize>,
    /// The longest label's length, to size the `statement` column up front.
    longest_label: usize,
    signature: Signature,
}

impl PartialEq for Decide {
    fn eq(&self, other: &Decide) -> bool {
        self.name == other.name && self.digest == other.digest
    }
}

impl Eq for Decide {}

impl Hash for Decide {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.digest.hash(state);
    }
}

impl Decide {
    /// The function `name` deciding with `policies`, as `principal` for rows that name
    /// none; `now` fills `aws:CurrentTime` where a row has none. `digest` identifies the
    /// policies ([`crate::policies::Loaded::digest`]).
    pub fn new(
        name: &str,
        policies: Arc<Policies>,
        principal: Option<Caller>,
        now: jiff::Timestamp,
        digest: String,
    ) -> Decide {
        let labels: Vec<(TypedRef, String)> = statements(&policies)
            .map(|(r, _)| r)
            .map(|r| (r, typed_label(&policies, r)))
            .collect();
        let label_of = labels
            .iter()
            .enumerate()
            .map(|(i, (r, _))| (*r, i))
            .collect();
        let longest_label = labels.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
        Decide {
            name: name.to_string(),
            digest,
            policies,
            principal,
            now,
            labels,
            label_of,
            longest_label,
            signature: Signature::any(6, Volatility::Immutable),
        }
    }

    /// The digest the plan must name as the last argument.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// As a DataFusion function.
    pub fn udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }

    /// Every statement's label, in the order of the policy sets.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|(_, l)| l.as_str())
    }

    fn label(&self, r: TypedRef) -> &str {
        self.label_of
            .get(&r)
            .and_then(|&i| self.labels.get(i))
            .map_or("", |(_, l)| l.as_str())
    }
}

impl ScalarUDFImpl for Decide {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(decision_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        check_digest(&self.name, &args.args, &self.digest, "policies")?;
        let names = ["action", "resource", "identity", "principal", "context"];
        let texts = args
            .args
            .iter()
            .zip(names)
            .map(|(a, n)| Text::of(a, rows, n))
            .collect::<Result<Vec<_>>>()?;
        let [action, resource, identity, principal, context] = texts.as_slice() else {
            return exec_err!("{} takes 6 arguments", self.name);
        };
        let columns = Columns {
            action,
            resource,
            identity: Some(identity),
            principal: Some(principal),
            context: Some(context),
            keys: &[],
        };
        let mut decider = ColumnDecider::new(&self.policies, self.principal.clone(), self.now);
        let mut results: Vec<RowResult> = Vec::with_capacity(rows);
        if let Err(e) = decider.decide(&columns, &mut results) {
            return exec_err!("{e}");
        }
        let mut decision = StringBuilder::with_capacity(rows, rows * 8);
        let mut decided_by = StringBuilder::with_capacity(rows, rows * 8);
        // Room for every row's label but not past 16 MiB a batch up front.
        let mut statement = StringBuilder::with_capacity(
            rows,
            rows.saturating_mul(self.longest_label).min(16 << 20),
        );
        let mut error = StringBuilder::new();
        for r in &results {
            match r {
                RowResult::Decided {
                    verdict,
                    statement: first,
                } => {
                    decision.append_value(verdict.decision.as_str());
                    decided_by.append_value(verdict.decided_by.as_str());
                    statement.append_option(first.map(|d| self.label(d)));
                    error.append_null();
                }
                RowResult::Failed(e) => {
                    decision.append_null();
                    decided_by.append_null();
                    statement.append_null();
                    error.append_value(e);
                }
            }
        }
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(decision.finish()),
            Arc::new(decided_by.finish()),
            Arc::new(statement.finish()),
            Arc::new(error.finish()),
        ];
        Ok(ColumnarValue::Array(Arc::new(StructArray::new(
            decision_fields(),
            arrays,
            None,
        ))))
    }
}

/// The fields of `area_touch`'s result.
pub fn touch_fields() -> Fields {
    Fields::from(vec![
        Field::new("touch", DataType::Utf8, false),
        Field::new("owner", DataType::Utf8, true),
        Field::new("area", DataType::Utf8, true),
        Field::new("forbidden", DataType::Boolean, true),
    ])
}

/// `area_touch(identity, action, resource, context, event_name, digest)`: whose isolation
/// area the row reached
/// ([`AreaOwners::touch`]), as a struct of `touch` (`outside`, `own`, `other`,
/// `everyone`, `unattributed`), `owner` (the other identity), `area` (its pattern) and
/// `forbidden` (whether the area forbids the caller the action).
#[derive(Debug)]
pub struct AreaTouch {
    owners: Arc<AreaOwners>,
    digest: String,
    signature: Signature,
}

impl PartialEq for AreaTouch {
    fn eq(&self, other: &AreaTouch) -> bool {
        self.digest == other.digest
    }
}

impl Eq for AreaTouch {}

impl Hash for AreaTouch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
    }
}

impl AreaTouch {
    /// The function over `owners`; `digest` identifies the areas.
    pub fn new(owners: Arc<AreaOwners>, digest: String) -> AreaTouch {
        AreaTouch {
            owners,
            digest,
            signature: Signature::any(6, Volatility::Immutable),
        }
    }

    /// The digest the plan must name as the last argument.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// As a DataFusion function.
    pub fn udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }
}

/// The single string value of `key` (any case) in a context JSON text that `decide`
/// cannot read (a `null`, a nested value, a key twice): any JSON object will do, the
/// key's string or array of one string.
fn lenient_value(context: &str, key: &str) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(context).ok()?;
    let (_, v) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => match a.as_slice() {
            [one] => one.as_str().map(str::to_string),
            _ => None,
        },
        _ => None,
    }
}

impl ScalarUDFImpl for AreaTouch {
    fn name(&self) -> &str {
        "area_touch"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(touch_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        check_digest("area_touch", &args.args, &self.digest, "isolation areas")?;
        let names = ["identity", "action", "resource", "context", "event_name"];
        let texts = args
            .args
            .iter()
            .zip(names)
            .map(|(a, n)| Text::of(a, rows, n))
            .collect::<Result<Vec<_>>>()?;
        let [identity, action, resource, context, event_name] = texts.as_slice() else {
            return exec_err!("area_touch takes 6 arguments");
        };
        let mut touch = StringBuilder::with_capacity(rows, rows * 6);
        let mut owner = StringBuilder::new();
        let mut area = StringBuilder::new();
        let mut forbidden = BooleanBuilder::with_capacity(rows);
        // A row's context, read (as `decide` reads it) only when the row needs a key of it.
        let mut keys = Context::new();
        let mut key = String::new();
        for row in 0..rows {
            let (Some(act), Some(res)) = (action.get(row), resource.get(row)) else {
                touch.append_value("outside");
                owner.append_null();
                area.append_null();
                forbidden.append_null();
                continue;
            };
            let lists = AreaOwners::lists(act, res, event_name.get(row));
            let column = identity.get(row);
            keys.clear();
            let (mut lenient_prefix, mut lenient_who) = (None, None);
            if let (true, Some(c)) = (lists || column.is_none(), context.get(row)) {
                // A context `decide` cannot read fails that row there, but the row may be
                // a recorded access all the same: the keys are then read leniently, so
                // that an identity the context names is not lost (the access would count
                // as one without identity, and a reach into another's area be missed).
                if parse_context_into(c, &mut keys, &mut key).is_err() {
                    keys.clear();
                    lenient_prefix = lists.then(|| lenient_value(c, "s3:prefix")).flatten();
                    lenient_who = column
                        .is_none()
                        .then(|| lenient_value(c, policy_sim::lang::keys::COGNITO_SUB))
                        .flatten();
                }
            }
            // A key's single value (`variable` takes the key in lowercase).
            let prefix = if lists {
                keys.variable("s3:prefix").or(lenient_prefix.as_deref())
            } else {
                None
            };
            // The identity, as `decide` reads it: the column, else the context key.
            let who = column
                .or_else(|| keys.variable(policy_sim::lang::keys::COGNITO_SUB))
                .or(lenient_who.as_deref());
            let t = self.owners.touch(who, act, res, prefix, lists);
            let (word, who, at, forbid) = match &t {
                Touch::Outside => ("outside", None, None, None),
                Touch::Own { area } => ("own", None, Some(*area), Some(false)),
                Touch::Other {
                    area,
                    owner,
                    forbidden,
                } => ("other", Some(owner.as_str()), Some(*area), Some(*forbidden)),
                Touch::Everyone { area, forbidden } => {
                    ("everyone", None, Some(*area), Some(*forbidden))
                }
                Touch::Unattributed { area } => ("unattributed", None, Some(*area), Some(true)),
            };
            touch.append_value(word);
            owner.append_option(who);
            area.append_option(at.map(|i| self.owners.area(i).0));
            forbidden.append_option(forbid);
        }
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(touch.finish()),
            Arc::new(owner.finish()),
            Arc::new(area.finish()),
            Arc::new(forbidden.finish()),
        ];
        Ok(ColumnarValue::Array(Arc::new(StructArray::new(
            touch_fields(),
            arrays,
            None,
        ))))
    }
}

/// `field_of(value, name)`: the field `name` (a text literal) of the struct `value`, null
/// where `value` is null. The decided table reads the fields of `decide` and `area_touch`
/// through it instead of `value['name']`: DataFusion's optimizer (55.2) pushes a field
/// access down into the projection that computes `value`, where `decide(...)['decision']`,
/// `decide(...)['statement']` ... would each call the function again (four decisions a
/// row instead of one); a call to this function stays where it is.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FieldOf {
    signature: Signature,
}

/// The name of [`FieldOf`] in SQL.
pub const FIELD_OF: &str = "field_of";

impl Default for FieldOf {
    fn default() -> FieldOf {
        FieldOf {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl FieldOf {
    /// As a DataFusion function.
    pub fn udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }

    /// The field named by the second argument, in the struct type of the first.
    fn field<'a>(value: &'a DataType, name: Option<&ScalarValue>) -> Result<&'a Field> {
        let DataType::Struct(fields) = value else {
            return exec_err!("{FIELD_OF}: the first argument must be a struct, not {value}");
        };
        let name = match name {
            Some(ScalarValue::Utf8(Some(n)))
            | Some(ScalarValue::LargeUtf8(Some(n)))
            | Some(ScalarValue::Utf8View(Some(n))) => n,
            _ => return exec_err!("{FIELD_OF}: the second argument must be a field name, as text"),
        };
        match fields.iter().find(|f| f.name() == name) {
            Some(f) => Ok(f),
            None => exec_err!("{FIELD_OF}: the struct has no field {name:?}"),
        }
    }
}

impl ScalarUDFImpl for FieldOf {
    fn name(&self) -> &str {
        FIELD_OF
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        // The type depends on the name given: return_field_from_args answers.
        exec_err!("{FIELD_OF}: the type of its result depends on the field name")
    }

    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let [value, _] = args.arg_fields else {
            return exec_err!("{FIELD_OF} takes 2 arguments");
        };
        let name = args.scalar_arguments.get(1).copied().flatten();
        let field = FieldOf::field(value.data_type(), name)?;
        Ok(Arc::new(Field::new(
            FIELD_OF,
            field.data_type().clone(),
            field.is_nullable() || value.is_nullable(),
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value, name] = args.args.as_slice() else {
            return exec_err!("{FIELD_OF} takes 2 arguments");
        };
        let name = match name {
            ColumnarValue::Scalar(s) => Some(s),
            ColumnarValue::Array(_) => None,
        };
        let field = FieldOf::field(&value.data_type(), name)?.name().clone();
        match value {
            ColumnarValue::Array(a) => {
                Ok(ColumnarValue::Array(field_array(a.as_struct(), &field)?))
            }
            ColumnarValue::Scalar(ScalarValue::Struct(s)) => {
                let column = field_array(s, &field)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                    &column, 0,
                )?))
            }
            ColumnarValue::Scalar(other) => exec_err!(
                "{FIELD_OF}: the first argument must be a struct, not {}",
                other.data_type()
            ),
        }
    }
}

/// The column `name` of `s`, null also where `s` is (the column's own nulls and the
/// struct's together, offsets kept as the slices have them).
fn field_array(s: &StructArray, name: &str) -> Result<ArrayRef> {
    let Some(column) = s.column_by_name(name) else {
        return exec_err!("{FIELD_OF}: the struct has no field {name:?}");
    };
    Ok(match s.nulls() {
        None => Arc::clone(column),
        // A `Null` column is null throughout already (and takes no null buffer).
        Some(_) if column.data_type() == &DataType::Null => Arc::clone(column),
        Some(_) => {
            let nulls = datafusion::arrow::buffer::NullBuffer::union(
                s.nulls(),
                column.logical_nulls().as_ref(),
            );
            datafusion::arrow::array::make_array(
                column.to_data().into_builder().nulls(nulls).build()?,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// `sql`'s only column, each row's value as text (`NULL` for a null).
    async fn column(ctx: &SessionContext, sql: &str) -> Result<Vec<String>> {
        let batches = ctx.sql(sql).await?.collect().await?;
        let mut out = Vec::new();
        for b in &batches {
            let a = b.column(0);
            for row in 0..a.len() {
                out.push(match ScalarValue::try_from_array(a, row)? {
                    v if v.is_null() => "NULL".to_string(),
                    v => v.to_string(),
                });
            }
        }
        Ok(out)
    }

    /// A sliced struct (offset 1) with nulls of its own and in its column: the field's
    /// values and nulls line up with the slice's rows.
    #[test]
    fn a_field_of_a_sliced_struct_keeps_its_rows() {
        use datafusion::arrow::array::{NullArray, StringArray};
        use datafusion::arrow::buffer::NullBuffer;
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a0"),
            Some("a1"),
            None,
            Some("a3"),
            Some("a4"),
        ]));
        let n: ArrayRef = Arc::new(NullArray::new(5));
        let fields = Fields::from(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("n", DataType::Null, true),
        ]);
        let nulls = NullBuffer::from(vec![true, true, true, false, true]);
        let s = StructArray::new(fields, vec![a, n], Some(nulls));
        let sliced = s.slice(1, 4);
        let got = field_array(&sliced, "a").unwrap();
        let got: Vec<Option<&str>> = got.as_string::<i32>().iter().collect();
        assert_eq!(got, [Some("a1"), None, None, Some("a4")]);
        let got = field_array(&sliced, "n").unwrap();
        assert_eq!((got.len(), got.logical_null_count()), (4, 4));
        let e = field_array(&sliced, "x").unwrap_err().to_string();
        assert!(e.contains("the struct has no field \"x\""), "{e}");
    }

    #[tokio::test]
    async fn field_of_reads_a_field_and_is_null_where_the_struct_is() {
        let ctx = SessionContext::new();
        ctx.register_udf(FieldOf::default().udf());
        let rows = "(VALUES (1, 'a1', 'b1'), (2, NULL, 'b2'), (3, 'a3', 'b3')) AS t(n, x, y)";
        let s = "CASE WHEN n = 3 THEN NULL ELSE named_struct('a', x, 'b', y) END";
        let of = |field: &str| format!("SELECT field_of({s}, '{field}') FROM {rows} ORDER BY n");
        let got = column(&ctx, &of("b")).await.unwrap();
        assert_eq!(got, ["b1", "b2", "NULL"]);
        let got = column(&ctx, &of("a")).await.unwrap();
        assert_eq!(got, ["a1", "NULL", "NULL"]);
        // A literal struct.
        let got = column(&ctx, "SELECT field_of(named_struct('a', 5, 'b', 'x'), 'a')");
        assert_eq!(got.await.unwrap(), ["5"]);
        for (sql, message) in [
            (
                format!("SELECT field_of({s}, 'c') FROM {rows}"),
                "the struct has no field \"c\"",
            ),
            (
                format!("SELECT field_of(x, 'a') FROM {rows}"),
                "the first argument must be a struct, not Utf8",
            ),
            (
                format!("SELECT field_of({s}, y) FROM {rows}"),
                "the second argument must be a field name, as text",
            ),
        ] {
            let e = column(&ctx, &sql).await.unwrap_err().to_string();
            assert!(e.contains(message), "{sql}: {e}");
        }
    }
}
