//! Questions about the sets of actions statements cover, decided on the action patterns'
//! globs ([`crate::analysis::translate::action_glob`]) with the automata: is there an
//! action that these statements cover and those do not? Does one statement cover every
//! action another allows? Can a statement allow an action of a given service?
//!
//! Actions are searched in lowercase (action names compare without regard to case) and
//! in the shape of a real action, `service:name` with both parts non-empty.

use crate::analysis::glob::{Class, Elem, Glob};
use crate::analysis::search::{StringSearch, search_string};
use crate::analysis::translate::action_glob;
use crate::lang::model::{ActionSpec, Statement};

/// Feasibility checks one action search may make before giving up.
const ACTION_BUDGET: usize = 4_096;
/// States one string search may explore.
pub(crate) const SEARCH_LIMIT: usize = 100_000;

/// What an action must satisfy with respect to one statement: match one of `choose` (when
/// given; an empty list cannot be met) and none of `forbid`.
#[derive(Debug, Clone)]
pub struct ActionNeed {
    choose: Option<Vec<Glob>>,
    forbid: Vec<Glob>,
}

/// The globs of a statement's action patterns.
fn globs(spec: &ActionSpec) -> Vec<Glob> {
    match spec {
        ActionSpec::Action(ps) | ActionSpec::NotAction(ps) => ps.iter().map(action_glob).collect(),
    }
}

/// The action is covered by `st`.
pub fn covered(st: &Statement) -> ActionNeed {
    match &st.action {
        ActionSpec::Action(_) => ActionNeed {
            choose: Some(globs(&st.action)),
            forbid: Vec::new(),
        },
        ActionSpec::NotAction(_) => ActionNeed {
            choose: None,
            forbid: globs(&st.action),
        },
    }
}

/// The action is not covered by `st`.
pub fn not_covered(st: &Statement) -> ActionNeed {
    match &st.action {
        ActionSpec::Action(_) => ActionNeed {
            choose: None,
            forbid: globs(&st.action),
        },
        ActionSpec::NotAction(_) => ActionNeed {
            choose: Some(globs(&st.action)),
            forbid: Vec::new(),
        },
    }
}

/// The action belongs to `service` (a lowercase prefix such as `s3`).
pub fn of_service(service: &str) -> ActionNeed {
    let mut g = Glob::literal(&service.to_ascii_lowercase());
    g.0.extend([
        Elem::Byte(b':'),
        Elem::AnyChar(Class::All),
        Elem::Star(Class::All),
    ]);
    ActionNeed {
        choose: Some(vec![g]),
        forbid: Vec::new(),
    }
}

/// The action is none of `actions` (exact names, compared without regard to case).
pub fn none_of(actions: &[String]) -> ActionNeed {
    ActionNeed {
        choose: None,
        forbid: actions
            .iter()
            .map(|a| Glob::literal(&a.to_ascii_lowercase()))
            .collect(),
    }
}

/// The outcome of an action search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSearch {
    /// An action meeting every need (lowercase).
    Found(String),
    /// No action meets every need (proved).
    Empty,
    /// The search passed its limits without deciding.
    TooLarge,
}

/// `service:name`: the shape of every real action.
fn action_shape() -> Glob {
    Glob(vec![
        Elem::AnyChar(Class::All),
        Elem::Star(Class::All),
        Elem::Byte(b':'),
        Elem::AnyChar(Class::All),
        Elem::Star(Class::All),
    ])
}

/// An action meeting every need, trying every combination of the choices (a statement
/// with several action patterns covers an action through any one of them).
pub fn find_action(needs: &[ActionNeed]) -> ActionSearch {
    let forbid: Vec<Glob> = needs
        .iter()
        .flat_map(|n| n.forbid.iter().cloned())
        .collect();
    let choices: Vec<&Vec<Glob>> = needs.iter().filter_map(|n| n.choose.as_ref()).collect();
    let mut budget = ACTION_BUDGET;
    let mut require = vec![action_shape()];
    choose_actions(&choices, &mut require, &forbid, &mut budget)
}

fn choose_actions(
    choices: &[&Vec<Glob>],
    require: &mut Vec<Glob>,
    forbid: &[Glob],
    budget: &mut usize,
) -> ActionSearch {
    if *budget == 0 {
        return ActionSearch::TooLarge;
    }
    *budget -= 1;
    match search_string(require, forbid, SEARCH_LIMIT) {
        StringSearch::Empty => return ActionSearch::Empty,
        StringSearch::TooLarge => return ActionSearch::TooLarge,
        StringSearch::Found(bytes) if choices.is_empty() => {
            return match String::from_utf8(bytes) {
                Ok(a) => ActionSearch::Found(a),
                // Globs of UTF-8 patterns accept only UTF-8; never reached.
                Err(_) => ActionSearch::TooLarge,
            };
        }
        StringSearch::Found(_) => {}
    }
    let mut too_large = false;
    for g in choices[0] {
        require.push(g.clone());
        let r = choose_actions(&choices[1..], require, forbid, budget);
        require.pop();
        match r {
            ActionSearch::Found(a) => return ActionSearch::Found(a),
            ActionSearch::TooLarge => too_large = true,
            ActionSearch::Empty => {}
        }
    }
    if too_large {
        ActionSearch::TooLarge
    } else {
        ActionSearch::Empty
    }
}

/// Does `deny` certainly cover every action `allow` covers? Proved on the patterns: no
/// action of `allow` is left out of `deny`. A search that gives up answers `false`.
pub fn covers_every_action(allow: &Statement, deny: &Statement) -> bool {
    find_action(&[covered(allow), not_covered(deny)]) == ActionSearch::Empty
}

/// Can `st` allow some action of `service`? Only a proof that it cannot answers `false`.
pub fn may_act_on(st: &Statement, service: &str) -> bool {
    find_action(&[covered(st), of_service(service)]) != ActionSearch::Empty
}

/// Can `st` allow an action of `service` that writes ([`crate::catalog::AccessClass`]):
/// one the catalog does not list as `Read` or `List` (an undocumented name a wildcard
/// covers counts). Only a proof that it cannot answers `false`.
pub fn may_write_on(st: &Statement, service: &str) -> bool {
    let reads = crate::catalog::catalog().read_actions(service);
    find_action(&[covered(st), of_service(service), none_of(&reads)]) != ActionSearch::Empty
}

/// Can `st` allow an action of `service` that reads (the catalog's `Read` and `List`
/// actions)? The reads are a finite list (an undocumented name counts as write,
/// [`may_write_on`]), so this is exact: some read action matches the statement.
pub fn may_read_on(st: &Statement, service: &str) -> bool {
    crate::catalog::catalog()
        .read_actions(service)
        .iter()
        .any(|a| st.matches_action(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse::parse_policy;

    fn statements(doc: &str) -> Vec<Statement> {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":{doc}}}"#);
        parse_policy("p.json", text.as_bytes()).unwrap().statements
    }

    #[test]
    fn coverage_is_proved_on_the_patterns() {
        let st = statements(
            r#"[{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectAcl"],"Resource":"*"},
                {"Effect":"Deny","Action":"S3:Get*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:GetObject","Resource":"*"},
                {"Effect":"Deny","NotAction":"ec2:*","Resource":"*"},
                {"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]"#,
        );
        assert!(covers_every_action(&st[0], &st[1]));
        assert!(!covers_every_action(&st[0], &st[2]));
        assert!(covers_every_action(&st[0], &st[3]));
        assert!(!covers_every_action(&st[4], &st[3]));
        assert!(may_act_on(&st[0], "s3"));
        assert!(!may_act_on(&st[0], "ec2"));
        assert!(!may_act_on(&st[4], "s3"));
        // Reads: the catalog's Read and List actions the statement covers.
        assert!(may_read_on(&st[0], "s3"));
        assert!(!may_read_on(&st[0], "ec2"));
        assert!(!may_read_on(&st[4], "s3"));
        let writes = statements(
            r#"[{"Effect":"Allow","Action":["s3:PutObject","s3:Delete*"],"Resource":"*"},
                {"Effect":"Allow","NotAction":"s3:PutObject","Resource":"*"}]"#,
        );
        assert!(!may_read_on(&writes[0], "s3"));
        assert!(may_read_on(&writes[1], "s3"));
        assert!(may_act_on(&st[4], "ec2"));
        // Writing: documented reads only cannot write; a wildcard may name an action the
        // catalog does not know, which counts as write.
        let w = statements(
            r#"[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"},
                {"Effect":"Allow","Action":"s3:GetObject*","Resource":"*"},
                {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}]"#,
        );
        assert!(!may_write_on(&w[0], "s3"));
        assert!(may_write_on(&w[1], "s3"));
        assert!(may_write_on(&w[2], "s3"));
        assert!(!may_write_on(&w[2], "ec2"));
    }
}
