//! Areas: resource patterns holding the identity variable, compiled once.

use crate::analysis::glob::{Elem, Glob};
use crate::analysis::translate::{Reading, Variables, arn_glob, is_identity, mentions_identity};
use crate::lang::arn::ArnPattern;
use crate::lang::keys::COGNITO_SUB;
use crate::lang::variables::{Syntax, Variable};
use crate::lang::wildcard::Match;

use super::ProverError;

/// One area of the isolation property.
#[derive(Debug, Clone)]
pub(crate) struct Area {
    /// The pattern as given.
    pub source: String,
    /// The pattern, read as a `Resource` of a `2012-10-17` policy.
    pub pattern: ArnPattern,
    /// Its glob, the identity variable as the slot.
    pub glob: Glob,
    /// The service its ARNs name (`s3`), when that is plain text.
    pub service: Option<String>,
    /// The account its ARNs name, when that is plain text (empty for S3 ARNs, which
    /// name none).
    pub account: Option<String>,
}

impl Area {
    /// Compile `source`; it must be an ARN pattern that mentions the identity variable.
    pub fn parse(source: &str) -> Result<Area, ProverError> {
        let syntax = Syntax {
            variables: true,
            wildcards: true,
        };
        let pattern = ArnPattern::parse(source, syntax).map_err(|e| ProverError::InvalidArea {
            area: source.to_string(),
            message: e.to_string(),
        })?;
        if !mentions_identity(&pattern) {
            return Err(ProverError::AreaWithoutIdentity {
                area: source.to_string(),
            });
        }
        let plain = |i: usize| match &pattern {
            ArnPattern::Any(_) => None,
            ArnPattern::Arn { parts, .. } => parts.get(i).and_then(|p| p.as_exact()),
        };
        let service = plain(1).map(str::to_ascii_lowercase);
        let account = plain(3).map(str::to_string);
        Ok(Area {
            source: source.to_string(),
            glob: arn_glob(&pattern, &Variables::TrackIdentity),
            pattern,
            service,
            account,
        })
    }

    /// Is `resource` inside the area of `victim`?
    pub fn contains(&self, resource: &str, victim: &str) -> bool {
        let mut ctx = crate::request::Context::new();
        ctx.add(COGNITO_SUB, victim);
        self.pattern.matches(resource, &ctx) == Match::Yes
    }

    /// The area's glob with the identity variable holding `identity` and every other
    /// variable `x`: what its resources look like for that identity.
    pub fn glob_for(&self, identity: &str) -> Glob {
        let value = |v: &Variable| {
            Reading::Value(if is_identity(v) {
                identity.to_string()
            } else {
                "x".to_string()
            })
        };
        arn_glob(&self.pattern, &Variables::Fixed(&value))
    }

    /// A resource inside the area of `identity`: every wildcard reads `x`.
    pub fn example(&self, identity: &str) -> String {
        let mut out = Vec::new();
        for e in self.glob_for(identity).0 {
            match e {
                Elem::Byte(b) => out.push(b),
                Elem::Star(_) | Elem::AnyChar(_) | Elem::Slot => out.push(b'x'),
                Elem::Never => {}
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}
