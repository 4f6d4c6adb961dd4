"""pex and dpex side by side: which interpreter runs the app. PEX_PYTHON as a path and
as a name, PEX_PYTHON_PATH, interpreter constraints, and constraints nothing on the
machine meets. See tests/support/pexcompat.py and docs/compat.md.
"""

import pytest

from support.harness import PY311
from support.pexcompat import lab, pex_build_root, real_pex, rewrite_pex_info  # noqa: F401  (fixtures)

WHO = ("import os, sys; print('WHO', os.path.realpath(sys.executable), '%d.%d' % sys.version_info[:2], "
       "sys.argv[1:])")


@pytest.fixture(scope="module")
def twins(lab):
    idna = lab.files("idna")
    out = lab.build_many({
        "app": ("plain", idna, {}),
        "constrained": ("ic-311", idna, {"opts": ["--interpreter-constraint", "CPython==3.11.*"]}),
        "unmeetable": ("ic-399", idna, {"dpex_opts": ["--interpreter-constraint", "CPython==3.99.*"]}),
        "older": ("ic-310", idna, {"dpex_opts": ["--interpreter-constraint", "CPython==3.10.*"]}),
    })
    # Constraints nothing here meets: pex refuses to build such a pex, so its PEX-INFO is
    # edited after a normal build; dpex builds it as asked.
    rewrite_pex_info(out["unmeetable"].pex, interpreter_constraints=["CPython==3.99.*"])
    rewrite_pex_info(out["older"].pex, interpreter_constraints=["CPython==3.10.*"])
    return out


@pytest.fixture(scope="module")
def app(twins):
    return twins["app"]


@pytest.fixture(scope="module")
def constrained(twins):
    return twins["constrained"]


@pytest.fixture(scope="module")
def unmeetable(twins):
    return twins["unmeetable"]


ENVS = [
    {},
    {"PEX_PYTHON": PY311},
    {"PEX_PYTHON": "python3.11"},
    {"PEX_PYTHON": "python3"},
    {"PEX_PYTHON_PATH": "/usr/bin"},
    {"PEX_PYTHON_PATH": PY311},
    {"PEX_PYTHON_PATH": "/nonexistent:/usr/bin"},
    {"PEX_PYTHON": "python3.11", "PEX_PYTHON_PATH": "/usr/bin"},
]


@pytest.mark.parametrize("env", ENVS, ids=lambda e: " ".join(f"{k}={v}" for k, v in e.items()) or "default")
def test_interpreter_choice(app, constrained, env):
    for twin in (app, constrained):
        pair = twin.run("-c", WHO, "x", env={"PEX_INTERPRETER": "1", **env}).assert_same(stderr="empty")
        assert pair.dpex.stdout == f"WHO {PY311} 3.11 ['x']\n", pair.describe()


@pytest.mark.parametrize("env", [{"PEX_PYTHON": "/nonexistent/bin/python3.11"}, {"PEX_PYTHON": "python3.99"},
                                 {"PEX_PYTHON_PATH": "/nonexistent"}],
                         ids=lambda e: " ".join(f"{k}={v}" for k, v in e.items()))
def test_no_such_interpreter(app, env):
    pair = app.run("-c", "print('ran')", env=env)
    assert pair.pex.returncode != 0 and pair.dpex.returncode != 0, pair.describe()
    assert "ran" not in pair.pex.stdout + pair.dpex.stdout, pair.describe()


@pytest.mark.parametrize("env", [{}, {"PEX_PYTHON": PY311}, {"PEX_PYTHON_PATH": "/usr/bin"}],
                         ids=lambda e: " ".join(f"{k}={v}" for k, v in e.items()) or "default")
def test_unmeetable_interpreter_constraints(unmeetable, env):
    """Both fail before the app runs (exit codes compared, not messages); dpex's message
    names the constraint and what it found."""
    pair = unmeetable.run("-c", "print('ran')", env=env)
    assert pair.pex.returncode == pair.dpex.returncode == 1, pair.describe()
    assert not pair.pex.stdout and not pair.dpex.stdout, pair.describe()
    assert "CPython==3.99.*" in pair.dpex.stderr and "3.11" in pair.dpex.stderr, pair.describe()


def test_pex_python_outside_the_constraints(twins):
    """PEX_PYTHON names a working interpreter (3.11) that the app's constraint (3.10) rules
    out: both refuse to run the app; dpex's message names the constraint and the interpreter."""
    pair = twins["older"].run("-c", "print('ran')", env={"PEX_PYTHON": PY311})
    assert pair.pex.returncode != 0 and pair.dpex.returncode != 0, pair.describe()
    assert "ran" not in pair.pex.stdout + pair.dpex.stdout, pair.describe()
    assert "CPython==3.10.*" in pair.dpex.stderr and PY311 in pair.dpex.stderr, pair.describe()
