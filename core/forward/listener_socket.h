// Creates the listening sockets of one listener: one SO_REUSEPORT socket per
// worker, with IP_FREEBIND so the backup host can listen on a VIP it does not
// hold yet.
#pragma once

#include <memory>

#include "core/base/result.h"
#include "core/runtime/runtime.h"

namespace ringlb {

// All `workers` sockets, or why one of them could not be created
// ("bind 1.2.3.4:80: Address already in use"); then none stays open.
Result<std::shared_ptr<ListenerSockets>> open_listener_sockets(const InetAddr& bind, int workers);

}  // namespace ringlb
