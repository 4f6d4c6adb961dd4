"""Two locked wheels that ship the same file (docs/environment.md, PEX_VERBOSE): the
environment keeps the first wheel's copy, in PEX-INFO's order, and PEX_VERBOSE=1 warns."""


from support import wheelmaker
from support.harness import assert_ok, describe, pex_info
from support.pylock import write_pylock


def test_first_wheel_wins_a_shared_file_with_a_warning(e2e, tripwire, tmp_path):
    d = tmp_path / "wheels"
    a = wheelmaker.make_wheel(d, "clash-a", "1.0", {"clash/__init__.py": "WHO = 'a'\n"})
    b = wheelmaker.make_wheel(d, "clash-b", "1.0", {"clash/__init__.py": "WHO = 'b'\n"})
    lock = write_pylock(tmp_path / "pylock.toml", [b, a], tripwire.url + "/files")
    pex, _ = e2e.build("--lock", lock)
    order = [req["name"] for req in pex_info(pex)["dehydrated_requirements"]]
    assert order == ["clash-a", "clash-b"], order
    r = assert_ok(e2e.run_pex(pex, "-c", "import clash; print(clash.WHO)",
                              env={"DPEX_FIND_LINKS": d, "PEX_VERBOSE": "1"}))
    assert r.stdout == "a\n", describe(r)
    warnings = [l for l in r.stderr.splitlines() if l.startswith("dpex: warning:")]
    assert len(warnings) == 1, describe(r)
    assert warnings[0] == (f"dpex: warning: clash/__init__.py is provided by more than one wheel; "
                           f"using the copy of {a.name}, not that of {b.name}"), describe(r)
    # Without PEX_VERBOSE (another cache, so the environment is built again): same choice, silent.
    r = assert_ok(e2e.run_pex(pex, "-c", "import clash; print(clash.WHO)",
                              env={"DPEX_FIND_LINKS": d, "DPEX_ROOT": tmp_path / "quiet-root"}))
    assert r.stdout == "a\n" and r.stderr == "", describe(r)
    assert tripwire.hits == 0
