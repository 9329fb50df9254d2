#!/usr/bin/env python3
"""Summarise a GGUF file as the convert fixtures record it (tests/fixtures/convert/README.md).

    gguf_summary.py FILE.gguf

Prints JSON: file_sha256, file_size, header_size (bytes before the tensor data), header_sha256,
kvs (in file order: key, type, and for an array its element type and count; small values
verbatim, arrays of more than 16 items as the sha256 of their bytes as stored in the file), and
tensors (in file order: name, type, shape (ne0 first), offset into the data section, nbytes,
sha256). Standalone: parses GGUF v3 itself, so it needs no gguf-py.
"""
import hashlib
import json
import struct
import sys

TYPES = {0: "UINT8", 1: "INT8", 2: "UINT16", 3: "INT16", 4: "UINT32", 5: "INT32", 6: "FLOAT32",
         7: "BOOL", 8: "STRING", 9: "ARRAY", 10: "UINT64", 11: "INT64", 12: "FLOAT64"}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
          12: "<d"}
GGML = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 8: ("Q8_0", 32, 34), 30: ("BF16", 1, 2),
        2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
        14: ("Q6_K", 256, 210)}
ARRAY_INLINE_MAX = 16


class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, n):
        b = self.d[self.p:self.p + n]
        if len(b) != n:
            raise ValueError("truncated")
        self.p += n
        return b

    def scalar(self, t):
        fmt = SCALAR[t]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        n = struct.unpack("<Q", self.take(8))[0]
        return self.take(n).decode("utf-8")

    def value(self, t):
        if t == 8:
            return self.string()
        return self.scalar(t)


def main():
    data = open(sys.argv[1], "rb").read()
    r = Reader(data)
    if r.take(4) != b"GGUF":
        raise ValueError("not GGUF")
    version = r.scalar(4)
    n_tensors = r.scalar(10)
    n_kv = r.scalar(10)
    kvs = []
    alignment = 32
    for _ in range(n_kv):
        key = r.string()
        t = r.scalar(4)
        kv = {"key": key, "type": TYPES[t]}
        if t == 9:
            et = r.scalar(4)
            n = r.scalar(10)
            start = r.p
            items = [r.value(et) for _ in range(n)]
            kv["element_type"] = TYPES[et]
            kv["count"] = n
            if n <= ARRAY_INLINE_MAX:
                kv["value"] = items
            else:
                kv["sha256"] = hashlib.sha256(data[start:r.p]).hexdigest()
        else:
            v = r.value(t)
            if t == 6:
                kv["bits"] = struct.pack("<f", v).hex()  # exact float bytes; the value for reading
            kv["value"] = v
            if key == "general.alignment":
                alignment = v
        kvs.append(kv)
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.scalar(4)
        shape = [r.scalar(10) for _ in range(nd)]
        gt = r.scalar(4)
        off = r.scalar(10)
        tname, blk, bpb = GGML[gt]
        n = 1
        for s in shape:
            n *= s
        tensors.append({"name": name, "type": tname, "shape": shape, "offset": off, "nbytes": n // blk * bpb})
    header_size = (r.p + alignment - 1) // alignment * alignment
    for t in tensors:
        b = data[header_size + t["offset"]:header_size + t["offset"] + t["nbytes"]]
        t["sha256"] = hashlib.sha256(b).hexdigest()
    out = {
        "version": version,
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "file_size": len(data),
        "header_size": header_size,
        "header_sha256": hashlib.sha256(data[:header_size]).hexdigest(),
        "kvs": kvs,
        "tensors": tensors,
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
