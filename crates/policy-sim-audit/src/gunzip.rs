//! Whole gzip files decompressed at once with libdeflate (through `libdeflate-sys`),
//! member after member: CloudTrail delivers each log file as one gzip member of a few
//! megabytes, whose trailer gives its size, so the bytes are decompressed in one call into
//! a buffer of the right size. On this machine that runs about twice as fast as a
//! streaming decoder (`docs/performance.md`). A member that does not fit the room its
//! trailer asks for (a trailer that lies, a member past [`FIRST_ROOM_MAX`]) sends the
//! whole file to the streaming decoder (`flate2`) instead: once to count its bytes,
//! stopping at the limit, and once more into room of that size (what the first try
//! decompressed, at most [`FIRST_ROOM_MAX`], is decompressed again too).
//!
//! What a file may be, and what comes of it, is what `flate2`'s `MultiGzDecoder` reads:
//! one or more members back to back, each decompressed in turn; anything else (a bad
//! header, bad data, a wrong CRC or size in a member's trailer, bytes after the last
//! member that are not a member) is an error. A test holds the two to the same bytes, and
//! to an error on the same files (a file both too large and corrupt may be named for
//! either). Two laxities of libdeflate's, both needing a crafted file whose CRC-32 still
//! matches its bytes: a header's own CRC-16 (flag FHCRC) is not checked, and a Huffman
//! code that leaves codewords unused is accepted; the bytes are still checked against the
//! member's CRC-32 and size.

use std::ffi::c_void;
use std::ptr::NonNull;

use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE,
    libdeflate_result_LIBDEFLATE_SUCCESS,
};

/// Why gzip bytes could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GunzipError {
    /// Not gzip, or corrupt (libdeflate's "bad data").
    #[error("invalid gzip data")]
    BadData,
    /// The decompressed bytes would pass the limit.
    #[error("decompresses to more than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

/// A libdeflate decompressor (about 10 KB of tables), kept for the files a thread reads.
pub struct Inflater(NonNull<libdeflate_decompressor>);

// SAFETY: a libdeflate decompressor holds no reference to thread-local state; libdeflate
// documents that different threads may use different decompressors concurrently, and
// `&mut self` keeps one from being used by two threads at once.
unsafe impl Send for Inflater {}

impl Inflater {
    /// A new decompressor.
    ///
    /// # Panics
    /// When libdeflate cannot allocate it (out of memory).
    pub fn new() -> Inflater {
        // SAFETY: no arguments; the result is checked for NULL.
        let p = unsafe { libdeflate_alloc_decompressor() };
        Inflater(NonNull::new(p).expect("libdeflate could not allocate a decompressor"))
    }

    /// Decompress the first gzip member of `input` into `out`: `Ok(Some((written,
    /// consumed)))`, `Ok(None)` when `out` is too small for it, or bad data.
    fn member(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<Option<(usize, usize)>, GunzipError> {
        let (mut consumed, mut written) = (0usize, 0usize);
        // SAFETY: the decompressor is live (freed only in `drop`) and used by this thread
        // alone (`&mut self`); `input` and `out` are valid for their lengths, which are
        // passed with them; libdeflate writes at most `out.len()` bytes into `out` and the
        // two counts into the locals.
        let result = unsafe {
            libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast::<c_void>(),
                input.len(),
                out.as_mut_ptr().cast::<c_void>(),
                out.len(),
                &mut consumed,
                &mut written,
            )
        };
        match result {
            r if r == libdeflate_result_LIBDEFLATE_SUCCESS => Ok(Some((written, consumed))),
            r if r == libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Ok(None),
            // Bad data, or (not asked for here) a short output.
            _ => Err(GunzipError::BadData),
        }
    }
}

impl Default for Inflater {
    fn default() -> Inflater {
        Inflater::new()
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor and freed once, here.
        unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

/// The most room a member's trailer can ask for on the first try: a larger member (or a
/// forged trailer) gets room by doubling as it proves to need it, so that four bytes
/// cannot make a reader allocate and clear a gigabyte up front.
pub const FIRST_ROOM_MAX: usize = 64 << 20;

/// The room the first try gives a member starting at `input[0]`: the size its trailer
/// states when it is the file's last member (the last four bytes, modulo 2^32), and never
/// more than deflate can expand to (about 1,032 times), [`FIRST_ROOM_MAX`] nor `limit`.
fn first_room(input: &[u8], limit: usize) -> usize {
    // The smallest member (header and trailer around an empty stream) is 18 bytes.
    let stated = match input.get(input.len().saturating_sub(4)..) {
        Some(&[a, b, c, d]) if input.len() >= 18 => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => 0,
    };
    stated
        .min(input.len().saturating_mul(1032))
        .min(FIRST_ROOM_MAX)
        .min(limit)
}

/// Decompress every member of `input` (gzip) into `out`, whose length is kept as room from
/// call to call (so that its bytes are not zeroed again for every file): returns how many
/// of `out`'s first bytes are the file's. More than `limit` bytes decompressed is
/// [`GunzipError::TooLarge`]; `out` never grows past `limit` + 1 bytes.
///
/// Cost: each member decompressed once into the room its trailer asks for (a
/// single-member file whose trailer is true, up to [`FIRST_ROOM_MAX`]: one call); a member
/// that does not fit sends the whole file through the streaming decoder twice (a count,
/// then the bytes). No allocation but `out`'s growth.
pub fn gunzip_into(
    inflater: &mut Inflater,
    input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<usize, GunzipError> {
    if input.is_empty() {
        return Err(GunzipError::BadData);
    }
    let mut filled: usize = 0;
    let mut at: usize = 0;
    while at < input.len() {
        let rest = &input[at..];
        let want = filled
            .saturating_add(first_room(rest, limit))
            .min(limit.saturating_add(1));
        if out.len() < want {
            out.resize(want, 0);
        }
        match inflater.member(rest, &mut out[filled..])? {
            Some((written, consumed)) => {
                filled += written;
                at += consumed;
            }
            None => return stream(input, out, limit),
        }
        if filled > limit {
            return Err(GunzipError::TooLarge { limit });
        }
    }
    Ok(filled)
}

/// The whole of `input` through `flate2`'s multi-member decoder into `out`, in two passes:
/// the first counts the bytes into a small buffer of its own and stops past `limit` (so a
/// bomb costs decompression up to the limit, never memory), the second decompresses into
/// room of exactly that size (no buffer grown by reallocation; a growing gigabyte buffer
/// costs seconds of page clearing).
fn stream(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<usize, GunzipError> {
    use std::io::Read;
    let mut piece = [0u8; 1 << 16];
    let mut decoder = flate2::read::MultiGzDecoder::new(input);
    let mut total: usize = 0;
    loop {
        match decoder.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                if total > limit {
                    return Err(GunzipError::TooLarge { limit });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(GunzipError::BadData),
        }
    }
    if out.len() < total {
        out.resize(total, 0);
    }
    flate2::read::MultiGzDecoder::new(input)
        .read_exact(&mut out[..total])
        .map_err(|_| GunzipError::BadData)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// `flate2`'s multi-member reader: the reference.
    fn reference(input: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        match flate2::read::MultiGzDecoder::new(input)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
        {
            Err(_) => Err("bad".into()),
            Ok(_) if out.len() > limit => Err("too large".into()),
            Ok(_) => Ok(out),
        }
    }

    fn mine(
        inflater: &mut Inflater,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<Vec<u8>, String> {
        match gunzip_into(inflater, input, out, limit) {
            Ok(n) => Ok(out[..n].to_vec()),
            Err(GunzipError::BadData) => Err("bad".into()),
            Err(GunzipError::TooLarge { .. }) => Err("too large".into()),
        }
    }

    #[test]
    fn files_of_members_read_as_the_streaming_reader_reads_them() {
        let a: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let b = b"{\"Records\":[]}".to_vec();
        let two = [gz(&a), gz(&b)].concat();
        let same_twice = [gz(&b), gz(&b)].concat();
        let mut lying = gz(&a);
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&7u32.to_le_bytes());
        let mut bad_crc = gz(&b);
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("one member", gz(&a)),
            ("empty member", gz(b"")),
            ("two members", two.clone()),
            ("the same member twice", same_twice),
            ("a member, then garbage", [gz(&b), b"xyz".to_vec()].concat()),
            ("a member, then zeros", [gz(&b), vec![0; 10]].concat()),
            ("cut short", two[..two.len() - 3].to_vec()),
            ("a trailer that lies about the size", lying),
            ("a wrong CRC", bad_crc),
            ("not gzip", b"{\"Records\":[]}".to_vec()),
            ("empty", Vec::new()),
        ];
        let mut inflater = Inflater::new();
        // One buffer through every case, as a reader uses it; then each case afresh.
        let mut shared = Vec::new();
        for (what, input) in &cases {
            for limit in [1 << 20, a.len() + 10, a.len(), 13] {
                let expected = reference(input, limit);
                for got in [
                    mine(&mut inflater, input, &mut shared, limit),
                    mine(&mut inflater, input, &mut Vec::new(), limit),
                ] {
                    match (&got, &expected) {
                        // Corrupt past the limit: the streaming reader stops at the limit.
                        (Err(g), Err(e)) if g == "bad" && e == "too large" => {}
                        _ => assert_eq!(got, expected, "{what}, limit {limit}"),
                    }
                }
                assert!(shared.len() <= (1 << 20) + 1, "{}", shared.len());
            }
        }
    }

    /// Four forged bytes at the end ask for 4 GiB: the first room stays at
    /// FIRST_ROOM_MAX (the bytes after the member are then an error).
    #[test]
    fn a_forged_trailer_reserves_no_more_than_the_first_room() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
            .collect();
        let forged = [gz(&data), vec![0xff; 4]].concat();
        assert!(forged.len() * 1032 > FIRST_ROOM_MAX);
        let mut out = Vec::new();
        let e = gunzip_into(&mut Inflater::new(), &forged, &mut out, 1 << 30).unwrap_err();
        assert_eq!(e, GunzipError::BadData);
        assert!(out.len() <= FIRST_ROOM_MAX, "{}", out.len());
    }

    /// A bomb whose trailer states a small size goes to the streaming decoder, which counts
    /// before it keeps anything: the room stays what the trailer asked for.
    #[test]
    fn a_bomb_that_lies_about_its_size_takes_no_room_past_its_trailer() {
        let mut bomb = gz(&vec![b' '; 10 << 20]);
        let n = bomb.len();
        bomb[n - 4..].copy_from_slice(&100u32.to_le_bytes());
        let mut out = Vec::new();
        let e = gunzip_into(&mut Inflater::new(), &bomb, &mut out, 1 << 20).unwrap_err();
        assert_eq!(e, GunzipError::TooLarge { limit: 1 << 20 });
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn room_never_passes_the_limit() {
        // A bomb: 10 MB of zeros compress to about 10 KB.
        let bomb = gz(&vec![0u8; 10 << 20]);
        let mut out = Vec::new();
        let e = gunzip_into(&mut Inflater::new(), &bomb, &mut out, 1 << 20).unwrap_err();
        assert_eq!(e, GunzipError::TooLarge { limit: 1 << 20 });
        assert!(out.len() <= (1 << 20) + 1, "{}", out.len());
    }
}
