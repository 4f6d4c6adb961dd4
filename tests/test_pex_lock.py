"""`dpex build --lock lock.json` takes a pex lock (`pex3 lock create`, real pex, against the
local index) as it takes a pylock.toml: the same app built from the same lock by pex and by dpex
runs the same packages at the same versions; conditional requirements follow the lock's graph
(a Windows-only dependency is left out on Linux by both); the lock's interpreter constraints are
carried over; a lock with projects that have no wheel is refused naming each project."""

import json
import zipfile

from support import apps
from support.harness import PY311, assert_clean_error, assert_ok, clean_env, describe, run, tagged_json, under
from support.pexcompat import real_pex  # noqa: F401  (fixture)


def pex3_lock(e2e, real_pex, requirements, *extra):
    reqs = e2e.tmp / "lock-reqs.txt"
    reqs.write_text("\n".join(requirements) + "\n")
    out = e2e.tmp / "lock.json"
    pex3 = real_pex.with_name("pex3")
    r = run([pex3, "lock", "create", "--no-pypi", "--index-url", e2e.index.simple_url, "-r", reqs,
             "--indent", "2", "-o", out, *extra],
            env=clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"}), timeout=300, cwd=e2e.tmp)
    assert r.returncode == 0 and out.is_file(), "pex3 lock create failed" + describe(r)
    return out


def build_both(e2e, real_pex, lock, imports, name):
    src = e2e.app_sources(imports, name=f"src-{name}")
    dpex_app, _ = e2e.build("--lock", lock, "-D", src, "-e", "myapp.main:run", out=f"{name}-dpex.pex")
    pex_app = e2e.tmp / f"{name}-pex.pex"
    r = run([real_pex, "--lock", lock, "--python", PY311, "-D", src, "-e", "myapp.main:run", "-o", pex_app],
            env=clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"}), timeout=300, cwd=e2e.tmp)
    assert r.returncode == 0 and pex_app.is_file(), "pex build from the lock failed" + describe(r)
    return dpex_app, pex_app


def run_app(e2e, app, *args, env=None):
    r = e2e.run_pex(app, *args, env={"PEX_ROOT": str(e2e.tmp / "pex-run-root"), **(env or {})})
    assert r.returncode == 4, describe(r)
    return tagged_json(r.stdout, "APP")


def test_an_app_from_a_pex_lock_runs_what_pex_runs(e2e, real_pex):
    lock = pex3_lock(e2e, real_pex, ["requests", "pyyaml", "numpy; sys_platform == 'win32'"],
                     "--style", "universal", "--interpreter-constraint", "CPython==3.11.*")
    locked = {r["project_name"]: r["version"]
              for r in json.loads(lock.read_text())["locked_resolves"][0]["locked_requirements"]}
    assert "numpy" in locked, "a universal lock carries the Windows-only numpy"
    dpex_app, pex_app = build_both(e2e, real_pex, lock, apps.REQUESTS_IMPORTS + ["yaml"], "universal")

    env = {"APP_TRY_IMPORTS": "numpy"}
    d, p = run_app(e2e, dpex_app, "4", env=env), run_app(e2e, pex_app, "4", env=env)
    assert d["modules"].keys() == p["modules"].keys()
    for name, m in d["modules"].items():
        assert m["version"] == p["modules"][name]["version"], name
        assert under(m["file"], str(e2e.root)), f"{name} from {m['file']}"
    assert d["requests"] == p["requests"] and d["yaml"] == p["yaml"]
    # sys_platform == 'win32' holds on neither: numpy is installed by neither.
    assert d["tried"] == {"numpy": None} == p["tried"], (d["tried"], p["tried"])
    assert d["argv"][1:] == p["argv"][1:] == ["4"]

    info = json.loads(e2e.dpex_cmd("info", "--raw", dpex_app, env=e2e.env()).stdout)
    assert info["interpreter_constraints"] == ["CPython==3.11.*"]
    recorded = {p["name"]: p for p in info["dehydrated_requirements"]}
    assert {n: r["version"] for n, r in recorded.items()} == {
        n.lower().replace("_", "-"): v for n, v in locked.items()}
    assert recorded["numpy"]["marker"] == "sys_platform == \"win32\"", recorded["numpy"]
    assert recorded["requests"].get("marker") is None


def test_a_lock_with_projects_without_wheels_is_refused_naming_them(e2e, real_pex):
    lock = pex3_lock(e2e, real_pex, ["requests"], "--style", "universal",
                     "--interpreter-constraint", "CPython==3.11.*")
    doc = json.loads(lock.read_text())
    for req in doc["locked_resolves"][0]["locked_requirements"]:
        if req["project_name"] in ("idna", "certifi"):
            for artifact in req["artifacts"]:
                artifact["url"] = artifact["url"].rsplit("/", 1)[0] + f"/{req['project_name']}-{req['version']}.tar.gz"
    sdists = e2e.tmp / "sdists.json"
    sdists.write_text(json.dumps(doc))
    _, r = e2e.build("--lock", sdists, "-D", e2e.app_sources(["idna"]), out="sdists.pex", ok=False)
    assert_clean_error(r, str(sdists), "without a wheel", "idna 3.20", "certifi ")
    assert not (e2e.tmp / "sdists.pex").exists()


def test_requirements_select_part_of_a_lock_as_pex_does(e2e, real_pex):
    """One lock, several apps (a monorepo's shape): `pex --lock lock.json idna` and `-r FILE`
    build from only what those requirements need; dpex records the same packages pex installs
    (PEX-INFO requirements: the selection). A requirement the lock cannot satisfy is refused
    by both; dpex's error names it and what the lock has."""
    lock = pex3_lock(e2e, real_pex, ["requests", "pyyaml"], "--style", "universal",
                     "--interpreter-constraint", "CPython==3.11.*")
    pex_env = clean_env(e2e.home, {"PEX_ROOT": e2e.tmp / "pex-root"})
    sel = e2e.tmp / "select.txt"
    sel.write_text("# the app's own needs\nurllib3  # and what it needs\n--index-url https://index.example.com/simple\n")

    def pex_dists(*selection):
        out = e2e.tmp / "pex-sub.pex"
        r = run([real_pex, "--lock", lock, *selection, "--python", PY311, "-o", out], env=pex_env, timeout=300,
                cwd=e2e.tmp)
        assert r.returncode == 0, describe(r)
        with zipfile.ZipFile(out) as zf:
            distributions = json.loads(zf.read("PEX-INFO"))["distributions"]
        return sorted(d.split("-")[0].lower().replace("_", "-") for d in distributions)

    def dpex_packages(*selection):
        app, r = e2e.build("--lock", lock, *selection, out="dpex-sub.pex")
        info = json.loads(e2e.dpex_cmd("info", "--raw", app, env=e2e.env()).stdout)
        return sorted(p["name"] for p in info["dehydrated_requirements"]), info["requirements"], app

    for selection in (["requests"], ["idna>=2"], ["-r", str(sel)]):
        names, requirements, app = dpex_packages(*selection)
        assert names == pex_dists(*selection), selection
        assert "pyyaml" not in names and len(names) >= 1, names
        assert requirements == sorted(selection if selection[0] != "-r" else ["urllib3"]), requirements
    names, _, app = dpex_packages("requests")
    assert names == ["certifi", "charset-normalizer", "idna", "requests", "urllib3"], names
    r = e2e.run_pex(app, "-c", "import requests, sys; print('OK', 'yaml' in sys.modules)")
    assert_ok(r)
    assert r.stdout.strip() == "OK False", describe(r)

    # Not in the lock, or at a version it does not have: both tools refuse.
    for bad, needle in (("flask", "does not lock"), ("idna<1", "does not allow idna")):
        r = run([real_pex, "--lock", lock, bad, "--python", PY311, "-o", e2e.tmp / "bad.pex"], env=pex_env,
                timeout=300, cwd=e2e.tmp)
        assert r.returncode != 0, describe(r)
        _, r = e2e.build("--lock", lock, bad, out="bad.pex", ok=False)
        assert_clean_error(r, bad, needle, str(lock))
    # Without a lock there is nothing to select from.
    _, r = e2e.build("requests", out="nolock.pex", ok=False)
    assert_clean_error(r, "selects from a lock", "--lock")
