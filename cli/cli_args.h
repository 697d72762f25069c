// ringlbctl's command line (DESIGN §7) → a control request. Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/control/control_proto.h"

namespace ringlb {

inline constexpr const char* kDefaultControlSocket = "/run/ringlb/ringlbd.sock";

// ringlbctl's exit status (DESIGN §7, and cli_usage): a wrong command line is "refused".
inline constexpr int kExitDone = 0;
inline constexpr int kExitRefused = 1;      // by ringlbd, or a wrong command line
inline constexpr int kExitUnreachable = 2;  // no answer from ringlbd, or not one it would give

struct CliInvocation {
    std::string socket = kDefaultControlSocket;
    bool json = false;
    bool help = false;
    bool version = false;
    double timeout_s = 30;
    Request request;
};

// args: argv[1..]. Options (--socket PATH, --json, --timeout S, --help) may
// stand anywhere; --opt=value works too. Fails with what is wrong with the command line.
Result<CliInvocation> parse_cli(const std::vector<std::string>& args);

std::string cli_usage();

}  // namespace ringlb
