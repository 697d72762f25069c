// Tables for ringlbctl's default (human) output.
#include "cli/table.h"

#include <algorithm>
#include <cctype>

namespace ringlb {

namespace {

using nlohmann::json;

std::string text_of(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
    if (value.is_null()) return "-";
    return value.dump();
}

std::string count_of(const json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() ? "-" : text_of(*it);
}

std::string status_of(const json& backend) { return count_of(backend, "status"); }

// Settings in the order of the config reference, then any others.
const char* const kSettingOrder[] = {"check_port", "check_interval", "check_timeout", "rise", "fall",
                                     "connect_timeout", "idle_timeout", "half_close_timeout", "queue_timeout",
                                     "retries", "max_connections", "max_conn_per_source", "rate_per_source",
                                     "splice", "proxy_protocol", "hash_table_size"};

std::string render_status(const json& r) {
    std::string out = "ringlbd " + text_of(r.value("version", json("?"))) + " (pid " + count_of(r, "pid") + "), up " +
                      format_uptime(r.value("uptime_ms", int64_t(0))) + "\n";
    Table t({"", ""});
    t.add({"workers", count_of(r, "workers")});
    t.add({"config", count_of(r, "config")});
    t.add({"listeners", count_of(r, "listeners") + " (" + count_of(r, "listeners_bound") + " bound)"});
    if (r.contains("access_log")) {
        const json& log = r["access_log"];
        std::string path = log.value("path", "");
        t.add({"access log", path.empty() ? "off"
                                          : path + " (" + count_of(log, "lines") + " lines, " +
                                                count_of(log, "dropped") + " dropped)"});
    }
    if (r.contains("vrrp") && r["vrrp"].is_array()) {
        for (const json& v : r["vrrp"])
            t.add({"vrrp " + v.value("name", std::string("?")),
                   v.value("state", std::string("?")) + ", priority " + count_of(v, "priority") +
                       (v.value("master", std::string()).empty() ? "" : ", master " + v.value("master", std::string()))});
    }
    std::string table = t.render();
    return out + table.substr(table.find('\n') + 1);  // no header row
}

std::string render_listener_list(const json& r) {
    Table t({"NAME", "BIND", "SCHEDULER", "CHECK", "BACKENDS", "UP", "BOUND"});
    t.numeric({4, 5});
    for (const json& l : r["listeners"]) {
        size_t up = 0;
        for (const json& b : l["backends"]) up += b.value("status", "") == "up" ? 1 : 0;
        t.add({text_of(l["name"]), text_of(l["bind"]), text_of(l["scheduler"]), text_of(l["check"]),
               std::to_string(l["backends"].size()), std::to_string(up), text_of(l["bound"])});
    }
    if (t.empty()) return "no listeners\n";
    return t.render();
}

Table backend_table(const json& backends) {
    Table t({"BACKEND", "WEIGHT", "BACKUP", "STATE", "STATUS", "ACTIVE", "CONNECTIONS", "ERRORS", "LAST_CHECK"});
    t.numeric({1, 5, 6, 7});
    for (const json& b : backends) {
        std::string last_check = b.value("last_check", "");
        t.add({text_of(b["address"]), count_of(b, "weight"), count_of(b, "backup"), count_of(b, "state"),
               status_of(b), count_of(b, "active"), count_of(b, "connections_total"), count_of(b, "connect_errors"),
               last_check.empty() ? "-" : last_check});
    }
    return t;
}

std::string render_listener_show(const json& r) {
    const json& l = r["listener"];
    std::string out = "listener " + text_of(l["name"]) + "\n";
    Table t({"", ""});
    t.add({"bind", text_of(l["bind"]) + (l.value("bound", false) ? "" : " (not bound)")});
    t.add({"scheduler", text_of(l["scheduler"])});
    t.add({"check", text_of(l["check"])});
    if (l.contains("settings")) {
        const json& settings = l["settings"];
        for (const char* key : kSettingOrder)
            if (settings.contains(key)) t.add({key, text_of(settings[key])});
        for (const auto& [key, value] : settings.items())
            if (std::find(std::begin(kSettingOrder), std::end(kSettingOrder), key) == std::end(kSettingOrder))
                t.add({key, text_of(value)});
    }
    if (l.contains("stats")) {
        const json& s = l["stats"];
        t.add({"connections", count_of(s, "connections_total") + " total, " + count_of(s, "active") + " active, " +
                                  count_of(s, "connections_refused") + " refused, " + count_of(s, "queue_timeouts") +
                                  " queue timeouts"});
        std::string rejected = count_of(s, "rejected_conn_limit") + " over max_conn_per_source, " +
                               count_of(s, "rejected_rate") + " over rate_per_source";
        if (s.value("source_untracked", uint64_t(0)) != 0)
            rejected += "; " + count_of(s, "source_untracked") + " let through untracked (source table full)";
        if (s.value("denied", uint64_t(0)) != 0) rejected += "; " + count_of(s, "denied") + " denied by allow/deny";
        t.add({"rejected", rejected});
        if (s.value("drain_closed", uint64_t(0)) != 0)
            t.add({"drain_closed", count_of(s, "drain_closed") + " closed by drain_timeout"});
        t.add({"bytes", count_of(s, "bytes_in") + " in, " + count_of(s, "bytes_out") + " out"});
    }
    std::string table = t.render();
    for (size_t start = table.find('\n') + 1; start < table.size();) {
        size_t end = table.find('\n', start);
        out += "  " + table.substr(start, end - start + 1);
        start = end + 1;
    }
    return out + "\n" + backend_table(l["backends"]).render();
}

std::string render_stats(const json& r) {
    Table listeners({"LISTENER", "ACTIVE", "CONNECTIONS", "REFUSED", "QUEUE_TIMEOUTS", "REJECTED_CONN",
                     "REJECTED_RATE", "BYTES_IN", "BYTES_OUT"});
    listeners.numeric({1, 2, 3, 4, 5, 6, 7, 8});
    Table backends({"LISTENER", "BACKEND", "STATE", "STATUS", "ACTIVE", "CONNECTIONS", "ERRORS"});
    backends.numeric({4, 5, 6});
    for (const json& l : r["listeners"]) {
        listeners.add({text_of(l["name"]), count_of(l, "active"), count_of(l, "connections_total"),
                       count_of(l, "connections_refused"), count_of(l, "queue_timeouts"),
                       count_of(l, "rejected_conn_limit"), count_of(l, "rejected_rate"), count_of(l, "bytes_in"),
                       count_of(l, "bytes_out")});
        for (const json& b : l["backends"])
            backends.add({text_of(l["name"]), text_of(b["address"]), count_of(b, "state"), status_of(b),
                          count_of(b, "active"), count_of(b, "connections_total"), count_of(b, "connect_errors")});
    }
    if (listeners.empty()) return "no listeners\n";
    return listeners.render() + "\n" + backends.render();
}

// A count per reason ({"bad_ttl": 3}) as "bad_ttl=3"; none as "-".
std::string cell_of(const json& value) {
    if (!value.is_object()) return text_of(value);
    std::string out;
    for (const auto& [key, count] : value.items()) out += (out.empty() ? "" : " ") + key + "=" + text_of(count);
    return out.empty() ? "-" : out;
}

// Instances as the VRRP runner reports them: one row each, columns from the keys.
std::string render_vrrp(const json& r) {
    const json& instances = r["instances"];
    if (!instances.is_array() || instances.empty()) return "no vrrp instances\n";
    std::vector<std::string> keys;
    for (const json& instance : instances)
        for (const auto& [key, value] : instance.items())
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    std::vector<std::string> header;
    for (const std::string& key : keys) {
        std::string upper = key;
        for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
        header.push_back(upper);
    }
    Table t(header);
    for (const json& instance : instances) {
        std::vector<std::string> row;
        for (const std::string& key : keys) row.push_back(instance.contains(key) ? cell_of(instance[key]) : "-");
        t.add(row);
    }
    return t.render();
}

// The message, then one row per changed setting: what it was, what it is, and what the
// reload did about it (applied, needs a restart, instance restarted).
std::string render_reload(const json& r) {
    std::string out = r.value("message", std::string("done")) + "\n";
    if (!r.contains("changes") || !r["changes"].is_array() || r["changes"].empty()) return out;
    auto value_text = [](const json& change, const char* key) {
        std::string text = change.value(key, std::string());
        return text.empty() ? std::string("-") : text;
    };
    Table t({"SETTING", "FROM", "TO", "RESULT", "DETAIL"});
    for (const json& change : r["changes"])
        t.add({change.value("setting", std::string("?")), value_text(change, "from"), value_text(change, "to"),
               change.value("result", std::string("?")), change.value("detail", std::string())});
    return out + t.render();
}

}  // namespace

Table& Table::numeric(std::vector<size_t> columns) {
    numeric_.assign(header_.size(), false);
    for (size_t c : columns)
        if (c < numeric_.size()) numeric_[c] = true;
    return *this;
}

void Table::add(std::vector<std::string> row) {
    row.resize(header_.size());
    rows_.push_back(std::move(row));
}

std::string Table::render() const {
    std::vector<size_t> width(header_.size(), 0);
    for (size_t c = 0; c < header_.size(); ++c) {
        width[c] = header_[c].size();
        for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (size_t c = 0; c < cells.size(); ++c) {
            const bool right = c < numeric_.size() && numeric_[c];
            const std::string pad(width[c] - cells[c].size(), ' ');
            if (c > 0) text += "  ";
            text += right ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out += text + "\n";
    };
    line(header_);
    for (const auto& row : rows_) line(row);
    return out;
}

std::string format_uptime(int64_t ms) {
    int64_t s = std::max<int64_t>(0, ms / 1000);
    int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
    if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
    if (m > 0) return std::to_string(m) + "m " + std::to_string(s % 60) + "s";
    return std::to_string(s) + "s";
}

CliOutput present_answer(CommandKind kind, bool json_output, std::string_view line) {
    json response = json::parse(line, nullptr, false);
    if (response.is_discarded() || !response.is_object() || !response.contains("ok"))
        return {kExitUnreachable, "", "ringlbctl: not a ringlbd answer: " + std::string(line.substr(0, 200)) + "\n"};
    const bool ok = response["ok"].is_boolean() && response["ok"].get<bool>();
    if (json_output) return {ok ? kExitDone : kExitRefused, std::string(line) + "\n", ""};
    if (!ok) return {kExitRefused, "", "ringlbctl: " + response.value("error", std::string("refused")) + "\n"};
    return {kExitDone, render_response(kind, response), ""};
}

std::string render_response(CommandKind kind, const json& response) {
    switch (kind) {
        case CommandKind::kStatus: return render_status(response);
        case CommandKind::kListenerList: return render_listener_list(response);
        case CommandKind::kListenerShow: return render_listener_show(response);
        case CommandKind::kStats: return render_stats(response);
        case CommandKind::kVrrpStatus: return render_vrrp(response);
        case CommandKind::kReload: return render_reload(response);
        default: break;
    }
    std::string message = response.value("message", "done");
    return message + "\n";
}

}  // namespace ringlb
