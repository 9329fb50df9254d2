#include "convert/virtual_gguf.h"

#include <algorithm>
#include <cstring>

#include "format/gguf_writer.h"

namespace gguf_squash::convert {

virtual_gguf::virtual_gguf(hf_plan plan, std::vector<uint8_t> header, shard_read_fn read,
                           uint64_t chunk_bytes)
    : plan_(std::move(plan)),
      header_(std::move(header)),
      read_(std::move(read)),
      chunk_bytes_(std::max<uint64_t>(1, chunk_bytes)) {}

// Chunks of whole rows, about chunk_bytes_ of source; a permuted tensor's chunk holds whole
// heads (the permutation stays inside a head), so its source rows are the chunk's own rows.
void virtual_gguf::chunk_of(size_t tensor, uint64_t row, uint64_t& first, uint64_t& count) const {
    const planned_tensor& t = plan_.tensors[tensor];
    const uint64_t rows = t.info.n_rows();
    const uint64_t row_src = t.shard >= 0 ? t.source.nbytes / rows : 0;
    uint64_t step = row_src ? std::max<uint64_t>(1, chunk_bytes_ / row_src) : rows;
    if (t.permute_heads) {
        const uint64_t per_head = rows / t.permute_heads;
        step = std::max<uint64_t>(1, step / per_head) * per_head;
    }
    first = row / step * step;
    count = std::min(step, rows - first);
}

// `src`: the chunk's source rows in source order (null for a generated tensor).
status virtual_gguf::convert_chunk(size_t tensor, uint64_t r0, uint64_t n, const uint8_t* src) {
    const planned_tensor& t = plan_.tensors[tensor];
    const uint64_t rows = t.info.n_rows();
    const uint64_t row_src = t.shard >= 0 ? t.source.nbytes / rows : 0;
    chunk_tensor_ = SIZE_MAX;
    if (t.shard >= 0) {
        ordered_.resize(n * row_src);
        for (uint64_t r = 0; r < n; ++r)
            std::memcpy(ordered_.data() + r * row_src, src + (source_row(t, r0 + r) - r0) * row_src,
                        row_src);
    }
    dst_.resize(n * (t.info.nbytes() / rows));
    GS_RETURN_IF_ERROR(convert_rows(t, ordered_.data(), r0, n, dst_.data()));
    chunk_tensor_ = tensor;
    chunk_row_ = r0;
    chunk_rows_ = n;
    return {};
}

result<size_t> virtual_gguf::read(uint64_t offset, uint8_t* buf, size_t size) {
    size_t done = 0;
    for (;;) {
        source_need need;
        auto n = read_held(offset + done, buf + done, size - done, need);
        if (!n) return n.error();
        done += *n;
        if (need.size == 0) return done;
        src_.resize(size_t(need.size));
        GS_RETURN_IF_ERROR(read_(need.shard, need.offset, src_.data(), src_.size()));
        GS_RETURN_IF_ERROR(provide(src_.data(), src_.size()));
    }
}

status virtual_gguf::provide(const uint8_t* src, size_t size) {
    if (want_tensor_ == SIZE_MAX || size != want_.size)
        return make_error(status_code::internal, "virtual GGUF: source bytes nobody asked for");
    const size_t t = want_tensor_;
    want_tensor_ = SIZE_MAX;
    return convert_chunk(t, want_row_, want_rows_, src);
}

result<size_t> virtual_gguf::read_held(uint64_t offset, uint8_t* buf, size_t size,
                                       source_need& need) {
    need = {};
    const uint64_t end = std::min<uint64_t>(this->size(), offset + size);
    size_t done = 0;
    while (offset < end) {
        const uint64_t want = end - offset;
        if (offset < header_.size()) {
            const uint64_t n = std::min<uint64_t>(want, header_.size() - offset);
            std::memcpy(buf + done, header_.data() + offset, size_t(n));
            offset += n, done += size_t(n);
            continue;
        }
        const uint64_t d = offset - header_.size();
        // The tensor whose padded extent holds d (tensors are in offset order).
        auto it =
            std::upper_bound(plan_.tensors.begin(), plan_.tensors.end(), d,
                             [](uint64_t v, const planned_tensor& t) { return v < t.info.offset; });
        if (it == plan_.tensors.begin())
            return make_error(status_code::internal, "virtual GGUF: offset before the tensors");
        const size_t ti = size_t(it - plan_.tensors.begin()) - 1;
        const planned_tensor& t = plan_.tensors[ti];
        const uint64_t within = d - t.info.offset;
        const uint64_t nbytes = t.info.nbytes();
        if (within >= nbytes) {  // padding up to the next tensor (or the end)
            const uint64_t pad_end = nbytes + tensor_padding(nbytes, kGgufPyAlignment);
            const uint64_t n = std::min<uint64_t>(want, pad_end - within);
            if (n == 0)
                return make_error(status_code::internal, "virtual GGUF: a gap after a tensor");
            std::memset(buf + done, 0, size_t(n));
            offset += n, done += size_t(n);
            continue;
        }
        const uint64_t row_dst = nbytes / t.info.n_rows();
        const uint64_t row = within / row_dst;
        if (chunk_tensor_ != ti || row < chunk_row_ || row >= chunk_row_ + chunk_rows_) {
            uint64_t r0, n;
            chunk_of(ti, row, r0, n);
            if (t.shard < 0) {  // generated: nothing to read
                GS_RETURN_IF_ERROR(convert_chunk(ti, r0, n, nullptr));
            } else {
                const uint64_t row_src = t.source.nbytes / t.info.n_rows();
                want_tensor_ = ti, want_row_ = r0, want_rows_ = n;
                want_ = {t.shard, t.source.data_begin + r0 * row_src, n * row_src};
                need = want_;
                return done;
            }
        }
        const uint64_t in_chunk = within - chunk_row_ * row_dst;
        const uint64_t n = std::min<uint64_t>(want, dst_.size() - in_chunk);
        std::memcpy(buf + done, dst_.data() + in_chunk, size_t(n));
        offset += n, done += size_t(n);
    }
    return done;
}

}  // namespace gguf_squash::convert
