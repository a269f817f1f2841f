#!/usr/bin/env python3
"""Calls the fake (or any) libcuda.so.1 / libnvidia-ml.so.1 through ctypes and prints JSON.

Its struct layouts are written here from NVIDIA's documented ABI, independently of the fake's C
headers, so the self-tests check the fake against the ABI a real caller (gpucr) uses.

  fakecuda_call.py OP PID [--timeout MS] [--map OLD=NEW,...] [--init] [--null-args] [--dirty]
      OP: state | tid | lock | checkpoint | restore | unlock     -> {"rc": N, "value": V}
  fakecuda_call.py version | errors | nvml                       -> see the functions below
Run it as a child: a call may block (frozen process, "hang" fault), the caller sets a timeout.
"""
import argparse
import ctypes
import json
import sys


class CUuuid(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_ubyte * 16)]


class GpuPair(ctypes.Structure):
    _fields_ = [("oldUuid", CUuuid), ("newUuid", CUuuid)]


class LockArgs(ctypes.Structure):
    _fields_ = [("timeoutMs", ctypes.c_uint), ("reserved0", ctypes.c_uint),
                ("reserved1", ctypes.c_uint64 * 7)]


class PlainArgs(ctypes.Structure):  # CUcheckpointCheckpointArgs, CUcheckpointUnlockArgs
    _fields_ = [("reserved", ctypes.c_uint64 * 8)]


class RestoreArgs(ctypes.Structure):  # CUDA 13.0 layout
    _fields_ = [("gpuPairs", ctypes.POINTER(GpuPair)), ("gpuPairsCount", ctypes.c_uint),
                ("reserved", ctypes.c_char * 44), ("reserved1", ctypes.c_uint64)]


class NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong),
                ("used", ctypes.c_ulonglong)]


class NvmlPciInfo(ctypes.Structure):
    _fields_ = [("busIdLegacy", ctypes.c_char * 16), ("domain", ctypes.c_uint),
                ("bus", ctypes.c_uint), ("device", ctypes.c_uint), ("pciDeviceId", ctypes.c_uint),
                ("pciSubSystemId", ctypes.c_uint), ("busId", ctypes.c_char * 32)]


class NvmlProcessInfo(ctypes.Structure):  # nvmlProcessInfo_t (v2 layout, used by _v3)
    _fields_ = [("pid", ctypes.c_uint), ("usedGpuMemory", ctypes.c_ulonglong),
                ("gpuInstanceId", ctypes.c_uint), ("computeInstanceId", ctypes.c_uint)]


for _s in (LockArgs, PlainArgs, RestoreArgs):
    assert ctypes.sizeof(_s) == 64
assert RestoreArgs.gpuPairsCount.offset == 8 and ctypes.sizeof(NvmlProcessInfo) == 24


def uuid_bytes(text):
    hexdigits = (text[4:] if text.startswith("GPU-") else text).replace("-", "")
    return (ctypes.c_ubyte * 16)(*bytes.fromhex(hexdigits))


def checkpoint_call(cuda, op, pid, a):
    if a.init:
        cuda.cuInit(0)
    value = ctypes.c_int(-1)
    if op in ("state", "tid"):
        fn = cuda.cuCheckpointProcessGetState if op == "state" else \
            cuda.cuCheckpointProcessGetRestoreThreadId
        return fn(pid, ctypes.byref(value)), value.value
    if op == "lock":
        args = LockArgs(timeoutMs=a.timeout or 0)
        if a.dirty:
            args.reserved1[3] = 1
    elif op == "restore":
        args = RestoreArgs()
        if a.map:
            pairs = [p.split("=") for p in a.map.split(",")]
            arr = (GpuPair * len(pairs))()
            for i, (old, new) in enumerate(pairs):
                arr[i].oldUuid.bytes = uuid_bytes(old)
                arr[i].newUuid.bytes = uuid_bytes(new)
            args.gpuPairs = ctypes.cast(arr, ctypes.POINTER(GpuPair))
            args.gpuPairsCount = len(pairs)
        if a.dirty:
            args.reserved1 = 1
    else:
        args = PlainArgs()
        if a.dirty:
            args.reserved[7] = 1
    fn = {"lock": cuda.cuCheckpointProcessLock, "checkpoint": cuda.cuCheckpointProcessCheckpoint,
          "restore": cuda.cuCheckpointProcessRestore,
          "unlock": cuda.cuCheckpointProcessUnlock}[op]
    return fn(pid, None if a.null_args else ctypes.byref(args)), None


def error_names(cuda):
    out = {}
    for code in (0, 1, 3, 100, 304, 401, 909, 999, 12345):
        name, text = ctypes.c_char_p(), ctypes.c_char_p()
        rc = cuda.cuGetErrorName(code, ctypes.byref(name))
        cuda.cuGetErrorString(code, ctypes.byref(text))
        out[code] = [rc, name.value and name.value.decode(), text.value and text.value.decode()]
    return out


def nvml_query():
    nvml = ctypes.CDLL("libnvidia-ml.so.1")
    assert nvml.nvmlInit_v2() == 0
    buf = ctypes.create_string_buffer(96)
    assert nvml.nvmlSystemGetDriverVersion(buf, 96) == 0
    out = {"driver": buf.value.decode(), "small_buffer_rc": nvml.nvmlSystemGetDriverVersion(buf, 3),
           "devices": []}
    count = ctypes.c_uint()
    assert nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0
    for i in range(count.value):
        dev = ctypes.c_void_p()
        assert nvml.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(dev)) == 0
        d = {}
        assert nvml.nvmlDeviceGetUUID(dev, buf, 96) == 0
        d["uuid"] = buf.value.decode()
        assert nvml.nvmlDeviceGetName(dev, buf, 96) == 0
        d["name"] = buf.value.decode()
        minor, cur, pend = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
        assert nvml.nvmlDeviceGetMinorNumber(dev, ctypes.byref(minor)) == 0
        assert nvml.nvmlDeviceGetMigMode(dev, ctypes.byref(cur), ctypes.byref(pend)) == 0
        d["minor"], d["mig"] = minor.value, [cur.value, pend.value]
        mem = NvmlMemory()
        assert nvml.nvmlDeviceGetMemoryInfo(dev, ctypes.byref(mem)) == 0
        d["memory"] = [mem.total, mem.free, mem.used]
        pci = NvmlPciInfo()
        assert nvml.nvmlDeviceGetPciInfo_v3(dev, ctypes.byref(pci)) == 0
        d["pci"] = pci.busId.decode()
        n = ctypes.c_uint(0)
        d["count_rc"] = nvml.nvmlDeviceGetComputeRunningProcesses_v3(dev, ctypes.byref(n), None)
        infos = (NvmlProcessInfo * 64)()
        n = ctypes.c_uint(64)
        assert nvml.nvmlDeviceGetComputeRunningProcesses_v3(dev, ctypes.byref(n), infos) == 0
        d["procs"] = [[p.pid, p.usedGpuMemory, p.gpuInstanceId, p.computeInstanceId]
                      for p in infos[:n.value]]
        out["devices"].append(d)
    assert nvml.nvmlShutdown() == 0
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("op")
    p.add_argument("pid", type=int, nargs="?", default=0)
    p.add_argument("--timeout", type=int)
    p.add_argument("--map")
    p.add_argument("--init", action="store_true")
    p.add_argument("--null-args", action="store_true")
    p.add_argument("--dirty", action="store_true", help="set a reserved field")
    a = p.parse_args()
    if a.op == "nvml":
        print(json.dumps(nvml_query()))
        return
    cuda = ctypes.CDLL("libcuda.so.1")
    if a.op == "version":
        v = ctypes.c_int()
        cuda.cuDriverGetVersion(ctypes.byref(v))
        rcs = []  # [rc, symbolStatus, found] per name
        for name in (b"cuCheckpointProcessLock", b"cuMemAlloc", b"cuNoSuchFunction"):
            fn, status = ctypes.c_void_p(), ctypes.c_int(-1)
            rc = cuda.cuGetProcAddress_v2(name, ctypes.byref(fn), 13000, ctypes.c_uint64(0),
                                          ctypes.byref(status))
            rcs.append([rc, status.value, fn.value is not None])
        print(json.dumps({"version": v.value, "proc_address": rcs,
                          "has_api": hasattr(cuda, "cuCheckpointProcessGetState")}))
    elif a.op == "errors":
        print(json.dumps(error_names(cuda)))
    else:
        rc, value = checkpoint_call(cuda, a.op, a.pid, a)
        print(json.dumps({"rc": rc, "value": value}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
