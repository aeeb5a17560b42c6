//! Synthetic request sets for benchmarks and load tests: JSON Lines requests against the
//! shipped Cognito authenticated-role policies, reproducible from a seed.
//!
//! The mix: reads and writes of the caller's own private objects (Allow), of another
//! identity's objects and of prefix-confusable ids (ImplicitDeny under the slash-terminated
//! policies), API calls on allowed and other stages, and Cognito calls, each with a small
//! request context.

use std::io::Write;

/// A small, fast, reproducible generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `0` when `n` is `0` (an empty range has no number to give, and
    /// no input may make the generator panic).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }
}

/// A Cognito identity id: `us-east-1:` and a lowercase UUID.
pub fn identity(rng: &mut SplitMix64) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "us-east-1:{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// Write `count` requests to `out`, one JSON object per line.
pub fn write_requests(out: &mut impl Write, count: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = SplitMix64::new(seed);
    let identities: Vec<String> = (0..64).map(|_| identity(&mut rng)).collect();
    let object_actions = [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:GetObjectAcl",
    ];
    let stages = ["prod", "dev"];
    let methods = ["GET", "POST", "PUT", "DELETE"];
    for n in 0..count {
        let me = &identities[rng.below(identities.len() as u64) as usize];
        let ip = format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.below(256)
        );
        let (action, resource) = match rng.below(10) {
            // Own objects.
            0..=3 => (
                object_actions[rng.below(4) as usize],
                format!(
                    "arn:aws:s3:::notes-app-uploads/private/{me}/file-{}.jpg",
                    rng.below(1000)
                ),
            ),
            // Someone else's objects.
            4 | 5 => {
                let other = &identities[rng.below(identities.len() as u64) as usize];
                (
                    object_actions[rng.below(4) as usize],
                    format!(
                        "arn:aws:s3:::notes-app-uploads/private/{other}/file-{}.jpg",
                        rng.below(1000)
                    ),
                )
            }
            // A prefix-confusable id: the caller's id plus one more character.
            6 => (
                "s3:GetObject",
                format!("arn:aws:s3:::notes-app-uploads/private/{me}x/file.jpg"),
            ),
            // The API.
            7 | 8 => (
                "execute-api:Invoke",
                format!(
                    "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/{}/{}/notes/{}",
                    stages[rng.below(2) as usize],
                    methods[rng.below(4) as usize],
                    rng.below(100_000)
                ),
            ),
            _ => (
                "cognito-identity:GetCredentialsForIdentity",
                "*".to_string(),
            ),
        };
        writeln!(
            out,
            r#"{{"id":"r{n}","identity":"{me}","action":"{action}","resource":"{resource}","context":{{"aws:SourceIp":"{ip}","aws:SecureTransport":"true","aws:RequestedRegion":"us-east-1"}}}}"#
        )?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_parseable() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_requests(&mut a, 200, 7).unwrap();
        write_requests(&mut b, 200, 7).unwrap();
        assert_eq!(a, b);
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        for line in String::from_utf8(a).unwrap().lines() {
            crate::request::lines::parse_request_line(line, now).unwrap();
        }
        let mut c = Vec::new();
        write_requests(&mut c, 200, 8).unwrap();
        assert_ne!(b, c);
    }

    #[test]
    fn identities_look_like_cognito_ids() {
        let id = identity(&mut SplitMix64::new(1));
        let re_like = id.len() == "us-east-1:".len() + 36
            && id.starts_with("us-east-1:")
            && id[10..].chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        assert!(re_like, "{id}");
    }
}
