// The state file of the VIPs this host holds (DESIGN §9): one line per VRRP instance
// that has VIPs on an interface, with what a priority-0 advert for it needs, so that
// `ringlbd --release` hands over before reading the config and removes exactly what
// ringlbd added, and a start-up after a crash cleans up the same. The text codec is
// pure; reading and the atomic write (temp file, rename) are the I/O half.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/config/vrrp_config.h"

namespace ringlb {

// One instance that holds VIPs. `announced` is the address list of its adverts (every
// configured VIP, in order: a peer that checks the list must accept the priority-0
// advert); `held` is what ringlbd added to `interface` and has not removed.
struct HeldInstance {
    std::string name;
    std::string interface;
    uint8_t vrid = 0;
    Ipv4 source = 0;                      // the advert's source: this host's address
    uint16_t advert_interval_cs = 100;    // centiseconds, as in the advert
    std::vector<Ipv4> unicast_peers;      // empty: multicast to 224.0.0.18
    std::vector<Ipv4> announced;
    std::vector<Ipv4Prefix> held;
    friend bool operator==(const HeldInstance&, const HeldInstance&) = default;
};

// Pure. One line per instance, a comment line first:
//   instance NAME dev=IF vrid=N source=A interval_cs=N peers=A,B|- announce=A,B held=A/L,B/L
std::string format_held_vips(const std::vector<HeldInstance>& instances);
// Pure. Blank lines and `#` comments are skipped; a line that does not parse fails the
// whole file, naming its line number (a half-understood file must not remove anything).
Result<std::vector<HeldInstance>> parse_held_vips(std::string_view text);

// Where the daemon started with `config_path` (absolute or not) keeps the file when no
// --state-file is given: under the runtime directory ($RUNTIME_DIRECTORY, which systemd
// sets for RuntimeDirectory=, else /run/ringlb), named after the config file's absolute
// path with '/' as '-' (as systemd-escape): /etc/ringlb/ringlb.conf →
// /run/ringlb/etc-ringlb-ringlb.conf.vips. One daemon per config file, one file each.
std::string default_held_vips_path(const std::string& config_path);

// Writes `instances` to `path` atomically: PATH.tmp written, then renamed over PATH
// (mode 0644); a reader sees the old file or the new one. Not fsynced: the file guards
// against a crash of the daemon, which the page cache survives, and after a crash of the
// host the addresses are gone too (and /run is a tmpfs). Missing directories are created.
Result<void> write_held_vips_file(const std::string& path, const std::vector<HeldInstance>& instances);
// nullopt when there is no file; a Failure when it cannot be read or parsed.
Result<std::optional<std::vector<HeldInstance>>> read_held_vips_file(const std::string& path);

}  // namespace ringlb
