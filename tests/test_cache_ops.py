"""Operating the cache: offline mode, lock timeouts, an unwritable cache,
read-only cache layers."""

import fcntl
import os
from pathlib import Path

from support.apps import REQUESTS_PROJECTS
from support.harness import PY311, assert_clean_error, assert_ok, describe, under


def tree(root):
    """Every path under root, but Python's own bytecode caches: on a writable
    mount Python may add those; a real layer is mounted read-only."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts)


def link_counts(root):
    """{path: st_nlink} of every file of every wheel entry under root."""
    return {str(p.relative_to(root)): p.stat().st_nlink for p in (root / "1" / "wheels").rglob("*") if p.is_file()}


def test_offline_uses_cache_and_local_wheels_only(e2e, tmp_path):
    files = e2e.files(*REQUESTS_PROJECTS)
    pex = e2e.build_app(files, entry_point=None)
    # Nothing cached, nothing local: every missing wheel is listed, nothing is fetched.
    r = e2e.run_pex(pex, "-c", "import requests", env={"DPEX_OFFLINE": "1"})
    assert_clean_error(r, "DPEX_OFFLINE", "dpex hydrate", "DPEX_FIND_LINKS",
                       *[f.name for f in files], *[e2e.wheels.sha256(f.name) for f in files])
    assert e2e.index.file_gets() == {}
    # Local wheels are fine offline.
    local = tmp_path / "local"
    local.mkdir()
    for f in files:
        (local / f.name).write_bytes(f.read_bytes())
    r = assert_ok(e2e.run_pex(pex, "-c", "import requests; print('OK')",
                              env={"DPEX_OFFLINE": "1", "DPEX_FIND_LINKS": str(local)}))
    assert "OK" in r.stdout and e2e.index.file_gets() == {}
    # And so is the cache, with no local wheels at all.
    assert_ok(e2e.run_pex(pex, "-c", "import requests", env={"DPEX_OFFLINE": "1"}))


def test_lock_held_too_long_names_the_lock(e2e):
    idna = e2e.files("idna")
    pex = e2e.build_app(idna, entry_point=None)
    sha = e2e.wheels.sha256(idna[0].name)
    lock_path = e2e.root / "1" / "wheels" / f".{sha}.lck"
    lock_path.parent.mkdir(parents=True)
    with open(lock_path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        r = e2e.run_pex(pex, "-c", "import idna", env={"DPEX_LOCK_TIMEOUT": "1"})
        assert_clean_error(r, str(lock_path), "DPEX_LOCK_TIMEOUT", "waiting")
        assert r.elapsed < 30, r.elapsed
    # Released: the next run builds the entry.
    assert_ok(e2e.run_pex(pex, "-c", "import idna"))


def test_unwritable_cache_warns_and_runs_from_a_temporary_one(e2e):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    # /sys refuses mkdir even to root (EPERM): a cache nobody can write. The fallback
    # ($TMPDIR/dpex-<uid>) in this test's own folder, not one left in /tmp by an earlier run.
    tmpdir = e2e.tmp / "tmpdir"
    tmpdir.mkdir()
    r = assert_ok(e2e.run_pex(pex, "-c", "import idna, sys; print('OK', sys.prefix)",
                              env={"DPEX_ROOT": "/sys/dpex-test-cache", "TMPDIR": str(tmpdir)}))
    warnings = [l for l in r.stderr.splitlines() if "warning" in l]
    assert len(warnings) == 1 and "/sys/dpex-test-cache" in warnings[0], r.stderr
    assert "OK" in r.stdout and "/sys/" not in r.stdout.split("OK", 1)[1], describe(r)
    assert under(r.stdout.split("OK", 1)[1].strip(), tmpdir), describe(r)


def test_read_only_layers_are_used_first_and_never_written(e2e, tmp_path):
    files = e2e.files(*REQUESTS_PROJECTS)
    pex = e2e.build_app(files, entry_point=None)
    layer = tmp_path / "image-cache"
    assert_ok(e2e.dpex_cmd("hydrate", pex, "--python", PY311, env=e2e.env({"DPEX_ROOT": str(layer)}, python=None)))
    before, links_before = tree(layer), link_counts(layer)
    e2e.index.stop()
    env = {"DPEX_ROOT": str(tmp_path / "fresh"), "DPEX_CACHE_LAYERS": str(layer)}
    r = assert_ok(e2e.run_pex(pex, "-c", "import requests, sys; print('PREFIX', sys.prefix)", env=env))
    assert str(layer) in r.stdout, describe(r)
    assert tree(layer) == before
    # Another app with the same wheels builds its environment and its site in
    # the writable cache (the layer's site has no bytecode, and Python could
    # write none there): the site's files are symlinks, not hard links, into the
    # layer's wheels, so not even the layer's link counts change. No download.
    other = e2e.build_app(files, entry_point=None, extra=["--inject-env", "X=1"], out="other.pex")
    code = "import requests, os, sys; print('PREFIX', sys.prefix, os.path.realpath(os.path.dirname(requests.__file__)))"
    r = assert_ok(e2e.run_pex(other, "-c", code, env=env))
    prefix, package = r.stdout.split()[1:]
    assert prefix.startswith(str(tmp_path / "fresh")), describe(r)
    assert package.startswith(str(tmp_path / "fresh" / "1" / "sites")), describe(r)
    module = Path(package) / "__init__.py"
    assert module.is_symlink() and str(layer) in os.readlink(module), module
    assert tree(layer) == before
    assert link_counts(layer) == links_before


def test_a_compiled_layer_shares_its_site_and_can_move(e2e, tmp_path):
    """A layer filled by `dpex hydrate --compile` (an image build) lends its
    site, with its bytecode, to new versions of the app; and its venvs link
    their site relatively, so the layer works mounted at another path."""
    files = e2e.files(*REQUESTS_PROJECTS)
    pex = e2e.build_app(files, entry_point=None)
    built = tmp_path / "built-at"
    assert_ok(e2e.dpex_cmd("hydrate", "--compile", pex, "--python", PY311,
                           env=e2e.env({"DPEX_ROOT": str(built)}, python=None)))
    (site,) = [p for p in (built / "1" / "sites").iterdir() if not p.name.startswith(".")]
    assert (site / "dpex-compiled").is_file()
    layer = tmp_path / "mounted-at"
    built.rename(layer)  # the image's cache, mounted somewhere else
    e2e.index.stop()
    env = {"DPEX_ROOT": str(tmp_path / "fresh"), "DPEX_CACHE_LAYERS": str(layer)}
    code = "import requests, os, sys; print('PREFIX', sys.prefix, os.path.realpath(os.path.dirname(requests.__file__)))"
    r = assert_ok(e2e.run_pex(pex, "-c", code, env=env))
    prefix, package = r.stdout.split()[1:]
    assert prefix.startswith(str(layer)) and package.startswith(str(layer / "1" / "sites")), describe(r)
    before = tree(layer)
    v2 = e2e.build_app(files, entry_point=None, extra=["--inject-env", "X=1"], out="v2.pex")
    r = assert_ok(e2e.run_pex(v2, "-c", code, env=env))
    prefix, package = r.stdout.split()[1:]
    assert prefix.startswith(str(tmp_path / "fresh")), describe(r)
    assert package == str(layer / "1" / "sites" / site.name / "site-packages" / "requests"), describe(r)
    assert tree(layer) == before


def test_temporary_cache_must_be_private(e2e, tmp_path):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    tmpdir = tmp_path / "tmp"
    planted = tmpdir / f"dpex-{os.getuid()}"
    planted.mkdir(parents=True)
    env = {"DPEX_ROOT": "/sys/dpex-test-cache", "TMPDIR": str(tmpdir)}
    # Writable by others: someone could have planted code in it.
    planted.chmod(0o777)
    assert_clean_error(e2e.run_pex(pex, "-c", "import idna", env=env), str(planted), "private")
    # Owned by another user.
    planted.chmod(0o700)
    os.chown(planted, 65534, 65534)
    assert_clean_error(e2e.run_pex(pex, "-c", "import idna", env=env), str(planted), "private")
    # Ours, and nobody else could write to it: used (and tightened to 0700).
    os.chown(planted, os.getuid(), os.getgid())
    planted.chmod(0o755)
    assert_ok(e2e.run_pex(pex, "-c", "import idna", env=env))
    assert planted.stat().st_mode & 0o777 == 0o700
