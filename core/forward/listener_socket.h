// Creates the listening sockets of one listener: one SO_REUSEPORT socket per
// worker, with IP_FREEBIND so the backup host can listen on a VIP it does not
// hold yet.
#pragma once

#include <memory>
#include <string>

#include "core/runtime/runtime.h"

namespace ringlb {

// Returns nullptr and sets *error ("bind 1.2.3.4:80: Address already in use")
// when any of the sockets cannot be created.
std::shared_ptr<ListenerSockets> open_listener_sockets(const InetAddr& bind, int workers, std::string* error);

}  // namespace ringlb
