//! Raw deflate (a zip entry's stored bytes), the one decompressor both
//! unpackers use (`stream.rs` while a wheel arrives, `unpack.rs` from a
//! file). Inflating is most of a cold start's CPU time on a big lock
//! (bench/README.md, "Where a torch-sized cold start's time goes").
//!
//! Two backends, the same contract: zlib-rs (through flate2) everywhere, and
//! Intel's ISA-L (`igzip`, hand-written SIMD) on x86_64 when the stub is
//! built with the `isal` feature, which inflates the same members 1.2-1.6x
//! as fast. `packer/build.rs` turns the feature on when the build machine has
//! ISA-L's build tools (nasm, autotools); aarch64 always uses zlib-rs.
//!
//! Neither backend is trusted with more than a member's stored bytes, and
//! callers check every entry's size and CRC-32 themselves: a backend only
//! has to turn valid streams into the right bytes and refuse (never crash
//! on) invalid ones, which the tests check against flate2 on both kinds.

/// What one [`RawInflate::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Input bytes used (held inside the decompressor counts as used; ISA-L
    /// may count up to 8 bytes past the stream's end, which callers never
    /// give it: they hand over one entry's stored bytes at most).
    pub consumed: usize,
    /// Bytes written to the front of the output buffer.
    pub produced: usize,
    /// The stream's last block is done and all of its output was given.
    pub ended: bool,
}

/// The name of the backend this build uses, for `PEX_VERBOSE` and tests.
pub const BACKEND: &str = backend::NAME;

/// A raw-deflate decompressor, reused from one member to the next.
pub struct RawInflate(backend::Inflate);

impl RawInflate {
    pub fn new() -> RawInflate {
        RawInflate(backend::Inflate::new())
    }

    /// Start a new stream.
    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// Inflate from `input` into `output`. Call again with the rest of the
    /// input (or more of it) while not `ended`; a step that neither consumes
    /// nor produces has used all of its input and wants more (callers then
    /// move on to the next bytes). The error completes "the entry NAME is
    /// corrupt (...)".
    pub fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, String> {
        self.0.step(input, output)
    }
}

impl Default for RawInflate {
    fn default() -> Self {
        RawInflate::new()
    }
}

#[cfg(not(all(feature = "isal", target_arch = "x86_64")))]
mod backend {
    use super::Step;

    pub const NAME: &str = "zlib-rs";

    pub struct Inflate(flate2::Decompress);

    impl Inflate {
        pub fn new() -> Inflate {
            Inflate(flate2::Decompress::new(false))
        }

        pub fn reset(&mut self) {
            self.0.reset(false);
        }

        pub fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, String> {
            let (in_before, out_before) = (self.0.total_in(), self.0.total_out());
            let status = self
                .0
                .decompress(input, output, flate2::FlushDecompress::None)
                .map_err(|e| e.to_string())?;
            Ok(Step {
                consumed: (self.0.total_in() - in_before) as usize,
                produced: (self.0.total_out() - out_before) as usize,
                ended: status == flate2::Status::StreamEnd,
            })
        }
    }
}

#[cfg(all(feature = "isal", target_arch = "x86_64"))]
mod backend {
    use super::Step;
    use isal_sys::igzip_lib as isal;

    pub const NAME: &str = "isa-l";

    /// ISA-L's state (85 KiB: history, Huffman tables) on the heap, and
    /// whether a step failed since the last reset (the state is then not
    /// fit to decode on: further steps fail without calling ISA-L).
    pub struct Inflate(Box<isal::inflate_state>, bool);

    // The state holds raw pointers into the last step's buffers only while
    // `step` runs; between steps it owns nothing outside itself.
    unsafe impl Send for Inflate {}

    impl Inflate {
        pub fn new() -> Inflate {
            // SAFETY: inflate_state is plain C data (integers, arrays, null
            // pointers are valid), and isal_inflate_init sets every field
            // the decoder reads before its first use.
            let mut state: Box<isal::inflate_state> = unsafe { Box::new_zeroed().assume_init() };
            unsafe { isal::isal_inflate_init(&mut *state) };
            // Raw deflate, no checksum: callers check CRC-32 themselves.
            state.crc_flag = isal::ISAL_DEFLATE;
            Inflate(state, false)
        }

        pub fn reset(&mut self) {
            // SAFETY: the state was initialized by isal_inflate_init.
            unsafe { isal::isal_inflate_reset(&mut *self.0) };
            self.0.crc_flag = isal::ISAL_DEFLATE;
            self.1 = false;
        }

        pub fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, String> {
            if self.1 {
                return Err("the stream failed earlier".into());
            }
            let state = &mut *self.0;
            if state.block_state == isal::isal_block_state_ISAL_BLOCK_FINISH {
                return Ok(Step {
                    consumed: 0,
                    produced: 0,
                    ended: true,
                });
            }
            // Lengths are u32 in ISA-L: hand over at most that much per step.
            let input = &input[..input.len().min(u32::MAX as usize)];
            let output_len = output.len().min(u32::MAX as usize);
            state.next_in = input.as_ptr() as *mut u8;
            state.avail_in = input.len() as u32;
            state.next_out = output.as_mut_ptr();
            state.avail_out = output_len as u32;
            // SAFETY: next_in/avail_in and next_out/avail_out describe the two
            // live slices; ISA-L reads and writes only within them (and its
            // own state), and keeps no pointer into them after returning:
            // unused input is either left (avail_in) or copied into the state.
            let status = unsafe { isal::isal_inflate(state) };
            let (avail_in, avail_out) = (state.avail_in as usize, state.avail_out as usize);
            state.next_in = std::ptr::null_mut();
            state.next_out = std::ptr::null_mut();
            state.avail_in = 0;
            state.avail_out = 0;
            // After an error the counters are not kept (avail_in can wrap
            // below zero): report the error only; callers reset or stop.
            if status < 0 {
                self.1 = true;
                return Err(match status {
                    isal::ISAL_INVALID_BLOCK => "invalid deflate block".into(),
                    isal::ISAL_INVALID_SYMBOL => "invalid deflate symbol".into(),
                    isal::ISAL_INVALID_LOOKBACK => "invalid back-reference distance".into(),
                    other => format!("ISA-L inflate error {other}"),
                });
            }
            let (Some(consumed), Some(produced)) = (
                input.len().checked_sub(avail_in),
                output_len.checked_sub(avail_out),
            ) else {
                self.1 = true;
                return Err("ISA-L reported more bytes than its buffers hold".into());
            };
            Ok(Step {
                consumed,
                produced,
                ended: state.block_state == isal::isal_block_state_ISAL_BLOCK_FINISH,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    //! The backend of this build against flate2's zlib-rs decoder, the
    //! reference (with the `isal` feature off they are the same code, and
    //! these tests check the step contract the unpackers rely on).
    use super::*;
    use flate2::write::DeflateEncoder;
    use flate2::Compression;
    use std::io::Write;

    /// A small deterministic generator: the tests need varied bytes, not
    /// cryptographic ones.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Bytes that compress the way wheels do: text-like runs, repeats, noise.
    fn sample(rng: &mut Rng, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            match rng.below(3) {
                0 => {
                    let words: [&[u8]; 4] = [
                        b"import os\n",
                        b"def f(x):\n",
                        b"    return x\n",
                        b"\x7fELF",
                    ];
                    out.extend_from_slice(words[rng.below(4)]);
                }
                1 if out.len() > 40 => {
                    let from = rng.below(out.len() - 32);
                    let n = 3 + rng.below(29);
                    let copy = out[from..from + n].to_vec();
                    out.extend_from_slice(&copy);
                }
                _ => {
                    for _ in 0..rng.below(64) {
                        out.push(rng.next() as u8);
                    }
                }
            }
        }
        out.truncate(len);
        out
    }

    fn deflate(data: &[u8], level: u32) -> Vec<u8> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::new(level));
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Inflate `stream` fed in chunks of sizes `chunks` picks, into an
    /// output buffer of `out_len`, the way the unpackers loop.
    fn inflate_in_steps(
        inflate: &mut RawInflate,
        stream: &[u8],
        out_len: usize,
        mut chunk: impl FnMut() -> usize,
    ) -> Result<(Vec<u8>, bool, usize), String> {
        let mut out = Vec::new();
        let mut buffer = vec![0u8; out_len];
        let mut fed: usize = 0;
        let mut used = 0;
        inflate.reset();
        loop {
            let end = fed.saturating_add(chunk()).min(stream.len());
            // A copy of its own: a read past the chunk's end is a read past
            // an allocation, which valgrind reports.
            let part: Box<[u8]> = stream[used..end].into();
            let mut input = &part[..];
            fed = end;
            loop {
                let step = inflate.step(input, &mut buffer)?;
                assert!(step.consumed <= input.len() && step.produced <= buffer.len());
                input = &input[step.consumed..];
                used += step.consumed;
                out.extend_from_slice(&buffer[..step.produced]);
                if step.ended {
                    return Ok((out, true, used));
                }
                if step.consumed == 0 && step.produced == 0 {
                    break;
                }
            }
            if fed == stream.len() {
                return Ok((out, false, used));
            }
        }
    }

    #[test]
    fn valid_streams_inflate_to_the_same_bytes_whatever_the_chunking() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut inflate = RawInflate::new();
        for (len, level) in [
            (0, 6),
            (1, 6),
            (100, 0),
            (70_000, 1),
            (300_000, 6),
            (1 << 20, 9),
            (2_500_000, 6),
        ] {
            let data = sample(&mut rng, len);
            let stream = deflate(&data, level);
            for out_len in [1, 7, 4096, 256 * 1024] {
                if out_len < 4096 && len > 300_000 {
                    continue; // tiny buffers over megabytes only add run time
                }
                let seed = rng.next();
                let mut sizes = Rng(seed | 1);
                let (out, ended, used) =
                    inflate_in_steps(&mut inflate, &stream, out_len, || 1 + sizes.below(70_000))
                        .unwrap();
                assert!(ended, "len {len} level {level} out {out_len}: not ended");
                assert_eq!(
                    out.len(),
                    data.len(),
                    "len {len} level {level} out {out_len}"
                );
                assert!(
                    out == data,
                    "len {len} level {level} out {out_len}: bytes differ"
                );
                assert_eq!(used, stream.len());
            }
        }
    }

    #[test]
    fn bytes_after_the_stream_are_left_alone_and_a_new_stream_starts_clean() {
        let mut rng = Rng(7);
        let mut inflate = RawInflate::new();
        let data = sample(&mut rng, 50_000);
        let mut stream = deflate(&data, 6);
        stream.extend_from_slice(b"PK\x03\x04 trailing bytes");
        let (out, ended, used) =
            inflate_in_steps(&mut inflate, &stream, 256 * 1024, || usize::MAX).unwrap();
        assert!(ended && out == data);
        // zlib-rs stops at the stream's end; ISA-L may have read up to 8
        // bytes further into its bit buffer (see `Step::consumed`).
        let end = stream.len() - b"PK\x03\x04 trailing bytes".len();
        assert!(
            (end..=end + 8).contains(&used),
            "used {used}, the stream is {end}"
        );
        // Stepping after the end gives nothing more.
        let mut buffer = [0u8; 16];
        let step = inflate.step(b"more", &mut buffer).unwrap();
        assert_eq!((step.produced, step.ended), (0, true));
        // And after reset the next member inflates from scratch.
        let other = sample(&mut rng, 10_000);
        let (out, ended, _) =
            inflate_in_steps(&mut inflate, &deflate(&other, 1), 4096, || 999).unwrap();
        assert!(ended && out == other);
    }

    /// Found by the `inflate` fuzz target (ISA-L): an invalid distance with a
    /// 1-byte output buffer; ISA-L's input counter wraps below zero on that
    /// error, which must be an error here, not an overflow (or a slice panic).
    /// The stream_wheel target found the same through a wheel.
    #[test]
    fn an_invalid_distance_into_a_tiny_buffer_is_an_error() {
        let stream = [
            0x4b, 0xa3, 0xa3, 0xa3, 0xa3, 0xa3, 0xa3, 0, 0, 0, 0, 0, 1, 0x8c, 0x4a, 0x4e, 0x1c,
        ];
        let mut inflate = RawInflate::new();
        for out_len in [1, 7, 4096] {
            let mut buffer = vec![0u8; out_len];
            inflate.reset();
            let mut input = &stream[..];
            let failed = loop {
                match inflate.step(input, &mut buffer) {
                    Ok(step) if step.ended => break false,
                    Ok(step) if step.consumed == 0 && step.produced == 0 => break false,
                    Ok(step) => input = &input[step.consumed..],
                    Err(_) => break true,
                }
            };
            assert!(failed, "out {out_len}: accepted");
            // And it stays failed until reset.
            assert!(inflate.step(&stream, &mut buffer).is_err());
        }
        let mut reference = flate2::Decompress::new(false);
        let mut out = vec![0u8; 1024];
        assert!(reference
            .decompress(&stream, &mut out, flate2::FlushDecompress::Finish)
            .is_err());
    }

    #[test]
    fn truncated_streams_do_not_end() {
        let mut rng = Rng(11);
        let mut inflate = RawInflate::new();
        let data = sample(&mut rng, 200_000);
        let stream = deflate(&data, 6);
        // Every prefix of a valid stream is a stream still to be continued:
        // neither an error (the stream reader gets entries in pieces) nor
        // an end.
        for cut in (0..stream.len())
            .step_by(97)
            .chain([1, 2, 5, stream.len() - 1])
        {
            let (out, ended, _) =
                inflate_in_steps(&mut inflate, &stream[..cut], 256 * 1024, || 4096)
                    .unwrap_or_else(|e| panic!("cut at {cut} of {}: {e}", stream.len()));
            assert!(!ended, "cut at {cut} of {} ended", stream.len());
            assert!(data.starts_with(&out), "cut at {cut}: wrong prefix");
        }
    }

    /// Corrupt and random streams: a stream the reference decodes must
    /// decode to the same bytes; on any other, refusing, not ending or even
    /// ending (decoders differ in what malformed input they accept) is
    /// fine as long as nothing crashes and no step reports more than its
    /// buffers: callers check every entry's size and CRC-32.
    #[test]
    fn corrupt_and_random_streams_are_refused_or_decoded_as_the_reference_does() {
        let mut rng = Rng(0xDEAD_BEEF);
        let mut inflate = RawInflate::new();
        let mut reference = flate2::Decompress::new(false);
        let base = deflate(&sample(&mut rng, 100_000), 6);
        let (mut refused, mut compared) = (0, 0);
        for round in 0..3000 {
            let mut stream = if round % 3 == 0 {
                (0..rng.below(4000))
                    .map(|_| rng.next() as u8)
                    .collect::<Vec<_>>()
            } else {
                base.clone()
            };
            for _ in 0..1 + rng.below(8) {
                if stream.is_empty() {
                    break;
                }
                let at = rng.below(stream.len());
                stream[at] ^= 1 << rng.below(8);
            }
            let ours = inflate_in_steps(&mut inflate, &stream, 64 * 1024, || 1 + rng.below(5000));
            reference.reset(false);
            let mut expected = vec![0u8; 4 << 20];
            let theirs =
                reference.decompress(&stream, &mut expected, flate2::FlushDecompress::Finish);
            let theirs_ended = matches!(theirs, Ok(flate2::Status::StreamEnd));
            expected.truncate(reference.total_out() as usize);
            match ours {
                Ok((out, true, _)) if theirs_ended => {
                    assert!(
                        out == expected,
                        "round {round}: both ended with different bytes"
                    );
                    compared += 1;
                }
                _ if theirs_ended => {
                    panic!("round {round}: a stream the reference decodes did not end")
                }
                Err(_) => refused += 1,
                _ => {}
            }
        }
        // The rounds must exercise both outcomes, or this test checks nothing.
        assert!(
            refused > 100 && compared > 100,
            "refused {refused}, compared {compared}"
        );
    }
}
