"""One app file for a mixed fleet (docs/format.md, "Multi-arch apps"): `dpex build` from a lock
with x86_64 and aarch64 wheels writes an app with launchers for both, and the same file runs on
this x86_64 host and, for real, in an arm64 Debian userland under qemu-user (chroot), cold and
warm, each picking its wheels by its own tags. pex's `--platform`/`--complete-platform` choose the
launchers and the recorded wheels (checked against what pex itself chooses), and the prelude that
picks a launcher keeps the cache's guarantees: one checked copy per launcher, a damaged app never
leaves a trusted copy, an unwritable cache falls back with one warning (none once warm), concurrent cold starts
agree."""

import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from support import pylock
from support.harness import PY311, REPO, assert_clean_error, assert_ok, clean_env, describe, pex_info, run
from support.index_server import IndexServer
from support.pexcompat import real_pex  # noqa: F401  (fixture)

CACHE = Path(os.environ.get("DPEX_TEST_CACHE") or REPO / ".dpex-test")
ARM64_ROOT = CACHE / "arm64-root"
AARCH64_LOCK = REPO / "tests" / "aarch64.lock.txt"

EM = {62: "x86_64", 183: "aarch64"}

# Prints the host's machine, the ELF machine of pyyaml's compiled extension (which wheel was
# installed), argv, and whether the launcher's private variables reached the app.
PROBE = r'''
import json, os, platform, struct, sys
import yaml, yaml._yaml
with open(yaml._yaml.__file__, "rb") as f:
    head = f.read(20)
print("APP " + json.dumps({
    "machine": platform.machine(),
    "yaml_machine": struct.unpack_from("<H", head, 18)[0],
    "libyaml": yaml.__with_libyaml__,
    "argv": sys.argv,
    "pex": os.environ.get("PEX"),
    "leaked": sorted(k for k in os.environ if k.startswith("__DPEX")),
}))
'''


def app_out(r):
    for line in r.stdout.splitlines():
        if line.startswith("APP "):
            return json.loads(line[4:])
    raise AssertionError("no APP line" + describe(r))


@pytest.fixture(scope="session")
def aarch64_wheel_dir():
    dest = CACHE / "aarch64-wheels"
    lock = pylock.read_hash_lock(AARCH64_LOCK)
    if pylock.missing_or_wrong(lock, dest):
        r = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch-test-wheels"), "--lock",
                            str(AARCH64_LOCK), "--dest", str(dest)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
    return dest


@pytest.fixture
def fleet(tmp_path, wheels, aarch64_wheel_dir):
    """An index serving pyyaml for both architectures and idna (pure), and its pylock."""
    served = tmp_path / "served"
    served.mkdir()
    files = [wheels.one("pyyaml"), wheels.one("idna")] + sorted(aarch64_wheel_dir.glob("*.whl"))
    for f in files:
        (served / f.name).symlink_to(f)
    srv = IndexServer(served, tmp_path / "index.log").start()
    lock = pylock.write_pylock(tmp_path / "pylock.toml", [served / f.name for f in files], srv.files_url)
    src = tmp_path / "src"
    src.mkdir()
    (src / "probe.py").write_text(PROBE)
    yield srv, lock, src
    srv.stop()


def build(dpex_bin, tmp_path, *args, out="app.pex", ok=True):
    out = tmp_path / out
    r = run([dpex_bin, "build", *args, "-o", out], env=clean_env(tmp_path), cwd=tmp_path)
    if ok:
        assert_ok(r)
    return out, r


def launchers_of(pex):
    head = pex.read_bytes()[:4096]
    if head.startswith(b"\x7fELF"):
        return [EM[struct.unpack_from("<H", head, 18)[0]]]
    assert head.startswith(b"#!/bin/sh\n# dpex app: "), head[:80]
    return [line.split(b"|")[0].decode() for line in head.splitlines() if b") b=" in line]


def recorded_wheels(pex):
    return sorted(w["filename"] for p in pex_info(pex)["dehydrated_requirements"] for w in p["wheels"])


def host_run(pex, tmp_path, *args, root=None, env=None, via=None):
    extra = {"DPEX_ROOT": root or tmp_path / "dpex-root", "PEX_PYTHON": PY311, "PYTHONDONTWRITEBYTECODE": "1"}
    extra.update(env or {})
    cmd = ([via] if via else []) + [pex, *args]
    return run(cmd, env=clean_env(tmp_path / "home", extra), cwd=tmp_path)


def test_the_default_app_carries_both_launchers_and_runs_on_this_host(dpex_bin, tmp_path, fleet):
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    assert launchers_of(pex) == ["x86_64", "aarch64"]
    assert len(recorded_wheels(pex)) == 3
    (tmp_path / "home").mkdir()
    r = run([dpex_bin, "info", pex], env=clean_env(tmp_path / "home"), cwd=tmp_path)
    assert "launchers: x86_64, aarch64 Linux" in r.stdout, describe(r)

    for attempt in ("cold", "warm"):
        r = host_run(pex, tmp_path, "a b")
        assert_ok(r)
        out = app_out(r)
        assert (out["machine"], EM[out["yaml_machine"]], out["libyaml"]) == ("x86_64", "x86_64", True), out
        # $PEX is the app, as for a single-architecture app; nothing private leaks.
        assert out["argv"][1:] == ["a b"] and out["pex"] == str(pex), out
        assert out["leaked"] == [], out
    launchers = list((tmp_path / "dpex-root" / "launchers").iterdir())
    assert len(launchers) == 1 and os.access(launchers[0], os.X_OK), launchers
    gets = [p for m, p, s in srv.requests() if m == "GET" and p.startswith("/files/")]
    assert len(gets) == 2 and not any("aarch64" in p for p in gets), gets

    # `python app.pex` re-runs the file, prelude and all.
    r = host_run(pex, tmp_path, "c", via=PY311)
    assert_ok(r)
    assert app_out(r)["argv"][1:] == ["c"] and app_out(r)["pex"] == str(pex)


def test_a_lock_with_gaps_gets_only_the_launchers_it_can_serve(dpex_bin, tmp_path, fleet, wheels,
                                                            aarch64_wheel_dir):
    """A universal lock where one package has an x86_64 wheel only: by default the app carries no
    aarch64 launcher (it would fail on every aarch64 host), with a warning naming the package;
    a lock that serves no host in full is refused."""
    srv, _, src = fleet
    served_dir = tmp_path / "served"
    cn = wheels.one("charset_normalizer")
    (served_dir / cn.name).symlink_to(cn)
    served = sorted(served_dir.glob("*.whl"))
    lock = pylock.write_pylock(tmp_path / "gap.toml", served, srv.files_url)
    pex, r = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe", out="gap.pex")
    assert launchers_of(pex) == ["x86_64"], describe(r)
    warnings = [l for l in r.stderr.splitlines() if l.startswith("dpex: warning:")]
    assert len(warnings) == 1 and "no aarch64 launcher" in warnings[0], describe(r)
    assert "charset-normalizer 3.5.3 has no aarch64 wheel" in warnings[0], describe(r)
    assert_ok(host_run(pex, tmp_path, "x"))

    # pyyaml for aarch64 alone, charset-normalizer for x86_64 alone: no host runs the app.
    arm_yaml = next(aarch64_wheel_dir.glob("pyyaml-*.whl"))
    lock = pylock.write_pylock(tmp_path / "none.toml", [served_dir / arm_yaml.name, served_dir / cn.name],
                               srv.files_url)
    _, r = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, out="none.pex", ok=False)
    assert_clean_error(r, "serves no host", "pyyaml 6.0.4 has no x86_64 wheel",
                       "charset-normalizer 3.5.3 has no aarch64 wheel")


@pytest.fixture
def arm64(tmp_path):
    """A scratch folder inside the arm64 userland, and a runner for commands in it (chroot)."""
    if not (ARM64_ROOT / ".complete").is_file():
        pytest.skip(f"no arm64 userland at {ARM64_ROOT}: run scripts/arm64-userland (as root)")
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").is_file() or os.geteuid() != 0:
        pytest.skip("running arm64 programs needs qemu-aarch64 in binfmt_misc and root (scripts/arm64-userland)")
    inside = Path("/work-" + uuid.uuid4().hex[:8])
    (ARM64_ROOT / inside.relative_to("/")).mkdir()

    def chroot_run(*cmd, env=None):
        base = ["env", "-i", "PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
                f"DPEX_ROOT={inside}/dpex-root"] + [f"{k}={v}" for k, v in (env or {}).items()]
        return run([shutil.which("chroot", path="/usr/sbin:/sbin:/usr/bin") or "chroot", ARM64_ROOT, *base, *map(str, cmd)], env=clean_env(tmp_path), timeout=600)

    chroot_run.inside = inside
    chroot_run.outside = ARM64_ROOT / inside.relative_to("/")
    yield chroot_run
    shutil.rmtree(chroot_run.outside, ignore_errors=True)


def test_the_same_file_runs_on_aarch64_cold_and_warm(dpex_bin, tmp_path, fleet, arm64):
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    shutil.copy2(pex, arm64.outside / "app.pex")
    app = arm64.inside / "app.pex"
    assert_ok(arm64("uname", "-m")).stdout.strip() == "aarch64"

    r = assert_ok(arm64(app, "cold"))
    out = app_out(r)
    assert (out["machine"], EM[out["yaml_machine"]], out["libyaml"]) == ("aarch64", "aarch64", True), out
    assert out["argv"][1:] == ["cold"] and out["pex"] == str(app) and out["leaked"] == [], out
    gets = [p for m, p, s in srv.requests() if m == "GET" and p.startswith("/files/")]
    assert len(gets) == 2 and any("aarch64" in p for p in gets), gets
    assert not any("x86_64" in p for p in gets), gets

    # Warm: no request, the launcher copy reused.
    r = assert_ok(arm64(app, "warm"))
    assert app_out(r)["argv"][1:] == ["warm"]
    r = assert_ok(arm64("python3", app, "via python"))
    assert app_out(r)["machine"] == "aarch64"
    assert len([1 for m, p, s in srv.requests() if m == "GET" and p.startswith("/files/")]) == 2
    launchers = list((arm64.outside / "dpex-root" / "launchers").iterdir())
    assert len(launchers) == 1, launchers
    assert EM[struct.unpack_from("<H", launchers[0].read_bytes()[:20], 18)[0]] == "aarch64"


def test_platform_flags_choose_launchers_and_wheels(dpex_bin, tmp_path, fleet):
    srv, lock, src = fleet
    x86, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe",
                   "--platform", "manylinux2014_x86_64-cp-311-cp311", out="x86.pex")
    # One platform: a single-architecture app, the stub itself in front (no prelude).
    assert launchers_of(x86) == ["x86_64"]
    assert len(recorded_wheels(x86)) == 2 and not any("aarch64" in w for w in recorded_wheels(x86))
    r = host_run(x86, tmp_path, "x")
    assert_ok(r)
    assert app_out(r)["machine"] == "x86_64"

    # pex's `current`: this host's interpreter (the one the app's launcher would pick), its tags.
    cur, r = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe", "--platform", "current",
                   out="current.pex")
    assert launchers_of(cur) == ["x86_64"] and recorded_wheels(cur) == recorded_wheels(x86), describe(r)
    assert_ok(host_run(cur, tmp_path, "x"))

    arm, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe",
                   "--platform", "manylinux2014_aarch64-cp-3.11-cp311", out="arm.pex")
    assert launchers_of(arm) == ["aarch64"]
    assert [w for w in recorded_wheels(arm) if "pyyaml" in w][0].endswith("aarch64.whl")

    both, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe",
                    "--platform", "linux_x86_64-cp-311-cp311",
                    "--abbreviated-platform", "manylinux_2_28_aarch64-cp-311-cp311", out="both.pex")
    assert launchers_of(both) == ["x86_64", "aarch64"] and len(recorded_wheels(both)) == 3

    # A platform the lock has no wheel for is refused, naming the package and the platform.
    _, r = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe",
                 "--platform", "musllinux_1_2_aarch64-cp-311-cp311", out="musl.pex", ok=False)
    assert_clean_error(r, "pyyaml 6.0.4 has no wheel for musllinux_1_2_aarch64-cp-311-cp311")
    _, r = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "--platform", "macosx_11_0_arm64-cp-311-cp311",
                 out="mac.pex", ok=False)
    assert_clean_error(r, "dpex apps run on Linux")


def test_platforms_record_the_wheels_pex_chooses(dpex_bin, tmp_path, fleet, real_pex):
    """The referee: the pinned pex building from the same lock for the same --platform
    resolves the same wheels dpex records."""
    pex_bin = real_pex
    srv, lock, src = fleet
    for platform in ("manylinux2014_aarch64-cp-311-cp311", "manylinux2014_x86_64-cp-311-cp311"):
        ours, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "--platform", platform, out="d.pex")
        theirs = tmp_path / "p.pex"
        r = run([pex_bin, "--pylock", lock, "--platform", platform, "-D", src, "-o", theirs,
                 "--pex-root", tmp_path / "pex-root"],
                env=clean_env(tmp_path, {"PEX_PYTHON_PATH": PY311}), cwd=tmp_path, timeout=300)
        assert_ok(r)
        assert sorted(pex_info(theirs)["distributions"]) == recorded_wheels(ours), platform


def test_a_complete_platform_from_pex3_interpreter_inspect(dpex_bin, tmp_path, fleet, real_pex):
    pex3 = real_pex.with_name("pex3")
    srv, lock, src = fleet
    platform = tmp_path / "host.json"
    r = run([pex3, "interpreter", "inspect", "--python", PY311, "--markers", "--tags", "-o", platform],
            env=clean_env(tmp_path), cwd=tmp_path)
    assert_ok(r)
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe", "--complete-platform", platform)
    assert launchers_of(pex) == ["x86_64"]
    assert not any("aarch64" in w for w in recorded_wheels(pex)) and len(recorded_wheels(pex)) == 2


def test_a_damaged_launcher_is_never_kept(dpex_bin, tmp_path, fleet):
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    data = bytearray(pex.read_bytes())
    # The x86_64 launcher's last block ends in padding: a changed byte there still runs, but
    # no longer matches the sha256 the prelude names.
    head = data[:4096].decode()
    line = next(l for l in head.splitlines() if l.startswith("x86_64|"))
    first, count = int(line.split("b=")[1].split()[0]), int(line.split("c=")[1].split()[0])
    data[(first + count) * 4096 - 1] ^= 0xFF
    pex.write_bytes(bytes(data))
    (tmp_path / "tmp").mkdir()
    r = host_run(pex, tmp_path, "x", env={"TMPDIR": tmp_path / "tmp"})
    assert r.returncode != 0, describe(r)
    assert "cannot set up the x86_64 launcher" in r.stderr and "did not check out" in r.stderr, describe(r)
    kept = [p for d in (tmp_path / "dpex-root" / "launchers", tmp_path / "tmp") if d.exists() for p in d.rglob("*")
            if p.is_file()]
    assert kept == [], kept


def test_an_unwritable_cache_falls_back_with_one_warning(dpex_bin, tmp_path, fleet):
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    # /sys refuses mkdir even to root (EPERM): a cache nobody can write.
    unwritable = "/sys/dpex-test-cache"
    (tmp_path / "tmp").mkdir()
    env = {"TMPDIR": tmp_path / "tmp"}
    fallback = tmp_path / "tmp" / f"dpex-{os.getuid()}"
    for attempt in ("cold", "warm"):
        r = host_run(pex, tmp_path, "x", root=unwritable, env=env)
        assert_ok(r)
        # One warning, the launcher's, when the fallback gets the app's environment; none on the
        # warm start from it (the prelude keeps its copy in the same fallback quietly).
        warnings = [l for l in r.stderr.splitlines() if "warning" in l]
        if attempt == "cold":
            assert len(warnings) == 1 and "cannot write the cache" in warnings[0], describe(r)
        else:
            assert warnings == [], describe(r)
        assert (fallback.stat().st_mode & 0o777) == 0o700
        assert len(list((fallback / "launchers").iterdir())) == 1


def test_a_folder_that_cannot_run_programs_falls_back_with_a_warning(dpex_bin, tmp_path, fleet):
    if os.geteuid() != 0:
        pytest.skip("mounting a noexec tmpfs needs root")
    srv, lock, src = fleet
    # No entry point, and a pure import: a noexec cache cannot load compiled extensions at all.
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src)
    noexec = tmp_path / "noexec"
    noexec.mkdir()
    (tmp_path / "tmp").mkdir()
    env = {"TMPDIR": tmp_path / "tmp"}
    launchers = noexec / "cache" / "launchers"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,size=64m", "tmpfs", noexec], check=True)
    try:
        r = host_run(pex, tmp_path, "-c", "import idna; print('OK', idna.__name__)", root=noexec / "cache", env=env)
        assert_ok(r)
        assert r.stdout.strip() == "OK idna", describe(r)
        assert "cannot run the x86_64 launcher from" in r.stderr and "noexec" in r.stderr, describe(r)
        # No launcher is left in the noexec cache's launchers/ (the copy failed its run there), only
        # the mark that says so.
        assert [p.name for p in launchers.iterdir()] == [".noexec"]
        assert len(list((tmp_path / "tmp" / f"dpex-{os.getuid()}" / "launchers").iterdir())) == 1
        # Later starts, of this app and of another one on the same cache, go straight to the
        # fallback's copy: no warning, and nothing cut into the cache (its folder is not touched).
        other = tmp_path / "other"
        other.mkdir()
        other_pex, _ = build(dpex_bin, other, "--lock", lock, "-D", src)
        before = launchers.stat().st_mtime_ns
        for app in (pex, other_pex):
            r = host_run(app, tmp_path, "-c", "print('OK')", root=noexec / "cache", env=env)
            assert_ok(r)
            assert "warning" not in r.stderr, describe(r)
        assert launchers.stat().st_mtime_ns == before
        assert [p.name for p in launchers.iterdir()] == [".noexec"]
    finally:
        subprocess.run(["umount", noexec], check=True)
    # The fallback's copy serves that cache only: a cache that can run programs gets its own.
    good = tmp_path / "good"
    r = host_run(pex, tmp_path, "-c", "print('OK')", root=good, env=env)
    assert_ok(r)
    assert "warning" not in r.stderr, describe(r)
    assert len([p for p in (good / "launchers").iterdir() if not p.name.startswith(".")]) == 1


def test_a_stale_noexec_mark_is_tried_and_cleared_when_there_is_no_fallback(dpex_bin, tmp_path, fleet):
    """A cache marked .noexec that runs programs again (remounted), on a host whose $TMPDIR is
    unusable: the marked cache is tried after all, works, and loses its stale mark."""
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src)
    root = tmp_path / "cache"
    (root / "launchers").mkdir(parents=True)
    (root / "launchers" / ".noexec").touch()
    r = host_run(pex, tmp_path, "-c", "print('OK')", root=root, env={"TMPDIR": "/proc/dpex-no-such-folder"})
    assert_ok(r)
    assert r.stdout.strip() == "OK", describe(r)
    assert "warning" not in r.stderr, describe(r)
    assert [p.name for p in (root / "launchers").iterdir() if p.name.startswith(".")] == []
    assert len(list((root / "launchers").iterdir())) == 1


def test_a_damaged_app_does_not_mark_a_cache_noexec(dpex_bin, tmp_path, fleet):
    """A launcher that fails its hash check (a damaged app file) says nothing about the cache: with
    a good copy of it already kept in the fallback, the app runs from that copy and the healthy
    cache gets no .noexec mark (which would send every app on it to the fallback)."""
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src)
    env = {"TMPDIR": tmp_path / "tmp"}
    (tmp_path / "tmp").mkdir()
    # An unwritable cache: the prelude keeps the launcher in the fallback.
    assert_ok(host_run(pex, tmp_path, "-c", "print('OK')", root="/sys/dpex-test-cache", env=env))
    assert len(list((tmp_path / "tmp" / f"dpex-{os.getuid()}" / "launchers").iterdir())) == 1
    damaged = tmp_path / "damaged.pex"
    data = bytearray(pex.read_bytes())
    data[4096 + 100_000] ^= 0xFF  # inside the x86_64 launcher's blocks; the zip is intact
    damaged.write_bytes(bytes(data))
    damaged.chmod(0o755)
    root = tmp_path / "fresh"
    r = host_run(damaged, tmp_path, "-c", "print('OK')", root=root, env=env)
    assert_ok(r)
    assert "noexec" not in r.stderr, describe(r)
    assert [p.name for p in (root / "launchers").iterdir()] == []


def test_a_fallback_folder_others_can_write_is_refused(dpex_bin, tmp_path, fleet):
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    planted = tmp_path / "tmp" / f"dpex-{os.getuid()}"
    (planted / "launchers").mkdir(parents=True)
    planted.chmod(0o777)
    r = host_run(pex, tmp_path, "x", root="/sys/dpex-test-cache", env={"TMPDIR": tmp_path / "tmp"})
    assert_clean_error(r, str(planted), "private")
    assert list((planted / "launchers").iterdir()) == []


def test_concurrent_cold_starts_share_one_launcher(dpex_bin, tmp_path, fleet):
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    (tmp_path / "home").mkdir()
    env = clean_env(tmp_path / "home", {"DPEX_ROOT": tmp_path / "dpex-root", "PEX_PYTHON": PY311})
    procs = [subprocess.Popen([pex, str(i)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(8)]
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert json.loads(out.split("APP ", 1)[1])["argv"][1:] == [str(i)]
    names = sorted(p.name for p in (tmp_path / "dpex-root" / "launchers").iterdir())
    assert len(names) == 1 and not names[0].startswith("."), names


def test_an_emptied_launcher_copy_is_cut_out_again(dpex_bin, tmp_path, fleet):
    """An empty file where the launcher was kept (what a lost write looks like) would run as an
    empty shell script and exit 0 silently: the prelude cuts the launcher out again instead."""
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    assert_ok(host_run(pex, tmp_path, "first"))
    [kept] = list((tmp_path / "dpex-root" / "launchers").iterdir())
    size = kept.stat().st_size
    kept.write_bytes(b"")
    r = assert_ok(host_run(pex, tmp_path, "again"))
    assert app_out(r)["argv"][1:] == ["again"]
    assert kept.stat().st_size == size


def test_an_exported_venv_runs_through_a_symlink_to_its_pex(dpex_bin, tmp_path, fleet):
    """PEX_TOOLS=1 ./app.pex venv DIR, then DIR/pex linked onto PATH (a common deployment): the
    multi-arch app's launcher finds the venv beside the real file and never the cache."""
    srv, lock, src = fleet
    pex, _ = build(dpex_bin, tmp_path, "--lock", lock, "-D", src, "-m", "probe")
    venv = tmp_path / "venv"
    assert_ok(host_run(pex, tmp_path, "venv", str(venv), env={"PEX_TOOLS": "1"}))
    # DIR/pex is this host's launcher (the app's own, from its block) in front of the same zip:
    # no sh prelude, nothing to cut out.
    assert launchers_of(venv / "pex") == [platform.machine()]
    app, exported = pex.read_bytes(), (venv / "pex").read_bytes()
    assert len(exported) == len(app)
    block, count = map(int, re.search(rf"{platform.machine()}\|[a-z0-9]+\) b=(\d+) c=(\d+)", app[:4096].decode()).groups())
    launcher = app[block * 4096:(block + count) * 4096]
    assert exported.startswith(launcher)
    zip_at = (1 + sum(map(int, re.findall(r" c=(\d+)", app[:4096].decode())))) * 4096
    assert exported[len(launcher):zip_at].count(0) == zip_at - len(launcher)
    assert exported[zip_at:] == app[zip_at:]
    link = tmp_path / "bin" / "probe-app"
    link.parent.mkdir()
    link.symlink_to(venv / "pex")
    root = tmp_path / "other-root"
    r = assert_ok(host_run(link, tmp_path, "x", root=root))
    assert app_out(r)["argv"][1:] == ["x"]
    # No cache at all: no environment, and no launcher cut into <cache>/launchers.
    assert not root.exists(), os.listdir(root)
    r = assert_ok(run([PY311, venv, "y"], env=clean_env(tmp_path / "home", {"DPEX_ROOT": root}), cwd=tmp_path))
    assert app_out(r)["argv"][1:] == ["y"]
    assert not root.exists(), os.listdir(root)
