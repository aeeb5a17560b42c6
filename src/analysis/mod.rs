//! Symbolic analyses over compiled policies: the isolation prover and the no-new-access
//! comparison.
//!
//! Both are built from the same shared pieces, bottom up:
//!
//! | piece | module |
//! |---|---|
//! | byte globs, the language the searches read | [`glob`] |
//! | the one translator from compiled patterns to globs | [`translate`] |
//! | the automata searches over globs | [`search`] |
//! | the identity formats the prover's slot ranges over | [`identity`] |
//! | questions about sets of actions (covers, acts on a service, find one) | [`actions`] |
//! | candidates made concrete and checked with the evaluator | [`confirm`] |
//! | `prove isolation` and `fuzz isolation` | [`prover`] |
//! | no new access compared with a baseline | [`no_new_access`] |
//!
//! Neither analysis depends on the other, on `lint` or on `report`.

pub mod actions;
pub mod confirm;
pub mod glob;
pub mod identity;
pub mod no_new_access;
pub mod prover;
pub mod search;
pub mod translate;
