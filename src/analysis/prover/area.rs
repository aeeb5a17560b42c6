//! Areas: resource patterns holding the identity variable, compiled once.

use crate::analysis::glob::{Elem, Glob};
use crate::analysis::translate::{Reading, Variables, arn_glob, is_identity, mentions_identity};
use crate::lang::arn::ArnPattern;
use crate::lang::keys::COGNITO_SUB;
use crate::lang::variables::{Syntax, Variable, VariableSource};
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

    /// Is `resource` inside the area of `victim`? The area's pattern read as for a
    /// request whose only context key is the identity, `victim`.
    ///
    /// Cost: one match of the compiled pattern; no allocation.
    pub fn contains(&self, resource: &str, victim: &str) -> bool {
        self.pattern.matches(resource, &IdentityIs(victim)) == Match::Yes
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

/// Whose area an observed request reached: [`AreaOwners::touch`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// The resource lies in no area (or the request carries no identity to compare).
    Outside,
    /// The resource lies in an area of the caller's own identity.
    Own {
        /// The area's index among the specs given.
        area: usize,
    },
    /// The resource lies in another identity's area.
    Other {
        /// The area's index among the specs given.
        area: usize,
        /// The identity whose area it is.
        owner: String,
        /// Whether the area forbids the caller this action: always for a private area;
        /// for a protected one, unless the action reads ([`crate::catalog::AccessClass`]).
        forbidden: bool,
    },
    /// A listing whose prefix spans the area of every identity (`private/`, or the
    /// bucket's root): the key names of all identities are revealed.
    Everyone {
        /// The area's index among the specs given.
        area: usize,
        /// Whether the area forbids it (a private area: listing counts as reaching it).
        forbidden: bool,
    },
    /// The resource matches an area's pattern for some identity, but neither for the
    /// caller's nor for any identity that can be read off the resource: counted apart,
    /// never taken to be safe.
    Unattributed {
        /// The area's index among the specs given.
        area: usize,
    },
}

/// The isolation areas compiled for observed traffic: for a request that was made (a
/// CloudTrail data event, an access log line), whose area did it reach? The empirical twin
/// of the prover, on the same area patterns (one reading of them: [`Area::contains`]).
#[derive(Debug, Clone)]
pub struct AreaOwners {
    areas: Vec<Area>,
    /// Each area's glob with any text in the identity slot.
    anyone: Vec<crate::analysis::glob::Glob>,
    /// Each area's literal head ([`Glob::literal_head`]), computed once.
    heads: Vec<Vec<u8>>,
}

impl AreaOwners {
    /// Compile `specs`; each must be an ARN pattern that mentions the identity variable
    /// (the errors of a proof of them).
    pub fn new(specs: &[AreaSpec]) -> Result<AreaOwners, ProverError> {
        let areas = specs
            .iter()
            .map(Area::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let anyone = areas
            .iter()
            .map(|a| {
                crate::analysis::glob::Glob(
                    a.glob
                        .0
                        .iter()
                        .map(|e| match e {
                            Elem::Slot => Elem::Star(crate::analysis::glob::Class::All),
                            other => *other,
                        })
                        .collect(),
                )
            })
            .collect();
        let heads = areas.iter().map(|a| a.glob.literal_head()).collect();
        Ok(AreaOwners {
            areas,
            anyone,
            heads,
        })
    }

    /// The number of areas.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// No areas at all.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// Area `i`'s pattern as given, and what others may do in it.
    pub fn area(&self, i: usize) -> (&str, Others) {
        (&self.areas[i].source, self.areas[i].others)
    }

    /// Does a request list key names under its `s3:prefix`? An S3 `List` action on a
    /// bucket (`arn:aws:s3:::BUCKET`), except the `HeadBucket` operation, which is
    /// authorized as `s3:ListBucket` but returns no names (`operation`: the recorded API
    /// operation, when known).
    pub fn lists(action: &str, resource: &str, operation: Option<&str>) -> bool {
        let is_list = action
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("s3:list"));
        // The resource is searched only for a listing action (most requests are not).
        let bucket = || {
            resource
                .strip_prefix("arn:")
                .and_then(|r| r.split_once(":s3:::"))
                .is_some_and(|(_, name)| !name.is_empty() && !name.contains('/'))
        };
        is_list && operation != Some("HeadBucket") && bucket()
    }

    /// Whose area the request of `identity` (`None`: the request carries none) for
    /// `action` on `resource` reached. A listing (`lists`, see [`AreaOwners::lists`])
    /// reaches the objects under its `prefix` (`s3:prefix`; absent: the whole bucket): a
    /// prefix that stops at or before the identity in an S3 area's literal text
    /// (`private/`, `priv`, none) reaches every identity's names ([`Touch::Everyone`]), and
    /// one that reaches into the area without being the caller's own or another
    /// identity's folder is [`Touch::Unattributed`].
    ///
    /// Every area is tried and the strictest answer kept: a forbidden touch of another
    /// identity's area, then the caller's own area, then a permitted touch (a read of a
    /// protected area), then outside.
    ///
    /// Owners are read off the resource: every substring shaped like a Cognito identity id
    /// (`<region>:<UUID>`) and every `/`-separated segment (at most
    /// [`MAX_CANDIDATES`] of them) is tried with [`Area::contains`]. A resource in an area
    /// whose owner cannot be read off it, or longer than [`MAX_RESOURCE`] bytes, is
    /// [`Touch::Unattributed`].
    ///
    /// Cost: per area whose literal head the resource starts with, at most
    /// [`MAX_CANDIDATES`] + 2 pattern matches on at most [`MAX_RESOURCE`] bytes; other areas
    /// are skipped on a byte comparison.
    pub fn touch(
        &self,
        identity: Option<&str>,
        action: &str,
        resource: &str,
        prefix: Option<&str>,
        lists: bool,
    ) -> Touch {
        let Some(identity) = identity else {
            return Touch::Outside;
        };
        // The action's access class is looked up only for an area that lets others read
        // or write (a private area forbids every action), and at most once.
        let class = std::cell::OnceCell::new();
        let reads = || {
            *class.get_or_init(|| {
                crate::catalog::catalog().access_class(action) == crate::catalog::AccessClass::Read
            })
        };
        let forbidden = |others: Others| match others {
            Others::Nothing => true,
            Others::Read => !reads(),
            Others::Write => reads(),
        };
        let listed;
        let target = if lists {
            listed = format!("{resource}/{}", prefix.unwrap_or(""));
            listed.as_str()
        } else {
            resource
        };
        let mut best = Touch::Outside;
        for (i, (area, head)) in self.areas.iter().zip(&self.heads).enumerate() {
            let found = if lists && head.starts_with(target.as_bytes()) {
                // The prefix stops short of the identity: every identity's names.
                match area.bucket {
                    Some(_) => Touch::Everyone {
                        area: i,
                        forbidden: forbidden(area.others),
                    },
                    None => continue,
                }
            } else if !target.as_bytes().starts_with(head) {
                continue;
            } else if target.len() > MAX_RESOURCE {
                Touch::Unattributed { area: i }
            } else {
                // A listing reaches what lies under its prefix: an object name below it.
                let probe_owned;
                let probe = if lists {
                    let sep = if target.ends_with('/') { "" } else { "/" };
                    probe_owned = format!("{target}{sep}x");
                    probe_owned.as_str()
                } else {
                    target
                };
                if area.contains(probe, identity) {
                    Touch::Own { area: i }
                } else if let Some(owner) = candidates(probe)
                    .take(MAX_CANDIDATES)
                    .find(|c| *c != identity && area.contains(probe, c))
                {
                    Touch::Other {
                        area: i,
                        owner: owner.to_string(),
                        forbidden: forbidden(area.others),
                    }
                } else if lists || self.anyone[i].matches(probe.as_bytes()) {
                    // A listing into the area that is no one's folder in particular may
                    // list several identities' names.
                    Touch::Unattributed { area: i }
                } else {
                    continue;
                }
            };
            if rank(&found) > rank(&best) {
                best = found;
            }
        }
        best
    }
}

/// A resource longer than this is not searched for its owner: [`Touch::Unattributed`]
/// when it starts like an area (S3 keys are at most 1,024 bytes).
pub const MAX_RESOURCE: usize = 4096;

/// At most this many candidate owners are tried per area.
pub const MAX_CANDIDATES: usize = 64;

/// How strict an answer is: a forbidden touch of another's area, the caller's own, a
/// permitted touch, outside.
fn rank(t: &Touch) -> u8 {
    match t {
        Touch::Outside => 0,
        Touch::Other {
            forbidden: false, ..
        }
        | Touch::Everyone {
            forbidden: false, ..
        } => 1,
        Touch::Own { .. } => 2,
        Touch::Other { .. } | Touch::Everyone { .. } | Touch::Unattributed { .. } => 3,
    }
}

/// The variables of a request whose only context key is the Cognito identity.
struct IdentityIs<'a>(&'a str);

impl VariableSource for IdentityIs<'_> {
    fn variable(&self, key_lower: &str) -> Option<&str> {
        (key_lower == COGNITO_SUB).then_some(self.0)
    }
}

/// The owners a resource may name: substrings shaped like Cognito identity ids, then every
/// `/`-separated segment (opaque ids).
fn candidates(resource: &str) -> impl Iterator<Item = &str> {
    let bytes = resource.as_bytes();
    let cognito = bytes.iter().enumerate().filter_map(move |(colon, &b)| {
        if b != b':' {
            return None;
        }
        let uuid = bytes.get(colon + 1..colon + 37)?;
        let uuid_ok = uuid.iter().enumerate().all(|(k, &c)| match k {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        });
        if !uuid_ok {
            return None;
        }
        let start = bytes[..colon]
            .iter()
            .rposition(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-'))
            .map_or(0, |p| p + 1);
        (start < colon).then(|| &resource[start..colon + 37])
    });
    cognito.chain(resource.split('/').filter(|s| !s.is_empty()))
}
