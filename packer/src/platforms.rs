//! The hosts an app is built for: pex's `--platform` (abbreviated,
//! `manylinux2014_aarch64-cp-311-cp311`) and `--complete-platform` (the JSON
//! `pex3 interpreter inspect --markers --tags` writes). They choose which
//! launchers the app carries and which of the lock's wheels it records;
//! without them, every launcher this dpex has whose architecture the lock
//! serves in full ([`default_archs`]).

use crate::launchers::Arch;
use dpex_launcher::format::pexinfo::DehydratedRequirement;
use dpex_launcher::standards::marker;
use dpex_launcher::standards::python::InterpreterInfo;
use dpex_launcher::standards::tags::{supported_tags, Tag};
use dpex_launcher::standards::wheel::WheelName;
use dpex_packer::lock::possible_on_linux;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// One target host kind.
pub struct Platform {
    /// As the user wrote it (an abbreviated platform or a file path).
    pub spelled: String,
    pub arch: Arch,
    tags: HashSet<Tag>,
    markers: BTreeMap<String, String>,
}

/// pex's default `--manylinux manylinux2014`: what a `linux_<arch>` platform
/// accepts besides `linux_<arch>` wheels.
const DEFAULT_GLIBC: (u32, u32) = (2, 17);

impl Platform {
    /// `PLATFORM-IMPL-PYVER-ABI`, e.g. `linux_x86_64-cp-311-cp311`,
    /// `manylinux_2_28_aarch64-cp-3.11-cp311`, `musllinux_1_2_x86_64-cp-312-cp312`.
    pub fn abbreviated(spelled: &str) -> Result<Platform, String> {
        let bad = |why: String| {
            format!(
                "--platform {spelled:?} {why}; pex's form is PLATFORM-IMPL-PYVER-ABI, e.g. \
                 manylinux2014_x86_64-cp-311-cp311 or musllinux_1_2_aarch64-cp-312-cp312"
            )
        };
        // The platform may hold dashes (`linux-x86_64`): split from the right, as pex does.
        let mut parts: Vec<&str> = spelled.rsplitn(4, '-').collect();
        parts.reverse();
        let [plat, implementation, pyver, abi] = parts[..] else {
            return Err(bad("does not have four parts".into()));
        };
        let plat = plat.to_ascii_lowercase().replace(['.', '-'], "_");
        let (libc, arch_name) = linux_platform(&plat).ok_or_else(|| {
            bad(format!(
                "is not a Linux x86_64 or aarch64 platform (dpex apps run on Linux; \
                 {plat:?} is not linux_*, manylinux* or musllinux*)"
            ))
        })?;
        let arch = Arch::parse(arch_name).ok_or_else(|| {
            bad(format!(
                "has architecture {arch_name}, not x86_64 or aarch64"
            ))
        })?;
        let implementation = match implementation {
            "cp" => "cpython",
            "pp" => "pypy",
            other => return Err(bad(format!("has implementation {other:?}, not cp or pp"))),
        };
        let version = parse_pyver(pyver).ok_or_else(|| {
            bad(format!(
                "has Python version {pyver:?}, not like 311 or 3.11"
            ))
        })?;
        let nodot = format!("{}{}", version.0, version.1);
        let mut abi = abi.to_ascii_lowercase();
        // pex's shorthand: `-t`, `-m`, `-d`, `-mu` stand for `cp313t` and the like.
        if !abi.is_empty() && abi.chars().all(|c| "dmut".contains(c)) {
            abi = format!(
                "{implementation_tag}{nodot}{abi}",
                implementation_tag = parts[1]
            );
        }
        let abiflags = match abi.strip_prefix(&format!("cp{nodot}")) {
            Some(flags) => flags.to_string(),
            None => String::new(),
        };
        let full_version = format!("{}.{}.{}", version.0, version.1, version.2);
        let markers: BTreeMap<String, String> = [
            ("implementation_name", implementation),
            ("implementation_version", &full_version),
            ("os_name", "posix"),
            ("platform_machine", arch.name()),
            (
                "platform_python_implementation",
                if implementation == "cpython" {
                    "CPython"
                } else {
                    "PyPy"
                },
            ),
            ("platform_release", ""),
            ("platform_system", "Linux"),
            ("platform_version", ""),
            ("python_full_version", &full_version),
            ("python_version", &format!("{}.{}", version.0, version.1)),
            ("sys_platform", "linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let info = InterpreterInfo {
            executable: Default::default(),
            version,
            implementation: implementation.into(),
            free_threaded: abiflags.contains('t'),
            soabi: match implementation {
                "cpython" => format!("cpython-{nodot}{abiflags}-{}-linux-gnu", arch.name()),
                _ => abi.clone(),
            },
            abiflags,
            platform: format!("linux-{}", arch.name()),
            pointer_bits: 64,
            glibc: match libc {
                Libc::Glibc(v) => Some(v),
                Libc::Musl(_) => None,
            },
            musl: match libc {
                Libc::Musl(v) => Some(v),
                Libc::Glibc(_) => None,
            },
            markers: markers.clone(),
            purelib_rel: String::new(),
            bytecode_magic: String::new(),
        };
        // A manylinux/musllinux platform takes portable wheels only (as pex): a
        // locally built `linux_<arch>` wheel is for `linux_<arch>` platforms.
        let local = format!("linux_{}", arch.name());
        let tags = supported_tags(&info)
            .into_iter()
            .filter(|t| plat.starts_with("linux_") || t.platform != local)
            .collect();
        Ok(Platform {
            spelled: spelled.to_string(),
            arch,
            tags,
            markers,
        })
    }

    /// pex's `--platform current`: the interpreter the app's launcher would
    /// choose on this host (PEX_PYTHON, PEX_PYTHON_PATH, PATH), with its own tags
    /// and markers, as pex takes its build interpreter's.
    pub fn of_interpreter(info: &InterpreterInfo) -> Result<Platform, String> {
        let machine = info
            .markers
            .get("platform_machine")
            .map(String::as_str)
            .unwrap_or("");
        let arch = Arch::parse(machine).ok_or_else(|| {
            format!(
                "--platform current: {} is a {machine} interpreter, not x86_64 or aarch64",
                info.executable.display()
            )
        })?;
        if info.markers.get("sys_platform").map(String::as_str) != Some("linux") {
            return Err("--platform current: dpex apps run on Linux".into());
        }
        Ok(Platform {
            spelled: format!("current ({})", info.executable.display()),
            arch,
            tags: supported_tags(info).into_iter().collect(),
            markers: info.markers.clone(),
        })
    }

    /// A complete platform: `{"compatible_tags": [...], "marker_environment": {...}}`.
    pub fn complete(path: &Path) -> Result<Platform, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the --complete-platform file {shown}: {e}"))?;
        #[derive(serde::Deserialize)]
        struct Complete {
            compatible_tags: Vec<String>,
            marker_environment: BTreeMap<String, String>,
        }
        let complete: Complete = serde_json::from_str(&text).map_err(|e| {
            format!(
                "--complete-platform {shown} is not a complete platform ({e}); write one with \
                 `pex3 interpreter inspect --markers --tags` on a host of that kind"
            )
        })?;
        let get = |key: &str| complete.marker_environment.get(key).map(String::as_str);
        if get("sys_platform") != Some("linux") {
            return Err(format!(
                "--complete-platform {shown} is for sys_platform {:?}: dpex apps run on Linux",
                get("sys_platform").unwrap_or("(unset)")
            ));
        }
        let machine = get("platform_machine").unwrap_or("(unset)");
        let arch = Arch::parse(machine).ok_or_else(|| {
            format!("--complete-platform {shown} is for {machine} hosts, not x86_64 or aarch64")
        })?;
        let mut tags = HashSet::new();
        for tag in &complete.compatible_tags {
            tags.insert(
                tag.parse::<Tag>()
                    .map_err(|e| format!("--complete-platform {shown}: tag {tag:?}: {e}"))?,
            );
        }
        Ok(Platform {
            spelled: shown.to_string(),
            arch,
            tags,
            markers: complete.marker_environment,
        })
    }

    fn fits(&self, wheel: &WheelName) -> bool {
        wheel.tags.iter().any(|t| self.tags.contains(t))
    }

    /// Is the package installed on this platform? (Unknown: yes.)
    fn needs(&self, package: &DehydratedRequirement) -> bool {
        match &package.marker {
            None => true,
            Some(m) => marker::evaluate(m, &self.markers, &[]).unwrap_or(true),
        }
    }
}

enum Libc {
    Glibc((u32, u32)),
    Musl((u32, u32)),
}

/// `manylinux2014_x86_64` -> (glibc 2.17, "x86_64"), `musllinux_1_2_aarch64`
/// -> (musl 1.2, "aarch64"), `linux_x86_64` -> (pex's default, "x86_64").
fn linux_platform(plat: &str) -> Option<(Libc, &str)> {
    if let Some(arch) = plat.strip_prefix("linux_") {
        return Some((Libc::Glibc(DEFAULT_GLIBC), arch));
    }
    for (legacy, glibc) in [
        ("manylinux1_", (2, 5)),
        ("manylinux2010_", (2, 12)),
        ("manylinux2014_", (2, 17)),
    ] {
        if let Some(arch) = plat.strip_prefix(legacy) {
            return Some((Libc::Glibc(glibc), arch));
        }
    }
    fn versioned(rest: &str) -> Option<((u32, u32), &str)> {
        let mut it = rest.splitn(3, '_');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        Some(((major, minor), it.next()?))
    }
    if let Some(rest) = plat.strip_prefix("manylinux_") {
        let (v, arch) = versioned(rest)?;
        return Some((Libc::Glibc(v), arch));
    }
    if let Some(rest) = plat.strip_prefix("musllinux_") {
        let (v, arch) = versioned(rest)?;
        return Some((Libc::Musl(v), arch));
    }
    None
}

/// `311`, `3.11`, `3.11.4`.
fn parse_pyver(pyver: &str) -> Option<(u32, u32, u32)> {
    let parts: Vec<&str> = pyver.split('.').collect();
    let num = |s: &str| s.parse::<u32>().ok();
    match parts[..] {
        [compact] if compact.len() >= 2 && compact.chars().all(|c| c.is_ascii_digit()) => {
            Some((num(&compact[..1])?, num(&compact[1..])?, 0))
        }
        [major, minor] => Some((num(major)?, num(minor)?, 0)),
        [major, minor, patch] => Some((num(major)?, num(minor)?, num(patch)?)),
        _ => None,
    }
}

/// Keep only the wheels that fit one of `platforms`; a package no platform
/// installs (its marker) and no wheel fits is dropped. A package some
/// platform installs with no wheel for it is an error naming both.
pub fn restrict(
    packages: &mut Vec<DehydratedRequirement>,
    platforms: &[Platform],
) -> Result<(), String> {
    let mut missing = Vec::new();
    for package in packages.iter_mut() {
        let names: Vec<Option<WheelName>> = package
            .wheels
            .iter()
            .map(|w| WheelName::parse(&w.filename).ok())
            .collect();
        for platform in platforms.iter().filter(|p| p.needs(package)) {
            if !names.iter().flatten().any(|n| platform.fits(n)) {
                missing.push(format!(
                    "{} {} has no wheel for {} (its wheels: {})",
                    package.name,
                    package.version,
                    platform.spelled,
                    package
                        .wheels
                        .iter()
                        .map(|w| w.filename.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let mut keep = names.iter().map(|n| {
            n.as_ref()
                .is_some_and(|n| platforms.iter().any(|p| p.fits(n)))
        });
        package.wheels.retain(|_| keep.next().unwrap_or(false));
    }
    if !missing.is_empty() {
        return Err(format!(
            "the lock cannot serve every --platform: {}. Lock for those platforms too \
             (pex3 lock create --style universal, or uv pip compile --universal), or drop the platform",
            missing.join("; ")
        ));
    }
    packages.retain(|p| !p.wheels.is_empty());
    Ok(())
}

/// The launchers a build without `--platform` carries, of `available`.
pub struct DefaultArchs {
    pub archs: Vec<Arch>,
    /// An architecture the lock has some wheels for but not all it needs there,
    /// left out, with why (a warning: the lock looks meant for it).
    pub left_out: Vec<String>,
}

/// The architectures of `available` every package of the lock can be
/// installed on: it has a pure wheel or one built for that architecture, or its
/// marker leaves it out there. An architecture the lock has no platform wheel
/// for at all is left out quietly (a lock for one architecture); one it has
/// some for, with a warning; none served is an error naming what is missing.
/// A lock of pure wheels serves all. This host's alone if `available` is empty.
pub fn default_archs(
    packages: &[DehydratedRequirement],
    available: &[Arch],
) -> Result<DefaultArchs, String> {
    let platform_of = |filename: &str| -> Vec<String> {
        WheelName::parse(filename)
            .map(|n| n.tags.into_iter().map(|t| t.platform).collect())
            .unwrap_or_default()
    };
    let mut archs = Vec::new();
    let mut left_out = Vec::new();
    let mut missing_everywhere = Vec::new();
    for &arch in available {
        let suffix = format!("_{}", arch.name());
        // A Linux platform tag of this architecture (not `macosx_..._x86_64`).
        let linux_of_arch = |p: &String| {
            ["manylinux", "musllinux", "linux_"]
                .iter()
                .any(|prefix| p.starts_with(prefix))
                && p.ends_with(&suffix)
        };
        let serves = |filename: &str| {
            platform_of(filename)
                .iter()
                .any(|p| p == "any" || linux_of_arch(p))
        };
        let missing: Vec<String> = packages
            .iter()
            // Needed where its marker can hold on some host of this architecture.
            .filter(|p| {
                p.marker
                    .as_deref()
                    .is_none_or(|m| possible_on_linux(m, Some(arch.name())))
            })
            .filter(|p| !p.wheels.iter().any(|w| serves(&w.filename)))
            .map(|p| {
                let wheels: Vec<&str> = p.wheels.iter().map(|w| w.filename.as_str()).collect();
                format!(
                    "{} {} has no {} wheel (its wheels: {})",
                    p.name,
                    p.version,
                    arch.name(),
                    wheels.join(", ")
                )
            })
            .collect();
        let some_wheel_for_it = packages
            .iter()
            .flat_map(|p| &p.wheels)
            .any(|w| platform_of(&w.filename).iter().any(linux_of_arch));
        if missing.is_empty() {
            archs.push(arch);
            continue;
        }
        if some_wheel_for_it {
            left_out.push(format!(
                "no {arch} launcher: the lock has {arch} wheels, but {}; lock for {arch} too, \
                 or pass --platform to choose the hosts",
                missing.join("; "),
                arch = arch.name()
            ));
        }
        missing_everywhere.extend(missing);
    }
    if available.is_empty() {
        archs.push(Arch::host());
    } else if archs.is_empty() {
        return Err(format!(
            "the lock serves no host dpex has a launcher for ({}): {}. Lock for the hosts \
             the app runs on (pex3 lock create --style universal, or uv pip compile --universal)",
            available
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", "),
            missing_everywhere.join("; ")
        ));
    }
    Ok(DefaultArchs { archs, left_out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dpex_launcher::format::pexinfo::LockedWheel;

    fn package(name: &str, marker: Option<&str>, files: &[&str]) -> DehydratedRequirement {
        DehydratedRequirement {
            name: name.into(),
            version: "1.0".into(),
            marker: marker.map(String::from),
            requires_python: None,
            wheels: files
                .iter()
                .map(|f| LockedWheel {
                    filename: f.to_string(),
                    url: format!("https://index.example.com/files/{f}"),
                    sha256: dpex_launcher::standards::digest::Sha256Hex::parse(&"a".repeat(64))
                        .unwrap(),
                    size: None,
                })
                .collect(),
        }
    }

    const NP_X86: &str = "np-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    const NP_ARM: &str = "np-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl";
    const NP_ARM_228: &str = "np-1.0-cp311-cp311-manylinux_2_28_aarch64.whl";
    const NP_MUSL: &str = "np-1.0-cp311-cp311-musllinux_1_2_x86_64.whl";
    const NP_LOCAL: &str = "np-1.0-cp311-cp311-linux_x86_64.whl";
    const NP_313T: &str = "np-1.0-cp313-cp313t-manylinux2014_x86_64.whl";
    const NP_313: &str = "np-1.0-cp313-cp313-manylinux2014_x86_64.whl";
    const PURE: &str = "pure-1.0-py3-none-any.whl";

    fn names(packages: &[DehydratedRequirement]) -> Vec<String> {
        packages
            .iter()
            .flat_map(|p| p.wheels.iter().map(|w| w.filename.clone()))
            .collect()
    }

    #[test]
    fn abbreviated_platforms_choose_wheels_as_pex_does() {
        let arm = Platform::abbreviated("manylinux2014_aarch64-cp-311-cp311").unwrap();
        assert_eq!(arm.arch, Arch::Aarch64);
        let mut packages = vec![
            package("np", None, &[NP_X86, NP_ARM, NP_ARM_228, NP_MUSL]),
            package("pure", None, &[PURE]),
        ];
        restrict(&mut packages, &[arm]).unwrap();
        // manylinux2014 is glibc 2.17: the 2.28 wheel needs a newer host.
        assert_eq!(names(&packages), [NP_ARM, PURE]);

        let mut packages = vec![package("np", None, &[NP_X86, NP_ARM, NP_ARM_228, NP_MUSL])];
        let both = [
            Platform::abbreviated("linux_x86_64-cp-3.11-cp311").unwrap(),
            Platform::abbreviated("manylinux_2_28_aarch64-cp-3.11.4-cp311").unwrap(),
        ];
        restrict(&mut packages, &both).unwrap();
        assert_eq!(names(&packages), [NP_X86, NP_ARM, NP_ARM_228]);

        let musl = Platform::abbreviated("musllinux_1_2_x86_64-cp-311-cp311").unwrap();
        let mut packages = vec![package("np", None, &[NP_X86, NP_ARM, NP_MUSL])];
        restrict(&mut packages, &[musl]).unwrap();
        assert_eq!(names(&packages), [NP_MUSL]);
    }

    #[test]
    fn pex_spellings_dashes_shorthand_abis_and_local_wheels() {
        // The platform part may hold dashes; only a linux_* platform takes a local wheel.
        let local = Platform::abbreviated("linux-x86_64-cp-311-cp311").unwrap();
        let many = Platform::abbreviated("manylinux2014_x86_64-cp-311-cp311").unwrap();
        let mut packages = vec![package("np", None, &[NP_X86, NP_LOCAL])];
        restrict(&mut packages, &[local]).unwrap();
        assert_eq!(names(&packages), [NP_X86, NP_LOCAL]);
        let mut packages = vec![package("np", None, &[NP_X86, NP_LOCAL])];
        restrict(&mut packages, &[many]).unwrap();
        assert_eq!(names(&packages), [NP_X86]);
        // `-t` is pex's shorthand for the free-threaded ABI of that version.
        let ft = Platform::abbreviated("manylinux2014_x86_64-cp-313-t").unwrap();
        let mut packages = vec![package("np", None, &[NP_313, NP_313T])];
        restrict(&mut packages, &[ft]).unwrap();
        assert_eq!(names(&packages), [NP_313T]);
    }

    #[test]
    fn a_package_a_platform_needs_without_a_wheel_for_it_is_named() {
        let arm = Platform::abbreviated("manylinux2014_aarch64-cp-311-cp311").unwrap();
        let mut packages = vec![package("np", None, &[NP_X86])];
        let err = restrict(&mut packages, &[arm]).unwrap_err();
        assert!(
            err.contains("np 1.0 has no wheel for manylinux2014_aarch64-cp-311-cp311"),
            "{err}"
        );
        // Unless its marker leaves it out there: then it is dropped.
        let arm = Platform::abbreviated("manylinux2014_aarch64-cp-311-cp311").unwrap();
        let mut packages = vec![
            package("cuda", Some("platform_machine == 'x86_64'"), &[NP_X86]),
            package("pure", None, &[PURE]),
        ];
        restrict(&mut packages, &[arm]).unwrap();
        assert_eq!(names(&packages), [PURE]);
    }

    #[test]
    fn bad_platforms_are_refused_with_the_reason() {
        for (spelled, why) in [
            ("macosx_11_0_arm64-cp-311-cp311", "is not a Linux"),
            ("linux_ppc64le-cp-311-cp311", "architecture ppc64le"),
            ("linux_x86_64-cp-311", "four parts"),
            ("linux_x86_64-jy-311-none", "implementation"),
            ("linux_x86_64-cp-x-cp311", "Python version"),
        ] {
            let err = Platform::abbreviated(spelled).err().unwrap();
            assert!(err.contains(why), "{spelled}: {err}");
        }
    }

    #[test]
    fn default_archs_follow_the_locks_wheels() {
        let both = [Arch::X86_64, Arch::Aarch64];
        let archs = |packages: &[DehydratedRequirement], available: &[Arch]| {
            let chosen = default_archs(packages, available).unwrap();
            (chosen.archs, chosen.left_out)
        };
        let pure = [package("pure", None, &[PURE])];
        assert_eq!(archs(&pure, &both), (both.to_vec(), vec![]));
        // A lock for x86_64 alone: no aarch64 launcher, and nothing to warn of.
        let x86 = [
            package("np", None, &[NP_X86]),
            package("pure", None, &[PURE]),
        ];
        assert_eq!(archs(&x86, &both), (vec![Arch::X86_64], vec![]));
        let universal = [package("np", None, &[NP_X86, NP_ARM])];
        assert_eq!(archs(&universal, &both), (both.to_vec(), vec![]));
        assert_eq!(archs(&universal, &[Arch::X86_64]).0, [Arch::X86_64]);
        // A package only x86_64 hosts install (its marker) needs no aarch64 wheel.
        let cuda = [
            package("np", None, &[NP_X86, NP_ARM]),
            package("cuda", Some("platform_machine == 'x86_64'"), &[NP_X86]),
        ];
        assert_eq!(archs(&cuda, &both), (both.to_vec(), vec![]));
    }

    #[test]
    fn a_lock_with_gaps_leaves_an_architecture_out_and_says_why() {
        let both = [Arch::X86_64, Arch::Aarch64];
        // A universal lock whose one package has an x86_64 wheel only: an app with an aarch64
        // launcher would fail on every aarch64 host.
        let gap = [
            package("np", None, &[NP_X86, NP_ARM]),
            package("cn", None, &[NP_X86.replacen("np", "cn", 1).as_str()]),
        ];
        let chosen = default_archs(&gap, &both).unwrap();
        assert_eq!(chosen.archs, [Arch::X86_64]);
        assert_eq!(chosen.left_out.len(), 1);
        let why = &chosen.left_out[0];
        assert!(
            why.starts_with("no aarch64 launcher") && why.contains("cn 1.0 has no aarch64 wheel"),
            "{why}"
        );
        // A marker some host of the architecture meets counts as needed there.
        let gated = [
            package("np", None, &[NP_X86, NP_ARM]),
            package("cn", Some("python_version < '3.12'"), &[NP_X86]),
        ];
        assert_eq!(default_archs(&gated, &both).unwrap().archs, [Arch::X86_64]);
        // One decided by the architecture and the Python version (torch's triton) is not
        // needed on aarch64.
        let triton = [
            package("np", None, &[NP_X86, NP_ARM]),
            package(
                "triton",
                Some("platform_machine == 'x86_64' and python_version < '3.14'"),
                &[NP_X86],
            ),
        ];
        assert_eq!(default_archs(&triton, &both).unwrap().archs, both);
        // A macOS x86_64 wheel serves no Linux x86_64 host.
        let mac = [package(
            "mac",
            None,
            &[
                "mac-1.0-cp311-cp311-macosx_10_9_x86_64.whl",
                "mac-1.0-py3-none-win_amd64.whl",
            ],
        )];
        assert!(default_archs(&mac, &both).is_err());
        // No host served at all: refused, naming what each one lacks.
        let none = [
            package("np", None, &[NP_X86]),
            package("arm", None, &[NP_ARM]),
        ];
        let err = default_archs(&none, &both).err().unwrap();
        assert!(
            err.contains("serves no host")
                && err.contains("arm 1.0 has no x86_64 wheel")
                && err.contains("np 1.0 has no aarch64 wheel"),
            "{err}"
        );
    }
}
