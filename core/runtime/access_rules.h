// A listener's allow / deny lists, asked once per accepted client: deny wins; an
// empty allow admits every address deny does not name (nginx's "allow ...; deny
// all;" written the other way round, HAProxy's "tcp-request connection reject").
// Built once per snapshot, only for listeners that set either list, so a listener
// without them pays one null test per accept. Pure: lookups are two binary searches.
#pragma once

#include <span>

#include "core/base/inet_addr.h"
#include "core/base/inet_prefix.h"
#include "core/base/prefix_set.h"

namespace ringlb {

class AccessRules {
public:
    AccessRules(std::span<const InetPrefix> allow, std::span<const InetPrefix> deny) : allow_(allow), deny_(deny) {}

    // True: the client may connect. An address of neither family (no peer name) is
    // admitted only when no allow list restricts the listener.
    bool admits(const InetAddr& client) const noexcept {
        if (deny_.contains(client)) return false;
        return allow_.empty() || allow_.contains(client);
    }

private:
    PrefixSet allow_;
    PrefixSet deny_;
};

}  // namespace ringlb
