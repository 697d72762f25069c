// Starts a program with none of the daemon's privileges: the child clears its ambient
// and bounding capability sets, sets no_new_privs, becomes `user` when one is given,
// clears its inheritable, permitted and effective sets, and execs with `environment`
// only, stdin from /dev/null, stdout/stderr shared (the journal), no other descriptor,
// default signals and a session of its own. The child between fork and exec makes
// only async-signal-safe calls; a step that fails there is reported back through a
// close-on-exec pipe and the child exits 126 without running the program.
#pragma once

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "vrrp/notify_security.h"

namespace ringlb {

// argv[0] is `path`. The pid of the running program, or why it could not be started.
Result<pid_t> spawn_unprivileged(const std::string& path, const std::vector<std::string>& args,
                                 const std::optional<NotifyUser>& user, std::span<const char* const> environment);

}  // namespace ringlb
