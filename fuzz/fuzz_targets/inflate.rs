//! The raw-deflate decoder both unpackers use (`install::inflate`; ISA-L on
//! x86_64 when scripts/fuzz builds with `--features isal`, as the shipped
//! stub is), against flate2's zlib-rs: the first input byte picks the input
//! chunk size and output buffer size, the rest is the stream. A stream the
//! reference decodes must decode to the same bytes, in any chunking; any
//! other input may be refused or decoded (callers check size and CRC-32) but
//! must not crash or report more bytes than its buffers hold.
#![no_main]

use dpex_launcher::install::inflate::RawInflate;
use libfuzzer_sys::fuzz_target;

/// More output than this is not compared (a small stream can expand 1032x).
const MAX_OUT: usize = 8 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, stream)) = data.split_first() else {
        return;
    };
    let chunk = 1 + usize::from(pick & 0x0F) * 97;
    let out_len = [1, 7, 4096, 65536][usize::from(pick >> 4) & 3];

    let mut reference = flate2::Decompress::new(false);
    let mut expected = vec![0u8; MAX_OUT];
    let status = reference.decompress(stream, &mut expected, flate2::FlushDecompress::Finish);
    let reference_ended = matches!(status, Ok(flate2::Status::StreamEnd));
    expected.truncate(reference.total_out() as usize);

    let mut inflate = RawInflate::new();
    let mut buffer = vec![0u8; out_len];
    let mut out = Vec::new();
    let mut ended = false;
    let mut refused = false;
    'feed: for part in stream.chunks(chunk) {
        let mut input = part;
        loop {
            let step = match inflate.step(input, &mut buffer) {
                Ok(step) => step,
                Err(_) => {
                    refused = true;
                    break 'feed;
                }
            };
            assert!(step.consumed <= input.len() && step.produced <= buffer.len());
            input = &input[step.consumed..];
            out.extend_from_slice(&buffer[..step.produced]);
            if step.ended {
                ended = true;
                break 'feed;
            }
            if out.len() > MAX_OUT {
                break 'feed;
            }
            if step.consumed == 0 && step.produced == 0 {
                break;
            }
        }
    }
    if reference_ended {
        assert!(!refused && ended, "a stream the reference decodes was not decoded");
        assert!(out == expected, "decoded to different bytes than the reference");
    }
});
