// GPU checkpoint formats beside GGUF: estimated sizes of AWQ, GPTQ, EXL2, FP8 and bitsandbytes
// NF4 checkpoints of a model, from its parameter count. These formats are not produced here, so
// the sizes are estimates (the formulas are in docs/ESTIMATES.md, "GPU formats"): the linear
// layers' weights are stored at the format's bits per weight (its scales and zeros included) and
// the rest (token embeddings, output head, norms) at 16 bits, as the usual tools leave them.
//
// Pure JS, no imports: the <gguf-estimator> widget inlines this file.

// Hidden size of llama-style models by parameter count (the estimate anchors of
// estimate_params.mjs: Qwen2.5-0.5B, Llama-3.2-1B/3B, Llama-3.1-8B, Qwen2.5-14B/32B,
// Llama-3.1-70B/405B), for the embedding and head share when no header is at hand.
const kHiddenAnchors = [[494e6, 896], [1.236e9, 2048], [3.213e9, 3072], [8.03e9, 4096], [14.77e9, 5120],
                        [32.76e9, 5120], [70.55e9, 8192], [405.9e9, 16384]];

// The formats: bits per quantized weight (with the format's own scales and zeros), bytes per
// quantized tensor on top (per-tensor scales), and the hardware each suits.
export const kGpuFormats = [
    { format: 'awq', name: 'AWQ 4-bit', detail: 'group 128: 4-bit weights, an f16 scale and a 4-bit zero per group',
      bits: () => 4 + (16 + 4) / 128, perTensorBytes: 0, perInputColumnBytes: 0,
      hardware: 'NVIDIA (Turing and newer) and AMD GPUs through vLLM, TGI or AutoAWQ; fast batched 4-bit serving' },
    { format: 'gptq', name: 'GPTQ 4-bit', detail: 'group 128: 4-bit weights, an f16 scale and a 4-bit zero per group, an int32 group index per input column',
      bits: () => 4 + (16 + 4) / 128, perTensorBytes: 0, perInputColumnBytes: 4,
      hardware: 'NVIDIA and AMD GPUs through vLLM, TGI or ExLlama (Marlin kernels on Ampere and newer)' },
    { format: 'exl2', name: 'EXL2', detail: 'the chosen average bits per weight (scales included), output head at 6 bits',
      bits: (bpw) => bpw, perTensorBytes: 0, perInputColumnBytes: 0, headBits: 6,
      hardware: 'NVIDIA RTX GPUs (Ampere and newer best) through ExLlamaV2 or TabbyAPI; single-user chat' },
    { format: 'fp8', name: 'FP8 E4M3', detail: '8-bit floats, one f32 weight scale and one f32 input scale per tensor',
      bits: () => 8, perTensorBytes: 8, perInputColumnBytes: 0,
      hardware: 'native on NVIDIA Ada and Hopper (RTX 40xx, L40S, H100) and AMD MI300 through vLLM or TensorRT-LLM' },
    { format: 'nf4', name: 'bitsandbytes NF4', detail: 'block 64 with double quantization: an 8-bit absmax per block, an f32 scale per 256 blocks',
      bits: () => 4 + 8 / 64 + 32 / (64 * 256), perTensorBytes: 0, perInputColumnBytes: 0,
      hardware: 'any CUDA GPU through transformers + bitsandbytes; made for QLoRA fine-tuning more than fast serving' },
];

export const kDefaultExl2Bpw = 4.0;

// The hidden size interpolated in log(parameters) between the anchors (clamped outside them).
export function hiddenSizeFor(params) {
    const a = kHiddenAnchors;
    if (params <= a[0][0]) return a[0][1];
    if (params >= a[a.length - 1][0]) return a[a.length - 1][1];
    let i = 0;
    while (a[i + 1][0] < params) ++i;
    const t = (Math.log(params) - Math.log(a[i][0])) / (Math.log(a[i + 1][0]) - Math.log(a[i][0]));
    return a[i][1] + (a[i + 1][1] - a[i][1]) * t;
}

// How a model's parameters split between the linear layers (quantized by these formats) and the
// rest. From a header: `tensors` as [{name, shape}] (ggml order: shape[0] is the input columns).
// Without one: `params` and `vocab`, the embedding and head each vocab x hidden.
export function parameterSplit({ params, vocab = 0, hidden = 0, tensors = null }) {
    if (tensors) {
        let linear = 0, head = 0, inputColumns = 0, linearTensors = 0;
        let total = 0;
        for (const t of tensors) {
            const n = t.shape.reduce((x, y) => x * y, 1);
            total += n;
            // A block's matrices (blk.N.*.weight with 2 or more dims) are what the formats quantize.
            if (/^blk\.\d+\./.test(t.name) && t.name.endsWith('.weight') && t.shape.length >= 2 && t.shape[1] > 1) {
                linear += n;
                linearTensors += t.shape.length >= 3 ? t.shape[2] : 1;
                inputColumns += t.shape[0] * (t.shape.length >= 3 ? t.shape[2] : 1);
            } else if (t.name === 'output.weight') head += n;
        }
        return { total, linear, head, other: total - linear - head, inputColumns, linearTensors, fromHeader: true };
    }
    hidden = hidden > 0 ? hidden : hiddenSizeFor(params);
    const embedding = Math.min(params / 2, vocab * hidden);
    const linear = Math.max(0, params - 2 * embedding);
    // About seven matrices per layer, each with `hidden` input columns on average.
    const linearTensors = Math.max(1, Math.round(linear / (12 * hidden * hidden) * 7));
    return { total: params, linear, head: embedding, other: embedding, inputColumns: linearTensors * hidden,
             linearTensors, fromHeader: false };
}

// Every format's estimated size in bytes for `split` (parameterSplit), EXL2 at `exl2Bpw`.
export function gpuFormatSizes(split, { exl2Bpw = kDefaultExl2Bpw } = {}) {
    return kGpuFormats.map((f) => {
        const bits = f.bits(exl2Bpw);
        let bytes = split.linear * bits / 8 + split.linearTensors * f.perTensorBytes +
                    split.inputColumns * f.perInputColumnBytes;
        bytes += split.head * (f.headBits ?? 16) / 8 + split.other * 2;
        return { format: f.format, name: f.format === 'exl2' ? `EXL2 ${exl2Bpw} bpw` : f.name, detail: f.detail,
                 hardware: f.hardware, bytes: Math.round(bytes), bpw: Math.round(bytes * 8 / split.total * 100) / 100 };
    });
}
