#include "core/base/uring.h"

#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ringlb {

Ring::~Ring() {
    if (initialized_) io_uring_queue_exit(&ring_);
}

void Ring::init(unsigned sq_entries, unsigned cq_entries) {
    // Most valuable last: each refusal drops the newest flag first.
    const unsigned wanted[] = {
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int last_error = 0;
    for (unsigned flags : wanted) {
        io_uring_params params{};
        params.flags = flags | IORING_SETUP_CQSIZE;
        params.cq_entries = cq_entries;
        int rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
        if (rc == 0) {
            initialized_ = true;
            flags_ = flags;
            if (!(params.features & IORING_FEAT_NODROP))
                throw std::runtime_error("io_uring lacks IORING_FEAT_NODROP (kernel 5.5 or newer needed)");
            io_uring_register_ring_fd(&ring_);  // optional: saves an fd lookup per enter
            return;
        }
        last_error = -rc;
        if (rc != -EINVAL) break;
    }
    throw std::runtime_error(std::string("io_uring_setup failed: ") + std::strerror(last_error) +
                             (last_error == EPERM ? " (io_uring disabled by kernel.io_uring_disabled?)" : ""));
}

io_uring_sqe* Ring::get_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe) [[likely]] return sqe;
    for (int failed = 0; !sqe && failed < kMaxFailedSubmits;) {
        const int rc = io_uring_submit(&ring_);
        if (rc <= 0) {
            submit_error_ = rc;
            ++failed;
        }
        sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
}

std::string Ring::describe_submit_error() const {
    return "io_uring refused " + std::to_string(kMaxFailedSubmits) +
           " submits in a row with the submission queue full: " +
           (submit_error_ < 0 ? std::strerror(-submit_error_) : "nothing was taken");
}

std::string Ring::describe_flags() const {
    std::string out;
    if (flags_ & IORING_SETUP_SINGLE_ISSUER) out += "single-issuer ";
    if (flags_ & IORING_SETUP_DEFER_TASKRUN) out += "defer-taskrun ";
    if (flags_ & IORING_SETUP_COOP_TASKRUN) out += "coop-taskrun ";
    if (out.empty()) return "none";
    out.pop_back();
    return out;
}

Result<void> probe_kernel_features() {
    utsname name{};
    uname(&name);
    int major = 0, minor = 0;
    std::sscanf(name.release, "%d.%d", &major, &minor);
    // Multishot recv with provided buffer rings arrived in 6.0.
    if (major < 6)
        return fail(std::string("kernel ") + name.release +
               " lacks multishot recv (IORING_RECV_MULTISHOT); Linux 6.0 or newer is needed (Debian 12 ships 6.1)");

    io_uring_probe* probe = io_uring_get_probe();
    if (!probe) return fail("io_uring is not available (io_uring_get_probe failed; kernel.io_uring_disabled?)");
    struct Needed { int op; const char* name; } const needed[] = {
        {IORING_OP_ACCEPT, "IORING_OP_ACCEPT"}, {IORING_OP_CONNECT, "IORING_OP_CONNECT"},
        {IORING_OP_RECV, "IORING_OP_RECV"},     {IORING_OP_SEND, "IORING_OP_SEND"},
        {IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD"}, {IORING_OP_LINK_TIMEOUT, "IORING_OP_LINK_TIMEOUT"},
        {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"}, {IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT"},
        {IORING_OP_READ, "IORING_OP_READ"},
    };
    std::string missing;
    for (const auto& n : needed)
        if (!io_uring_opcode_supported(probe, n.op)) missing += std::string(missing.empty() ? "" : ", ") + n.name;
    io_uring_free_probe(probe);
    if (!missing.empty()) return fail("io_uring lacks " + missing + " (Linux 6.0 or newer is needed)");
    return {};
}

namespace {

bool probe_recv_multishot_limit() {
    io_uring ring{};
    if (io_uring_queue_init(2, &ring, 0) != 0) return false;
    // Before 6.17 the prep rejects a nonzero optlen (it shares its field with
    // file_index) with EINVAL; from 6.17 the prep accepts it and the issue then
    // fails on the fd, -1, with EBADF. No socket and no buffer group are needed.
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, -1, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    set_recv_multishot_limit(sqe, 1);
    int res = -EINVAL;
    io_uring_cqe* cqe = nullptr;
    if (io_uring_submit_and_wait(&ring, 1) == 1 && io_uring_peek_cqe(&ring, &cqe) == 0) res = cqe->res;
    io_uring_queue_exit(&ring);
    return res == -EBADF;
}

}  // namespace

bool recv_multishot_limit_supported() {
    static const bool supported = probe_recv_multishot_limit();
    return supported;
}

}  // namespace ringlb
