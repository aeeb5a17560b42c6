//! Help for a user who got something slightly wrong, so that no step needs guesswork:
//!
//! - [`closest`]: the name a misspelt one most likely meant (`did you mean ...?`);
//! - `check_params`: a `--param` that names nothing the input defines, refers to or
//!   asked for is an error, with the closest such name;
//! - [`flattened`]: a YAML error on a line holding several `key: value` pairs (a template
//!   copied from a web page that lost its line breaks) says so;
//! - [`looks_like_input`]: what kind of deploy input a text is, so that a template given
//!   where a policy is expected can be pointed to `--template`.
//!
//! The rules are written down in `docs/templates.md` ("Values given with --param").

use std::collections::BTreeSet;

use super::node::{Kind, Node};
use super::{Params, Template, TemplateError, ref_target};

/// The pseudo parameters CloudFormation defines: always names a `--param` may give.
pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Serverless options that mean something whether or not the file uses them.
const SERVERLESS_OPTIONS: &[&str] = &["opt:stage", "opt:region"];

/// The candidate `given` most likely meant: one equal to it but for case; else one whose
/// last part (after the last `:` or `.`) is it, but for case (`stage` for `opt:stage`);
/// else the nearest within one edit (two for names of eight or more characters),
/// compared without case. `None` when nothing is that close.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = given.to_ascii_lowercase();
    let limit = if given.chars().count() >= 8 { 2 } else { 1 };
    let mut by_case = None;
    let mut by_tail = None;
    let mut by_edit: Option<(usize, &str)> = None;
    for c in candidates {
        if c == given {
            continue;
        }
        if c.eq_ignore_ascii_case(given) {
            by_case.get_or_insert(c);
            continue;
        }
        let tail = c.rsplit([':', '.']).next().unwrap_or(c);
        if tail != c && tail.eq_ignore_ascii_case(given) {
            by_tail.get_or_insert(c);
            continue;
        }
        if given.chars().count() < 3 {
            continue;
        }
        let d = strsim::osa_distance(&c.to_ascii_lowercase(), &lower);
        if d <= limit && by_edit.is_none_or(|(best, _)| d < best) {
            by_edit = Some((d, c));
        }
    }
    by_case.or(by_tail).or(by_edit.map(|(_, c)| c))
}

/// The names the input defines or refers to, each one a `--param` may give: template
/// parameters, resources' logical ids, pseudo parameters, every `Ref` and `Fn::GetAtt`
/// target (`LogicalId.Attribute`) and `${Name}` of `Fn::Sub`, and every `Fn::ImportValue`
/// written as text. The flag is true when an `Fn::ImportValue` names its export with an
/// expression: its name is known only once resolved, so any name may be one.
fn referable(cfn: &Node) -> (BTreeSet<String>, bool) {
    let mut names: BTreeSet<String> = PSEUDO_PARAMETERS.iter().map(|s| s.to_string()).collect();
    for section in ["Parameters", "Resources"] {
        for (k, _) in cfn.get(section).and_then(Node::as_map).unwrap_or(&[]) {
            names.insert(k.clone());
        }
    }
    let mut computed_import = false;
    let mut stack = vec![cfn];
    while let Some(n) = stack.pop() {
        if let Some(target) = ref_target(n) {
            names.insert(target.to_string());
        }
        if let Some((key, arg)) = n.single_entry() {
            match key {
                "Fn::GetAtt" => match (&arg.kind, arg.as_seq()) {
                    (Kind::Scalar(s, _), _) => {
                        names.insert(s.clone());
                    }
                    (_, Some([l, a])) => {
                        if let (Some(l), Some(a)) = (l.as_str(), a.as_str()) {
                            names.insert(format!("{l}.{a}"));
                        }
                    }
                    _ => {}
                },
                "Fn::ImportValue" => match arg.as_str() {
                    Some(export) => {
                        names.insert(export.to_string());
                    }
                    None => computed_import = true,
                },
                "Fn::Sub" => {
                    let text = match (&arg.kind, arg.as_seq()) {
                        (Kind::Scalar(s, _), _) => Some(s.as_str()),
                        (_, Some([t, _])) => t.as_str(),
                        _ => None,
                    };
                    names.extend(sub_names(text.unwrap_or("")));
                }
                _ => {}
            }
        }
        match &n.kind {
            Kind::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            Kind::Seq(items) => stack.extend(items),
            Kind::Null | Kind::Scalar(..) => {}
        }
    }
    (names, computed_import)
}

/// The `${Name}` references of an `Fn::Sub` string (`${!Literal}` is text).
fn sub_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let body = &rest[start + 2..];
        let Some(close) = body.find('}') else {
            break;
        };
        let name = body[..close].trim();
        if !name.starts_with('!') && !name.is_empty() {
            out.push(name.to_string());
        }
        rest = &body[close + 1..];
    }
    out
}

impl Params {
    /// Every name resolution has asked for so far.
    fn asked(&self) -> BTreeSet<String> {
        self.1.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Params {
    /// Give `name` the value `value` unless it is given: a symbolic binding the reader
    /// makes (the id of a resource whose every use is the same unknown value), said in the
    /// output by whoever binds it. A given value always wins.
    pub fn bind(&mut self, name: &str, value: &str) {
        // Given by a short name (a nested stack's id, see `Params::resolve`) is given too.
        if self
            .2
            .shorts_of(name)
            .iter()
            .any(|s| self.0.contains_key(s))
        {
            return;
        }
        self.0
            .entry(name.to_string())
            .or_insert_with(|| value.to_string());
    }
}

/// Is `name` accepted whatever the template writes: a `LogicalId.Attribute` of a resource
/// of the template (attributes differ by type), or the zones of a region (`Fn::GetAZs:REGION`)?
fn always_accepted(t: &Template, name: &str) -> bool {
    let shorts = t.params.short_names();
    name.starts_with("Fn::GetAZs:")
        || name.split_once('.').is_some_and(|(logical, _)| {
            t.resource_type(logical).is_some()
                || shorts
                    .qualified_of(logical)
                    .is_some_and(|q| t.resource_type(q).is_some())
        })
}

/// A `--param` must name something the input defines or refers to, or that resolution
/// asked for (see [`referable`]); a name of another role's value is such a name. Any other
/// is an error naming the closest such name: a value nothing uses would be silently
/// ignored. Accepted besides: any `LogicalId.Attribute` of a resource of the template,
/// Serverless's `opt:stage` and `opt:region`, and every name when an `Fn::ImportValue`
/// computes its export's name.
pub(super) fn check_params(t: &Template) -> Result<(), TemplateError> {
    let (mut known, computed_import) = referable(&t.cfn);
    if computed_import {
        return Ok(());
    }
    // A qualified id of a nested stack may be given by its short names.
    let shorts: Vec<String> = known
        .iter()
        .flat_map(|k| t.params.short_names().shorts_of(k))
        .collect();
    known.extend(shorts);
    unknown_params(&t.file, &t.params, known, t.serverless, |name| {
        always_accepted(t, name)
    })
}

/// [`check_params`] for a Serverless service whose variables lack values: the given
/// names that the variables asked for are known, and a misspelt one explains a missing
/// value, so it is said first.
pub(super) fn check_serverless_params(file: &str, params: &Params) -> Result<(), TemplateError> {
    // Names of the CloudFormation part are not known before it is read: only names of
    // Serverless's own variable sources are judged here.
    let serverless_name = |n: &str| {
        n.split_once(':')
            .is_some_and(|(source, _)| source.chars().all(|c| c.is_ascii_lowercase()))
            && !n.starts_with("AWS::")
    };
    let asked = params.asked();
    let mut known = asked.clone();
    known.extend(SERVERLESS_OPTIONS.iter().map(|s| s.to_string()));
    for given in params.names() {
        if known.contains(given) {
            continue;
        }
        let suggestion = closest(given, asked.iter().map(String::as_str));
        if serverless_name(given) || suggestion.is_some() {
            return Err(TemplateError::UnknownParam {
                file: file.to_string(),
                given: given.to_string(),
                suggestion: suggestion.map(str::to_string),
            });
        }
    }
    Ok(())
}

/// The first given name that is not `known` (nor `accepted`), as an error with the
/// closest known name.
fn unknown_params(
    file: &str,
    params: &Params,
    mut known: BTreeSet<String>,
    serverless: bool,
    accepted: impl Fn(&str) -> bool,
) -> Result<(), TemplateError> {
    known.extend(params.asked());
    if serverless {
        known.extend(SERVERLESS_OPTIONS.iter().map(|s| s.to_string()));
    }
    for given in params.names() {
        if known.contains(given) || accepted(given) {
            continue;
        }
        return Err(TemplateError::UnknownParam {
            file: file.to_string(),
            given: given.to_string(),
            suggestion: closest(given, known.iter().map(String::as_str)).map(str::to_string),
        });
    }
    Ok(())
}

/// For a YAML error on line `line` (0-based) of `text`: a note when that line holds
/// several `key: value` pairs, as a YAML file whose line breaks were lost does (copied
/// from a web page that reflowed it).
pub fn flattened(text: &str, line: usize) -> Option<&'static str> {
    let line = text.lines().nth(line)?;
    let pairs = line
        .split_whitespace()
        .filter(|w| {
            w.len() > 1
                && w.ends_with(':')
                && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && w[..w.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
        .count();
    (pairs >= 3).then_some(
        "; this line holds several `key: value` pairs: the file's line breaks and indentation seem lost (a template copied from a web page?), and YAML nests by indentation: restore them",
    )
}

/// What kind of deploy input `text` looks like, when it looks like one (a template given
/// where a policy is expected): the words for a message.
pub fn looks_like_input(text: &str) -> Option<&'static str> {
    let file: std::sync::Arc<str> = std::sync::Arc::from("input");
    let Ok(doc) = super::node::parse(&file, text) else {
        // Unreadable as YAML or JSON (e.g. flattened): its words may still tell.
        return (text.contains("AWSTemplateFormatVersion")
            || (text.contains("Resources:") && text.contains("Type: AWS::")))
        .then_some("a CloudFormation template");
    };
    let has = |k: &str| doc.get(k).is_some();
    if super::serverless::is_serverless(&doc) {
        Some("a Serverless Framework service")
    } else if super::sam::is_sam(&doc) {
        Some("a SAM template")
    } else if has("AWSTemplateFormatVersion") || has("Resources") {
        Some("a CloudFormation template")
    } else if super::terraform::is_terraform(&doc) {
        Some("a Terraform plan")
    } else {
        None
    }
}

/// `first`'s value and `second`'s, where `second` runs even when `first` only lacks values:
/// the values both lack are then reported together, in one error. Any other error of
/// either is reported as it is.
pub fn together<A, B>(
    first: Result<A, TemplateError>,
    second: impl FnOnce() -> Result<B, TemplateError>,
) -> Result<(A, B), TemplateError> {
    match first {
        Ok(a) => Ok((a, second()?)),
        Err(TemplateError::Missing(mut missing)) => match second() {
            Ok(_) => Err(TemplateError::Missing(missing)),
            Err(TemplateError::Missing(more)) => {
                missing.extend(more);
                Err(TemplateError::Missing(missing))
            }
            Err(other) => Err(other),
        },
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_prefers_case_then_tail_then_edits() {
        let c = [
            "ApiGatewayRestApi",
            "opt:stage",
            "Stage",
            "self:custom.stage",
        ];
        assert_eq!(closest("ApiGatewayRestAPI", c), Some("ApiGatewayRestApi"));
        assert_eq!(closest("stage", c), Some("Stage"));
        assert_eq!(closest("stage", ["opt:stage", "x"]), Some("opt:stage"));
        assert_eq!(closest("ApiGatewayRestAp", c), Some("ApiGatewayRestApi"));
        assert_eq!(closest("Bucket", c), None);
    }

    #[test]
    fn a_flattened_line_is_told_apart_from_a_plain_error() {
        let text = "Resources: CognitoUserPool: Type: AWS::Cognito::UserPool Properties: x";
        assert!(flattened(text, 0).is_some());
        assert_eq!(flattened("a: [1,\nb: 2", 0), None);
    }

    #[test]
    fn kinds_of_input() {
        assert_eq!(
            looks_like_input("service: s\nprovider: {name: aws}\n"),
            Some("a Serverless Framework service")
        );
        assert_eq!(
            looks_like_input("Transform: AWS::Serverless-2016-10-31\nResources: {}\n"),
            Some("a SAM template")
        );
        assert_eq!(
            looks_like_input("{\"format_version\": \"1.2\", \"planned_values\": {}}"),
            Some("a Terraform plan")
        );
        assert_eq!(
            looks_like_input("{\"Version\": \"2012-10-17\", \"Statement\": []}"),
            None
        );
    }
}
