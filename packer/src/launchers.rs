//! The launchers an app carries, and the bytes in front of its zip
//! (docs/format.md, "Multi-arch apps").
//!
//! - One architecture: the static stub itself; the kernel runs it directly.
//! - Several: a POSIX sh prelude, then each stub in whole 4096-byte blocks.
//!   The prelude reads the host's architecture (`/proc/sys/kernel/arch`, no
//!   fork), runs the launcher kept at `<cache>/launchers/<sha256>` if there,
//!   else cuts it out of the app with `dd`, has it check its own hash
//!   (`__DPEX_STUB_CHECK`; a noexec or damaged copy fails here) and renames
//!   it in; it passes the app's path in `__DPEX_APP`. A warm start costs one
//!   `sh` more than a single-architecture app. A cache that cannot run
//!   programs gets a `launchers/.noexec` mark, and later starts go straight
//!   to the fallback folder's copy.

use dpex_launcher::run::app_file::{BLOCK, PRELUDE_MARK};
use dpex_launcher::standards::digest::hex;
use sha2::{Digest, Sha256};

/// A CPU architecture an app can carry a launcher for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The name `uname -m` prints on Linux, and wheel platform tags use.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// `x86_64`/`amd64`, `aarch64`/`arm64`.
    pub fn parse(machine: &str) -> Option<Arch> {
        match machine.to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The architecture this dpex was built for.
    pub fn host() -> Arch {
        Arch::parse(std::env::consts::ARCH).unwrap_or(Arch::X86_64)
    }

    /// The stub built into this dpex for this architecture (build.rs), if any.
    pub fn embedded_stub(self) -> Option<&'static [u8]> {
        let stub: &'static [u8] = match self {
            Arch::X86_64 => include_bytes!(concat!(env!("OUT_DIR"), "/dpex-launcher-x86_64")),
            Arch::Aarch64 => include_bytes!(concat!(env!("OUT_DIR"), "/dpex-launcher-aarch64")),
        };
        (!stub.is_empty()).then_some(stub)
    }
}

/// The architectures this dpex has a launcher for.
pub fn available() -> Vec<Arch> {
    Arch::ALL
        .into_iter()
        .filter(|a| a.embedded_stub().is_some())
        .collect()
}

/// The bytes in front of the zip for these launchers (sorted by architecture,
/// at least one): the stub itself for one, the prelude and the stubs for more.
pub fn front(stubs: &[(Arch, &[u8])]) -> Vec<u8> {
    if let [(_, stub)] = stubs {
        return stub.to_vec();
    }
    let padded: Vec<Vec<u8>> = stubs
        .iter()
        .map(|(_, stub)| {
            let mut bytes = stub.to_vec();
            bytes.resize(stub.len().div_ceil(BLOCK) * BLOCK, 0);
            bytes
        })
        .collect();
    let mut cases = String::new();
    let mut block = 1; // the prelude fills block 0
    for ((arch, _), bytes) in stubs.iter().zip(&padded) {
        let count = bytes.len() / BLOCK;
        let names = match arch {
            Arch::X86_64 => "x86_64|amd64",
            Arch::Aarch64 => "aarch64|arm64",
        };
        let sha = hex(&Sha256::digest(bytes));
        cases.push_str(&format!("{names}) b={block} c={count} h={sha};;\n"));
        block += count;
    }
    let names: Vec<&str> = stubs.iter().map(|(a, _)| a.name()).collect();
    let mut out = prelude(&names.join(", "), &cases).into_bytes();
    assert!(out.len() <= BLOCK, "the prelude outgrew its block");
    out.resize(BLOCK, b'\n');
    for bytes in padded {
        out.extend_from_slice(&bytes);
    }
    out
}

/// The architectures whose launchers lead `head` (the start of an app file):
/// an ELF stub's machine, or the prelude's cases. Empty if neither.
pub fn archs_of(head: &[u8]) -> Vec<Arch> {
    const EM_X86_64: u16 = 62;
    const EM_AARCH64: u16 = 183;
    if head.starts_with(b"\x7fELF") && head.len() >= 20 {
        return match u16::from_le_bytes([head[18], head[19]]) {
            EM_X86_64 => vec![Arch::X86_64],
            EM_AARCH64 => vec![Arch::Aarch64],
            _ => Vec::new(),
        };
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(BLOCK)]);
    if !text.starts_with(PRELUDE_MARK) {
        return Vec::new();
    }
    text.lines()
        .filter_map(|line| line.split_once(") b=").map(|(names, _)| names))
        .filter_map(|names| Arch::parse(names.split('|').next().unwrap_or("")))
        .collect()
}

/// The prelude. `$0` is the app; `b`/`c` are the launcher's first block and
/// block count, `h` the sha256 of those blocks (its file name in the cache).
/// The cache folder is found as the launcher finds it (DPEX_ROOT, PEX_ROOT,
/// an absolute XDG_CACHE_HOME, HOME), with the same private
/// `$TMPDIR/dpex-<uid>` fallback when it cannot be written or run from (a
/// cache it could write but not run from is marked `launchers/.noexec` and
/// not tried again). The warm path (a launcher kept, not empty) runs no other
/// program, and execs before dash parses the cold path.
fn prelude(names: &str, cases: &str) -> String {
    format!(
        r#"{PRELUDE_MARK}launchers for {names} Linux, then the app's zip (docs/format.md).
# This runs the launcher for this host: cut out of this file into the dpex cache
# once (checked by its own sha256, synced, renamed in), run from there after.
if [ -r /proc/sys/kernel/arch ]; then read -r m </proc/sys/kernel/arch; else m=$(uname -m); fi
case $m in
{cases}*) echo "dpex: error: $0 has launchers for {names} Linux, not for this $m host; build the app for it with dpex build --platform" >&2; exit 1;;
esac
r=${{DPEX_ROOT:-${{PEX_ROOT:+$PEX_ROOT/dpex}}}}
case $r in "~") r=${{HOME:-}};; "~/"*) r=${{HOME:+$HOME/${{r#??}}}};; esac
if [ -z "$r" ]; then
  case ${{XDG_CACHE_HOME:-}} in /*) r=$XDG_CACHE_HOME/dpex;; *) r=${{HOME:+$HOME/.cache/dpex}};; esac
fi
l=$r/launchers/$h n=
# Warm: the launcher is kept. Before the rest is parsed (0.1 ms of dash's time).
[ -x "$l" ] && [ -s "$l" ] && {{ export __DPEX_APP="$0"; exec "$l" "$@"; }}
# x DIR: cut the launcher out into DIR, check it, make it durable, publish it as DIR/$h.
x() {{
  mkdir -p "$1" 2>/dev/null && t=$(mktemp "$1/.$h.XXXXXX" 2>/dev/null) || return 1
  if dd if="$0" of="$t" bs=4096 skip=$b count=$c 2>/dev/null && chmod 755 "$t" &&
    {{ __DPEX_STUB_CHECK=$h "$t" 2>/dev/null || {{ [ $? -eq 126 ] && n=$1; false; }}; }} && {{ sync "$t" 2>/dev/null || sync; }} && mv -f "$t" "$1/$h"; then
    l=$1/$h; return 0
  fi
  rm -f "$t"; return 1
}}
if [ ! -x "$l" ] || [ ! -s "$l" ]; then
  # The launcher's own fallback folder, under the same rule: ours, writable by no one else.
  f=${{TMPDIR:-/tmp}}/dpex-$(id -u)
  p() {{ mkdir -m 700 "$f" 2>/dev/null; case $(ls -ld "$f" 2>/dev/null) in d????-??-*) [ -O "$f" ];; *) false;; esac; }}
  # A cache marked .noexec (below) is not tried again: that cost a 2.6 MB cut per start.
  if [ -n "$r" ] && [ ! -e "$r/launchers/.noexec" ] && x "$r/launchers"; then
    :
  elif [ -x "$f/launchers/$h" ] && [ -s "$f/launchers/$h" ] && p; then
    l=$f/launchers/$h
  elif p && x "$f/launchers"; then
    :
  elif [ -n "$r" ] && [ -e "$r/launchers/.noexec" ] && x "$r/launchers"; then
    rm -f "$r/launchers/.noexec" # no fallback, and the mark was stale: the cache runs programs again
  else
    echo "dpex: error: cannot set up the $m launcher of $0: the launcher cut out of it did not check out (a damaged app file: copy it again), or neither ${{r:-the dpex cache}}/launchers nor $f, a private folder of this user, can be written and run from (set DPEX_ROOT to a writable folder that allows running programs)" >&2; exit 1
  fi
fi
# A launcher written to the cache that could not be run (126, not a failed hash check),
# while the same one runs from the fallback: the cache cannot run programs. Mark it, and
# say so once (an unwritable cache the launcher itself reports). `true`, not `:`: a failed
# redirection ends sh on a special builtin.
if [ -n "$n" ] && [ "$n" = "$r/launchers" ]; then
  w=; {{ true >"$n/.noexec"; }} 2>/dev/null && w=" from now on (delete $n/.noexec once it can run programs)"
  echo "dpex: warning: cannot run the $m launcher from $n (mounted noexec?); using $f/launchers$w" >&2
fi
export __DPEX_APP="$0"
exec "$l" "$@"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_launcher_is_the_stub_itself() {
        assert_eq!(front(&[(Arch::X86_64, b"\x7fELFstub")]), b"\x7fELFstub");
    }

    #[test]
    fn several_launchers_follow_the_prelude_in_whole_blocks() {
        let x86 = vec![1u8; 5000];
        let arm = vec![2u8; 4096];
        let out = front(&[(Arch::X86_64, &x86), (Arch::Aarch64, &arm)]);
        assert_eq!(out.len(), BLOCK + 2 * BLOCK + BLOCK);
        assert_eq!(&out[BLOCK..BLOCK + 5000], &x86[..]);
        assert!(out[BLOCK + 5000..3 * BLOCK].iter().all(|b| *b == 0));
        assert_eq!(&out[3 * BLOCK..], &arm[..]);
        let text = String::from_utf8_lossy(&out[..BLOCK]).into_owned();
        let mut padded = x86.clone();
        padded.resize(2 * BLOCK, 0);
        let sha = hex(&Sha256::digest(&padded));
        assert!(
            text.contains(&format!("x86_64|amd64) b=1 c=2 h={sha};;")),
            "{text}"
        );
        assert!(text.contains("aarch64|arm64) b=3 c=1 h="), "{text}");
        assert_eq!(archs_of(&out), vec![Arch::X86_64, Arch::Aarch64]);
    }

    #[test]
    fn archs_of_reads_an_elf_machine() {
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(20, 0);
        elf[18] = 183;
        assert_eq!(archs_of(&elf), vec![Arch::Aarch64]);
        elf[18] = 62;
        assert_eq!(archs_of(&elf), vec![Arch::X86_64]);
        assert_eq!(archs_of(b"PK\x03\x04"), Vec::<Arch>::new());
    }
}
