# Stdlib-only interpreter probe: prints one JSON object (see interpreter.rs).
import json, os, platform, struct, subprocess, sys, sysconfig


def glibc():
    try:
        name, ver = os.confstr("CS_GNU_LIBC_VERSION").split()
        if name == "glibc":
            import re

            m = re.match(r"(\d+)\.(\d+)", ver)  # "2.20-2014.11" is 2.20
            if m:
                return [int(m.group(1)), int(m.group(2))]
    except Exception:
        pass
    return None


def elf_interp(path):
    # PT_INTERP of the interpreter binary names the dynamic loader (musl's is ld-musl-*).
    with open(path, "rb") as f:
        ident = f.read(16)
        if ident[:4] != b"\x7fELF":
            return None
        bits64, end = ident[4] == 2, "<" if ident[5] == 1 else ">"
        f.seek(0)
        hdr = f.read(64)
        if bits64:
            phoff, phentsize, phnum = struct.unpack(end + "Q", hdr[32:40])[0], *struct.unpack(end + "HH", hdr[54:58])
        else:
            phoff, phentsize, phnum = struct.unpack(end + "I", hdr[28:32])[0], *struct.unpack(end + "HH", hdr[42:46])
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ph = f.read(phentsize)
            if struct.unpack(end + "I", ph[:4])[0] == 3:
                if bits64:
                    off = struct.unpack(end + "Q", ph[8:16])[0]
                    size = struct.unpack(end + "Q", ph[32:40])[0]
                else:
                    off = struct.unpack(end + "I", ph[4:8])[0]
                    size = struct.unpack(end + "I", ph[16:20])[0]
                f.seek(off)
                return f.read(size).rstrip(b"\0").decode()
    return None


def musl(exe):
    try:
        loader = elf_interp(exe)
        if not loader or "musl" not in loader:
            return None
        err = subprocess.run([loader], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL).stderr.decode()
        for line in err.splitlines():
            if line.strip().startswith("Version "):
                major, minor = line.split()[1].split(".")[:2]
                return [int(major), int(minor)]
    except Exception:
        pass
    return None


def magic():
    try:
        import importlib.util

        return importlib.util.MAGIC_NUMBER.hex()
    except Exception:
        return ""


def main():
    exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    iv = sys.implementation.version
    impl_version = "%d.%d.%d" % iv[:3]
    if iv.releaselevel != "final":
        impl_version += iv.releaselevel[0] + str(iv.serial)
    scheme = "venv" if "venv" in sysconfig.get_scheme_names() else "posix_prefix"
    purelib = sysconfig.get_path("purelib", scheme, vars={"base": "/@", "platbase": "/@"})
    info = {
        "executable": exe,
        "version": list(sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "abiflags": getattr(sys, "abiflags", ""),
        "soabi": sysconfig.get_config_var("SOABI") or "",
        "platform": sysconfig.get_platform(),
        "pointer_bits": struct.calcsize("P") * 8,
        "glibc": glibc(),
        "musl": musl(exe),
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "markers": {
            "implementation_name": sys.implementation.name,
            "implementation_version": impl_version,
            "os_name": os.name,
            "platform_machine": platform.machine(),
            "platform_python_implementation": platform.python_implementation(),
            "platform_release": platform.release(),
            "platform_system": platform.system(),
            "platform_version": platform.version(),
            "python_full_version": platform.python_version(),
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "sys_platform": sys.platform,
        },
        "purelib_rel": os.path.relpath(purelib, "/@"),
        "bytecode_magic": magic(),
    }
    sys.stdout.write(json.dumps(info))


main()
