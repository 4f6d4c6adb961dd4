"""`dpex build` on bad input: non-zero exit, one clear message naming the
culprit, no Rust panic, and no app.pex left behind."""

from support.harness import assert_clean_error


def _build_fails(e2e, *args):
    out = e2e.tmp / "bad" / "app.pex"
    _, r = e2e.build(*args, out="bad/app.pex", ok=False)
    assert not out.exists(), "a failed build left an output file behind"
    return r


def test_missing_lock_file(e2e):
    src = e2e.app_sources()
    missing = e2e.tmp / "nope" / "pylock.toml"
    r = _build_fails(e2e, "--lock", missing, "-D", src, "-e", "myapp.main:run")
    assert_clean_error(r, str(missing))


def test_lock_file_not_toml(e2e):
    src = e2e.app_sources()
    lock = e2e.tmp / "broken.toml"
    lock.write_text('lock-version = "1.0"\n[[packages]\nname = \n')
    r = _build_fails(e2e, "--lock", lock, "-D", src, "-e", "myapp.main:run")
    assert_clean_error(r, "broken.toml")


def test_missing_sources_dir(e2e):
    lock = e2e.pylock(e2e.files("idna"))
    missing = e2e.tmp / "no-such-src"
    r = _build_fails(e2e, "--lock", lock, "-D", missing, "-e", "myapp.main:run")
    assert_clean_error(r, "no-such-src")


def test_requirement_not_pinned(e2e):
    src = e2e.app_sources()
    req = e2e.tmp / "requirements.txt"
    req.write_text("requests>=2.0\n")
    r = _build_fails(e2e, "-r", req, "--index-url", e2e.index.simple_url, "-D", src, "-e", "myapp.main:run")
    assert_clean_error(r, "requests", "requirements.txt")


def test_requirement_without_hash(e2e):
    src = e2e.app_sources()
    req = e2e.tmp / "requirements.txt"
    req.write_text("idna==3.20\n")
    r = _build_fails(e2e, "-r", req, "--index-url", e2e.index.simple_url, "-D", src, "-e", "myapp.main:run")
    assert_clean_error(r, "idna", "requirements.txt")
    assert_clean_error(r, "hash", ci=True)


def test_requirements_without_any_index(e2e):
    # There is no built-in default index: a build says where wheels come from.
    src = e2e.app_sources()
    sha = e2e.wheels.sha256(e2e.wheels.one("idna").name)
    req = e2e.tmp / "requirements.txt"
    req.write_text(f"idna==3.20 --hash=sha256:{sha}\n")
    before = e2e.index.mark()
    r = _build_fails(e2e, "-r", req, "-D", src, "-e", "myapp.main:run")
    assert_clean_error(r, "requirements.txt", "idna", "--index-url")
    assert e2e.index.requests()[before:] == []


def test_requirement_hash_unknown_to_index(e2e):
    src = e2e.app_sources()
    bogus = e2e.wheels.sha256(e2e.wheels.one("certifi").name)  # a real hash, of another file
    req = e2e.tmp / "requirements.txt"
    req.write_text(f"idna==3.20 --hash=sha256:{bogus}\n")
    before = e2e.index.mark()
    r = _build_fails(e2e, "-r", req, "--index-url", e2e.index.simple_url, "-D", src, "-e", "myapp.main:run")
    assert_clean_error(r, "idna", bogus)
    assert e2e.index.simple_gets(since=before), "the index was never asked"


def test_requirement_unknown_to_index(e2e):
    src = e2e.app_sources()
    req = e2e.tmp / "requirements.txt"
    req.write_text("nosuchproject==1.0 --hash=sha256:" + "0" * 64 + "\n")
    r = _build_fails(e2e, "-r", req, "--index-url", e2e.index.simple_url, "-D", src, "-e", "myapp.main:run")
    assert_clean_error(r, "nosuchproject")


def test_entry_point_module_absent(e2e):
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources()
    r = _build_fails(e2e, "--lock", lock, "-D", src, "-e", "nosuchmod_xyz.main:run")
    assert_clean_error(r, "nosuchmod_xyz")
