// <gguf-estimator>: a table of every llama-quantize type with its size, bits per weight, quality
// note and whether it fits a memory budget, for documentation pages.
//
//   <script type="module" src="/widget/gguf-estimator.js"></script>
//   <gguf-estimator params="8.03B" memory-gb="8" context="8192"></gguf-estimator>
//   <gguf-estimator src="https://host/model.gguf" interactive></gguf-estimator>
//
// Attributes: src (a GGUF URL: exact sizes; its header is range-read and the WebAssembly core is
// loaded on demand), params and arch (no header: the parameter-count model), memory-gb (GiB),
// context (tokens, default 4096), kv-type (f16, q8_0, q4_0), flash-attn (on, the default, or off),
// ubatch (micro-batch, default 512), parallel (sequences, default 1), types (comma-separated subset of
// rows), interactive (inputs for memory and context), wasm-base (where estimate.mjs lives;
// default ../wasm/ next to this file), formats ("gguf" by default; "gguf,gpu" adds estimated sizes of
// AWQ, GPTQ, EXL2, FP8 and NF4 checkpoints, from the parameter count; exl2-bpw sets EXL2's bits).
//
// Build: scripts/build.sh web prepends wasm/estimate_params.mjs and wasm/gpu_formats.mjs to this
// file (minus the imports below) to make the single module build/web/widget/gguf-estimator.js.
import { estimateFromParams } from '../../wasm/estimate_params.mjs';
import { gpuFormatSizes, kDefaultExl2Bpw, parameterSplit } from '../../wasm/gpu_formats.mjs';

const STYLE = `
:host { display: block; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color-scheme: light dark;
  --gguf-fg: #1d2330; --gguf-muted: #5b6475; --gguf-bg: #ffffff; --gguf-alt: #f5f7fb;
  --gguf-border: #dde2ec; --gguf-accent: #3d5afe; --gguf-accent-bg: #eef1ff;
  --gguf-fit: #13795b; --gguf-fit-bg: #e3f6ee; --gguf-nofit: #b3261e; --gguf-nofit-bg: #fdecea;
  --gguf-radius: 10px; color: var(--gguf-fg); }
@media (prefers-color-scheme: dark) {
  :host { --gguf-fg: #e6e9f0; --gguf-muted: #a3abbc; --gguf-bg: #161a22; --gguf-alt: #1c212b;
    --gguf-border: #2e3542; --gguf-accent: #8c9eff; --gguf-accent-bg: #232a45;
    --gguf-fit: #5fd3a5; --gguf-fit-bg: #15332a; --gguf-nofit: #ff8a80; --gguf-nofit-bg: #3a1d1d; }
}
.box { background: var(--gguf-bg); border: 1px solid var(--gguf-border); border-radius: var(--gguf-radius);
  overflow: hidden; }
.head { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; padding: .7rem .9rem;
  border-bottom: 1px solid var(--gguf-border); }
.title { font-weight: 600; }
.meta, .status { color: var(--gguf-muted); font-size: .9em; }
.controls { display: flex; flex-wrap: wrap; gap: .6rem 1rem; padding: .6rem .9rem;
  border-bottom: 1px solid var(--gguf-border); background: var(--gguf-alt); }
.controls label { display: inline-flex; gap: .4rem; align-items: center; font-size: .9em; }
.controls input, .controls select { font: inherit; width: 7em; padding: .15rem .35rem; color: inherit;
  background: var(--gguf-bg); border: 1px solid var(--gguf-border); border-radius: 6px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .38rem .9rem; text-align: left; border-bottom: 1px solid var(--gguf-border); white-space: nowrap; }
thead th { font-size: .78em; text-transform: uppercase; letter-spacing: .04em; color: var(--gguf-muted); font-weight: 600; }
tbody th { font-weight: 600; }
td.num, th.num { text-align: right; }
td.note { white-space: normal; color: var(--gguf-muted); font-size: .9em; }
tbody tr:last-child > * { border-bottom: 0; }
tbody tr:hover > * { background: var(--gguf-alt); }
tr[data-recommended] > * { background: var(--gguf-accent-bg); }
tr[data-recommended] > th { box-shadow: inset 3px 0 var(--gguf-accent); }
.badge { display: inline-block; padding: 0 .45em; border-radius: 999px; font-size: .8em; font-weight: 600; }
.fit { color: var(--gguf-fit); background: var(--gguf-fit-bg); }
.nofit { color: var(--gguf-nofit); background: var(--gguf-nofit-bg); }
.rec { color: var(--gguf-accent); margin-left: .4em; }
.im { color: var(--gguf-muted); font-size: .72em; font-weight: 500; margin-left: .45em; padding: 0 .4em;
  border: 1px solid var(--gguf-border); border-radius: 999px; }
caption { caption-side: bottom; text-align: left; padding: .5rem .9rem; border-top: 1px solid var(--gguf-border); }
.foot { padding: .55rem .9rem; border-top: 1px solid var(--gguf-border); color: var(--gguf-muted); font-size: .88em; }
.error { color: var(--gguf-nofit); padding: .7rem .9rem; }
.mem { padding: .6rem .9rem 0; border-top: 1px solid var(--gguf-border); }
.bar { display: flex; height: 10px; border-radius: 5px; overflow: hidden; background: var(--gguf-alt); }
.seg, .sw { display: inline-block; }
.sw { width: .7em; height: .7em; border-radius: 2px; margin-right: .35em; vertical-align: -.05em; }
.weights { background: var(--gguf-accent); } .kv { background: #c77700; } .recurrent { background: #7a4fc4; }
.output { background: var(--gguf-fg); } .compute { background: var(--gguf-muted); }
.parts { list-style: none; display: flex; flex-wrap: wrap; gap: .2rem 1rem; margin: .4rem 0 0; padding: 0;
  color: var(--gguf-muted); font-size: .88em; }
`;

const ATTRS = ['src', 'params', 'arch', 'memory-gb', 'context', 'kv-type', 'flash-attn', 'ubatch', 'parallel', 'types',
               'interactive', 'wasm-base', 'formats', 'exl2-bpw'];
// The memory parts in the order llama.cpp allocates them (the core's memory object fields).
const PARTS = [['weights', 'weights_bytes', 'weights'], ['kv', 'kv_bytes', 'KV cache'], ['recurrent', 'recurrent_bytes', 'recurrent state'],
               ['output', 'output_bytes', 'output'], ['compute', 'compute_bytes', 'compute']];

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const gib = (b) => b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 || b === 0 ? `${(b / 2 ** 20).toFixed(1)} MiB`
    : `${(b / 2 ** 10).toFixed(1)} KiB`;
const count = (n) => n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : String(n);

class GgufEstimator extends HTMLElement {
    static get observedAttributes() { return ATTRS; }

    constructor() {
        super();
        this.attachShadow({ mode: 'open' });
        this._opened = null;     // src mode: the header, kept open for re-estimates
        this._openedSrc = null;
        this._seq = 0;
        this.result = null;
    }

    connectedCallback() { this._schedule(); }
    disconnectedCallback() { this._opened?.close(); this._opened = null; this._openedSrc = null; }
    attributeChangedCallback() { if (this.isConnected) this._schedule(); }

    _schedule() {
        clearTimeout(this._timer);
        this._timer = setTimeout(() => this._update(), 0);
    }

    _options() {
        const mem = this.getAttribute('memory-gb');
        const ctx = Number(this.getAttribute('context') || 4096);
        // An attribute out of range falls back to llama.cpp's default, as an empty one does.
        const countAttr = (name, dflt, max) => {
            const n = Number(this.getAttribute(name) || dflt);
            return Number.isInteger(n) && n >= 1 && n <= max ? n : dflt;
        };
        return {
            memoryGb: mem != null && mem !== '' && Number(mem) > 0 ? Number(mem) : undefined,
            ctx: Number.isFinite(ctx) && ctx > 0 ? Math.floor(ctx) : 4096,
            kvType: this.getAttribute('kv-type') || 'f16',
            flashAttn: this.getAttribute('flash-attn') !== 'off',
            ubatch: countAttr('ubatch', 512, 65536),
            parallel: countAttr('parallel', 1, 256),
        };
    }

    async _update() {
        const seq = ++this._seq;
        const src = this.getAttribute('src');
        const opts = this._options();
        this.setAttribute('aria-busy', 'true');
        try {
            let result;
            if (src) {
                const url = new URL(src, document.baseURI).href;
                if (this._openedSrc !== url) {
                    this._opened?.close();
                    this._opened = null;
                    this._openedSrc = url;
                    this._render(null, 'Reading the header…');
                    const base = this.getAttribute('wasm-base');
                    const modUrl = new URL('estimate.mjs', base ? new URL(base, document.baseURI) : new URL('../wasm/', import.meta.url));
                    const { openEstimate } = await import(modUrl.href);
                    const opened = await openEstimate(url);
                    if (seq !== this._seq && this._openedSrc !== url) { opened.close(); return; }
                    this._opened = opened;
                }
                result = await this._opened.run(opts);
            } else {
                const params = this.getAttribute('params');
                if (!params) { this._render(null, 'Set src or params.'); return; }
                result = estimateFromParams(params, { ...opts, arch: this.getAttribute('arch') ?? undefined });
            }
            if (seq !== this._seq) return;
            this.result = result;
            this._render(result);
            this.dispatchEvent(new CustomEvent('estimate', { detail: result }));
        } catch (e) {
            if (seq !== this._seq) return;
            if (src) { this._opened?.close(); this._opened = null; this._openedSrc = null; }
            this.result = null;
            this._render(null, null, e?.message ?? String(e));
        } finally {
            if (seq === this._seq) this.removeAttribute('aria-busy');
        }
    }

    _render(r, status = null, error = null) {
        const opts = this._options();
        const interactive = this.hasAttribute('interactive');
        const focused = this.shadowRoot.activeElement?.name;
        const formats = (this.getAttribute('formats') || 'gguf').split(',').map((s) => s.trim().toLowerCase());
        const wanted = (this.getAttribute('types') || '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
        let html = `<style>${STYLE}</style><div class="box" part="box">`;
        const m = r?.model;
        const title = !m ? 'GGUF size estimate' : m.name || (r.mode === 'params' ? `${count(m.params)}-parameter model` : `${m.arch || 'GGUF'} model`);
        html += `<div class="head" part="header"><span class="title">${esc(title)}</span>`;
        if (m) {
            const bits = [r.mode === 'params' ? 'estimated from the parameter count' : `${count(m.params)} parameters`];
            if (m.arch) bits.push(m.arch);
            if (m.layers) bits.push(`${m.layers} layers`);
            if (m.context_length) bits.push(`trained ctx ${m.context_length}`);
            html += `<span class="meta">${esc(bits.join(' · '))}</span>`;
        }
        html += `</div>`;
        if (interactive) {
            html += `<div class="controls" part="controls">
<label>Memory (GiB) <input name="memory" type="number" min="0" step="any" inputmode="decimal" value="${esc(this.getAttribute('memory-gb') ?? '')}"></label>
<label>Context <input name="context" type="number" min="1" step="256" value="${esc(opts.ctx)}"></label>
<label>KV cache <select name="kv">${['f16', 'q8_0', 'q4_0'].map((t) => `<option${t === opts.kvType ? ' selected' : ''}>${t}</option>`).join('')}</select></label>
<label>Flash attention <select name="fa">${['on', 'off'].map((t) => `<option${(t === 'on') === opts.flashAttn ? ' selected' : ''}>${t}</option>`).join('')}</select></label>
</div>`;
        }
        if (error) html += `<div class="error" role="alert" part="error">${esc(error)}</div>`;
        else if (!r) html += `<div class="status" style="padding:.7rem .9rem">${esc(status ?? '')}</div>`;
        else {
            const mm = r.memory;
            const refused = mm.error ?? null;  // llama.cpp would not create this context
            const budget = opts.memoryGb != null && !refused;
            const rec = r.recommendation?.name;
            html += `<div class="scroll"><table part="table"><caption class="status">${
                esc(r.mode === 'exact' ? 'Exact output sizes from the GGUF header (same plan as the quantizer).'
                                       : 'Estimated from the parameter count (llama-style recipe model); ±a few percent.')}</caption>
<thead><tr><th scope="col">Type</th><th scope="col" class="num">Size</th><th scope="col" class="num">Bits/weight</th>${
                budget ? '<th scope="col">Fits</th>' : ''}<th scope="col">Quality (llama-quantize)</th></tr></thead><tbody>`;
            for (const f of r.ftypes) {
                if (wanted.length && !wanted.includes(f.name.toUpperCase())) continue;
                if (!f.file_size) continue;
                const isRec = f.name === rec;
                const fit = budget ? (f.fits ? 'yes' : 'no') : null;
                html += `<tr part="row${isRec ? ' recommended' : ''}${fit ? (fit === 'yes' ? ' fits' : ' nofit') : ''}" data-ftype="${esc(f.name)}" data-bytes="${f.file_size}"${
                    fit ? ` data-fits="${fit === 'yes'}"` : ''}${isRec ? ' data-recommended' : ''}>`;
                html += `<th scope="row">${esc(f.name)}${isRec ? '<span class="rec" aria-label="recommended">★ recommended</span>' : ''}${
                    f.requires_imatrix ? '<span class="im" title="needs an importance matrix">imatrix</span>' : ''}</th>`;
                html += `<td class="num" title="${f.file_size} bytes">${gib(f.file_size)}</td><td class="num">${Number(f.bpw).toFixed(2)}</td>`;
                if (budget) {
                    html += `<td><span class="badge ${fit === 'yes' ? 'fit' : 'nofit'}" title="${gib(f.memory_bytes)} needed at ${opts.ctx} tokens">${
                        fit === 'yes' ? 'fits' : 'too big'}</span></td>`;
                }
                html += `<td class="note">${esc(f.note)}</td></tr>`;
            }
            html += `</tbody></table></div>`;
            if (refused) {
                html += `<div class="error" role="alert" part="memory-error" data-testid="memory-error">llama.cpp would refuse this context: ${esc(refused)}.</div>`;
            } else {
                const parts = PARTS.filter(([key, field]) => key !== 'recurrent' || mm[field] > 0)
                    .map(([key, field, label]) => [key, mm[field] ?? (key === 'compute' ? mm.other_bytes : 0), label]);
                const total = mm.total_bytes || 1;
                html += `<div class="mem" part="memory" data-ftype="${esc(mm.ftype)}" data-total="${mm.total_bytes}">` +
                    `<div class="bar" role="img" aria-label="${esc(`${mm.ftype} at ${mm.ctx} tokens: ` + parts.map(([, b, l]) => `${l} ${gib(b)}`).join(', '))}">` +
                    parts.map(([key, b]) => `<span class="seg ${key}" style="width:${(b / total * 100).toFixed(2)}%"></span>`).join('') + '</div>' +
                    `<ul class="parts">${parts.map(([key, b, label]) => `<li data-part="${key}" data-bytes="${b}"><span class="sw ${key}"></span>${esc(label)} ${gib(b)}</li>`).join('')}</ul></div>`;
            }
            let foot = refused ? `${mm.kv_type} KV cache, flash attention ${mm.flash_attn === false ? 'off' : 'on'}: no memory figures.`
                : `${mm.ftype}: ${PARTS.filter(([key, field]) => key !== 'recurrent' || mm[field] > 0)
                    .map(([key, field, label]) => `${label} ${gib(mm[field] ?? (key === 'compute' ? mm.other_bytes : 0))}`).join(' + ')} = ${gib(mm.total_bytes)} ` +
                  `(${mm.kv_type} cache, ${mm.ctx} tokens${mm.flash_attn === false ? ', flash attention off' : ''}${mm.parallel > 1 ? `, ${mm.parallel} sequences` : ''}).`;
            if (budget && mm.max_ctx != null) foot += ` Largest context that fits in ${opts.memoryGb} GiB: ${mm.max_ctx}.`;
            // With no memory figures nothing can be said to fit: no recommendation either.
            if (r.recommendation && !refused) foot += ` Recommended: ${r.recommendation.name ?? 'none'} (${r.recommendation.reason}).`;
            html += `<div class="foot" part="footer" aria-live="polite">${esc(foot)}</div>`;
            if (formats.includes('gpu')) html += this._gpuTable(r, opts, budget);
        }
        html += `</div>`;
        this.shadowRoot.innerHTML = html;
        if (interactive) this._wire(focused);
    }

    // GPU checkpoint formats, estimated from the parameter count (wasm/gpu_formats.mjs): size,
    // bits per weight, whether it fits with the same KV cache and buffers, and the hardware.
    _gpuTable(r, opts, budget) {
        const m = r.model;
        const bpw = Number(this.getAttribute('exl2-bpw'));
        const split = parameterSplit({ params: m.params, vocab: m.vocab_size ?? 0, hidden: m.embedding_length ?? 0 });
        const rows = gpuFormatSizes(split, { exl2Bpw: bpw >= 2 && bpw <= 8 ? bpw : kDefaultExl2Bpw });
        // The KV cache, recurrent state and buffers do not depend on the format.
        const extra = r.memory.total_bytes - r.memory.weights_bytes;
        const limit = budget ? opts.memoryGb * 2 ** 30 : null;
        let html = `<div class="scroll"><table part="gpu-table" data-testid="gpu-table"><caption class="status">GPU formats: estimates from the parameter count, not exact (these formats are not made here).</caption>
<thead><tr><th scope="col">Format</th><th scope="col" class="num">Size (est.)</th><th scope="col" class="num">Bits/weight</th>${
            budget ? '<th scope="col">Fits</th>' : ''}<th scope="col">Suits</th></tr></thead><tbody>`;
        for (const g of rows) {
            const fits = limit != null ? g.bytes + extra <= limit : null;
            html += `<tr part="gpu-row" data-format="${esc(g.format)}" data-bytes="${g.bytes}" data-estimate="true"${fits != null ? ` data-fits="${fits}"` : ''}>`;
            html += `<th scope="row">${esc(g.name)}</th><td class="num" title="about ${g.bytes} bytes">≈ ${gib(g.bytes)}</td><td class="num">${g.bpw.toFixed(2)}</td>`;
            if (budget) html += `<td><span class="badge ${fits ? 'fit' : 'nofit'}">${fits ? 'fits' : 'too big'}</span></td>`;
            html += `<td class="note">${esc(g.hardware)}</td></tr>`;
        }
        return html + '</tbody></table></div>';
    }

    _wire(focused) {
        const root = this.shadowRoot;
        const bind = (name, attr) => {
            const el = root.querySelector(`[name=${name}]`);
            el.addEventListener('change', () => { if (el.value === '') this.removeAttribute(attr); else this.setAttribute(attr, el.value); });
            if (focused === name) el.focus();
        };
        bind('memory', 'memory-gb');
        bind('context', 'context');
        bind('kv', 'kv-type');
        bind('fa', 'flash-attn');
    }
}

if (!customElements.get('gguf-estimator')) customElements.define('gguf-estimator', GgufEstimator);
export { GgufEstimator };
