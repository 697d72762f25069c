// A config error as "FILE:LINE: message", and the collector every stage of the
// config parser reports into, so that one run finds every error of a file.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ringlb {

struct ConfigError {
    std::string file;
    int line = 0;           // 1-based; 0 when the error is about the file as a whole
    std::string message;

    std::string to_string() const;  // "FILE:LINE: message"
    bool operator==(const ConfigError&) const = default;
};

// Collects the errors of one file.
class ConfigDiagnostics {
public:
    explicit ConfigDiagnostics(std::string file) : file_(std::move(file)) {}

    void error(int line, std::string message);
    bool has_errors() const { return !errors_.empty(); }
    // Every error, sorted by line (stable, so one line's errors keep their order).
    std::vector<ConfigError> take_sorted();

private:
    std::string file_;
    std::vector<ConfigError> errors_;
};

}  // namespace ringlb
