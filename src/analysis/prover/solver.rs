//! How one isolation problem is decided: the [`Solver`] trait and its two backends, the
//! built-in automata ([`Automata`]) and an SMT solver binary ([`Smt`]). The prover asks a
//! solver about each (statement, area) pair and confirms whatever candidates come back
//! with the evaluator, the same way for every backend.

use std::path::PathBuf;

use crate::analysis::search::{self, Problem, SearchResult, Witness};

use super::ProverError;
use super::smt::{self, SmtError, SmtResult};

/// Why a solver could not decide a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecided {
    /// The automata search passed [`search::STATE_LIMIT`] states.
    StateLimit,
    /// The SMT solver gave up, timed out or failed.
    Solver {
        /// The solver program.
        program: String,
        /// What it said.
        why: String,
    },
}

/// A resource (with identities) that may break isolation, to be confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    /// A witness of the automata: the resource bytes and where the identities lie in it.
    Witness(Witness),
    /// A model of an SMT solver.
    Concrete {
        /// The solver program that found it.
        solver: String,
        /// The resource.
        resource: String,
        /// The attacker's identity.
        attacker: String,
        /// The victim's identity.
        victim: String,
    },
}

/// A solver's answer to one problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// No resource satisfies the problem: the pair is isolated.
    Empty,
    /// Candidates, best first.
    Candidates(Vec<Candidate>),
    /// Neither could be established.
    Undecided(Undecided),
}

/// Decides isolation problems.
pub trait Solver {
    /// Decide `problem`. Errors are the solver's own failures that make the whole proof
    /// impossible (an identity format it cannot express, a script it cannot write); a
    /// problem it merely cannot decide is [`Answer::Undecided`].
    fn decide(&mut self, problem: &Problem<'_>) -> Result<Answer, ProverError>;
}

/// The built-in product-automaton search ([`search::search`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Automata;

impl Solver for Automata {
    fn decide(&mut self, problem: &Problem<'_>) -> Result<Answer, ProverError> {
        Ok(match search::search(problem) {
            SearchResult::Empty => Answer::Empty,
            SearchResult::TooLarge => Answer::Undecided(Undecided::StateLimit),
            SearchResult::Found(witnesses) => {
                Answer::Candidates(witnesses.into_iter().map(Candidate::Witness).collect())
            }
        })
    }
}

/// An SMT solver binary on SMT-LIB2 strings ([`smt`]).
#[derive(Debug, Clone)]
pub struct Smt {
    /// The solver program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where to keep the scripts (`problem-N.smt2`), if anywhere.
    pub dir: Option<PathBuf>,
    /// Scripts written so far.
    pub scripts: usize,
}

impl Solver for Smt {
    fn decide(&mut self, problem: &Problem<'_>) -> Result<Answer, ProverError> {
        let script = smt::script(problem)?;
        self.scripts += 1;
        if let Some(dir) = &self.dir {
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    std::fs::write(dir.join(format!("problem-{}.smt2", self.scripts)), &script)
                })
                .map_err(|source| SmtError::WriteScript {
                    dir: dir.clone(),
                    source,
                })?;
        }
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let undecided = |why: String| {
            Answer::Undecided(Undecided::Solver {
                program: self.program.clone(),
                why,
            })
        };
        Ok(match smt::solve(&self.program, &args, &script) {
            Ok(SmtResult::Unsat) => Answer::Empty,
            Ok(SmtResult::Unknown(why)) => undecided(why),
            Err(e) => undecided(e.to_string()),
            Ok(SmtResult::Sat {
                resource,
                attacker,
                victim,
            }) => Answer::Candidates(vec![Candidate::Concrete {
                solver: self.program.clone(),
                resource,
                attacker,
                victim,
            }]),
        })
    }
}
