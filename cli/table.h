// ringlbctl's output: aligned tables and key/value blocks built from ringlbd's
// JSON responses, and what is printed (and exited with) for an answer. Pure:
// text in, text out.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_args.h"
#include "core/control/control_proto.h"

namespace ringlb {

class Table {
public:
    explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
    // Columns whose cells are right-aligned (numbers).
    Table& numeric(std::vector<size_t> columns);
    void add(std::vector<std::string> row);
    std::string render() const;
    bool empty() const { return rows_.empty(); }

private:
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<bool> numeric_;
};

// The human text for a successful response to `kind` (ends with '\n').
std::string render_response(CommandKind kind, const nlohmann::json& response);

// What ringlbctl prints for ringlbd's answer and the status it exits with.
struct CliOutput {
    int exit_status = kExitDone;
    std::string out;  // for stdout
    std::string err;  // for stderr
};

// `line`: the answer without its '\n'. json_output (--json): the line as it is,
// else a table, or the error on stderr when ringlbd refused.
CliOutput present_answer(CommandKind kind, bool json_output, std::string_view line);

// "3d 4h", "2h 5m", "1m 7s", "12s"
std::string format_uptime(int64_t ms);

}  // namespace ringlb
