// ringlbctl argument parsing: global options, then the command's words and flags.
#include "cli/cli_args.h"

#include <charconv>
#include <cstdlib>
#include <span>

#include "core/config/config_names.h"

namespace ringlb {

namespace {

struct Flag {
    std::string name;
    std::optional<std::string> inline_value;  // from "--name=value"
};

// The command's words and flags after the global options are taken out.
class Words {
public:
    explicit Words(std::vector<std::string> words) : words_(std::move(words)) {}

    bool empty() const { return next_ >= words_.size(); }
    // The next word, which must not be a flag; `what` names it in the error.
    Result<std::string> take(const std::string& what) {
        if (empty()) return fail("missing " + what);
        const std::string& word = words_[next_];
        if (word.starts_with("--")) return fail("missing " + what + " (before " + word + ")");
        return words_[next_++];
    }
    // The next flag ("--weight 3" or "--weight=3"); nullopt when no word is left.
    Result<std::optional<Flag>> flag() {
        if (empty()) return std::optional<Flag>();
        const std::string& word = words_[next_];
        if (!word.starts_with("--")) return fail("unexpected '" + word + "'");
        ++next_;
        size_t eq = word.find('=');
        Flag flag{word.substr(2, eq == std::string::npos ? std::string::npos : eq - 2), std::nullopt};
        if (eq != std::string::npos) flag.inline_value = word.substr(eq + 1);
        return std::optional<Flag>(std::move(flag));
    }
    Result<std::string> value(const Flag& flag) {
        if (flag.inline_value) return *flag.inline_value;
        if (empty()) return fail("--" + flag.name + " needs a value");
        return words_[next_++];
    }
    Result<void> done() const {
        if (!empty()) return fail("unexpected '" + words_[next_] + "'");
        return {};
    }

private:
    std::vector<std::string> words_;
    size_t next_ = 0;
};

// Calls handle(flag) -> Result<void> for every flag left; stops at the first failure.
template <class Handle>
Result<void> for_each_flag(Words& words, Handle handle) {
    for (;;) {
        Result<std::optional<Flag>> next = words.flag();
        if (!next) return fail(next.error());
        if (!*next) return {};
        if (Result<void> handled = handle(**next); !handled) return handled;
    }
}

Result<InetAddr> parse_address(const std::string& text, const std::string& what) {
    auto address = InetAddr::parse(text);
    if (!address) return fail("bad " + what + " '" + text + "' (expected IPV4:PORT or [IPV6]:PORT)");
    return *address;
}

Result<uint32_t> parse_weight(const std::string& text) {
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value == 0)
        return fail("bad weight '" + text + "' (expected a positive number)");
    return value;
}

// "ADDR:PORT[,weight=N][,backup]"
Result<BackendSpec> parse_backend_spec(const std::string& text) {
    BackendSpec spec;
    size_t comma = text.find(',');
    if (Result<void> set = store_into(spec.address, parse_address(text.substr(0, comma), "--backend address")); !set)
        return fail(set.error());
    while (comma != std::string::npos) {
        size_t next = text.find(',', comma + 1);
        std::string option = text.substr(comma + 1, next == std::string::npos ? std::string::npos : next - comma - 1);
        if (option == "backup") {
            spec.backup = true;
        } else if (option.starts_with("weight=")) {
            if (Result<void> set = store_into(spec.weight, parse_weight(option.substr(7))); !set) return fail(set.error());
        } else {
            return fail("bad --backend option '" + option + "' (expected weight=N or backup)");
        }
        comma = next;
    }
    return spec;
}

// The next word as a listener's name.
Result<std::string> take_listener_name(Words& words, const std::string& what) {
    Result<std::string> name = words.take(what);
    if (name && !is_valid_listener_name(*name))
        return fail("bad listener name '" + *name + "' (letters, digits, '-' and '_', at most 64)");
    return name;
}

Failure unknown_flag(const Flag& flag, const std::string& command) {
    return fail("unknown option --" + flag.name + " for '" + command + "'");
}

Result<void> parse_listener_add_flags(Words& words, Request& request) {
    Result<void> flags = for_each_flag(words, [&](const Flag& flag) -> Result<void> {
        const bool given = (flag.name == "bind" && request.bind) || (flag.name == "scheduler" && request.scheduler) ||
                           (flag.name == "check" && request.check);
        if (given) return fail("--" + flag.name + " given twice");
        if (flag.name != "bind" && flag.name != "scheduler" && flag.name != "check" && flag.name != "backend")
            return unknown_flag(flag, "listener add");
        Result<std::string> value = words.value(flag);
        if (!value) return fail(value.error());
        if (flag.name == "bind") return store_into(request.bind, parse_address(*value, "--bind"));
        if (flag.name == "scheduler") return store_into(request.scheduler, std::move(value));
        if (flag.name == "check") return store_into(request.check, std::move(value));
        Result<BackendSpec> backend = parse_backend_spec(*value);
        if (!backend) return fail(backend.error());
        request.backends.push_back(std::move(*backend));
        return {};
    });
    if (!flags) return flags;
    if (!request.bind) return fail("listener add: --bind ADDR:PORT is required");
    if (request.backends.empty()) return fail("listener add: give at least one --backend ADDR:PORT");
    return {};
}

// listener set: --allow and --deny, each repeatable (the lists add up); "" alone clears.
Result<void> parse_listener_set_flags(Words& words, Request& request) {
    Result<void> flags = for_each_flag(words, [&](const Flag& flag) -> Result<void> {
        if (flag.name != "allow" && flag.name != "deny") return unknown_flag(flag, "listener set");
        Result<std::string> value = words.value(flag);
        if (!value) return fail(value.error());
        Result<std::vector<InetPrefix>> prefixes = parse_prefix_list(*value);
        if (!prefixes) return fail("bad --" + flag.name + ": " + prefixes.error());
        auto& list = flag.name == "allow" ? request.allow : request.deny;
        if (!list) list.emplace();
        list->insert(list->end(), prefixes->begin(), prefixes->end());
        return {};
    });
    if (!flags) return flags;
    if (!request.allow && !request.deny) return fail("listener set: give --allow CIDR,... and/or --deny CIDR,...");
    return {};
}

struct SubCommand {
    std::string_view word;
    CommandKind kind;
};

// The word after `verb` as one of `commands` ("listener" "add" → kListenerAdd);
// `expected` lists their words for the error.
Result<CommandKind> take_subcommand(Words& words, const std::string& verb, std::span<const SubCommand> commands,
                                    const std::string& expected) {
    Result<std::string> what = words.take(expected + " after '" + verb + "'");
    if (!what) return fail(what.error());
    for (const SubCommand& command : commands)
        if (command.word == *what) return command.kind;
    return fail("unknown command '" + verb + " " + *what + "' (expected " + expected + ")");
}

constexpr SubCommand kListenerCommands[] = {{"list", CommandKind::kListenerList},
                                            {"show", CommandKind::kListenerShow},
                                            {"add", CommandKind::kListenerAdd},
                                            {"remove", CommandKind::kListenerRemove},
                                            {"set", CommandKind::kListenerSet}};
constexpr SubCommand kBackendCommands[] = {{"add", CommandKind::kBackendAdd},
                                           {"remove", CommandKind::kBackendRemove},
                                           {"set", CommandKind::kBackendSet}};

// listener list | show NAME | remove NAME | add NAME --bind ... --backend ...
Result<Request> parse_listener_command(Words& words) {
    Result<CommandKind> kind =
        take_subcommand(words, "listener", kListenerCommands, "list, show, add, remove or set");
    if (!kind) return fail(kind.error());
    Request request;
    request.kind = *kind;
    if (request.kind == CommandKind::kListenerList) return request;
    if (Result<void> set = store_into(request.listener, take_listener_name(words, "the listener's name")); !set)
        return fail(set.error());
    if (request.kind == CommandKind::kListenerAdd)
        if (Result<void> flags = parse_listener_add_flags(words, request); !flags) return fail(flags.error());
    if (request.kind == CommandKind::kListenerSet)
        if (Result<void> flags = parse_listener_set_flags(words, request); !flags) return fail(flags.error());
    return request;
}

// The flags each backend command takes: --weight (add, set), --backup (add), --state (add, set).
Result<void> parse_backend_flag(Words& words, const Flag& flag, Request& request) {
    const CommandKind kind = request.kind;
    if (flag.name == "backup" && kind == CommandKind::kBackendAdd) {
        if (flag.inline_value) return fail("--backup takes no value");
        request.backup = true;
        return {};
    }
    if (!(flag.name == "weight" && kind != CommandKind::kBackendRemove) &&
        !(flag.name == "state" && kind != CommandKind::kBackendRemove))
        return unknown_flag(flag, std::string(command_name(kind)));
    Result<std::string> value = words.value(flag);
    if (!value) return fail(value.error());
    if (flag.name == "weight") return store_into(request.weight, parse_weight(*value));
    auto state = parse_backend_state(*value);
    if (!state) return fail("bad --state '" + *value + "' (expected ready, drain or maint)");
    request.state = *state;
    return {};
}

// backend add|remove|set LISTENER ADDR:PORT [flags]
Result<Request> parse_backend_command(Words& words) {
    Result<CommandKind> kind = take_subcommand(words, "backend", kBackendCommands, "add, remove or set");
    if (!kind) return fail(kind.error());
    Request request;
    request.kind = *kind;
    if (Result<void> set = store_into(request.listener, take_listener_name(words, "the listener's name")); !set)
        return fail(set.error());
    Result<std::string> address = words.take("the backend's ADDR:PORT");
    if (!address) return fail(address.error());
    if (Result<void> set = store_into(request.address, parse_address(*address, "backend address")); !set)
        return fail(set.error());
    Result<void> flags =
        for_each_flag(words, [&](const Flag& flag) { return parse_backend_flag(words, flag, request); });
    if (!flags) return fail(flags.error());
    if (request.kind == CommandKind::kBackendSet && !request.weight && !request.state)
        return fail("backend set: give --weight N and/or --state S");
    return request;
}

Result<Request> parse_command_words(const std::string& verb, Words& words) {
    Request request;
    if (verb == "status" || verb == "reload") {
        request.kind = verb == "status" ? CommandKind::kStatus : CommandKind::kReload;
        return request;
    }
    if (verb == "stats") {
        request.kind = CommandKind::kStats;
        if (words.empty()) return request;
        if (Result<void> set = store_into(request.listener, take_listener_name(words, "a listener")); !set)
            return fail(set.error());
        return request;
    }
    if (verb == "vrrp") {
        Result<std::string> what = words.take("'status' after 'vrrp'");
        if (!what) return fail(what.error());
        if (*what != "status") return fail("unknown command 'vrrp " + *what + "' (expected 'vrrp status')");
        request.kind = CommandKind::kVrrpStatus;
        return request;
    }
    if (verb == "listener") return parse_listener_command(words);
    if (verb == "backend") return parse_backend_command(words);
    return fail("unknown command '" + verb + "' (see --help)");
}

// The command: its verb, its words and flags, and nothing after them.
Result<Request> parse_command(Words& words) {
    Result<std::string> verb = words.take("a command (see --help)");
    if (!verb) return fail(verb.error());
    Result<Request> request = parse_command_words(*verb, words);
    if (!request) return request;
    if (Result<void> end = words.done(); !end) return fail(end.error());
    return request;
}

Result<double> parse_timeout(const std::string& text) {
    char* end = nullptr;
    double seconds = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(seconds > 0) || seconds > 86400)
        return fail("bad --timeout '" + text + "' (expected seconds, more than 0)");
    return seconds;
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
  listener set NAME [--allow CIDR,...] [--deny CIDR,...]
  backend add LISTENER ADDR:PORT [--weight N] [--backup] [--state ready|drain|maint]
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

Result<CliInvocation> parse_cli(const std::vector<std::string>& args) {
    CliInvocation invocation;
    std::vector<std::string> rest;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        // The value of option `name`: "--name=value" or the next argument.
        auto value_of = [&](const std::string& name) -> Result<std::string> {
            if (arg.size() > name.size() && arg[name.size()] == '=') return arg.substr(name.size() + 1);
            if (i + 1 >= args.size()) return fail(name + " needs a value");
            return args[++i];
        };
        Result<void> taken;
        if (arg == "--json" || arg == "-j") invocation.json = true;
        else if (arg == "--help" || arg == "-h") invocation.help = true;
        else if (arg == "--version" || arg == "-V") invocation.version = true;
        else if (arg == "--socket" || arg.starts_with("--socket=")) taken = store_into(invocation.socket, value_of("--socket"));
        else if (arg == "-s") taken = store_into(invocation.socket, value_of("-s"));
        else if (arg == "--timeout" || arg.starts_with("--timeout=")) {
            Result<std::string> text = value_of("--timeout");
            taken = text ? store_into(invocation.timeout_s, parse_timeout(*text)) : fail(text.error());
        } else rest.push_back(arg);
        if (!taken) return fail(taken.error());
    }
    if (invocation.help || invocation.version) return invocation;
    Words words(std::move(rest));
    if (Result<void> set = store_into(invocation.request, parse_command(words)); !set) return fail(set.error());
    return invocation;
}

}  // namespace ringlb
