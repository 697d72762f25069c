// The held-VIPs state file; see held_vips_file.h.
#include "vrrp/held_vips_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/base/text.h"
#include "core/base/unique_fd.h"
#include "core/config/config_values.h"
#include "vrrp/vrrp_types.h"

namespace ringlb {
namespace {

constexpr std::string_view kHeader =
    "# ringlbd: the VIPs this host holds, rewritten at each change; read by ringlbd --release and at start\n";

std::string format_list(const std::vector<Ipv4>& addresses) {
    return addresses.empty() ? "-" : format_ipv4_list(addresses);
}

std::vector<std::string_view> split_commas(std::string_view text) {
    std::vector<std::string_view> parts;
    if (text == "-") return parts;
    size_t start = 0;
    for (;;) {
        const size_t comma = text.find(',', start);
        parts.push_back(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) return parts;
        start = comma + 1;
    }
}

bool parse_addresses(std::string_view text, std::vector<Ipv4>& out) {
    for (std::string_view part : split_commas(text)) {
        const std::optional<Ipv4> address = parse_ipv4(part);
        if (!address) return false;
        out.push_back(*address);
    }
    return true;
}

bool parse_prefixes(std::string_view text, std::vector<Ipv4Prefix>& out) {
    for (std::string_view part : split_commas(text)) {
        const size_t slash = part.find('/');
        if (slash == std::string_view::npos) return false;
        const std::optional<Ipv4> address = parse_ipv4(part.substr(0, slash));
        const std::optional<uint64_t> length = parse_config_uint(part.substr(slash + 1));
        if (!address || !length || *length > 32) return false;
        out.push_back({*address, uint8_t(*length)});
    }
    return true;
}

// One `key=value` word into `instance`; false when the key is unknown or the value bad.
bool parse_field(std::string_view word, HeldInstance& instance) {
    const size_t equals = word.find('=');
    if (equals == std::string_view::npos) return false;
    const std::string_view key = word.substr(0, equals), value = word.substr(equals + 1);
    if (key == "dev") {
        instance.interface = std::string(value);
        return !value.empty();
    }
    if (key == "vrid" || key == "interval_cs") {
        const std::optional<uint64_t> number = parse_config_uint(value);
        if (!number || *number == 0 || *number > (key == "vrid" ? 255u : 4095u)) return false;
        if (key == "vrid") instance.vrid = uint8_t(*number);
        else instance.advert_interval_cs = uint16_t(*number);
        return true;
    }
    if (key == "source") {
        const std::optional<Ipv4> address = parse_ipv4(value);
        if (address) instance.source = *address;
        return address.has_value();
    }
    if (key == "peers") return parse_addresses(value, instance.unicast_peers);
    if (key == "announce") return parse_addresses(value, instance.announced);
    if (key == "held") return parse_prefixes(value, instance.held);
    return false;
}

}  // namespace

std::string format_held_vips(const std::vector<HeldInstance>& instances) {
    std::string text(kHeader);
    for (const HeldInstance& i : instances) {
        std::string held;
        for (const Ipv4Prefix& vip : i.held) held += (held.empty() ? "" : ",") + format_vip(vip);
        text += "instance " + i.name + " dev=" + i.interface + " vrid=" + std::to_string(i.vrid) +
                " source=" + format_ipv4(i.source) + " interval_cs=" + std::to_string(i.advert_interval_cs) +
                " peers=" + format_list(i.unicast_peers) + " announce=" + format_list(i.announced) +
                " held=" + (held.empty() ? "-" : held) + "\n";
    }
    return text;
}

Result<std::vector<HeldInstance>> parse_held_vips(std::string_view text) {
    std::vector<HeldInstance> instances;
    size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const size_t end = text.find('\n');
        const std::string_view line = trim(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.empty() || line.front() == '#') continue;
        const std::vector<std::string_view> words = split_words(line);
        HeldInstance instance;
        bool ok = words.size() >= 2 && words[0] == "instance";
        if (ok) instance.name = std::string(words[1]);
        for (size_t w = 2; ok && w < words.size(); ++w) ok = parse_field(words[w], instance);
        if (!ok || instance.interface.empty() || instance.vrid == 0 || instance.source == 0)
            return fail("line " + std::to_string(line_number) + ": not an instance line: " + std::string(line));
        instances.push_back(std::move(instance));
    }
    return instances;
}

std::string default_held_vips_path(const std::string& config_path) {
    std::error_code error;
    std::string absolute = std::filesystem::absolute(config_path, error).lexically_normal().string();
    if (error) absolute = config_path;
    std::string name;
    for (char c : absolute) name += c == '/' ? '-' : c;
    while (!name.empty() && name.front() == '-') name.erase(0, 1);
    const char* runtime = std::getenv("RUNTIME_DIRECTORY");
    // systemd may list several directories, separated by ':': ours is the first.
    std::string directory = runtime && *runtime ? std::string(runtime) : std::string("/run/ringlb");
    directory = directory.substr(0, directory.find(':'));
    return directory + "/" + name + ".vips";
}

Result<void> write_held_vips_file(const std::string& path, const std::vector<HeldInstance>& instances) {
    auto failed = [&](const std::string& what, int error) {
        return fail("state file " + path + ": " + what + ": " + std::strerror(error));
    };
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code made;
    if (!parent.empty() && !std::filesystem::create_directories(parent, made) && made)
        return failed("cannot create " + parent.string(), made.value());
    const std::string temp = path + ".tmp";
    const std::string text = format_held_vips(instances);
    {
        UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) return failed("cannot open " + temp, errno);
        size_t written = 0;
        while (written < text.size()) {
            const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return failed("cannot write " + temp, n < 0 ? errno : EIO);
            written += size_t(n);
        }
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) return failed("cannot rename " + temp, errno);
    return {};
}

Result<std::optional<std::vector<HeldInstance>>> read_held_vips_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::optional<std::vector<HeldInstance>>{};
        return fail("state file " + path + ": cannot open: " + std::strerror(errno));
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("state file " + path + ": cannot read: " + std::strerror(errno));
        if (n == 0) break;
        text.append(buffer, size_t(n));
    }
    auto parsed = parse_held_vips(text);
    if (!parsed) return fail("state file " + path + ": " + parsed.error());
    return std::optional<std::vector<HeldInstance>>(std::move(*parsed));
}

}  // namespace ringlb
