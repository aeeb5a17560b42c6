//! Gate file parser (`policy-gate.yml`), parsing only: running a gate reads files and
//! runs git.
//!
//! Properties:
//! - parsing is deterministic and errors render;
//! - every location a parsed gate keeps (expectations, isolation checks, suppressions,
//!   baseline) names the gate file and a place inside it;
//! - every isolation check's identity format is either refused or compiled within its
//!   limits (the fuzzer's time and memory limits catch a format that is not);
//! - an expectation's request is refused or valid, never a panic.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use policy_sim::analysis::identity::IdentityFormat;
use policy_sim::gate::GateConfig;
use policy_sim::loc::Loc;
use policy_sim::request::Request;
use policy_sim_fuzz::{assert_loc_inside, render};

const FILE: &str = "policy-gate.yml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = GateConfig::parse(Path::new(FILE), text);
    let second = GateConfig::parse(Path::new(FILE), text);
    assert_eq!(
        format!("{first:?}"),
        format!("{second:?}"),
        "two parses differ"
    );
    let gates = match first {
        Ok(g) => g,
        Err(e) => {
            render(&e);
            return;
        }
    };
    for gate in &gates {
        assert_eq!(gate.file, Path::new(FILE));
        let mut locs: Vec<&Loc> = Vec::new();
        locs.extend(gate.expect.iter().map(|e| &e.loc));
        locs.extend(gate.isolation.iter().map(|i| &i.loc));
        locs.extend(gate.suppress.iter().map(|s| &s.loc));
        locs.extend(gate.baseline.iter().map(|(_, l)| l));
        for loc in locs {
            assert_loc_inside(loc, FILE, text, "gate location");
        }
        for check in &gate.isolation {
            if let Err(e) = IdentityFormat::parse(&check.format) {
                render(&e);
            }
        }
        for e in &gate.expect {
            let mut r = Request::new(e.action.as_str(), e.resource.as_str());
            for (k, v) in &e.context {
                r.context.set(k, v.clone());
            }
            let identity = e.identity.as_deref().map(|i| r.set_identity(i));
            if let Some(Err(err)) = identity {
                render(&err);
            } else if let Err(err) = r.validate() {
                render(&err);
            }
        }
    }
});
