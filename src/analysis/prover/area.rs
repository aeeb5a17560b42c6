//! Areas: resource patterns holding the identity variable, compiled once.

use crate::analysis::glob::{Elem, Glob};
use crate::analysis::translate::{Reading, Variables, arn_glob, is_identity, mentions_identity};
use crate::lang::arn::ArnPattern;
use crate::lang::keys::COGNITO_SUB;
use crate::lang::variables::{Syntax, Variable};
use crate::lang::wildcard::Match;

use super::ProverError;

/// What identities other than the owner may do inside an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Others {
    /// Nothing: a private area (`--area`). Listing its key names counts as reaching it.
    #[default]
    Nothing,
    /// Read (the catalog's `Read` and `List` actions, [`crate::catalog::AccessClass`]) but
    /// not write: a protected area (`--write-area`), such as Amplify's
    /// `protected/${cognito-identity.amazonaws.com:sub}/*`.
    Read,
    /// Write but not read: only reads and listings are searched. No gate file or flag
    /// names it: the access report ([`crate::report::access`]) asks it to tell whether
    /// other identities can read an area, apart from whether they can write.
    Write,
}

impl Others {
    /// `nothing`, `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Others::Nothing => "nothing",
            Others::Read => "read",
            Others::Write => "write",
        }
    }
}

/// An area as the user names it: a resource pattern with the identity variable, and what
/// other identities may do inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AreaSpec {
    /// The resource pattern (`arn:aws:s3:::b/private/${cognito-identity.amazonaws.com:sub}/*`).
    pub pattern: String,
    /// What other identities may do inside it.
    pub others: Others,
}

impl AreaSpec {
    /// A private area.
    pub fn private(pattern: impl Into<String>) -> AreaSpec {
        AreaSpec {
            pattern: pattern.into(),
            others: Others::Nothing,
        }
    }

    /// A protected area: others may read, not write.
    pub fn protected(pattern: impl Into<String>) -> AreaSpec {
        AreaSpec {
            pattern: pattern.into(),
            others: Others::Read,
        }
    }
}

/// One area of the isolation property.
#[derive(Debug, Clone)]
pub(crate) struct Area {
    /// The pattern as given.
    pub source: String,
    /// What other identities may do inside it.
    pub others: Others,
    /// The bucket of an S3 object area, when it is plain text
    /// (`arn:aws:s3:::BUCKET/...`): listing that bucket may reveal the area's key names.
    pub bucket: Option<String>,
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
    /// Compile `spec`; its pattern must be an ARN pattern that mentions the identity
    /// variable.
    pub fn parse(spec: &AreaSpec) -> Result<Area, ProverError> {
        let source = spec.pattern.as_str();
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
        let bucket = match &pattern {
            ArnPattern::Arn { parts, .. } if service.as_deref() == Some("s3") => {
                parts.get(4..).and_then(plain_bucket)
            }
            ArnPattern::Arn { .. } | ArnPattern::Any(_) => None,
        };
        Ok(Area {
            source: source.to_string(),
            others: spec.others,
            bucket,
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

/// The bucket of an S3 object pattern's resource part (`BUCKET/key...`), when the text
/// before its first `/` is plain (no wildcard or variable) and a `/` follows it.
fn plain_bucket(resource: &[crate::lang::wildcard::Pattern]) -> Option<String> {
    use crate::lang::variables::Piece;
    let first = resource.first()?;
    let Some(Piece::Literal(text)) = first.pieces().first() else {
        return None;
    };
    let (bucket, _) = text.split_once('/')?;
    (!bucket.is_empty() && resource.len() == 1).then(|| bucket.to_string())
}
