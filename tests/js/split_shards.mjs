// Cuts a GGUF file into gguf-split shards, for the split tests (JS and browser): the same layout
// as llama.cpp's gguf-split (and core/format's split_gguf_header): shard 0 keeps every key and
// gets split.no (u16), split.count (u16) and split.tensors.count (i32) appended; the other shards
// hold only those three keys; tensors keep the file's order, each shard laying its tensors out
// again from offset 0 with the 32-byte alignment.
const kAlign = 32n;

// Byte sizes of GGUF's scalar value types, by type id (8 = string, 9 = array).
const kScalarSize = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

function reader(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    const r = {
        get pos() { return pos; },
        u32() { const v = view.getUint32(pos, true); pos += 4; return v; },
        u64() { const v = view.getBigUint64(pos, true); pos += 8; return v; },
        skip(n) { pos += Number(n); },
        str() { const n = r.u64(); const s = new TextDecoder().decode(bytes.subarray(pos, pos + Number(n))); pos += Number(n); return s; },
        value(type) {
            if (type === 8) r.skip(r.u64());
            else if (type === 9) {
                const item = r.u32();
                const n = r.u64();
                if (item in kScalarSize) r.skip(BigInt(kScalarSize[item]) * n);
                else for (let i = 0n; i < n; i++) r.value(item);
            } else r.skip(kScalarSize[type]);
        },
    };
    return r;
}

class writer {
    constructor() { this.parts = []; this.size = 0; }
    bytes(b) { this.parts.push(b); this.size += b.length; }
    u16(v) { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v, true); this.bytes(b); }
    u32(v) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.bytes(b); }
    i32(v) { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); this.bytes(b); }
    u64(v) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.bytes(b); }
    str(s) { const b = new TextEncoder().encode(s); this.u64(b.length); this.bytes(b); }
    pad(align) { const n = Number((align - (BigInt(this.size) % align)) % align); if (n) this.bytes(new Uint8Array(n)); }
    concat() {
        const out = new Uint8Array(this.size);
        let o = 0;
        for (const p of this.parts) { out.set(p, o); o += p.length; }
        return out;
    }
}

// Tensor bytes: ggml block sizes and bytes per block for the types the fixtures use.
const kTypeSize = { 0: [1, 4], 1: [1, 2], 30: [1, 2] };

// Returns [{name, tensors: [names]}, ...]: the shards' file bytes for `shardOf(index)` (shard of
// each tensor in file order, numbered from 0 without gaps, never decreasing).
export function splitGguf(bytes, shardOf) {
    const r = reader(bytes);
    if (r.u32() !== 0x46554747) throw new Error('not a GGUF file');
    const version = r.u32();
    const nTensors = Number(r.u64());
    const nKv = Number(r.u64());
    const kvStart = r.pos;
    let alignment = kAlign;
    for (let i = 0; i < nKv; i++) {
        const key = r.str();
        const type = r.u32();
        if (key === 'general.alignment') alignment = BigInt(new DataView(bytes.buffer, bytes.byteOffset + r.pos, 4).getUint32(0, true));
        r.value(type);
    }
    const kvBytes = bytes.subarray(kvStart, r.pos);
    const tensors = [];
    for (let i = 0; i < nTensors; i++) {
        const name = r.str();
        const nDims = r.u32();
        const ne = [];
        for (let d = 0; d < nDims; d++) ne.push(r.u64());
        const type = r.u32();
        const offset = r.u64();
        const [block, size] = kTypeSize[type] ?? [];
        if (!block) throw new Error(`split fixture: unsupported tensor type ${type}`);
        const nbytes = ne.reduce((a, b) => a * b, 1n) / BigInt(block) * BigInt(size);
        tensors.push({ name, ne, type, offset, nbytes, shard: shardOf(i) });
    }
    const dataStart = BigInt(r.pos) + (alignment - (BigInt(r.pos) % alignment)) % alignment;
    const nShards = tensors.length ? tensors[tensors.length - 1].shard + 1 : 1;
    const shards = [];
    for (let s = 0; s < nShards; s++) {
        const mine = tensors.filter((t) => t.shard === s);
        const w = new writer();
        w.u32(0x46554747);
        w.u32(version);
        w.u64(mine.length);
        w.u64((s === 0 ? nKv : 0) + 3);
        if (s === 0) w.bytes(kvBytes);
        w.str('split.no'); w.u32(2); w.u16(s);
        w.str('split.count'); w.u32(2); w.u16(nShards);
        w.str('split.tensors.count'); w.u32(5); w.i32(tensors.length);
        let offset = 0n;
        for (const t of mine) {
            w.str(t.name);
            w.u32(t.ne.length);
            for (const n of t.ne) w.u64(n);
            w.u32(t.type);
            w.u64(offset);
            offset += t.nbytes + (kAlign - (t.nbytes % kAlign)) % kAlign;
        }
        w.pad(kAlign);
        for (const t of mine) {
            const at = Number(dataStart + t.offset);
            w.bytes(bytes.subarray(at, at + Number(t.nbytes)));
            w.pad(kAlign);
        }
        shards.push({ bytes: w.concat(), tensors: mine.map((t) => t.name) });
    }
    return shards;
}

// llama.cpp's shard file name (llama_split_path): PREFIX-00002-of-00003.gguf for shard 1 of 3.
export function splitPath(prefix, no, count) {
    return `${prefix}-${String(no + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.gguf`;
}
