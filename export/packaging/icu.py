"""Slim the ICU data library that PySide6's Linux wheels ship (``libicudata.so.73``, 32 MB) for the bundle.

Qt 6 calls four groups of ICU functions (``nm -D --undefined-only libQt6Core.so.6``): collation (``ucol_*``:
sorting in file dialogs), converters (``ucnv_*``: legacy text encodings), calendars and time zones (``ucal_*``)
and case mapping (``u_strToUpper/Lower``). ICU's data also holds what none of them reads: locale display
names of languages, regions, currencies and units, break-iterator rules, transliterators, number spell-out
rules, character names and spoof-check tables (``DROP``, 15.6 MB). ``slim_icu_data`` takes those out of the
data package with ICU's ``icupkg`` and rebuilds the library around the rest with the C compiler, then proves
the result: a child process calls each ICU function Qt uses on sample inputs (collation keys in nine locales,
every converter's name, conversions, time-zone ids and display names, case mapping) with the original and
with the slim library, and the slim one is used only if every answer is identical. Without the tools
(``icupkg``: Debian's icu-devtools; ``cc``; ``readelf``: binutils), or when any step fails, the bundle keeps
the original and says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: data items (path prefixes inside the ICU package) that no ICU function Qt calls reads
DROP = ("unit/", "curr/", "lang/", "region/", "brkitr/", "translit/", "rbnf/", "unames.icu", "confusables")

# Run in a child process with the ICU libraries of one folder; prints what the functions Qt uses answer.
_PROBE = r"""
import ctypes, json, sys
folder, v = sys.argv[1], sys.argv[2]
uc = ctypes.CDLL(f"{folder}/libicuuc.so.{v}", mode=ctypes.RTLD_GLOBAL)
i18n = ctypes.CDLL(f"{folder}/libicui18n.so.{v}", mode=ctypes.RTLD_GLOBAL)
def fn(lib, name, restype, *argtypes):
    f = getattr(lib, f"{name}_{v}"); f.restype = restype; f.argtypes = argtypes; return f
P, I, C = ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p
def u16(s):
    raw = s.encode("utf-16-le")
    return ctypes.create_string_buffer(raw + b"\0\0"), len(raw) // 2
def status():
    return ctypes.c_int(0)
out = {}
ucol_open = fn(i18n, "ucol_open", P, C, ctypes.POINTER(ctypes.c_int))
ucol_key = fn(i18n, "ucol_getSortKey", I, P, P, I, P, I)
ucol_close = fn(i18n, "ucol_close", None, P)
words = ["apple", "Äpfel", "zebra", "Ångström", "ıi", "İstanbul", "ch", "čaj", "東京", "ŉ", "file10", "file9", "é"]
for loc in ["", "en_US", "de_DE", "sv_SE", "tr_TR", "cs_CZ", "zh_CN", "ja_JP", "ar"]:
    st = status(); coll = ucol_open(loc.encode(), ctypes.byref(st))
    keys = []
    for w in words if coll else []:
        buf, n = u16(w); res = ctypes.create_string_buffer(512)
        length = ucol_key(coll, buf, n, res, 512)
        keys.append(res.raw[:length].hex())
    out[f"ucol {loc}"] = [st.value, keys]
    if coll:
        ucol_close(coll)
count = fn(uc, "ucnv_countAvailable", I)()
name_at = fn(uc, "ucnv_getAvailableName", C, I)
names = [name_at(i).decode() for i in range(count)]
std = fn(uc, "ucnv_getStandardName", C, C, C, ctypes.POINTER(ctypes.c_int))
out["ucnv names"] = [(n, [(std(n.encode(), s, ctypes.byref(status())) or b"").decode() for s in (b"MIME", b"IANA")])
                     for n in names]
ucnv_open = fn(uc, "ucnv_open", P, C, ctypes.POINTER(ctypes.c_int))
from_u = fn(uc, "ucnv_fromUChars", I, P, P, I, P, I, ctypes.POINTER(ctypes.c_int))
ucnv_close = fn(uc, "ucnv_close", None, P)
text = "Größe ÅÆ €5 — 東京 Москва"
for name in names:
    st = status(); cnv = ucnv_open(name.encode(), ctypes.byref(st))
    buf, n = u16(text); dest = ctypes.create_string_buffer(256); st2 = status()
    written = from_u(cnv, dest, 256, buf, n, ctypes.byref(st2)) if cnv else -1
    out[f"ucnv {name}"] = [st.value, st2.value, dest.raw[:max(written, 0)].hex()]
    if cnv:
        ucnv_close(cnv)
canon = fn(i18n, "ucal_getCanonicalTimeZoneID", I, P, I, P, I, P, ctypes.POINTER(ctypes.c_int))
ucal_open = fn(i18n, "ucal_open", P, P, I, C, ctypes.c_int, ctypes.POINTER(ctypes.c_int))
display = fn(i18n, "ucal_getTimeZoneDisplayName", I, P, ctypes.c_int, C, P, I, ctypes.POINTER(ctypes.c_int))
ucal_close = fn(i18n, "ucal_close", None, P)
for zone in ["US/Pacific", "Asia/Calcutta", "Europe/Kiev", "Europe/Berlin", "UTC"]:
    buf, n = u16(zone); res = ctypes.create_string_buffer(256); st = status(); system = ctypes.c_int8(0)
    got = canon(buf, n, res, 128, ctypes.byref(system), ctypes.byref(st))
    out[f"ucal canonical {zone}"] = [st.value, res.raw[:2 * max(got, 0)].decode("utf-16-le"), system.value]
    for loc in ["en_US", "de", "zh_CN"]:
        st = status(); cal = ucal_open(buf, n, loc.encode(), 0, ctypes.byref(st))
        names_ = []
        for kind in range(4 if cal else 0):
            st2 = status(); got = display(cal, kind, loc.encode(), res, 128, ctypes.byref(st2))
            names_.append([st2.value, res.raw[:2 * max(got, 0)].decode("utf-16-le")])
        out[f"ucal display {zone} {loc}"] = [st.value, names_]
        if cal:
            ucal_close(cal)
for func in ("u_strToUpper", "u_strToLower"):
    f = fn(uc, func, I, P, I, P, I, C, ctypes.POINTER(ctypes.c_int))
    for loc in ["en", "tr", "lt", "el", "de"]:
        buf, n = u16("istanbul İI ΣΑΣ straße ǅ"); res = ctypes.create_string_buffer(256); st = status()
        got = f(res, 128, buf, n, loc.encode(), ctypes.byref(st))
        out[f"{func} {loc}"] = [st.value, res.raw[:2 * max(got, 0)].decode("utf-16-le")]
print(json.dumps(out))
"""


def _data_symbol(lib: Path, readelf: str) -> tuple[str, int, int]:
    """(symbol, file offset, size) of the ICU common data (``icudtNN_dat``) in ``lib``."""
    symbols = subprocess.run([readelf, "-sW", str(lib)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\s([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+DEFAULT\s+(\d+)\s+(icudt\d+_dat)\b",
                      symbols)
    if match is None:
        raise RuntimeError(f"{lib.name}: no icudtNN_dat symbol")
    address, size, section, name = int(match[1], 16), int(match[2], 0), int(match[3]), match[4]
    sections = subprocess.run([readelf, "-SW", str(lib)], capture_output=True, text=True, check=True).stdout
    row = re.search(rf"\[\s*{section}\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", sections)
    if row is None:
        raise RuntimeError(f"{lib.name}: section {section} of {name} not found")
    return name, address - int(row[1], 16) + int(row[2], 16), size


def _probe(folder: Path, version: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(folder), version], capture_output=True, text=True,
                          env={**os.environ, "ICU_DATA": str(folder / "no-icu-data-files")}, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"ICU probe exit {proc.returncode}: {proc.stderr[-1500:]}")
    return json.loads(proc.stdout)


def slim_icu_data(folder: Path) -> dict:
    """Replace the bundle's ``libicudata.so.NN`` with one without ``DROP``, when every answer is unchanged.

    Never fails the build: whatever goes wrong (a tool missing or refusing the data, a probe crashing or
    answering differently) leaves the full library in place and returns ``{"skipped": reason}``; ``make
    bundle-test`` then fails on the bundle's size and names the ICU step."""
    libs = sorted(p for p in Path(folder).rglob("libicudata.so.*")
                  if p.is_file() and not p.is_symlink() and re.fullmatch(r"libicudata\.so\.\d+", p.name))
    if len(libs) != 1:
        return {"skipped": f"expected one libicudata.so.NN in the bundle, found {[p.name for p in libs]}"}
    try:
        return _slim(libs[0])
    except Exception as exc:  # noqa: BLE001 (a build step with a safe fallback: the full library stays)
        return {"skipped": f"{type(exc).__name__}: {exc}: ICU data kept whole"}


def _slim(lib: Path) -> dict:
    tools = {name: shutil.which(name) for name in ("icupkg", "cc", "readelf")}
    if None in tools.values():
        missing = ", ".join(k for k, v in tools.items() if v is None)
        return {"skipped": f"{missing} not found (icupkg: Debian's icu-devtools; cc; binutils): ICU data kept whole"}
    version = lib.name.rsplit(".", 1)[-1]
    before = lib.stat().st_size
    with tempfile.TemporaryDirectory(prefix="otscc-icu-") as tmp:
        tmp = Path(tmp)
        symbol, offset, size = _data_symbol(lib, tools["readelf"])
        with lib.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(size)
        if data[2:4] != b"\xda\x27":  # the ICU data header's magic
            return {"skipped": f"{lib.name}: {symbol} is not ICU common data: kept whole"}
        # icupkg names the package's items after the file: the same name (icudt73l.dat) in and out
        package = f"{symbol.removesuffix('_dat')}{'l' if sys.byteorder == 'little' else 'b'}.dat"
        (tmp / "in").mkdir()
        (tmp / "out").mkdir()
        (tmp / "in" / package).write_bytes(data)
        listing = subprocess.run([tools["icupkg"], "-l", str(tmp / "in" / package)], capture_output=True, text=True,
                                 check=True).stdout.split()
        dropped = [item for item in listing if item.startswith(DROP)]
        (tmp / "drop.txt").write_text("\n".join(dropped) + "\n")
        subprocess.run([tools["icupkg"], "-r", str(tmp / "drop.txt"), str(tmp / "in" / package),
                        str(tmp / "out" / package)], capture_output=True, check=True)
        (tmp / "data.s").write_text(
            f'.section .rodata\n.globl {symbol}\n.type {symbol}, @object\n.balign 16\n{symbol}:\n'
            f'.incbin "{tmp / "out" / package}"\n.size {symbol}, .-{symbol}\n.section .note.GNU-stack,"",@progbits\n')
        for which in ("full", "slim"):
            (tmp / which).mkdir()
            for name in ("libicuuc", "libicui18n"):
                shutil.copy2(lib.parent / f"{name}.so.{version}", tmp / which / f"{name}.so.{version}")
        shutil.copy2(lib, tmp / "full" / lib.name)
        subprocess.run([tools["cc"], "-shared", "-nostdlib", f"-Wl,-soname,{lib.name}", "-o",
                        str(tmp / "slim" / lib.name), str(tmp / "data.s")], capture_output=True, check=True)
        full = _probe(tmp / "full", version)
        try:
            slim = _probe(tmp / "slim", version)
        except RuntimeError as exc:
            return {"skipped": f"slim ICU data failed its check ({exc}): kept whole"}
        differ = sorted(k for k in full.keys() | slim.keys() if full.get(k) != slim.get(k))
        if differ:
            return {"skipped": f"slim ICU data answers differently ({', '.join(differ[:5])}): kept whole"}
        replacement = lib.with_name(lib.name + ".slim")
        shutil.copy2(tmp / "slim" / lib.name, replacement)
        os.replace(replacement, lib)
    return {"library": lib.name, "items_dropped": len(dropped), "items_kept": len(listing) - len(dropped),
            "checks": len(full), "before_mb": round(before / 1e6, 1), "after_mb": round(lib.stat().st_size / 1e6, 1)}


if __name__ == "__main__":  # python -m export.packaging.icu BUNDLE_FOLDER
    sys.stdout.write(json.dumps(slim_icu_data(Path(sys.argv[1])), indent=2) + "\n")
