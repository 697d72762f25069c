// A provided-buffer ring (IORING_REGISTER_PBUF_RING): the kernel picks a
// buffer for each multishot recv completion; the worker hands it back once the
// bytes in it have been sent. Returns are batched and published by commit().
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>

namespace ringlb {

class BufferRing {
public:
    BufferRing() = default;
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;
    ~BufferRing();

    // count: power of two. Throws std::runtime_error on failure.
    void init(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_size);

    uint16_t group_id() const noexcept { return group_id_; }
    uint32_t buffer_size() const noexcept { return buffer_size_; }
    char* buffer(uint16_t id) const noexcept { return base_ + size_t(id) * buffer_size_; }
    // The kernel took a buffer (a recv CQE named it).
    void on_taken() noexcept { --available_; }
    // Gives a buffer back; visible to the kernel after commit().
    void recycle(uint16_t id) noexcept;
    void commit() noexcept;
    uint32_t available() const noexcept { return available_ + uncommitted_; }
    // Fewer than a quarter left: bytes that wait should not sit in the ring.
    bool low() const noexcept { return available() < count_ / 4; }

private:
    io_uring* ring_ = nullptr;
    io_uring_buf_ring* entries_ = nullptr;
    size_t entries_bytes_ = 0;
    char* base_ = nullptr;
    size_t base_bytes_ = 0;
    uint16_t group_id_ = 0;
    uint32_t count_ = 0, buffer_size_ = 0;
    uint32_t available_ = 0, uncommitted_ = 0;
};

}  // namespace ringlb
