//! Cold-start progress on stderr: only when stderr is a terminal (or
//! PEX_VERBOSE asks), never on stdout, so pipes and logs stay clean.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

pub struct Progress {
    enabled: bool,
    terminal: bool,
    total_wheels: usize,
    total_bytes: u64,
    state: Mutex<(usize, u64)>,
    started: Instant,
}

impl Progress {
    pub fn new(total_wheels: usize, total_bytes: u64, verbose: u32) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            enabled: terminal || verbose > 0,
            terminal,
            total_wheels,
            total_bytes,
            state: Mutex::new((0, 0)),
            started: Instant::now(),
        }
    }

    /// One more wheel is in the cache (`bytes` long).
    pub fn wheel_done(&self, filename: &str, bytes: u64) {
        if !self.enabled {
            return;
        }
        let mut state = self.state.lock().unwrap();
        state.0 += 1;
        state.1 += bytes;
        let (done, done_bytes) = *state;
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let line = format!(
            "dpex: {done}/{} wheels, {:.1}/{:.1} MB, {:.1} MB/s",
            self.total_wheels,
            mb(done_bytes),
            mb(self.total_bytes),
            mb(done_bytes) / seconds
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            // Rewrite one line; end it when the last wheel is in.
            let _ = write!(
                err,
                "\r\x1b[K{line}{}",
                if done == self.total_wheels { "\n" } else { "" }
            );
        } else {
            let _ = writeln!(err, "{line} ({filename})");
        }
        let _ = err.flush();
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
