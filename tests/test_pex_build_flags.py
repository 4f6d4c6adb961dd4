"""Every build flag of the pinned pex (`pex --help`, all spellings) given to `dpex build`:
dpex either takes it (under pex's name, with pex's meaning) or refuses it with "pex's FLAG is
not supported by `dpex build`, because ...", never clap's generic "unexpected argument"."""

import json
import re
import zipfile

import pytest

from support.harness import PY311, assert_clean_error, assert_ok, clean_env, describe, run
from support.pexcompat import real_pex  # noqa: F401  (fixture)


def pex_flags(real_pex, home):
    r = run([real_pex, "--help"], env=clean_env(home), timeout=120)
    assert r.returncode == 0, describe(r)
    flags = set()
    for line in r.stdout.splitlines():
        if re.match(r"^  -", line):
            # `  -r FILE, --requirement FILE, --requirements FILE   help text`
            head = re.split(r"\s{2,}", line.strip())[0]
            flags.update(re.findall(r"(?:^|,\s)(--?[A-Za-z0-9][\w-]*)", head))
    return flags


def test_every_pex_build_flag_is_taken_or_refused_with_a_reason(e2e, real_pex):
    flags = pex_flags(real_pex, e2e.home)
    assert {"--layout", "--venv", "--python-shebang", "-f", "--lock", "-D"} <= flags, sorted(flags)
    generic, refused, ignored, taken = [], [], [], []
    for flag in sorted(flags):
        if flag in ("-h", "--help"):
            continue
        r = e2e.dpex_cmd("build", "-o", e2e.tmp / "flags.pex", flag, env=e2e.env())
        if "unexpected argument" in r.stderr:
            generic.append(flag)
        elif f"pex's {flag} is not supported by `dpex build`, because " in r.stderr:
            assert r.returncode == 2 and r.stderr.count("\n") == 1, describe(r)
            refused.append(flag)
        elif f"dpex: warning: pex's {flag} has no effect on a dpex app, because " in r.stderr:
            ignored.append(flag)
        else:
            taken.append(flag)
    assert not generic, f"pex flags dpex build rejects without a reason: {generic}"
    # Those a pipeline can keep: they change nothing for a dehydrated app (a warning says why).
    assert {"--no-pypi", "--compile", "--no-compile", "--venv", "-v", "--no-build", "--pre",
            "--no-emit-warnings", "--no-pre-install-wheels", "--no-use-system-time"} <= set(ignored), ignored
    # The ones dpex takes under pex's names (README, docs/compat.md "Build side").
    for flag in ("--lock", "--pex-lock", "--pylock", "-r", "--requirement", "-i", "--index-url", "-D",
                 "--sources-directory", "-e", "-m", "--entry-point", "-c", "--script", "--console-script",
                 "-o", "--output-file", "--interpreter-constraint", "--inherit-path", "--inject-args",
                 "--inject-env", "--inject-python-args", "--strip-pex-env", "--no-strip-pex-env",
                 "--validate-entry-point", "--include-tools", "--platform", "--abbreviated-platform",
                 "--complete-platform", "--exe", "--executable", "--python-script", "--build-properties",
                 "--build-property", "--record-git-state", "--no-record-git-state", "--seed", "--no-seed",
                 "--preamble-file", "--bind-resource-path", "--python-shebang", "-P", "--package", "-M",
                 "--module", "-R", "--resources-directory"):
        assert flag in taken, (flag, taken)
    assert len(refused) > 100, len(refused)


def test_a_pipelines_pex_command_line_keeps_what_it_can(e2e):
    """A pex command line as a pipeline has it: the flags without effect are dropped with a
    warning each and the app builds and runs; with flags dpex refuses, every one is named in one
    run (not only the first), and no app is written."""
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    out = e2e.tmp / "app.pex"
    keep = ["--no-pypi", "--no-compile", "--venv", "prepend", "-vv", "--no-build", "--no-emit-warnings"]
    r = e2e.dpex_cmd("build", "--lock", lock, "-D", src, "-e", "myapp.main:run", *keep, "-o", out)
    assert r.returncode == 0, describe(r)
    warned = [l.split()[3] for l in r.stderr.splitlines() if l.startswith("dpex: warning: pex's ")]
    assert warned == ["--no-pypi", "--no-compile", "--venv", "-v", "--no-build", "--no-emit-warnings"], describe(r)
    assert e2e.run_pex(out).returncode == 0
    out.unlink()
    r = e2e.dpex_cmd("build", "--lock", lock, "-D", src, "-e", "myapp.main:run", "-f", "wheels", *keep,
                     "--layout", "packed", "--venv-system-site-packages", "-o", out)
    errors = [l.split()[3] for l in r.stderr.splitlines() if l.startswith("dpex: error: pex's ")]
    assert r.returncode == 2 and errors == ["-f", "--layout", "--venv-system-site-packages"], describe(r)
    assert not out.exists()


def test_build_properties_are_recorded_as_pex_records_them(e2e, real_pex):
    """--build-properties (JSON, or a file of it), --build-property NAME=VALUE (JSON, else a
    string) and --record-git-state: the same PEX-INFO build_properties from both tools, but for
    each tool's own version key."""
    import json
    import zipfile

    repo = e2e.tmp / "repo"
    src = repo / "src"
    src.mkdir(parents=True)
    (src / "hello.py").write_text("print('hi')\n")
    git_env = clean_env(e2e.home, {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                                   "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})
    for cmd in (["init", "-q", "-b", "release"], ["add", "."], ["commit", "-q", "-m", "one"],
                ["tag", "-a", "v1.2", "-m", "v1.2"]):
        r = run(["git", *cmd], env=git_env, cwd=repo)
        assert r.returncode == 0, describe(r)
    (repo / "props.json").write_text('{"team": "data", "n": 1}')
    idna = e2e.files("idna")
    flags = ["--build-properties", "props.json", "--build-property", "n=2", "--build-property", "who=ann",
             "--build-property", 'list=["spam", 42]', "--record-git-state"]
    pex_out, dpex_out = e2e.tmp / "pex.pex", e2e.tmp / "dpex.pex"
    r = run([real_pex, "--no-pypi", "--index", e2e.index.simple_url, "--python", "/usr/bin/python3.11",
             "idna==3.20", "-D", "src", *flags, "-o", pex_out],
            env=clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"}), cwd=repo, timeout=300)
    assert r.returncode == 0, describe(r)
    lock = e2e.pylock(idna)
    r = run([e2e.dpex, "build", "--lock", lock, "-D", "src", *flags, "-o", dpex_out], env=clean_env(e2e.home),
            cwd=repo)
    assert r.returncode == 0, describe(r)

    def props(path):
        with zipfile.ZipFile(path) as z:
            got = json.loads(z.read("PEX-INFO"))["build_properties"]
        return {k: v for k, v in got.items() if k not in ("pex_version", "dpex_version")}

    want = props(pex_out)
    assert want["git_state"]["tag"] == "v1.2" and want["git_state"]["branch"] == "release", want
    assert want["n"] == 2 and want["list"] == ["spam", 42] and want["team"] == "data", want
    assert props(dpex_out) == want

    # pex's errors, in dpex's words: not an object, not NAME=VALUE.
    for bad in (["--build-properties", "[1, 2]"], ["--build-property", "novalue"]):
        r = run([e2e.dpex, "build", "--lock", lock, "-D", "src", *bad, "-o", e2e.tmp / "bad.pex"],
                env=clean_env(e2e.home), cwd=repo)
        assert r.returncode != 0 and "build-propert" in r.stderr and "panicked" not in r.stderr, describe(r)


def test_seed_fills_the_cache_and_prints_what_pex_prints(e2e, real_pex):
    """--seed verbose: the same JSON keys as pex's (`seeded_from`, `pex_root`, `python`, `pex`), the
    same interpreter; the app is hydrated by the build, so its first run fetches nothing.
    --seed (args): the command that runs the app."""
    import json

    src = e2e.sources({"hello.py": "import idna\nprint('HELLO', idna.encode('bücher').decode())\n"}, name="seed-src")
    pex_out = e2e.tmp / "pex.pex"
    r = run([real_pex, "--no-pypi", "--index", e2e.index.simple_url, "--python", "/usr/bin/python3.11",
             "idna==3.20", "-D", src, "-m", "hello", "--seed", "verbose", "-o", pex_out],
            env=clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"}), timeout=300)
    assert r.returncode == 0, describe(r)
    pex_seed = json.loads(r.stdout.strip().splitlines()[-1])

    lock = e2e.pylock(e2e.files("idna"))
    env = e2e.env({"PEX_PYTHON": "/usr/bin/python3.11"})
    since = e2e.index.mark()
    r = run([e2e.dpex, "build", "--lock", lock, "-D", src, "-m", "hello", "--seed", "verbose",
             "-o", e2e.tmp / "app.pex"], env=env)
    assert r.returncode == 0, describe(r)
    seed = json.loads(r.stdout)
    assert set(seed) == set(pex_seed), (seed, pex_seed)
    assert seed["python"] == pex_seed["python"] == "/usr/bin/python3.11"
    assert seed["pex_root"] == str(e2e.root / "1") and seed["pex"] == str(e2e.tmp / "app.pex")
    assert e2e.index.file_gets(since), "--seed fetched nothing"

    since = e2e.index.mark()
    r = run([seed["pex"]], env=env)
    assert r.returncode == 0 and "HELLO xn--bcher-kva" in r.stdout, describe(r)
    assert not e2e.index.requests()[since:], "the seeded app went to the network"

    r = run([e2e.dpex, "build", "--lock", lock, "-D", src, "-m", "hello", "--seed", "-o", e2e.tmp / "b.pex"],
            env=env)
    assert r.returncode == 0 and r.stdout.strip() == str(e2e.tmp / "b.pex"), describe(r)
    r = run([e2e.dpex, "build", "--lock", lock, "-D", src, "-m", "hello", "--seed=none", "-o", e2e.tmp / "c.pex"],
            env=env)
    assert r.returncode == 0 and r.stdout == "", describe(r)


def test_python_shebang_picks_the_interpreter_as_pex_does(e2e, real_pex):
    """--python-shebang: `./app.pex` runs under the interpreter it names (a path, or
    `/usr/bin/env NAME` on PATH), as pex's app does; PEX_PYTHON and `python app.pex` choose
    over it; a shebang naming no interpreter on the host fails in both tools, dpex's with a
    clear error; interpreter flags in it are refused at build time."""
    bins = e2e.tmp / "bins"
    bins.mkdir()
    # A wrapper that leaves a mark when run: the launcher probes the interpreter it chose (a
    # fresh cache each run below), so the mark says which one it chose.
    mark = e2e.tmp / "shebang-python-ran"
    wrapper = bins / "py-shebang"
    wrapper.write_text(f"#!/bin/sh\necho ran >> {mark}\nexec {PY311} \"$@\"\n")
    wrapper.chmod(0o755)
    src = e2e.sources({"where.py": "import sys\nprint('RAN', sys.version_info[:2])\n"}, name="sb-src")
    lock = e2e.pylock(e2e.files("idna"))

    def build(shebang, out):
        return run([e2e.dpex, "build", "--lock", lock, "-D", src, "-m", "where", "--python-shebang", shebang,
                    "-o", e2e.tmp / out], env=clean_env(e2e.home))

    runs = iter(range(100))

    def ran_wrapper(cmd, **extra):
        mark.unlink(missing_ok=True)
        env = e2e.env({"PATH": f"{bins}:/usr/bin:/bin", **extra}, root=e2e.tmp / f"root-{next(runs)}", python=None)
        r = run(cmd, env=env)
        assert r.returncode == 0 and "RAN (3, 11)" in r.stdout, describe(r)
        return mark.exists()

    for shebang in (str(wrapper), "/usr/bin/env py-shebang", f"#!{wrapper}"):
        assert build(shebang, "sb.pex").returncode == 0
        assert ran_wrapper([e2e.tmp / "sb.pex"]), shebang
    # PEX_PYTHON chooses over it, and `python app.pex` runs under that python.
    assert not ran_wrapper([e2e.tmp / "sb.pex"], PEX_PYTHON=PY311)
    assert not ran_wrapper([PY311, e2e.tmp / "sb.pex"])

    # An interpreter the host lacks: pex's app fails (the kernel cannot run it), dpex's says why.
    missing = str(e2e.tmp / "no-such-python")
    env = e2e.env(python=None)
    r = run([real_pex, "--no-pypi", "--index", e2e.index.simple_url, "--python", PY311, "idna==3.20", "-D", src,
             "-m", "where", "--python-shebang", missing, "-o", e2e.tmp / "pex-missing.pex"],
            env=clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"}), timeout=300)
    assert r.returncode == 0, describe(r)
    with pytest.raises(FileNotFoundError):  # execve: ENOENT for the shebang's interpreter
        run([e2e.tmp / "pex-missing.pex"], env=env)
    assert build(missing, "missing.pex").returncode == 0
    r = run([e2e.tmp / "missing.pex"], env=env)
    assert_clean_error(r, "--python-shebang", missing, "PEX_PYTHON")

    r = build("/usr/bin/python3 -sE", "flags.pex")
    assert_clean_error(r, "--inject-python-args")


def test_argument_files_as_pex_reads_them(e2e, real_pex):
    """`pex @build.args`: one argument per line; the same files build with both tools. A
    missing file is one clear error."""
    lock = e2e.pylock(e2e.files("idna"))
    src = e2e.app_sources(["idna"])
    inner = e2e.tmp / "entry.args"
    inner.write_text("-e\nmyapp.main:run\n")
    args = e2e.tmp / "build.args"
    args.write_text(f"--pylock\n{lock}\n-D\n{src}\n--python-shebang=/usr/bin/env python3.11\n")
    r = e2e.dpex_cmd("build", f"@{args}", f"@{inner}", "-o", e2e.tmp / "app.pex")
    assert_ok(r)
    info = json.loads(e2e.dpex_cmd("info", "--raw", e2e.tmp / "app.pex", env=e2e.env()).stdout)
    assert info["entry_point"] == "myapp.main:run" and info["python_shebang"] == "/usr/bin/env python3.11", info
    assert_ok(e2e.run_pex(e2e.tmp / "app.pex"))
    # pex reads the same files the same way.
    r = run([real_pex, f"@{args}", f"@{inner}", "--python", PY311, "-o", e2e.tmp / "pex.pex"],
            env=clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"}), timeout=300, cwd=e2e.tmp)
    assert r.returncode == 0, describe(r)
    assert (e2e.tmp / "pex.pex").read_bytes().startswith(b"#!/usr/bin/env python3.11\n")

    r = e2e.dpex_cmd("build", f"@{e2e.tmp / 'missing.args'}", "-o", e2e.tmp / "x.pex")
    assert_clean_error(r, "argument file", "missing.args")


def test_packages_and_modules_as_pex_takes_them(e2e, real_pex):
    """-P foo.bar@src (a package, with the __init__.py above it), -M mod@src (a module), -R
    (a folder, as -D): the zip holds what pex's holds, and only that (not the rest of src)."""
    src = e2e.sources({"foo/__init__.py": "", "foo/bar/__init__.py": "X = 1\n", "foo/bar/baz.py": "Y = 2\n",
                       "foo/other/__init__.py": "", "tool.py": "def main():\n    print('TOOL')\n",
                       "unrelated.py": "", "notes.txt": "not code\n"}, name="pm-src")
    res = e2e.sources({"res/data.txt": "R\n"}, name="pm-res")
    lock = e2e.pylock(e2e.files("idna"))
    flags = ["-P", f"foo.bar@{src}", "-M", f"tool@{src}", "-R", str(res), "-e", "tool:main"]
    r = e2e.dpex_cmd("build", "--lock", lock, *flags, "-o", e2e.tmp / "pm.pex")
    assert_ok(r)
    r = run([real_pex, "--no-pypi", "--index", e2e.index.simple_url, "--python", PY311, "idna==3.20", *flags,
             "-o", e2e.tmp / "pm-pex.pex"], env=clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"}), timeout=300)
    assert r.returncode == 0, describe(r)

    def user_files(path):
        with zipfile.ZipFile(path) as zf:
            return sorted(n for n in zf.namelist()
                          if n.split("/")[0] in ("foo", "tool.py", "res", "unrelated.py") and not n.endswith("/"))

    assert user_files(e2e.tmp / "pm.pex") == user_files(e2e.tmp / "pm-pex.pex") == [
        "foo/__init__.py", "foo/bar/__init__.py", "foo/bar/baz.py", "res/data.txt", "tool.py"]
    r = e2e.run_pex(e2e.tmp / "pm.pex")
    assert_ok(r)
    assert r.stdout.strip() == "TOOL", describe(r)
    r = e2e.dpex_cmd("build", "--lock", lock, "-P", f"nope@{src}", "-o", e2e.tmp / "bad.pex")
    assert_clean_error(r, "-P/--package nope@", "not a folder")
