// ringlbctl argument parsing: global options, then the command's words and flags.
#include "cli/cli_args.h"

#include <charconv>
#include <cstdlib>

#include "core/config/config_names.h"

namespace ringlb {

namespace {

struct Failure {
    std::string message;
};

[[noreturn]] void fail(std::string message) { throw Failure{std::move(message)}; }

// The command's words and flags after the global options are taken out.
class Words {
public:
    explicit Words(std::vector<std::string> words) : words_(std::move(words)) {}

    bool empty() const { return next_ >= words_.size(); }
    std::string take(const std::string& what) {
        if (empty()) fail("missing " + what);
        const std::string& word = words_[next_];
        if (word.starts_with("--")) fail("missing " + what + " (before " + word + ")");
        return words_[next_++];
    }
    // The next flag and its value ("--weight 3" or "--weight=3").
    bool flag(std::string* name, std::optional<std::string>* inline_value) {
        if (empty()) return false;
        const std::string& word = words_[next_];
        if (!word.starts_with("--")) fail("unexpected '" + word + "'");
        ++next_;
        size_t eq = word.find('=');
        *name = word.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        if (eq != std::string::npos) *inline_value = word.substr(eq + 1);
        else inline_value->reset();
        return true;
    }
    std::string value(const std::string& flag, const std::optional<std::string>& inline_value) {
        if (inline_value) return *inline_value;
        if (empty()) fail("--" + flag + " needs a value");
        return words_[next_++];
    }
    void done() {
        if (!empty()) fail("unexpected '" + words_[next_] + "'");
    }

private:
    std::vector<std::string> words_;
    size_t next_ = 0;
};

InetAddr parse_address(const std::string& text, const std::string& what) {
    auto address = InetAddr::parse(text);
    if (!address) fail("bad " + what + " '" + text + "' (expected IPV4:PORT or [IPV6]:PORT)");
    return *address;
}

uint32_t parse_weight(const std::string& text) {
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value == 0)
        fail("bad weight '" + text + "' (expected a positive number)");
    return value;
}

// "ADDR:PORT[,weight=N][,backup]"
BackendSpec parse_backend_spec(const std::string& text) {
    BackendSpec spec;
    size_t comma = text.find(',');
    spec.address = parse_address(text.substr(0, comma), "--backend address");
    while (comma != std::string::npos) {
        size_t next = text.find(',', comma + 1);
        std::string option = text.substr(comma + 1, next == std::string::npos ? std::string::npos : next - comma - 1);
        if (option == "backup") spec.backup = true;
        else if (option.starts_with("weight=")) spec.weight = parse_weight(option.substr(7));
        else fail("bad --backend option '" + option + "' (expected weight=N or backup)");
        comma = next;
    }
    return spec;
}

std::string check_name(const std::string& name) {
    if (!is_valid_listener_name(name))
        fail("bad listener name '" + name + "' (letters, digits, '-' and '_', at most 64)");
    return name;
}

Request parse_command(Words& words) {
    Request request;
    std::string verb = words.take("a command (see --help)");
    std::string flag;
    std::optional<std::string> inline_value;
    auto unknown_flag = [&](const std::string& command) { fail("unknown option --" + flag + " for '" + command + "'"); };

    if (verb == "status" || verb == "reload") {
        request.kind = verb == "status" ? CommandKind::kStatus : CommandKind::kReload;
    } else if (verb == "stats") {
        request.kind = CommandKind::kStats;
        if (!words.empty()) request.listener = check_name(words.take("a listener"));
    } else if (verb == "vrrp") {
        std::string what = words.take("'status' after 'vrrp'");
        if (what != "status") fail("unknown command 'vrrp " + what + "' (expected 'vrrp status')");
        request.kind = CommandKind::kVrrpStatus;
    } else if (verb == "listener") {
        std::string what = words.take("list, show, add or remove after 'listener'");
        if (what == "list") {
            request.kind = CommandKind::kListenerList;
        } else if (what == "show" || what == "remove") {
            request.kind = what == "show" ? CommandKind::kListenerShow : CommandKind::kListenerRemove;
            request.listener = check_name(words.take("the listener's name"));
        } else if (what == "add") {
            request.kind = CommandKind::kListenerAdd;
            request.listener = check_name(words.take("the listener's name"));
            auto once = [&](bool given) {
                if (given) fail("--" + flag + " given twice");
            };
            while (words.flag(&flag, &inline_value)) {
                if (flag == "bind") {
                    once(request.bind.has_value());
                    request.bind = parse_address(words.value(flag, inline_value), "--bind");
                } else if (flag == "scheduler") {
                    once(request.scheduler.has_value());
                    request.scheduler = words.value(flag, inline_value);
                } else if (flag == "check") {
                    once(request.check.has_value());
                    request.check = words.value(flag, inline_value);
                } else if (flag == "backend") {
                    request.backends.push_back(parse_backend_spec(words.value(flag, inline_value)));
                } else {
                    unknown_flag("listener add");
                }
            }
            if (!request.bind) fail("listener add: --bind ADDR:PORT is required");
            if (request.backends.empty()) fail("listener add: give at least one --backend ADDR:PORT");
        } else {
            fail("unknown command 'listener " + what + "' (expected list, show, add or remove)");
        }
    } else if (verb == "backend") {
        std::string what = words.take("add, remove or set after 'backend'");
        if (what == "add") request.kind = CommandKind::kBackendAdd;
        else if (what == "remove") request.kind = CommandKind::kBackendRemove;
        else if (what == "set") request.kind = CommandKind::kBackendSet;
        else fail("unknown command 'backend " + what + "' (expected add, remove or set)");
        request.listener = check_name(words.take("the listener's name"));
        request.address = parse_address(words.take("the backend's ADDR:PORT"), "backend address");
        while (words.flag(&flag, &inline_value)) {
            if (flag == "weight" && what != "remove") {
                request.weight = parse_weight(words.value(flag, inline_value));
            } else if (flag == "backup" && what == "add") {
                if (inline_value) fail("--backup takes no value");
                request.backup = true;
            } else if (flag == "state" && what == "set") {
                std::string state = words.value(flag, inline_value);
                auto parsed = parse_backend_state(state);
                if (!parsed) fail("bad --state '" + state + "' (expected ready, drain or maint)");
                request.state = *parsed;
            } else {
                unknown_flag("backend " + what);
            }
        }
        if (what == "set" && !request.weight && !request.state) fail("backend set: give --weight N and/or --state S");
    } else {
        fail("unknown command '" + verb + "' (see --help)");
    }
    words.done();
    return request;
}

}  // namespace

std::string cli_usage() {
    return R"(Usage: ringlbctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND

Manage a running ringlbd through its control socket. Changes apply at once and
are written back to ringlbd's configuration file.

Commands:
  status
  listener list
  listener show NAME
  listener add NAME --bind ADDR:PORT [--scheduler leastconn|source-hash|roundrobin]
                    [--check SPEC] --backend ADDR:PORT[,weight=N][,backup] ...
  listener remove NAME
  backend add LISTENER ADDR:PORT [--weight N] [--backup]
  backend remove LISTENER ADDR:PORT
  backend set LISTENER ADDR:PORT [--weight N] [--state ready|drain|maint]
  stats [LISTENER]
  vrrp status
  reload

Options:
  --socket PATH   the control socket (default /run/ringlb/ringlbd.sock)
  --json          print ringlbd's JSON response as it is
  --timeout S     give up waiting for the answer after S seconds (default 30)
  -h, --help      this help;  -V, --version  the version

Exit status: 0 done, 1 refused (by ringlbd, or a wrong command line),
2 ringlbd unreachable.
)";
}

CliParse parse_cli(const std::vector<std::string>& args) {
    CliParse result;
    CliInvocation invocation;
    std::vector<std::string> rest;
    try {
        for (size_t i = 0; i < args.size(); ++i) {
            const std::string& arg = args[i];
            auto value_of = [&](const std::string& name) -> std::string {
                if (arg.size() > name.size() && arg[name.size()] == '=') return arg.substr(name.size() + 1);
                if (i + 1 >= args.size()) fail(name + " needs a value");
                return args[++i];
            };
            if (arg == "--json" || arg == "-j") invocation.json = true;
            else if (arg == "--help" || arg == "-h") invocation.help = true;
            else if (arg == "--version" || arg == "-V") invocation.version = true;
            else if (arg == "--socket" || arg.starts_with("--socket=")) invocation.socket = value_of("--socket");
            else if (arg == "-s") invocation.socket = value_of("-s");
            else if (arg == "--timeout" || arg.starts_with("--timeout=")) {
                std::string text = value_of("--timeout");
                char* end = nullptr;
                invocation.timeout_s = std::strtod(text.c_str(), &end);
                if (end == text.c_str() || *end != '\0' || !(invocation.timeout_s > 0) || invocation.timeout_s > 86400)
                    fail("bad --timeout '" + text + "' (expected seconds, more than 0)");
            } else rest.push_back(arg);
        }
        if (invocation.help || invocation.version) {
            result.invocation = invocation;
            return result;
        }
        Words words(std::move(rest));
        invocation.request = parse_command(words);
        result.invocation = invocation;
    } catch (const Failure& failure) {
        result.error = failure.message;
    }
    return result;
}

}  // namespace ringlb
