//! Symbolic analyses over compiled policies: the isolation prover and the no-new-access
//! comparison.

pub mod no_new_access;
pub mod prover;
