// The control plane's one error model: a function that can fail for a reason an
// operator should read returns Result<T>, a value or a Failure with that reason.
// Exceptions stay where start-up and config loading stop with FILE:LINE; the
// data path (Worker::run and below) neither throws nor returns Failures.
//
//   Result<int> parse_port(std::string_view text);       // return 8080; or return fail("...");
//   Result<void> apply(...);                              // return {};   or return fail("...");
//   if (auto port = parse_port(s); !port) log(port.error()); else use(*port);
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ringlb {

struct Failure {
    std::string reason;
};

inline Failure fail(std::string reason) { return Failure{std::move(reason)}; }

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Failure failure) : state_(std::in_place_index<1>, std::move(failure)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    // Only when ok().
    T& value() & { assert(ok()); return std::get<0>(state_); }
    const T& value() const& { assert(ok()); return std::get<0>(state_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    // Only when !ok(): why it failed, for the operator.
    const std::string& error() const { assert(!ok()); return std::get<1>(state_).reason; }

private:
    std::variant<T, Failure> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Failure failure) : failure_(std::move(failure)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const std::string& error() const { assert(failed_); return failure_.reason; }

private:
    Failure failure_;
    bool failed_ = false;
};

// Puts a parsed value into its field, or passes the failure on:
//   if (auto set = store_into(spec.weight, parse_weight(text)); !set) return set;
template <class Target, class T>
Result<void> store_into(Target& target, Result<T> parsed) {
    if (!parsed) return fail(parsed.error());
    target = std::move(*parsed);
    return {};
}

}  // namespace ringlb
