// May a notify script be run with the daemon's privileges, and as whom (issue 19)?
// Like keepalived's enable_script_security: the script and every directory above it
// (on the path as written and on the path with links resolved) must be owned by root
// and writable by nobody else, so that no one but root can choose what ringlbd runs.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace ringlb {

// Pure: why a file or directory with this owner and mode cannot be trusted
// ("owned by uid 1000, not root", "writable by group (mode 0775)"), or nullopt.
std::optional<std::string> untrusted_because(uid_t owner, mode_t mode);

// The script exists, is a regular executable file, and it and every directory above
// it pass untrusted_because. The failure names the path at fault and why.
Result<void> check_notify_script(const std::string& path);

// Who a notify script runs as (`notify_user`), looked up in the user database.
struct NotifyUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups, from the group database
};
Result<NotifyUser> resolve_notify_user(const std::string& name);

}  // namespace ringlb
