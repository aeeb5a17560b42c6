//! The optional SMT cross-check (`prove isolation --solver smt`): each search problem is
//! written as SMT-LIB2 in the theory of strings and handed to the `z3` or `cvc5` binary
//! (Debian packages `z3`, `cvc5`). The default build needs no solver.
//!
//! The encoding, for an allowed pattern `P` with the identity slot and an area `A`:
//! `r = x ++ a ++ y` with `x`, `y` in the regular languages of `P` around its slot (and
//! likewise `r = u ++ b ++ v` for `A`), `a` and `b` in the identity format, `a ≠ b`
//! (exactly, unlike the automata's alignment tracking), `r` outside every exclusion and
//! inside one pattern of each must-match group. `sat` gives a witness to confirm with the
//! evaluator; `unsat` proves the pair isolated.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::analysis::glob::{Class, Elem, Glob};
use crate::analysis::identity::{COGNITO_REGEX, IdentityFormat};
use crate::analysis::search::Problem;

/// Why an SMT script could not be written or run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SmtError {
    /// The identity format has no SMT encoding.
    #[error("the SMT solver supports the cognito and any identity formats, not {0:?}")]
    UnsupportedFormat(String),
    /// The scripts could not be kept.
    #[error("cannot write SMT scripts to {}: {source}", dir.display())]
    WriteScript {
        /// The directory asked for.
        dir: std::path::PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The solver could not be started.
    #[error("cannot run {program}: {source}")]
    Run {
        /// The solver program.
        program: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The solver's input could not be opened.
    #[error("no solver input")]
    NoInput,
    /// The script could not be sent to the solver.
    #[error("cannot write to {program}: {source}")]
    Input {
        /// The solver program.
        program: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The solver did not finish.
    #[error("{program} failed: {source}")]
    Wait {
        /// The solver program.
        program: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The solver said `sat` without a value for a variable.
    #[error("{program} gave no value for {name}")]
    NoValue {
        /// The solver program.
        program: String,
        /// The variable (`r`, `a`, `b`).
        name: String,
    },
}

/// What the solver said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtResult {
    /// No witness exists.
    Unsat,
    /// A witness: resource, attacker, victim.
    Sat {
        /// The resource.
        resource: String,
        /// The attacker's identity.
        attacker: String,
        /// The victim's identity.
        victim: String,
    },
    /// The solver gave up or timed out.
    Unknown(String),
}

/// A solver binary on the PATH: `z3` first, then `cvc5`.
pub fn find_solver() -> Option<(&'static str, Vec<&'static str>)> {
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("z3") {
        Some(("z3", vec!["-in", "-T:10"]))
    } else if works("cvc5") {
        Some((
            "cvc5",
            vec![
                "--lang",
                "smt2",
                "--produce-models",
                "--tlimit=10000",
                "--strings-exp",
            ],
        ))
    } else {
        None
    }
}

/// SMT-LIB string literal.
fn literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\"\""),
            ' '..='~' if c != '\\' => out.push(c),
            other => out.push_str(&format!("\\u{{{:x}}}", other as u32)),
        }
    }
    out.push('"');
    out
}

/// The SMT regular expression of one character of `class`.
fn char_of(class: Class) -> String {
    match class {
        Class::All => "re.allchar".to_string(),
        Class::NotColon | Class::NotColonOrSlash => {
            let left_out: Vec<String> = class
                .excluded()
                .iter()
                .map(|b| format!("(str.to_re {})", literal(&char::from(*b).to_string())))
                .collect();
            let left_out = match left_out.as_slice() {
                [one] => one.clone(),
                _ => format!("(re.union {})", left_out.join(" ")),
            };
            format!("(re.inter re.allchar (re.comp {left_out}))")
        }
    }
}

/// The regular expression of a run of glob elements (a slot reads anything).
fn regex_of(elems: &[Elem]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    let flush = |bytes: &mut Vec<u8>, parts: &mut Vec<String>| {
        if !bytes.is_empty() {
            let text = String::from_utf8_lossy(bytes).into_owned();
            parts.push(format!("(str.to_re {})", literal(&text)));
            bytes.clear();
        }
    };
    for e in elems {
        let part = match *e {
            Elem::Byte(b) => {
                bytes.push(b);
                continue;
            }
            Elem::Star(Class::All) | Elem::Slot => "re.all".to_string(),
            Elem::Star(class) => format!("(re.* {})", char_of(class)),
            Elem::AnyChar(class) => char_of(class),
            Elem::Never => "re.none".to_string(),
        };
        flush(&mut bytes, &mut parts);
        parts.push(part);
    }
    flush(&mut bytes, &mut parts);
    match parts.len() {
        0 => "(str.to_re \"\")".to_string(),
        1 => parts.remove(0),
        _ => format!("(re.++ {})", parts.join(" ")),
    }
}

/// The identity format as an SMT regular expression (`cognito` and `any` only).
fn format_regex(format: &IdentityFormat) -> Result<String, SmtError> {
    match format.name.as_str() {
        "any" => Ok("(re.+ re.allchar)".to_string()),
        "cognito" => {
            debug_assert!(COGNITO_REGEX.starts_with("[a-z]{2}"));
            let lower = "(re.range \"a\" \"z\")";
            let digit = "(re.range \"0\" \"9\")";
            let hex = "(re.union (re.range \"0\" \"9\") (re.range \"a\" \"f\"))";
            let hexes = |n: u32| format!("((_ re.loop {n} {n}) {hex})");
            Ok(format!(
                "(re.++ ((_ re.loop 2 2) {lower}) (re.+ (re.++ (str.to_re \"-\") (re.+ {lower}))) (str.to_re \"-\") (re.+ {digit}) (str.to_re \":\") {} (str.to_re \"-\") {} (str.to_re \"-\") {} (str.to_re \"-\") {} (str.to_re \"-\") {})",
                hexes(8),
                hexes(4),
                hexes(4),
                hexes(4),
                hexes(12)
            ))
        }
        other => Err(SmtError::UnsupportedFormat(other.to_string())),
    }
}

/// `r` matches `glob`, whose slot (if any) holds `identity`.
fn pattern_constraint(glob: &Glob, identity: &str, tag: &str, decls: &mut Vec<String>) -> String {
    match glob.0.iter().position(|e| *e == Elem::Slot) {
        None => format!("(str.in_re r {})", regex_of(&glob.0)),
        Some(i) => {
            let (x, y) = (format!("{tag}_pre"), format!("{tag}_post"));
            decls.push(format!(
                "(declare-const {x} String)\n(declare-const {y} String)"
            ));
            format!(
                "(and (= r (str.++ {x} {identity} {y})) (str.in_re {x} {}) (str.in_re {y} {}))",
                regex_of(&glob.0[..i]),
                regex_of(&glob.0[i + 1..])
            )
        }
    }
}

/// The SMT-LIB2 script for one problem.
pub fn script(p: &Problem<'_>) -> Result<String, SmtError> {
    let fmt = format_regex(p.format)?;
    let mut decls = vec![
        "(declare-const r String)\n(declare-const a String)\n(declare-const b String)".to_string(),
    ];
    let mut asserts = vec![
        format!("(str.in_re a {fmt})"),
        format!("(str.in_re b {fmt})"),
        "(not (= a b))".to_string(),
    ];
    if let Some(allow) = p.allow {
        asserts.push(pattern_constraint(allow, "a", "allow", &mut decls));
    }
    asserts.push(pattern_constraint(p.area, "b", "area", &mut decls));
    for g in p.must_not {
        asserts.push(format!("(not (str.in_re r {}))", regex_of(&g.0)));
    }
    for group in p.must_match_any {
        let any: Vec<String> = group
            .iter()
            .map(|g| format!("(str.in_re r {})", regex_of(&g.0)))
            .collect();
        asserts.push(format!("(or {})", any.join(" ")));
    }
    let mut out = String::from("(set-logic QF_SLIA)\n(set-option :produce-models true)\n");
    for d in decls {
        out.push_str(&d);
        out.push('\n');
    }
    for a in asserts {
        out.push_str(&format!("(assert {a})\n"));
    }
    out.push_str("(check-sat)\n(get-value (r a b))\n");
    Ok(out)
}

/// Run the solver on one problem's script.
pub fn solve(program: &str, args: &[&str], script: &str) -> Result<SmtResult, SmtError> {
    let program_name = || program.to_string();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SmtError::Run {
            program: program_name(),
            source,
        })?;
    child
        .stdin
        .take()
        .ok_or(SmtError::NoInput)?
        .write_all(script.as_bytes())
        .map_err(|source| SmtError::Input {
            program: program_name(),
            source,
        })?;
    let out = child.wait_with_output().map_err(|source| SmtError::Wait {
        program: program_name(),
        source,
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    match lines.next().map(str::trim) {
        Some("unsat") => Ok(SmtResult::Unsat),
        Some("sat") => {
            let rest: String = lines.collect::<Vec<_>>().join("\n");
            let value = |name: &str| {
                model_value(&rest, name).ok_or_else(|| SmtError::NoValue {
                    program: program_name(),
                    name: name.to_string(),
                })
            };
            Ok(SmtResult::Sat {
                resource: value("r")?,
                attacker: value("a")?,
                victim: value("b")?,
            })
        }
        Some(other) => Ok(SmtResult::Unknown(format!("{program} answered {other:?}"))),
        None => Ok(SmtResult::Unknown(format!(
            "{program} gave no answer: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}

/// The string value of `name` in a `(get-value ...)` answer.
fn model_value(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("({name} \""))? + name.len() + 3;
    let mut out = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if chars.peek() == Some(&'"') => {
                chars.next();
                out.push('"');
            }
            '"' => return Some(out),
            '\\' if chars.peek() == Some(&'u') => {
                chars.next();
                let mut hex = String::new();
                if chars.peek() == Some(&'{') {
                    chars.next();
                    for h in chars.by_ref() {
                        if h == '}' {
                            break;
                        }
                        hex.push(h);
                    }
                } else {
                    for _ in 0..4 {
                        hex.push(chars.next()?);
                    }
                }
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_model_values() {
        assert_eq!(literal("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("é"), "\"\\u{e9}\"");
        let answer = "((r \"b/a\"\"\\u{e9}x\")\n (a \"a\")\n (b \"ab\"))";
        assert_eq!(model_value(answer, "r").as_deref(), Some("b/a\"éx"));
        assert_eq!(model_value(answer, "b").as_deref(), Some("ab"));
    }

    #[test]
    fn regex_translation() {
        let g = Glob(vec![
            Elem::Byte(b'x'),
            Elem::Star(Class::All),
            Elem::AnyChar(Class::All),
        ]);
        assert_eq!(
            regex_of(&g.0),
            "(re.++ (str.to_re \"x\") re.all re.allchar)"
        );
        let inside = Glob(vec![
            Elem::Star(Class::NotColon),
            Elem::AnyChar(Class::NotColonOrSlash),
        ]);
        assert_eq!(
            regex_of(&inside.0),
            "(re.++ (re.* (re.inter re.allchar (re.comp (str.to_re \":\")))) (re.inter re.allchar (re.comp (re.union (str.to_re \":\") (str.to_re \"/\")))))"
        );
    }
}
