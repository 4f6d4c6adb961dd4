"""Where the cache goes when DPEX_ROOT is not set (docs/cache.md, "Where")."""

from support.harness import assert_ok, describe


def wheel_entries(root):
    d = root / "1" / "wheels"
    return sorted(n for n in d.iterdir() if not n.name.startswith(".")) if d.is_dir() else []


def test_cache_goes_to_xdg_cache_home_then_home_cache(e2e, tmp_path):
    pex = e2e.build_app(e2e.files("idna"), entry_point=None)
    xdg = tmp_path / "xdg"
    r = assert_ok(e2e.run_pex(pex, "-c", "import idna", env={"DPEX_ROOT": None, "PEX_ROOT": None,
                                                            "XDG_CACHE_HOME": xdg}))
    assert len(wheel_entries(xdg / "dpex")) == 1, describe(r)
    assert not (e2e.home / ".cache").exists() and not e2e.root.exists(), describe(r)
    # Without XDG_CACHE_HOME: ~/.cache/dpex.
    r = assert_ok(e2e.run_pex(pex, "-c", "import idna", env={"DPEX_ROOT": None, "PEX_ROOT": None}))
    assert len(wheel_entries(e2e.home / ".cache" / "dpex")) == 1, describe(r)
    # PEX_ROOT beats XDG_CACHE_HOME: $PEX_ROOT/dpex.
    r = assert_ok(e2e.run_pex(pex, "-c", "import idna", env={"DPEX_ROOT": None, "PEX_ROOT": tmp_path / "pexroot",
                                                            "XDG_CACHE_HOME": xdg}))
    assert len(wheel_entries(tmp_path / "pexroot" / "dpex")) == 1, describe(r)
