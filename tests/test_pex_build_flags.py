"""Every build flag of the pinned pex (`pex --help`, all spellings) given to `dpex build`:
dpex either takes it (under pex's name, with pex's meaning) or refuses it with "pex's FLAG is
not supported by `dpex build`, because ...", never clap's generic "unexpected argument"."""

import re

from support.harness import clean_env, describe, run
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
    generic, refused, taken = [], [], []
    for flag in sorted(flags):
        if flag in ("-h", "--help", "-V", "--version"):
            continue
        r = e2e.dpex_cmd("build", "-o", e2e.tmp / "flags.pex", flag, env=e2e.env())
        if "unexpected argument" in r.stderr:
            generic.append(flag)
        elif f"pex's {flag} is not supported by `dpex build`, because " in r.stderr:
            assert r.returncode == 2 and r.stderr.count("\n") == 1, describe(r)
            refused.append(flag)
        else:
            taken.append(flag)
    assert not generic, f"pex flags dpex build rejects without a reason: {generic}"
    # The ones dpex takes under pex's names (README, docs/compat.md "Build side").
    for flag in ("--lock", "--pex-lock", "--pylock", "-r", "--requirement", "-i", "--index-url", "-D",
                 "--sources-directory", "-e", "-m", "--entry-point", "-c", "--script", "--console-script",
                 "-o", "--output-file", "--interpreter-constraint", "--inherit-path", "--inject-args",
                 "--inject-env", "--inject-python-args", "--strip-pex-env", "--no-strip-pex-env",
                 "--validate-entry-point", "--include-tools", "--platform", "--abbreviated-platform",
                 "--complete-platform", "--exe", "--executable", "--python-script"):
        assert flag in taken, (flag, taken)
    assert len(refused) > 100, len(refused)
