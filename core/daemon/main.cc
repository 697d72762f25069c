// ringlbd: command line, config loading and start-up checks; the rest is Daemon.
#include <sys/resource.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "core/base/log.h"
#include "core/base/uring.h"
#include "core/base/version.h"
#include "core/config/config_parse.h"
#include "core/config/config_store.h"
#include "core/daemon/daemon.h"
#include "vrrp/held_vips_file.h"
#include "vrrp/vrrp_check.h"
#include "vrrp/vrrp_runner.h"

namespace po = boost::program_options;
using namespace ringlb;

namespace {

void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    getrlimit(RLIMIT_NOFILE, &limit);
    spdlog::info("open files limit: {}", static_cast<unsigned long long>(limit.rlim_cur));
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description options("ringlbd options");
    options.add_options()
        ("config,c", po::value<std::string>()->default_value("/etc/ringlb/ringlb.conf"), "configuration file")
        ("check", "validate the configuration file and exit (0 valid, 1 invalid)")
        ("release", "after ringlbd died: send a priority-0 VRRP advert for each VIP still on this "
                    "host and remove it, so the peer takes over at once (systemd ExecStopPost)")
        ("state-file", po::value<std::string>(), "the file of the VIPs this host holds (default: under "
                       "$RUNTIME_DIRECTORY or /run/ringlb, named after the config file's path)")
        ("help,h", "show this help")
        ("version,V", "show the version");
    po::variables_map args;
    try {
        po::store(po::parse_command_line(argc, argv, options), args);
        po::notify(args);
    } catch (const po::error& error) {
        std::cerr << "ringlbd: " << error.what() << "\n" << options;
        return 2;
    }
    if (args.count("help")) {
        std::cout << "Usage: ringlbd [-c FILE] [--check | --release]\n\n"
                     "Layer-4 TCP load balancer: io_uring + splice forwarding, VRRP failover.\n\n"
                  << options;
        return 0;
    }
    if (args.count("version")) {
        std::cout << "ringlbd " << RINGLB_VERSION << "\n";
        return 0;
    }
    const std::string path = args["config"].as<std::string>();
    const std::string state_file =
        args.count("state-file") ? args["state-file"].as<std::string>() : default_held_vips_path(path);
    // --release hands over first, from the state file alone; the config comes after.
    std::vector<std::string> recorded;
    if (args.count("release")) {
        init_logging("info");
        recorded = release_recorded(state_file);
    }
    // Loaded through the store, which remembers the content: ringlbctl's
    // write-backs refuse to overwrite a file edited since.
    auto store = std::make_shared<ConfigStore>(path);
    ConfigParseResult loaded = store->load();
    if (args.count("release")) {
        if (!loaded.config) {
            for (const ConfigError& error : loaded.errors) std::cerr << error.to_string() << "\n";
            std::cerr << "ringlbd --release: cannot read the VRRP instances from " << path << "\n";
            std::cout << "ringlbd --release: " << recorded.size() << " VRRP instance(s) released\n";
            return 1;
        }
        const int released = int(recorded.size()) + release_vips(loaded.config->vrrp);
        std::cout << "ringlbd --release: " << released << " VRRP instance(s) released\n";
        return 0;
    }
    if (loaded.ok()) {
        // What only the running host can tell: interfaces and notify scripts exist.
        for (auto& error : check_vrrp_interfaces(*loaded.config)) loaded.errors.push_back(error);
        for (auto& error : check_vrrp_notify_scripts(*loaded.config)) loaded.errors.push_back(error);
        for (auto& error : check_vrrp_static_vips(*loaded.config)) loaded.errors.push_back(error);
    }
    if (args.count("check")) {
        for (const ConfigError& error : loaded.errors) std::cerr << error.to_string() << "\n";
        if (!loaded.ok()) return 1;
        std::cout << path << ": OK (" << loaded.config->listeners.size() << " listener(s))\n";
        return 0;
    }
    if (!loaded.ok()) {
        for (const ConfigError& error : loaded.errors) std::cerr << error.to_string() << "\n";
        std::cerr << "ringlbd: " << path << ": " << loaded.errors.size() << " error(s), not starting\n";
        return 1;
    }
    try {
        init_logging(loaded.config->global.log_level);
    } catch (const std::exception& error) {
        std::cerr << "ringlbd: " << error.what() << "\n";
        return 1;
    }
    if (Result<void> features = probe_kernel_features(); !features) {
        spdlog::critical("{}", features.error());
        return 1;
    }
    raise_fd_limit();
    Daemon::block_signals();
    try {
        Daemon daemon(store, loaded.config, state_file);
        return daemon.run();
    } catch (const std::exception& error) {
        spdlog::critical("{}", error.what());
        return 1;
    }
}
