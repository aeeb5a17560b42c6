//! Synthetic CloudTrail logs of a Cognito identity-pool app, for tests and benchmarks of
//! the audit (`docs/audit.md`, "Synthetic CloudTrail logs").
//!
//! [`generate_cloudtrail`] writes the CloudTrail delivery tree
//! (`AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_SUFFIX.json.gz`),
//! each file a gzip of `{"Records":[...]}` in the record shapes [`super::cloudtrail`] reads:
//! the `AssumeRoleWithWebIdentity` events of the app's Cognito identities (the basic flow),
//! then S3 data events signed with the access keys those sessions were issued, on the
//! identities' own `private/<identity id>/` objects. A known number of events is planted:
//! cross-identity accesses (an identity's request on another identity's `private/` object,
//! answered or denied) and events the mapping cannot map, by [`UnmappedKind`]. The counts
//! come back in [`Generated`], so a test can check that the mapping (and an audit over it)
//! finds exactly them.
//!
//! Output is a function of [`GenerateOptions`] alone: the same options write byte-identical
//! files. Memory does not grow with the number of records: records are written into a
//! file-sized buffer, which one of two writing threads compresses and writes while the
//! next file is built (at most five files' text in memory); what is kept besides is one
//! identity id and session per identity.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::UnmappedCounts;
use super::UnmappedKind;
use super::push_json_string;
use crate::workload::{SplitMix64, identity};

/// What to generate. [`GenerateOptions::new`] gives the defaults for the three numbers
/// that matter most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Records to write in all (sessions, data events and unmappable events), at least 1.
    pub records: u64,
    /// Cognito identities, at least 1 (cross-identity accesses need at least 2).
    pub identities: u64,
    /// The seed every identity, key, choice and id is derived from.
    pub seed: u64,
    /// The time of the first record, in seconds since the Unix epoch (default
    /// 2026-11-01T00:00:00Z).
    pub start: u64,
    /// The records' times are spread evenly over this many seconds from `start`, in record
    /// order (default 2 days).
    pub span_seconds: u64,
    /// At most this many records in one file (default 5,000).
    pub records_per_file: u64,
    /// A file holds the records of one window of this many seconds (CloudTrail delivers
    /// about every 5 minutes; default 300), split further by `records_per_file`.
    pub file_window_seconds: u64,
    /// A session's credentials are used for this long, then the identity gets a new
    /// session with a new access key (default 3,600: the default lifetime of the
    /// credentials Cognito hands out).
    pub session_seconds: u64,
    /// One in this many mapped S3 data events is a planted cross-identity access
    /// (default 2,000); 0 plants none.
    pub planted_every: u64,
    /// The account (12 digits; default `123456789012`, the account of `policies/`).
    pub account: String,
    /// The bucket (default `notes-app-uploads`, the bucket of `policies/`).
    pub bucket: String,
    /// The authenticated role's name (default `notes-app-auth-role`, as in
    /// `fixtures/logs/`).
    pub role_name: String,
}

/// The region: the identity ids [`crate::workload::identity`] makes are of `us-east-1`.
pub const REGION: &str = "us-east-1";

impl GenerateOptions {
    /// `records` records of `identities` identities from `seed`, every other option at its
    /// default.
    pub fn new(records: u64, identities: u64, seed: u64) -> GenerateOptions {
        GenerateOptions {
            records,
            identities,
            seed,
            start: 1_793_491_200, // 2026-11-01T00:00:00Z
            span_seconds: 2 * 86_400,
            records_per_file: 5_000,
            file_window_seconds: 300,
            session_seconds: 3_600,
            planted_every: 2_000,
            account: "123456789012".to_string(),
            bucket: "notes-app-uploads".to_string(),
            role_name: "notes-app-auth-role".to_string(),
        }
    }
}

impl Default for GenerateOptions {
    /// 10,000 records of 100 identities from seed 0.
    fn default() -> GenerateOptions {
        GenerateOptions::new(10_000, 100, 0)
    }
}

/// What was written, with the counts a reader of the files must find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// The files, relative to the output directory, in time order (which is also their
    /// order by name).
    pub files: Vec<PathBuf>,
    /// Records written in all.
    pub records: u64,
    /// `AssumeRoleWithWebIdentity` events, each issuing a new access key (the
    /// `IdentityIndex` of the files holds exactly this many keys).
    pub sessions: u64,
    /// Of `sessions`, those that renewed an identity's expired session.
    pub renewals: u64,
    /// S3 data events written (mapped or not).
    pub data_events: u64,
    /// Records the mapping maps (S3 data events of known sessions, of mapped operations,
    /// with their resources).
    pub mapped_records: u64,
    /// The requests those records map to (`CopyObject` makes two).
    pub requests: u64,
    /// Planted cross-identity accesses that AWS answered (no `errorCode`): the leaks an
    /// audit must find.
    pub planted_leaks: u64,
    /// Planted cross-identity accesses denied (`errorCode` `AccessDenied`).
    pub planted_denied: u64,
    /// Own-object reads answered `NoSuchKey` (not cross-identity).
    pub not_found: u64,
    /// The records the mapping cannot map, by kind. `other-service` counts the
    /// `AssumeRoleWithWebIdentity` events too (they are not S3 requests).
    pub unmapped: UnmappedCounts,
    /// Bytes of JSON written, before compression.
    pub json_bytes: u64,
}

/// Why nothing (or not everything) was generated.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GenerateError {
    /// An option out of range.
    #[error("{0}")]
    #[diagnostic(code(policy_sim::logs::generate::options))]
    Options(String),
    /// The output directory exists and holds something.
    #[error(
        "{0}: the output directory is not empty; give a new or empty directory (generated \
         files are never mixed with others)"
    )]
    #[diagnostic(code(policy_sim::logs::generate::not_empty))]
    NotEmpty(PathBuf),
    /// A file or directory could not be created or written.
    #[error("{path}: {source}")]
    #[diagnostic(code(policy_sim::logs::generate::io))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The identity ids [`generate_cloudtrail`] uses for `seed`: the first `count` of
/// [`crate::workload::identity`] from `SplitMix64::new(seed)`.
pub fn identity_ids(seed: u64, count: u64) -> Vec<String> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| identity(&mut rng)).collect()
}

/// Write the synthetic logs of `options` under `out` (which must not exist or be empty)
/// and say what was written. See the module documentation and `docs/audit.md`.
pub fn generate_cloudtrail(
    out: &Path,
    options: &GenerateOptions,
) -> Result<Generated, GenerateError> {
    check(options)?;
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(GenerateError::NotEmpty(out.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(out).map_err(io_error(out))?;
        }
        Err(e) => return Err(io_error(out)(e)),
    }

    std::thread::scope(|scope| {
        // Compressing is the slow half: files go round-robin to WRITERS threads, each
        // holding at most one file waiting and one being written.
        let mut senders = Vec::with_capacity(WRITERS);
        let mut writers = Vec::with_capacity(WRITERS);
        for _ in 0..WRITERS {
            let (sender, receiver) = mpsc::sync_channel::<(PathBuf, String)>(1);
            senders.push(sender);
            writers.push(scope.spawn(move || -> Result<(), GenerateError> {
                for (relative, json) in receiver {
                    write_gzip(out, &relative, json.as_bytes())?;
                }
                Ok(())
            }));
        }
        let mut generator = Generator::new(options);
        let mut next = 0;
        let built = generator.run(|relative, json| {
            next = (next + 1) % WRITERS;
            senders[next].send((relative, json)).is_ok()
        });
        drop(senders);
        // The writers' errors first: when one stopped, the generator stopped because of it.
        for writer in writers {
            match writer.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(GenerateError::Io {
                        path: out.to_path_buf(),
                        source: std::io::Error::other("a writing thread panicked"),
                    });
                }
            }
        }
        if !built {
            return Err(GenerateError::Io {
                path: out.to_path_buf(),
                source: std::io::Error::other("a writing thread stopped"),
            });
        }
        Ok(generator.generated)
    })
}

/// Threads compressing and writing files while the generator builds the next ones.
const WRITERS: usize = 2;

fn check(o: &GenerateOptions) -> Result<(), GenerateError> {
    let bad = |m: &str| Err(GenerateError::Options(m.to_string()));
    if o.records == 0 {
        return bad("records must be at least 1");
    }
    if o.identities == 0 {
        return bad("identities must be at least 1");
    }
    if o.records_per_file == 0 {
        return bad("records per file must be at least 1");
    }
    if o.file_window_seconds == 0 {
        return bad("the file window must be at least 1 second");
    }
    if o.session_seconds == 0 {
        return bad("the session lifetime must be at least 1 second");
    }
    if o.account.len() != 12 || !o.account.bytes().all(|b| b.is_ascii_digit()) {
        return bad("the account must be 12 digits");
    }
    let name_ok = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || extra.contains(&b))
    };
    // Bucket names: lowercase letters, digits, dots and hyphens (S3 User Guide, "Bucket
    // naming rules"); role names: letters, digits and `+=,.@_-` (IAM User Guide).
    if !name_ok(&o.bucket, b".") || o.bucket.bytes().any(|b| b.is_ascii_uppercase()) {
        return bad("the bucket must be a bucket name (lowercase letters, digits, '.', '-')");
    }
    if !name_ok(&o.role_name, b"+=,.@_") {
        return bad("the role name must be letters, digits and +=,.@_-");
    }
    // Times must stay within what a 4-digit year can name.
    const LAST: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if o.start
        .checked_add(o.span_seconds)
        .is_none_or(|end| end > LAST)
    {
        return bad("start and span must end before the year 10000");
    }
    Ok(())
}

fn write_gzip(out: &Path, relative: &Path, json: &[u8]) -> Result<(), GenerateError> {
    let path = out.join(relative);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let file = std::fs::File::create(&path).map_err(io_error(&path))?;
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::with_capacity(1 << 16, file),
        flate2::Compression::fast(),
    );
    gz.write_all(json).map_err(io_error(&path))?;
    let mut inner = gz.finish().map_err(io_error(&path))?;
    inner.flush().map_err(io_error(&path))?;
    Ok(())
}

/// One identity's current session.
#[derive(Debug, Clone)]
struct Session {
    key: String,
    created: u64,
}

/// What one record slot becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A KMS event (another service).
    OtherService,
    /// An S3 data event of an AWS service caller (no principal).
    NoPrincipal,
    /// An S3 data event signed with a key no `AssumeRoleWithWebIdentity` issued.
    NoIdentity,
    /// `GetObjectAttributes` (not in the operation table).
    UnknownOperation,
    /// `DeleteObjects` without the deleted keys.
    NoResource,
    /// A mapped data event.
    Data,
}

/// Out of 10,000 slots: the unmappable shares, the rest mapped data events.
fn slot(r: u64) -> Slot {
    match r {
        0..20 => Slot::OtherService,
        20..30 => Slot::NoPrincipal,
        30..40 => Slot::NoIdentity,
        40..50 => Slot::UnknownOperation,
        50..70 => Slot::NoResource,
        _ => Slot::Data,
    }
}

/// Mapped operations, with their share out of 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Head,
    Put,
    Delete,
    List,
    ListV2,
    Copy,
}

fn op(r: u64) -> Op {
    match r {
        0..42 => Op::Get,
        42..54 => Op::Head,
        54..74 => Op::Put,
        74..80 => Op::Delete,
        80..84 => Op::List,
        84..96 => Op::ListV2,
        _ => Op::Copy,
    }
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "GetObject",
            Op::Head => "HeadObject",
            Op::Put => "PutObject",
            Op::Delete => "DeleteObject",
            Op::List => "ListObjects",
            Op::ListV2 => "ListObjectsV2",
            Op::Copy => "CopyObject",
        }
    }
}

const USER_AGENTS: [&str; 4] = [
    "[aws-sdk-js/3.540.0 ua/2.0 os/iOS#17.4 lang/js md/browser#Safari_17.4 api/s3#3.540.0]",
    "[aws-sdk-js/3.540.0 ua/2.0 os/Windows#NT-10.0 lang/js md/browser#Chrome_123.0.0.0 api/s3#3.540.0]",
    "[aws-amplify/6.0.27 storage/2 framework/1]",
    "[aws-sdk-js/3.540.0 ua/2.0 os/Android#14 lang/js md/rn api/s3#3.540.0]",
];

const CIPHER: &str = "TLS_AES_128_GCM_SHA256";

/// The state of a run: random stream, identities, sessions, counts.
struct Generator<'o> {
    o: &'o GenerateOptions,
    rng: SplitMix64,
    ids: Vec<String>,
    sessions: Vec<Option<Session>>,
    /// Seed-derived offset of the access key counter (keys are unique per run).
    key_base: u64,
    issued: u64,
    unissued: u64,
    pool: String,
    role_id: String,
    role_arn: String,
    session_arn: String,
    record: String,
    time: TimeCache,
    generated: Generated,
}

/// SplitMix64's output function: a bijection of u64, so distinct inputs give distinct
/// keys.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Digits, then uppercase, then lowercase: in ASCII order, so fixed-width numbers written
/// with them sort as the numbers do.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl<'o> Generator<'o> {
    fn new(o: &'o GenerateOptions) -> Generator<'o> {
        let ids = identity_ids(o.seed, o.identities);
        let mut rng = SplitMix64::new(mix(o.seed ^ 0x6c6f_6773_6765_6e21));
        let pool = identity(&mut rng);
        let mut role_id = String::from("AROA");
        push_base32(&mut role_id, rng.next_u64(), 13);
        push_base32(&mut role_id, rng.next_u64(), 4);
        let key_base = rng.next_u64();
        Generator {
            o,
            rng,
            sessions: vec![None; ids.len()],
            ids,
            key_base,
            issued: 0,
            unissued: 0,
            pool,
            role_id,
            role_arn: format!("arn:aws:iam::{}:role/{}", o.account, o.role_name),
            session_arn: format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                o.account,
                o.role_name,
                super::COGNITO_SESSION_NAME
            ),
            record: String::with_capacity(4096),
            time: TimeCache::default(),
            generated: Generated::default(),
        }
    }

    /// The time of record `i`.
    fn time_of(&self, i: u64) -> u64 {
        let offset = u128::from(i) * u128::from(self.o.span_seconds) / u128::from(self.o.records);
        // offset <= span_seconds, checked to fit with start.
        self.o.start + offset as u64
    }

    /// Build every file and hand each to `emit` (relative path, JSON); `false` when `emit`
    /// refused one.
    fn run(&mut self, mut emit: impl FnMut(PathBuf, String) -> bool) -> bool {
        let o = self.o;
        let mut first = 0u64;
        let mut file_number = 0u64;
        while first < o.records {
            let window = (self.time_of(first) - o.start) / o.file_window_seconds;
            let mut end = first + 1;
            while end < o.records
                && end - first < o.records_per_file
                && (self.time_of(end) - o.start) / o.file_window_seconds == window
            {
                end += 1;
            }
            let relative = self.file_name(self.time_of(end - 1), file_number);
            let mut json = String::with_capacity(((end - first) as usize).saturating_mul(1900));
            json.push_str("{\"Records\":[");
            for i in first..end {
                if i > first {
                    json.push(',');
                }
                self.record(i);
                json.push_str(&self.record);
            }
            json.push_str("]}");
            self.generated.json_bytes += json.len() as u64;
            self.generated.files.push(relative.clone());
            if !emit(relative, json) {
                return false;
            }
            file_number += 1;
            first = end;
        }
        self.generated.records = o.records;
        true
    }

    fn file_name(&mut self, time: u64, number: u64) -> PathBuf {
        let c = civil(time);
        let o = self.o;
        let mut name = format!(
            "{account}_CloudTrail_{REGION}_{:04}{:02}{:02}T{:02}{:02}Z_",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            account = o.account
        );
        // 6 sortable characters of the file's number (so that files of one minute sort
        // in order), then 10 random ones.
        for k in (0..6).rev() {
            name.push(BASE62[((number / 62u64.pow(k)) % 62) as usize] as char);
        }
        for _ in 0..10 {
            name.push(BASE62[self.rng.below(62) as usize] as char);
        }
        name.push_str(".json.gz");
        PathBuf::from(format!(
            "AWSLogs/{}/CloudTrail/{REGION}/{:04}/{:02}/{:02}/{name}",
            o.account, c.year, c.month, c.day
        ))
    }

    fn new_key(&mut self, issued: bool) -> String {
        let n = if issued {
            self.issued += 1;
            2 * self.issued
        } else {
            self.unissued += 1;
            2 * self.unissued + 1
        };
        let bits = mix(self.key_base.wrapping_add(n));
        let mut key = String::with_capacity(20);
        key.push_str("ASIA");
        // 64 bits in 13 base-32 characters (the last one holding 4 bits), then 3 more.
        push_base32(&mut key, bits, 13);
        push_base32(&mut key, mix(bits), 3);
        key
    }

    /// Write record `i` into `self.record`.
    fn record(&mut self, i: u64) {
        let now = self.time_of(i);
        self.record.clear();
        let kind = slot(self.rng.below(10_000));
        let who = self.rng.below(self.o.identities) as usize;
        let needs_session = matches!(kind, Slot::Data | Slot::UnknownOperation | Slot::NoResource);
        if needs_session {
            let live = self.sessions[who]
                .as_ref()
                .is_some_and(|s| now - s.created < self.o.session_seconds);
            if !live {
                self.assume_role(who, now);
                return;
            }
        }
        match kind {
            Slot::OtherService => {
                self.kms(now);
                self.count(UnmappedKind::OtherService);
            }
            Slot::NoPrincipal => {
                self.service_read(now);
                self.count(UnmappedKind::NoPrincipal);
                self.generated.data_events += 1;
            }
            Slot::NoIdentity => {
                let key = self.new_key(false);
                let file = self.own_key(who);
                self.s3_event(
                    now,
                    who,
                    &key,
                    now.saturating_sub(600),
                    Op::Get,
                    &file,
                    None,
                    None,
                );
                self.count(UnmappedKind::NoIdentity);
                self.generated.data_events += 1;
            }
            Slot::UnknownOperation => {
                let file = self.own_key(who);
                self.session_event(now, who, "GetObjectAttributes", &file);
                self.count(UnmappedKind::UnknownOperation);
                self.generated.data_events += 1;
            }
            Slot::NoResource => {
                self.session_event(now, who, "DeleteObjects", "");
                self.count(UnmappedKind::NoResource);
                self.generated.data_events += 1;
            }
            Slot::Data => self.data(now, who),
        }
    }

    fn count(&mut self, kind: UnmappedKind) {
        *self.generated.unmapped.0.entry(kind).or_insert(0) += 1;
    }

    /// A key under `private/<identity>/`.
    fn own_key(&mut self, who: usize) -> String {
        let n = self.rng.below(40);
        let id = &self.ids[who];
        match self.rng.below(4) {
            0 => format!("private/{id}/notes/{n:03}.md"),
            1 => format!("private/{id}/attachments/{n:04}-photo.jpg"),
            2 => format!("private/{id}/attachments/résumé {n}.pdf"),
            _ => format!("private/{id}/{n}-{}.txt", mix(n) % 100_000),
        }
    }

    fn data(&mut self, now: u64, who: usize) {
        let o = self.o;
        self.generated.data_events += 1;
        self.generated.mapped_records += 1;
        let planted =
            o.identities >= 2 && o.planted_every > 0 && self.rng.below(o.planted_every) == 0;
        let Some(session) = self.sessions[who].clone() else {
            return;
        };
        if planted {
            let mut other = self.rng.below(o.identities - 1) as usize;
            if other >= who {
                other += 1;
            }
            let op = [Op::Get, Op::Head, Op::Put, Op::Delete][self.rng.below(4) as usize];
            let file = self.own_key(other);
            let error = if self.rng.below(2) == 0 {
                self.generated.planted_leaks += 1;
                None
            } else {
                self.generated.planted_denied += 1;
                Some(("AccessDenied", "Access Denied"))
            };
            self.generated.requests += 1;
            self.s3_event(
                now,
                who,
                &session.key,
                session.created,
                op,
                &file,
                None,
                error,
            );
            return;
        }
        let op = op(self.rng.below(100));
        let file = self.own_key(who);
        let mut error = None;
        let mut source = None;
        match op {
            Op::Get | Op::Head if self.rng.below(200) == 0 => {
                self.generated.not_found += 1;
                error = Some(("NoSuchKey", "The specified key does not exist."));
            }
            Op::Copy => source = Some(self.own_key(who)),
            _ => {}
        }
        self.generated.requests += if op == Op::Copy { 2 } else { 1 };
        self.s3_event(
            now,
            who,
            &session.key,
            session.created,
            op,
            &file,
            source.as_deref(),
            error,
        );
    }

    /// The common head of a record: version, userIdentity written by `identity`, time,
    /// source, name, region, address, agent.
    fn head(&mut self, now: u64, source: &str, name: &str, ip: &str, agent: &str) {
        let r = &mut self.record;
        r.push_str("\"eventTime\":\"");
        self.time.push(r, now);
        r.push_str("\",\"eventSource\":\"");
        r.push_str(source);
        r.push_str("\",\"eventName\":\"");
        r.push_str(name);
        r.push_str("\",\"awsRegion\":\"");
        r.push_str(REGION);
        r.push_str("\",\"sourceIPAddress\":");
        push_json_string(r, ip);
        r.push_str(",\"userAgent\":");
        push_json_string(r, agent);
    }

    fn ip(who: usize) -> String {
        let net = ["192.0.2", "198.51.100", "203.0.113"][who % 3];
        format!("{net}.{}", (who / 3) % 254 + 1)
    }

    fn assume_role(&mut self, who: usize, now: u64) {
        let key = self.new_key(true);
        if self.sessions[who].is_some() {
            self.generated.renewals += 1;
        }
        self.generated.sessions += 1;
        self.count(UnmappedKind::OtherService);
        let o = self.o;
        let id = &self.ids[who];
        let agent = USER_AGENTS[who % USER_AGENTS.len()].trim_matches(|c| c == '[' || c == ']');
        let r = &mut self.record;
        r.push_str("{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"WebIdentityUser\",\"principalId\":\"cognito-identity.amazonaws.com:");
        r.push_str(&self.pool);
        r.push(':');
        r.push_str(id);
        r.push_str("\",\"userName\":\"");
        r.push_str(id);
        r.push_str("\",\"identityProvider\":\"cognito-identity.amazonaws.com\"},");
        let ip = Self::ip(who);
        let agent = agent.to_string();
        self.head(
            now,
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            &ip,
            &agent,
        );
        let r = &mut self.record;
        let _ = write!(
            r,
            ",\"requestParameters\":{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
            self.role_arn,
            super::COGNITO_SESSION_NAME
        );
        r.push_str(",\"responseElements\":{\"credentials\":{\"accessKeyId\":\"");
        r.push_str(&key);
        r.push_str("\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE");
        push_base32(r, self.rng.next_u64(), 13);
        push_base32(r, self.rng.next_u64(), 13);
        r.push_str("\",\"expiration\":\"");
        push_expiration(r, now + o.session_seconds);
        r.push_str("\"},\"subjectFromWebIdentityToken\":\"");
        r.push_str(&self.ids[who]);
        r.push_str("\",\"assumedRoleUser\":{\"assumedRoleId\":\"");
        r.push_str(&self.role_id);
        r.push(':');
        r.push_str(super::COGNITO_SESSION_NAME);
        r.push_str("\",\"arn\":\"");
        r.push_str(&self.session_arn);
        r.push_str("\"},\"provider\":\"cognito-identity.amazonaws.com\",\"audience\":\"");
        r.push_str(&self.pool);
        r.push_str("\"},\"requestID\":\"");
        push_uuid(r, &mut self.rng);
        r.push_str("\",\"eventID\":\"");
        push_uuid(r, &mut self.rng);
        let _ = write!(
            r,
            "\",\"readOnly\":true,\"resources\":[{{\"accountId\":\"{a}\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"{}\"}}],\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"{a}\",\"eventCategory\":\"Management\",\"tlsDetails\":{{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"{CIPHER}\",\"clientProvidedHostHeader\":\"sts.{REGION}.amazonaws.com\"}}}}",
            self.role_arn,
            a = o.account
        );
        self.sessions[who] = Some(Session { key, created: now });
    }

    /// An S3 event of identity `who`'s current session (operations the mapping does not
    /// map: `GetObjectAttributes` on `file`, `DeleteObjects` without keys).
    fn session_event(&mut self, now: u64, who: usize, name: &str, file: &str) {
        let Some(session) = self.sessions[who].clone() else {
            return;
        };
        let op_name = name.to_string();
        self.s3_record(
            now,
            who,
            &session.key,
            session.created,
            &op_name,
            if file.is_empty() { None } else { Some(file) },
            None,
            None,
            None,
        );
    }

    /// An S3 data event of a mapped operation.
    #[allow(clippy::too_many_arguments)]
    fn s3_event(
        &mut self,
        now: u64,
        who: usize,
        key: &str,
        created: u64,
        op: Op,
        file: &str,
        copy_source: Option<&str>,
        error: Option<(&str, &str)>,
    ) {
        let prefix = format!("private/{}/", self.ids[who]);
        let (object, prefix) = match op {
            Op::List | Op::ListV2 => (None, Some(prefix.as_str())),
            _ => (Some(file), None),
        };
        self.s3_record(
            now,
            who,
            key,
            created,
            op.name(),
            object,
            prefix,
            copy_source,
            error,
        );
    }

    /// The S3 data event record: `object` for object operations, `prefix` for listings,
    /// neither for `DeleteObjects` (no keys recorded).
    #[allow(clippy::too_many_arguments)]
    fn s3_record(
        &mut self,
        now: u64,
        who: usize,
        key: &str,
        created: u64,
        name: &str,
        object: Option<&str>,
        prefix: Option<&str>,
        copy_source: Option<&str>,
        error: Option<(&str, &str)>,
    ) {
        let o = self.o;
        let r = &mut self.record;
        let _ = write!(
            r,
            "{{\"eventVersion\":\"1.10\",\"userIdentity\":{{\"type\":\"AssumedRole\",\"principalId\":\"{rid}:{sn}\",\"arn\":\"{sarn}\",\"accountId\":\"{a}\",\"accessKeyId\":\"{key}\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\"principalId\":\"{rid}\",\"arn\":\"{rarn}\",\"accountId\":\"{a}\",\"userName\":\"{rn}\"}},\"webIdFederationData\":{{\"federatedProvider\":\"cognito-identity.amazonaws.com\",\"attributes\":{{}}}},\"attributes\":{{\"creationDate\":\"",
            rid = self.role_id,
            sn = super::COGNITO_SESSION_NAME,
            sarn = self.session_arn,
            a = o.account,
            rarn = self.role_arn,
            rn = o.role_name,
        );
        self.time.push(r, created);
        r.push_str("\",\"mfaAuthenticated\":\"false\"}}},");
        let ip = Self::ip(who);
        self.head(
            now,
            "s3.amazonaws.com",
            name,
            &ip,
            USER_AGENTS[who % USER_AGENTS.len()],
        );
        self.s3_tail(name, object, prefix, copy_source, error);
    }

    /// `requestParameters` to the end of an S3 data event.
    fn s3_tail(
        &mut self,
        name: &str,
        object: Option<&str>,
        prefix: Option<&str>,
        copy_source: Option<&str>,
        error: Option<(&str, &str)>,
    ) {
        let o = self.o;
        let bucket = &o.bucket;
        let host = format!("{bucket}.s3.{REGION}.amazonaws.com");
        let r = &mut self.record;
        let _ = write!(
            r,
            ",\"requestParameters\":{{\"bucketName\":\"{bucket}\",\"Host\":\"{host}\""
        );
        if name == "ListObjectsV2" {
            r.push_str(",\"list-type\":\"2\"");
        }
        if let Some(p) = prefix {
            r.push_str(",\"prefix\":");
            push_json_string(r, p);
            r.push_str(",\"delimiter\":\"/\"");
        }
        if name == "DeleteObjects" {
            r.push_str(",\"delete\":\"\"");
        }
        if let Some(k) = object {
            r.push_str(",\"key\":");
            push_json_string(r, k);
        }
        if let Some(source) = copy_source {
            r.push_str(",\"x-amz-copy-source\":\"");
            r.push_str(bucket);
            r.push('/');
            push_url_encoded(r, source);
            r.push('"');
        }
        r.push('}');
        let success = error.is_none();
        if name == "PutObject" && success {
            r.push_str(",\"responseElements\":{\"x-amz-server-side-encryption\":\"AES256\"}");
        } else {
            r.push_str(",\"responseElements\":null");
        }
        let (bytes_in, bytes_out) = match (success, name) {
            (false, _) => (0, 0),
            (_, "PutObject") => (1024 + self.rng.below(200_000), 0),
            (_, "GetObject") => (0, 1024 + self.rng.below(200_000)),
            (_, "ListObjects" | "ListObjectsV2") => (0, 300 + self.rng.below(4_000)),
            _ => (0, 0),
        };
        let _ = write!(
            r,
            ",\"additionalEventData\":{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"{CIPHER}\",\"bytesTransferredIn\":{bytes_in},\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\""
        );
        for _ in 0..3 {
            push_base32(r, self.rng.next_u64(), 13);
        }
        r.push_str("=\",\"bytesTransferredOut\":");
        let _ = write!(r, "{bytes_out}");
        r.push_str("},\"requestID\":\"");
        let _ = write!(r, "{:016X}", self.rng.next_u64());
        r.push_str("\",\"eventID\":\"");
        push_uuid(r, &mut self.rng);
        let read_only = matches!(
            name,
            "GetObject" | "HeadObject" | "ListObjects" | "ListObjectsV2" | "GetObjectAttributes"
        );
        let _ = write!(r, "\",\"readOnly\":{read_only},\"resources\":[");
        if let Some(k) = object {
            r.push_str("{\"type\":\"AWS::S3::Object\",\"ARN\":");
            push_json_string(r, &format!("arn:aws:s3:::{bucket}/{k}"));
            r.push_str("},");
        } else if matches!(name, "ListObjects" | "ListObjectsV2" | "DeleteObjects") {
            // As CloudTrail records the objects a listing or a multi-object delete reached.
            let _ = write!(
                r,
                "{{\"type\":\"AWS::S3::Object\",\"ARNPrefix\":\"arn:aws:s3:::{bucket}/\"}},"
            );
        }
        let _ = write!(
            r,
            "{{\"accountId\":\"{a}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}],\"eventType\":\"AwsApiCall\",\"managementEvent\":false,\"recipientAccountId\":\"{a}\",\"eventCategory\":\"Data\",\"tlsDetails\":{{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"{CIPHER}\",\"clientProvidedHostHeader\":\"{host}\"}}",
            a = o.account
        );
        if let Some((code, message)) = error {
            r.push_str(",\"errorCode\":");
            push_json_string(r, code);
            r.push_str(",\"errorMessage\":");
            push_json_string(r, message);
        }
        r.push('}');
    }

    /// A KMS `Decrypt` that S3 made on the app's behalf (another service).
    fn kms(&mut self, now: u64) {
        let o = self.o;
        self.record.push_str(
            "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AWSService\",\"invokedBy\":\"s3.amazonaws.com\"},",
        );
        self.head(
            now,
            "kms.amazonaws.com",
            "Decrypt",
            "s3.amazonaws.com",
            "s3.amazonaws.com",
        );
        let r = &mut self.record;
        r.push_str(",\"requestParameters\":{\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"},\"responseElements\":null,\"requestID\":\"");
        push_uuid(r, &mut self.rng);
        r.push_str("\",\"eventID\":\"");
        push_uuid(r, &mut self.rng);
        let _ = write!(
            r,
            "\",\"readOnly\":true,\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"{a}\",\"sharedEventID\":\"",
            a = o.account
        );
        push_uuid(r, &mut self.rng);
        r.push_str("\",\"eventCategory\":\"Management\"}");
    }

    /// An S3 read made by an AWS service (CloudFront) of a `public/` object: no principal
    /// a policy can match.
    fn service_read(&mut self, now: u64) {
        self.record.push_str(
            "{\"eventVersion\":\"1.10\",\"userIdentity\":{\"type\":\"AWSService\",\"invokedBy\":\"cloudfront.amazonaws.com\"},",
        );
        self.head(
            now,
            "s3.amazonaws.com",
            "GetObject",
            "cloudfront.amazonaws.com",
            "cloudfront.amazonaws.com",
        );
        let n = self.rng.below(20);
        let file = format!("public/assets/{n:02}.png");
        self.s3_tail("GetObject", Some(&file), None, None, None);
    }
}

/// `key` URL-encoded as a copy source header (unreserved characters and `/` kept).
fn push_url_encoded(out: &mut String, key: &str) {
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The low `5 * count` bits of `bits` (most significant first) in base 32.
fn push_base32(out: &mut String, bits: u64, count: u32) {
    for k in (0..count).rev() {
        let shift = 5 * k;
        let digit = if shift >= 64 { 0 } else { (bits >> shift) & 31 };
        out.push(BASE32[digit as usize] as char);
    }
}

/// A random lowercase UUID (version 4 shape).
fn push_uuid(out: &mut String, rng: &mut SplitMix64) {
    let a = rng.next_u64();
    let b = rng.next_u64();
    let _ = write!(
        out,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    );
}

/// A UTC date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Civil {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
}

/// Seconds since the epoch as a UTC date and time (the proleptic Gregorian calendar's
/// days-to-date arithmetic, for times from 1970 on).
fn civil(seconds: u64) -> Civil {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    // Days since 0000-03-01, in 400-year eras of 146,097 days.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: rest / 3_600,
        minute: rest % 3_600 / 60,
        second: rest % 60,
    }
}

/// The last second formatted, reused while records share it.
#[derive(Debug, Default)]
struct TimeCache {
    second: Option<u64>,
    text: String,
}

impl TimeCache {
    /// `YYYY-MM-DDTHH:MM:SSZ` of `seconds`.
    fn push(&mut self, out: &mut String, seconds: u64) {
        if self.second != Some(seconds) {
            let c = civil(seconds);
            self.text.clear();
            let _ = write!(
                self.text,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                c.year, c.month, c.day, c.hour, c.minute, c.second
            );
            self.second = Some(seconds);
        }
        out.push_str(&self.text);
    }
}

/// `Nov 30, 2026, 1:00:00 PM`: how CloudTrail records the credentials' expiration.
fn push_expiration(out: &mut String, seconds: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = civil(seconds);
    let month = MONTHS[(c.month as usize).saturating_sub(1) % 12];
    let (hour, half) = match c.hour {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    let _ = write!(
        out,
        "{month} {}, {}, {hour}:{:02}:{:02} {half}",
        c.day, c.year, c.minute, c.second
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let c = civil(1_793_491_200);
        assert_eq!((c.year, c.month, c.day, c.hour), (2026, 11, 1, 0));
        let c = civil(951_782_400); // 2000-02-29T00:00:00Z
        assert_eq!((c.year, c.month, c.day), (2000, 2, 29));
        let c = civil(253_402_300_799);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (9999, 12, 31, 23, 59, 59)
        );
        // Against jiff, over a range of days.
        for s in (0..4_000_000_000u64).step_by(86_400 * 37 + 3_671) {
            let t = jiff::Timestamp::from_second(s as i64).unwrap();
            let mut text = String::new();
            TimeCache::default().push(&mut text, s);
            assert_eq!(text, t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        let mut e = String::new();
        push_expiration(&mut e, 1_796_043_600); // 2026-11-30T13:00:00Z
        assert_eq!(e, "Nov 30, 2026, 1:00:00 PM");
    }

    #[test]
    fn escaping_and_encoding() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, r#""a\"b\\c\n\u0001é""#);
        let mut u = String::new();
        push_url_encoded(&mut u, "private/us-east-1:x/résumé 1.pdf");
        assert_eq!(u, "private/us-east-1%3Ax/r%C3%A9sum%C3%A9%201.pdf");
        assert_eq!(
            crate::logs::percent_decode(&u).as_deref(),
            Some("private/us-east-1:x/résumé 1.pdf")
        );
    }

    #[test]
    fn keys_are_distinct_and_shaped() {
        let o = GenerateOptions::new(10, 2, 7);
        let mut g = Generator::new(&o);
        let mut seen = std::collections::HashSet::new();
        for n in 0..2_000 {
            let key = g.new_key(n % 3 != 0);
            assert_eq!(key.len(), 20, "{key}");
            assert!(key.starts_with("ASIA"));
            assert!(key.bytes().all(|b| BASE32.contains(&b)));
            assert!(seen.insert(key));
        }
        assert_eq!(g.role_id.len(), 21);
    }

    #[test]
    fn bad_options_are_errors() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/never-written");
        for (o, message) in [
            (GenerateOptions::new(0, 3, 1), "records must be at least 1"),
            (
                GenerateOptions::new(3, 0, 1),
                "identities must be at least 1",
            ),
            (
                GenerateOptions {
                    account: "12345".into(),
                    ..GenerateOptions::new(3, 3, 1)
                },
                "the account must be 12 digits",
            ),
            (
                GenerateOptions {
                    start: u64::MAX,
                    ..GenerateOptions::new(3, 3, 1)
                },
                "start and span must end before the year 10000",
            ),
        ] {
            let e = generate_cloudtrail(&dir, &o).unwrap_err();
            assert_eq!(e.to_string(), message);
        }
        assert!(!dir.exists());
    }
}
