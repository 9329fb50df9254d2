#include "plan/layer_pruning.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace gguf_squash::plan_detail {
namespace {

// The first "blk.<digits>." anywhere in the name: position and length of the digits.
bool find_block_digits(const std::string& name, size_t& pos, size_t& len) {
    for (size_t at = name.find("blk."); at != std::string::npos; at = name.find("blk.", at + 1)) {
        size_t i = at + 4, j = i;
        while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
        if (j > i && j < name.size() && name[j] == '.') {
            pos = i;
            len = j - i;
            return true;
        }
    }
    return false;
}

}  // namespace

result<pruned_model> prune_layers(const std::vector<source_tensor>& src,
                                  const std::vector<size_t>& order,
                                  const std::vector<int>& layers_to_prune) {
    pruned_model p;
    std::map<int, std::string>& mapped = p.mapped;
    int& next_id = p.n_layers;
    for (size_t i : order) {
        const std::string& name = src[i].info->name;
        if (layers_to_prune.empty()) {
            p.kept.push_back({i, name});
            continue;
        }
        size_t pos = 0, len = 0;
        if (!find_block_digits(name, pos, len)) {
            p.kept.push_back({i, name});
            continue;
        }
        const std::string digits = name.substr(pos, len);
        if (len > 9) {
            return make_error(status_code::refused, "layer number out of range in " + name);
        }
        const int blk = std::atoi(digits.c_str());
        if (!mapped.count(blk)) {
            if (std::binary_search(layers_to_prune.begin(), layers_to_prune.end(), blk)) {
                mapped[blk] = "";
            } else if (blk < layers_to_prune.front()) {
                mapped[blk] = std::to_string(blk);
                next_id = blk + 1;
            } else {
                mapped[blk] = std::to_string(next_id);
                ++next_id;
            }
        }
        if (mapped[blk].empty()) continue;
        std::string renamed = name;
        renamed.replace(pos, len, mapped[blk]);
        p.kept.push_back({i, renamed});
    }
    return p;
}

std::string imatrix_name_of(const std::string& output_name,
                            const std::map<int, std::string>& mapped) {
    std::string name = output_name;
    if (mapped.empty()) return name;
    size_t pos = 0, len = 0;
    if (find_block_digits(name, pos, len)) {
        const std::string blk = name.substr(pos, len);
        for (const auto& [orig, now] : mapped) {
            if (now == blk) {
                name.replace(pos, len, std::to_string(orig));
                break;
            }
        }
    }
    return name;
}

}  // namespace gguf_squash::plan_detail
