"""The boot's code for the starts that are not the common warm one: the first start of
an app (keeping the boot's bytecode), a start that found no ready environment (compiling
once across starts), console-script entries, inherit_path prefer/fallback and resource
bindings. A module of its own, imported only when needed, so that a warm start of an
entry point or of `-c` unmarshals only the boot itself (issue 10: about a quarter of the
Python side's instructions). Imported by __init__.py's `_rare`.
"""
import os
import sys


def keep_main_pyc(dest, boot_file, boot_cached):
    """Copy the boot module's bytecode (boot_cached, which the import from
    __main__.py just checked against boot_file, its source, or wrote) to dest,
    which the launcher runs as the script from then on in place of
    __main__.py: Python runs a .pyc given as the script with no compile and
    no import system (~0.4 ms of every start; launcher/src/run/exec.rs,
    main_pyc_name). Python checks only its magic number then (named in dest,
    from the launcher's probe), and the launcher checks the header against
    boot_file before each run; the copy is synced before it is renamed into
    place, so a power cut leaves it whole or absent. The caller
    (__init__.py's main, through _keep_main_pyc_wanted) has ruled out an app
    whose __main__.py is more than the shim (pex's --preamble-file runs
    there), other Pythons and optimized bytecode (-O). Best effort: where it
    cannot be written, starts keep going through __main__.py."""
    import _frozen_importlib_external as external

    if os.path.basename(dest) != "__dpex_main__.%s.pyc" % external.MAGIC_NUMBER.hex():
        return
    tmp = None
    try:
        source = os.stat(boot_file)
        with open(boot_cached, "rb") as f:
            data = f.read()
        if (
            len(data) <= 16
            or data[:4] != external.MAGIC_NUMBER
            or data[4:8] != b"\0\0\0\0"  # timestamp-based, as the import writes it
            or int.from_bytes(data[8:12], "little") != int(source.st_mtime) & 0xFFFFFFFF
            or int.from_bytes(data[12:16], "little") != source.st_size & 0xFFFFFFFF
        ):
            return
        try:
            with open(dest, "rb") as f:
                if f.read() == data:
                    # Already kept: the launcher did not take it (a cache tag it does not
                    # know); no rewrite and fsync at every start.
                    return
        except OSError:
            pass
        # Named like dest (exports leave such files out), unique to this writer.
        name = "%s.%s.tmp" % (dest, os.urandom(6).hex())
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        tmp = name
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, dest)
        tmp = None
    except OSError:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def bind_resource_paths(binds):
    """PEX-INFO bind_resource_paths (pex's --bind-resource-path): each variable gets the
    absolute path of the first file of its resource path on sys.path, as pex does."""
    for bind in binds.split("\x1e"):
        name, _, resource = bind.partition("\x1f")
        rel_path = os.path.normpath(os.path.join(*resource.split("/")))
        for entry in sys.path:
            path = os.path.join(entry, rel_path)
            if os.path.isfile(path):
                os.environ[name] = path
                break
        else:
            sys.exit(
                "There was no resource file %s found on the `sys.path` corresponding to the given "
                "resource binding spec `%s=%s`" % (resource, name, resource)
            )


def compile_once_across_starts(cache_root):
    """A start that found no ready environment: other starts of this app (or of
    others on the same wheels) may be importing the same modules for the first
    time right now, and Python would compile each one in every process (a fleet
    of 32 cold starts on 2 cores spent most of its time there; issue 10). Here a
    module of the cache without bytecode yet is compiled under an exclusive lock
    on its source file, so one start compiles and writes its bytecode while the
    others wait, then load it. Warm starts never get here."""
    import fcntl
    import time
    import _thread
    import _frozen_importlib_external as external

    root = os.path.normpath(cache_root) + os.sep
    get_code = external.SourceFileLoader.get_code
    held = set()  # descriptors locked by this process
    depth = {}  # per thread: get_code calls under way (only the outermost locks)

    def lock(fd):
        # Wait for the start compiling this module, but never for long: a stopped
        # one (Ctrl-Z, a debugger, a full stderr pipe) must not hold up the others.
        # Where flock fails (NFS without locks), compile as Python would.
        deadline = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                now = time.monotonic()
                deadline = deadline or now + 10
                if now > deadline:
                    return False
                time.sleep(0.002)
            except OSError:
                return False

    def get_code_once(loader, fullname):
        path = getattr(loader, "path", None)
        me = _thread.get_ident()
        if (
            depth.get(me)
            or not isinstance(path, str)
            or not os.path.normpath(path).startswith(root)
            or os.path.exists(external.cache_from_source(path))
        ):
            return get_code(loader, fullname)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return get_code(loader, fullname)
        held.add(fd)
        depth[me] = 1
        try:
            locked = lock(fd)
            try:
                return get_code(loader, fullname)
            finally:
                if locked:
                    # Unlocked before the close: a child forked meanwhile shares the lock.
                    try:
                        fcntl.flock(fd, fcntl.LOCK_UN)
                    except OSError:
                        pass  # the close below releases it too
        finally:
            del depth[me]
            held.discard(fd)
            os.close(fd)

    def close_in_child():
        # A child forked while another thread compiles does not keep its copies.
        for fd in held:
            try:
                os.close(fd)
            except OSError:
                pass
        held.clear()
        depth.clear()

    os.register_at_fork(after_in_child=close_in_child)
    external.SourceFileLoader.get_code = get_code_once


def base_site_dirs():
    """The base interpreter's site-packages, as a plain `python` has them on
    sys.path (user site first, then the system's), with their .pth files run.
    The app's venv leaves them out; inherit_path prefer/fallback let them in."""
    import site

    dirs = []
    if not sys.flags.no_user_site:
        dirs.append(site.getusersitepackages())
    dirs.extend(site.getsitepackages([sys.base_prefix]))
    before = set(sys.path)
    for d in dirs:
        if os.path.isdir(d):
            site.addsitedir(d)
    return [p for p in sys.path if p not in before]


def run_script(name, exec_source):
    from importlib import metadata

    try:
        scripts = metadata.entry_points(group="console_scripts")
    except TypeError:  # Python < 3.10
        scripts = metadata.entry_points().get("console_scripts", [])
    for script in scripts:
        if script.name == name:
            sys.exit(script.load()())
    path = os.path.join(sys.prefix, "bin", name)
    if os.path.isfile(path):
        with open(path, "rb") as f:
            first_line = f.readline()
        if first_line.startswith(b"#!") and b"python" in first_line:
            sys.argv[0] = name  # pex's argv[0] for a wheel's Python script: its name
            with open(path, "rb") as f:
                exec_source(f.read(), path, path)
            return
        os.execv(path, [path] + sys.argv[1:])
    names = sorted({script.name for script in scripts})
    sys.stderr.write(
        "dpex: error: no console script or script named %r in this app's wheels; they have: %s. "
        "Rebuild the app with one of them (-c NAME).\n" % (name, ", ".join(names) or "none")
    )
    sys.exit(1)
