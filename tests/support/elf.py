"""Just enough ELF-64 reading to say whether an executable is static: its
type, whether it asks for a program interpreter (PT_INTERP) and which shared
libraries it needs (DT_NEEDED). Little-endian x86_64/aarch64 only."""

import struct

PT_INTERP, PT_DYNAMIC = 3, 2
DT_NULL, DT_NEEDED = 0, 1
ET_EXEC, ET_DYN = 2, 3


def describe(data):
    """{'type': 'EXEC'|'DYN', 'interp': bytes|None, 'needed': int} for ELF bytes."""
    if data[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF-64 file")
    e_type, = struct.unpack_from("<H", data, 16)
    e_phoff, = struct.unpack_from("<Q", data, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    interp, needed = None, 0
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, off)
        if p_type == PT_INTERP:
            interp = data[p_offset:p_offset + p_filesz].rstrip(b"\0")
        elif p_type == PT_DYNAMIC:
            for j in range(p_offset, p_offset + p_filesz, 16):
                tag, _val = struct.unpack_from("<qQ", data, j)
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    needed += 1
    kind = {ET_EXEC: "EXEC", ET_DYN: "DYN"}.get(e_type, str(e_type))
    return {"type": kind, "interp": interp, "needed": needed}


def is_static(data):
    d = describe(data)
    return d["interp"] is None and d["needed"] == 0
