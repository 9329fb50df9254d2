// The constants JS keeps copies of, for code that runs without WebAssembly (the
// <gguf-estimator> widget, the page's main thread), against the core's own (gs_constants_json,
// gs_split_path, gs_split_prefix). Everything else reads them from the core at run time.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { kDefaultFtype, kKvFactor, kLadder, kSmallModelParams } from '../../wasm/estimate_params.mjs';
import { errorFromMessage, errorToMessage, GgufError, loadGgufSquash } from '../../wasm/gguf_squash.mjs';
import { parseShardName, splitPath, splitPrefix } from '../../wasm/split_names.mjs';

const core = await loadGgufSquash();
const constants = core.constants();

test('the recommendation ladder and default are the core\'s (recommend_ftype)', () => {
    assert.deepEqual(kLadder, constants.ladder);
    assert.equal(kDefaultFtype, constants.default_ftype);
    // Above the small-model bound the core leaves Q8_0 out; estimate_params.mjs does the same.
    assert.deepEqual(kLadder.filter((n) => n !== 'Q8_0'), constants.ladder_large);
    assert.ok(kSmallModelParams > 0);
});

test('the KV cache factors are the core\'s type sizes relative to f16', () => {
    const byName = new Map(constants.types.map((t) => [t.ggml_name, t]));
    const perElement = (name) => byName.get(name).type_size / byName.get(name).block_size;
    assert.deepEqual(Object.keys(kKvFactor).sort(), ['f16', 'q4_0', 'q8_0']);
    for (const [name, factor] of Object.entries(kKvFactor)) {
        assert.ok(byName.has(name), name);
        assert.equal(factor, perElement(name) / perElement('f16'), name);
    }
});

test('type ids by name come from the core', () => {
    assert.ok(constants.types.length > 20);
    for (const t of constants.types) {
        assert.equal(core.typeId(t.name), t.id, t.name);
        assert.equal(core.typeId(t.ggml_name), t.id, t.ggml_name);
    }
    assert.equal(core.typeId('NOT_A_TYPE'), -1);
});

test('status names: a numeric code from the core names its status', () => {
    assert.equal(constants.status[0], 'ok');
    assert.equal(constants.status.length, 9);
    constants.status.forEach((name, code) => assert.equal(new GgufError(code, 'x').code, name));
    assert.equal(new GgufError(999, 'x').code, 'internal');
});

test('split names: the JS copy agrees with gguf_split_path / gguf_split_prefix', () => {
    let compared = 0;
    for (const [no, count] of [[0, 1], [0, 2], [1, 2], [4, 12], [99, 100], [0, 99999]]) {
        for (const prefix of ['m', 'dir/model', 'https://h/o/r/resolve/main/x']) {
            const name = core.splitPath(prefix, no, count);
            assert.equal(splitPath(prefix, no, count), name);
            assert.equal(splitPrefix(name, no, count), core.splitPrefix(name, no, count));
            assert.equal(splitPrefix(name, no, count), prefix);
            assert.deepEqual(parseShardName(name), { prefix, no, count });
            // Another shard's suffix is not this shard's.
            assert.equal(splitPrefix(name, no + 1, count), core.splitPrefix(name, no + 1, count));
            compared++;
        }
    }
    for (const plain of ['model.gguf', 'model-1-of-2.gguf', 'model-00001-of-00002.bin'])
        assert.equal(parseShardName(plain), null, plain);
    assert.equal(compared, 18);
});

test('errors keep their class across a worker boundary (errorToMessage / errorFromMessage)', () => {
    const message = structuredClone(errorToMessage(new GgufError('invalid_file', 'bad magic')));
    const back = errorFromMessage(message);
    assert.ok(back instanceof GgufError);
    assert.equal(back.code, 'invalid_file');
    assert.equal(back.message, 'bad magic');
    const abort = errorFromMessage(structuredClone(errorToMessage(new DOMException('stop', 'AbortError'))));
    assert.equal(abort.name, 'AbortError');
    assert.ok(!(abort instanceof GgufError));
});
