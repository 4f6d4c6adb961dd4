"""Source trees of the test apps (dicts {relative path: text}).

The probe app (`myapp`) imports the modules it is given and prints one line
`APP <json>` with what it saw: argv, $PEX, module files and versions, results
of small deterministic computations, and the runtime (interpreter, prefix,
sys.path, whether setuptools' distutils-precedence.pth ran). Its entry point
`myapp.main:run` returns int(argv[1]) when that is a number, so tests can
check exit codes.
"""

import textwrap

MAIN = textwrap.dedent('''
    import importlib
    import json
    import os
    import subprocess
    import sys

    IMPORTS = {imports!r}


    def report():
        out = {{
            "argv": sys.argv,
            "pex_env": os.environ.get("PEX"),
            "greeting": os.environ.get("GREETING"),
            "modules": {{}},
        }}
        for name in IMPORTS:
            m = importlib.import_module(name)
            out["modules"][name] = {{"file": getattr(m, "__file__", None),
                                    "version": getattr(m, "__version__", None)}}
        tried = [n for n in os.environ.get("APP_TRY_IMPORTS", "").split(",") if n]
        if tried:
            out["tried"] = {{}}
            for name in tried:
                try:
                    out["tried"][name] = importlib.import_module(name).__file__
                except ImportError:
                    out["tried"][name] = None
        if "numpy" in IMPORTS:
            import numpy
            a = numpy.ones((64, 64))
            out["numpy"] = {{"sum": int(numpy.arange(10).sum()), "matmul": float((a @ a).sum())}}
        if "yaml" in IMPORTS:
            import yaml
            doc = {{"k": [1, 2, {{"x": "y"}}], "s": "t"}}
            out["yaml"] = {{"roundtrip": yaml.safe_load(yaml.safe_dump(doc)) == doc,
                           "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
                           "cload": yaml.load("a: [1, 2]", Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))}}
        if "requests" in IMPORTS:
            import certifi
            import requests
            out["requests"] = {{"version": requests.__version__,
                               "cacert_exists": os.path.isfile(certifi.where())}}
            url = os.environ.get("APP_FETCH_URL")
            if url:
                out["requests"]["fetch_status"] = requests.get(url, timeout=30).status_code
        return out


    def runtime():
        dh = sys.modules.get("_distutils_hack")
        return {{
            "executable": sys.executable,
            "prefix": sys.prefix,
            "base_prefix": sys.base_prefix,
            "version": list(sys.version_info[:3]),
            "path": sys.path,
            "distutils_hack": getattr(dh, "__file__", None) if dh else None,
        }}


    def child():
        code = "import sys; " + "; ".join("import " + m for m in IMPORTS) + \\
            "; print(' '.join(sys.modules[m].__file__ for m in " + repr(IMPORTS) + "))"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        return {{"rc": r.returncode, "out": r.stdout.split(), "err": r.stderr[-2000:]}}


    def run():
        args = sys.argv[1:]
        out = report()
        out["runtime"] = runtime()
        if args[:1] == ["child"]:
            out["child"] = child()
        print("APP " + json.dumps(out, sort_keys=True), flush=True)
        return int(args[0]) if args and args[0].isdigit() else 0


    def boom():
        raise RuntimeError("boom from the app")


    if __name__ == "__main__":
        print("MAIN " + json.dumps({{"argv": sys.argv, "name": __name__}}))
''')

CLI = textwrap.dedent('''
    import json
    import sys

    if __name__ == "__main__":
        import yaml
        print("CLI " + json.dumps({"argv": sys.argv, "name": __name__, "yaml": yaml.__version__}))
''')


def app_sources(imports=()):
    """The probe app: myapp/__init__.py, myapp/main.py (entry point run), myapp/cli.py (-m target)."""
    return {
        "myapp/__init__.py": "",
        "myapp/main.py": MAIN.format(imports=list(imports)),
        "myapp/cli.py": CLI,
        "myapp/data.txt": "package data\n",
    }


FULL_IMPORTS = ["numpy", "yaml", "requests", "certifi", "charset_normalizer", "idna", "urllib3", "setuptools"]
REQUESTS_IMPORTS = ["requests", "certifi", "charset_normalizer", "idna", "urllib3"]

# Projects (PEP 503 names) of the locked real wheels, for e2e.files(...).
REQUESTS_PROJECTS = ["requests", "certifi", "charset-normalizer", "idna", "urllib3"]
FULL_PROJECTS = REQUESTS_PROJECTS + ["numpy", "pyyaml", "setuptools"]
