//! Condition keys with a meaning of their own to the simulator: the Cognito identity key,
//! the time keys AWS fills in, and the keys AWS puts in every request. Keys are stored in
//! ASCII lowercase (condition key names are case-insensitive).

/// The Cognito identity id (`sub`) of an identity-pool identity: the key of
/// `${cognito-identity.amazonaws.com:sub}`.
pub const COGNITO_SUB: &str = "cognito-identity.amazonaws.com:sub";
/// Always present in real requests; defaults to the current time.
pub const CURRENT_TIME: &str = "aws:currenttime";
/// Always present in real requests; defaults to the current time in epoch seconds.
pub const EPOCH_TIME: &str = "aws:epochtime";

/// Keys the IAM User Guide ("AWS global condition context keys") says are "always
/// included in the request context" (besides the two time keys, which default to now).
/// A statement that needs one of them cannot be decided for a request without it.
pub const ALWAYS_PRESENT: &[&str] = &[
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principaltype",
    "aws:requestedregion",
    "aws:securetransport",
    "aws:useragent",
];

/// Keys included in every signed request and absent only from anonymous ones (IAM User
/// Guide, "AWS global condition context keys": `aws:userid`). A statement that reads one
/// cannot be decided for a request that names its principal without its value; without a
/// principal the request may be anonymous and the key is taken as absent.
pub const SIGNED_PRESENT: &[&str] = &["aws:userid"];

/// Keys included in every request made with temporary credentials (a role or federated
/// user session: IAM User Guide, "AWS global condition context keys": `aws:TokenIssueTime`,
/// `aws:MultiFactorAuthPresent`). A statement that reads one cannot be decided for a
/// session without its value.
pub const SESSION_PRESENT: &[&str] = &["aws:tokenissuetime", "aws:multifactorauthpresent"];

/// Keys a request made through a VPC endpoint has (IAM User Guide, "AWS global condition
/// context keys": `aws:SourceVpc`, `aws:SourceVpcArn`, `aws:SourceVpce`, `aws:VpcSourceIp`,
/// `aws:VpceAccount`, `aws:VpceOrgID`, `aws:VpceOrgPaths`, each "included in the request
/// context only if the requester uses a VPC endpoint", some for some services or
/// endpoint owners only). A statement that reads one cannot be decided for such a request
/// without its value: taken as absent, a `Deny` matching on it would not apply where AWS
/// applied it. A request is taken as made through an endpoint when it has any of them
/// (only such a request has one).
pub const ENDPOINT_PRESENT: &[&str] = &[
    "aws:sourcevpc",
    "aws:sourcevpcarn",
    "aws:sourcevpce",
    "aws:vpcsourceip",
    "aws:vpceaccount",
    "aws:vpceorgid",
    "aws:vpceorgpaths",
];

/// `aws:PrincipalIsAWSService`: `false` for every caller the tool reads (it is "present in
/// the request context for all signed API requests that use AWS credentials").
pub const PRINCIPAL_IS_AWS_SERVICE: &str = "aws:PrincipalIsAWSService";

/// `aws:PrincipalArn`: set from the caller (`--principal`).
pub const PRINCIPAL_ARN: &str = "aws:PrincipalArn";
/// `aws:PrincipalAccount`: set from the caller.
pub const PRINCIPAL_ACCOUNT: &str = "aws:PrincipalAccount";
/// `aws:PrincipalType`: set from the caller.
pub const PRINCIPAL_TYPE: &str = "aws:PrincipalType";
/// `aws:userid`: set from the caller where its ARN determines it.
pub const USERID: &str = "aws:userid";
/// `aws:username`: set for IAM users.
pub const USERNAME: &str = "aws:username";
/// `aws:ResourceAccount`: the account that owns the resource.
pub const RESOURCE_ACCOUNT: &str = "aws:ResourceAccount";

/// Keys a request context answers without a search: the global condition keys of the IAM
/// User Guide ("AWS global condition context keys") that policies read most, and the
/// Cognito identity keys. This is a speed table, not a rule: a key that is not listed is
/// found by the context's ordinary search, with the same answer. Lowercase; at most 255.
pub const KNOWN: &[&str] = &[
    COGNITO_SUB,
    "cognito-identity.amazonaws.com:aud",
    "cognito-identity.amazonaws.com:amr",
    CURRENT_TIME,
    EPOCH_TIME,
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:ec2instancesourceprivateipv4",
    "aws:ec2instancesourcevpc",
    "aws:federatedprovider",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:principaltype",
    "aws:referer",
    "aws:requestedregion",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpcarn",
    "aws:sourcevpce",
    "aws:tagkeys",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
    "aws:vpceaccount",
    "aws:vpceorgid",
    "aws:vpceorgpaths",
    "aws:vpcsourceip",
];

/// One of the [`KNOWN`] keys, by position: a policy's key is looked up once, when the
/// policy is parsed, and a context finds the key's values by this number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KnownKey(u8);

/// Slots of the table [`KnownKey::of`] searches (a power of two, at least twice
/// [`KNOWN`]'s length, so that probes are short).
const TABLE_SLOTS: usize = 1 << TABLE_BITS;
/// See [`TABLE_SLOTS`].
const TABLE_BITS: u32 = 7;

/// The table's home slot for a key of `len` bytes whose last eight bytes (zero-padded) are
/// `last`, in any ASCII case: a multiplicative hash of the length and those bytes in
/// lowercase (the part that tells the listed keys apart; the rest is a common prefix).
const fn home(last: u64, len: usize) -> usize {
    let word = crate::lang::wildcard::word_to_ascii_lowercase(last);
    let h = (word ^ len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - TABLE_BITS)) as usize
}

/// A key's last eight bytes (fewer, zero-padded, for a shorter key) as one word.
#[inline]
const fn last_word(key: &[u8]) -> u64 {
    let mut last = [0u8; 8];
    let start = key.len().saturating_sub(8);
    let mut i = start;
    while i < key.len() {
        last[i - start] = key[i];
        i += 1;
    }
    u64::from_le_bytes(last)
}

/// Open addressing over [`KNOWN`]: `position + 1` per slot, 0 for a free slot. Built when
/// the crate is compiled.
static TABLE: [u8; TABLE_SLOTS] = {
    assert!(KNOWN.len() * 2 <= TABLE_SLOTS && KNOWN.len() < 256);
    let mut table = [0u8; TABLE_SLOTS];
    let mut i = 0;
    while i < KNOWN.len() {
        let mut slot = home(last_word(KNOWN[i].as_bytes()), KNOWN[i].len());
        while table[slot] != 0 {
            slot = (slot + 1) & (TABLE_SLOTS - 1);
        }
        table[slot] = i as u8 + 1;
        i += 1;
    }
    table
};

impl KnownKey {
    /// The known key `key` (condition keys are case-insensitive: in any ASCII case), if it
    /// is one of [`KNOWN`].
    ///
    /// Cost: one hash of at most eight bytes and, nearly always, one comparison.
    #[inline]
    pub fn of(key: &str) -> Option<KnownKey> {
        let key = key.as_bytes();
        let last = match key.len().checked_sub(8) {
            Some(start) => {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(&key[start..]);
                u64::from_le_bytes(eight)
            }
            None => last_word(key),
        };
        let mut slot = home(last, key.len());
        loop {
            match TABLE[slot] {
                0 => return None,
                n if crate::lang::wildcard::eq_lowercased(
                    key,
                    KNOWN[usize::from(n - 1)].as_bytes(),
                ) =>
                {
                    return Some(KnownKey(n - 1));
                }
                _ => slot = (slot + 1) & (TABLE_SLOTS - 1),
            }
        }
    }

    /// The known key `key` (in any ASCII case), found when the crate is compiled: for the
    /// keys the simulator itself reads and sets (`const K: KnownKey =
    /// KnownKey::constant(CURRENT_TIME)`).
    ///
    /// # Panics
    /// When `key` is not listed: evaluated in a constant, that stops the build.
    pub const fn constant(key: &str) -> KnownKey {
        let key = key.as_bytes();
        let mut i = 0;
        while i < KNOWN.len() {
            let name = KNOWN[i].as_bytes();
            if name.len() == key.len() {
                let mut j = 0;
                while j < key.len() && name[j] == key[j].to_ascii_lowercase() {
                    j += 1;
                }
                if j == key.len() {
                    return KnownKey(i as u8);
                }
            }
            i += 1;
        }
        panic!("not a known key")
    }

    /// The key's position in [`KNOWN`].
    #[inline]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The key's name, in lowercase.
    pub fn name(self) -> &'static str {
        KNOWN[self.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_key_is_found_and_others_are_not() {
        for (i, key) in KNOWN.iter().enumerate() {
            assert_eq!(*key, key.to_ascii_lowercase(), "lowercase");
            assert_eq!(KnownKey::of(key).map(KnownKey::index), Some(i), "{key}");
            assert_eq!(KnownKey::of(key).map(KnownKey::name), Some(*key));
        }
        for key in [
            "aws:sourceipx",
            "s3:prefix",
            "",
            "aws:",
            "ws:sourceip",
            "aws:source1p",
        ] {
            assert_eq!(KnownKey::of(key), None, "{key}");
        }
        for key in [
            "AWS:SourceIp",
            "aws:SOURCEIP",
            "Cognito-Identity.AmazonAWS.com:Sub",
        ] {
            let found = KnownKey::of(key).map(KnownKey::name);
            assert_eq!(found, Some(&*key.to_ascii_lowercase()), "{key}");
        }
    }

    #[test]
    fn constants_agree_with_the_table() {
        for key in KNOWN
            .iter()
            .copied()
            .chain([PRINCIPAL_ARN, RESOURCE_ACCOUNT])
        {
            assert_eq!(Some(KnownKey::constant(key)), KnownKey::of(key), "{key}");
        }
    }

    #[test]
    fn the_keys_requests_must_carry_are_known() {
        for key in ALWAYS_PRESENT
            .iter()
            .chain(SIGNED_PRESENT)
            .chain(SESSION_PRESENT)
            .chain(ENDPOINT_PRESENT)
        {
            assert!(KnownKey::of(key).is_some(), "{key}");
        }
    }
}
