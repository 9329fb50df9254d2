#include "gguf_split.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "gguf_reader.h"
#include "gguf_writer.h"

namespace gguf_squash {
namespace {

status split_error(const std::string& what) {
    return make_error(status_code::invalid_file, "split model: " + what);
}

// An integer key as u64; refuses other types and negative values.
result<std::optional<uint64_t>> split_key(const gguf_header& h, const char* key) {
    const gguf_value* v = h.find(key);
    if (!v) return std::optional<uint64_t>();
    const std::optional<uint64_t> n = h.get_u64(key);
    if (!n)
        return split_error(std::string(key) + " must be a non-negative integer, not " +
                           gguf_value_type_name(v->type));
    return std::optional<uint64_t>(*n);
}

gguf_value make_u16(uint32_t v) {
    gguf_value out;
    out.type = gguf_value_type::uint16;
    out.scalar_bits = v & 0xffff;
    return out;
}

}  // namespace

result<std::optional<gguf_split_info>> read_split_info(const gguf_header& h) {
    result<std::optional<uint64_t>> no = split_key(h, kSplitNoKey);
    if (!no.ok()) return no.error();
    result<std::optional<uint64_t>> count = split_key(h, kSplitCountKey);
    if (!count.ok()) return count.error();
    result<std::optional<uint64_t>> tensors = split_key(h, kSplitTensorsCountKey);
    if (!tensors.ok()) return tensors.error();
    if (!*no && !*count && !*tensors) return std::optional<gguf_split_info>();
    if (!*count) return split_error(std::string(kSplitCountKey) + " is missing");
    if (**count == 0 || **count > 65535)
        return split_error(std::string(kSplitCountKey) + " " + std::to_string(**count) +
                           " is not in 1..65535");
    if (!*no && **count > 1) return split_error(std::string(kSplitNoKey) + " is missing");
    gguf_split_info info;
    info.count = uint32_t(**count);
    info.no = uint32_t(no->value_or(0));
    if (no->value_or(0) >= info.count)
        return split_error(std::string(kSplitNoKey) + " " + std::to_string(no->value_or(0)) +
                           " is not below split.count " + std::to_string(info.count));
    info.tensors_count = *tensors;
    return std::optional<gguf_split_info>(info);
}

std::string gguf_split_path(std::string_view prefix, uint32_t split_no, uint32_t split_count) {
    char suffix[48];
    std::snprintf(suffix, sizeof suffix, "-%05u-of-%05u.gguf", split_no + 1, split_count);
    return std::string(prefix) + suffix;
}

std::optional<std::string> gguf_split_prefix(std::string_view path, uint32_t split_no,
                                             uint32_t split_count) {
    const std::string suffix = gguf_split_path("", split_no, split_count);
    if (path.size() < suffix.size() || path.substr(path.size() - suffix.size()) != suffix)
        return std::nullopt;
    return std::string(path.substr(0, path.size() - suffix.size()));
}

int64_t gguf_model::find_tensor(std::string_view name) const {
    for (size_t i = 0; i < tensors.size(); ++i)
        if (tensors[i].info.name == name) return int64_t(i);
    return -1;
}

result<gguf_model> merge_gguf_shards(std::vector<gguf_header> shards) {
    if (shards.empty()) return make_error(status_code::invalid_argument, "no shards given");
    std::vector<gguf_split_info> infos;
    for (size_t i = 0; i < shards.size(); ++i) {
        result<std::optional<gguf_split_info>> info = read_split_info(shards[i]);
        if (!info.ok()) return info.error();
        if (!*info) {
            if (shards.size() > 1)
                return split_error("shard " + std::to_string(i) + " has no split keys");
            infos.push_back(gguf_split_info{});
        } else {
            infos.push_back(**info);
        }
    }
    // Order by split.no; each number exactly once, and all agree on the count.
    std::vector<size_t> order(shards.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return infos[a].no < infos[b].no; });
    gguf_model model;
    for (size_t i = 0; i < order.size(); ++i) {
        const gguf_split_info& info = infos[order[i]];
        if (info.count != shards.size())
            return split_error("shard " + std::to_string(info.no) + " says split.count " +
                               std::to_string(info.count) + ", but " +
                               std::to_string(shards.size()) + " shards were given");
        if (info.no != i)
            return split_error("split.no " + std::to_string(i) + " is missing or repeated");
        model.shards.push_back(std::move(shards[order[i]]));
    }
    std::unordered_set<std::string> names;
    for (uint32_t s = 0; s < model.shards.size(); ++s) {
        for (const gguf_tensor_info& t : model.shards[s].tensors) {
            if (!names.insert(t.name).second)
                return split_error("tensor '" + t.name + "' appears in more than one shard");
            model.tensors.push_back({t, s});
        }
    }
    const std::optional<uint64_t> expected = infos[order[0]].tensors_count;
    if (expected && *expected != model.tensors.size())
        return split_error("split.tensors.count is " + std::to_string(*expected) + ", but the " +
                           std::to_string(model.shards.size()) + " shards hold " +
                           std::to_string(model.tensors.size()) + " tensors");
    return model;
}

result<std::vector<gguf_header>> split_gguf_header(const gguf_header& model,
                                                   const std::vector<uint32_t>& shard_of_tensor) {
    if (shard_of_tensor.size() != model.tensors.size())
        return make_error(status_code::invalid_argument,
                          "split plan names " + std::to_string(shard_of_tensor.size()) +
                              " tensors, the model has " + std::to_string(model.tensors.size()));
    uint32_t n_shards = 1;
    for (size_t i = 0; i < shard_of_tensor.size(); ++i) {
        const uint32_t s = shard_of_tensor[i];
        const uint32_t prev = i ? shard_of_tensor[i - 1] : 0;
        if (s < prev || s > prev + 1 || (i == 0 && s > 1))
            return make_error(status_code::invalid_argument,
                              "split plan: tensor " + std::to_string(i) + " goes to shard " +
                                  std::to_string(s) + " after shard " + std::to_string(prev));
        n_shards = s + 1;
    }
    if (n_shards > 65535)
        return make_error(status_code::invalid_argument, "more than 65535 shards");
    if (model.tensors.size() > uint64_t(INT32_MAX))
        return make_error(status_code::invalid_argument,
                          "too many tensors for split.tensors.count");

    std::vector<gguf_header> shards(n_shards);
    shards[0] = model;
    shards[0].tensors.clear();
    for (size_t i = 0; i < model.tensors.size(); ++i)
        shards[shard_of_tensor[i]].tensors.push_back(model.tensors[i]);
    for (uint32_t s = 0; s < n_shards; ++s) {
        gguf_header& h = shards[s];
        h.set(kSplitNoKey, make_u16(s));
        h.set(kSplitCountKey, make_u16(n_shards));
        h.set(kSplitTensorsCountKey, gguf_value::make_i32(int32_t(model.tensors.size())));
        assign_tensor_offsets(h);
    }
    return shards;
}

std::vector<uint32_t> shards_by_tensor_count(const gguf_header& model, uint32_t max_tensors) {
    std::vector<uint32_t> plan(model.tensors.size());
    uint32_t shard = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        if (i > 0 && max_tensors > 0 && i % max_tensors == 0) ++shard;
        plan[i] = shard;
    }
    return plan;
}

std::vector<uint32_t> shards_by_size(const gguf_header& model, uint64_t max_bytes) {
    std::vector<uint32_t> plan(model.tensors.size());
    uint32_t shard = 0;
    uint64_t current = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        // gguf-split counts each tensor padded to the default alignment.
        const uint64_t n = align_up(model.tensors[i].nbytes(), kDefaultAlignment);
        if (i > 0 && current + n > max_bytes) {
            ++shard;
            current = n;
        } else {
            current += n;
        }
        plan[i] = shard;
    }
    return plan;
}

}  // namespace gguf_squash
