#include "core/forward/buffer_ring.h"

#include <sys/mman.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace ringlb {

BufferRing::~BufferRing() {
    if (ring_ && entries_) io_uring_unregister_buf_ring(ring_, group_id_);
    if (entries_) munmap(entries_, entries_bytes_);
    if (base_) munmap(base_, base_bytes_);
}

void BufferRing::init(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_size) {
    count_ = count;
    buffer_size_ = buffer_size;
    group_id_ = group_id;
    entries_bytes_ = count * sizeof(io_uring_buf);
    void* entries = mmap(nullptr, entries_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (entries == MAP_FAILED) throw std::runtime_error("mmap of buffer ring failed");
    entries_ = static_cast<io_uring_buf_ring*>(entries);
    base_bytes_ = size_t(count) * buffer_size;
    void* base = mmap(nullptr, base_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (base == MAP_FAILED) throw std::runtime_error("mmap of receive buffers failed");
    base_ = static_cast<char*>(base);

    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(entries_);
    reg.ring_entries = count;
    reg.bgid = group_id;
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc != 0)
        throw std::runtime_error(std::string("io_uring_register_buf_ring failed: ") + std::strerror(-rc) +
                                 " (provided buffer rings need Linux 5.19 or newer)");
    ring_ = ring;
    io_uring_buf_ring_init(entries_);
    const int mask = io_uring_buf_ring_mask(count);
    for (uint32_t i = 0; i < count; ++i) io_uring_buf_ring_add(entries_, buffer(i), buffer_size, i, mask, i);
    io_uring_buf_ring_advance(entries_, count);
    available_ = count;
}

void BufferRing::recycle(uint16_t id) noexcept {
    io_uring_buf_ring_add(entries_, buffer(id), buffer_size_, id, io_uring_buf_ring_mask(count_), uncommitted_);
    ++uncommitted_;
}

void BufferRing::commit() noexcept {
    if (uncommitted_ == 0) return;
    io_uring_buf_ring_advance(entries_, uncommitted_);
    available_ += uncommitted_;
    uncommitted_ = 0;
}

}  // namespace ringlb
