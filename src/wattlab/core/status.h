// Errors as values. Every fallible call in wattlab returns a Status or a
// Result<T>; exceptions never cross a module boundary.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace wattlab {

class Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,   // the caller's input is wrong; the message names it
    kNotFound,          // a file, run, experiment... does not exist
    kAlreadyExists,
    kPermissionDenied,  // the OS refused; the message says how to fix it
    kIoError,
    kCorrupt,           // data exists but is malformed (truncated file, bad magic)
    kUnavailable,       // hardware or service not present here
    kCancelled,         // stopped by a signal or a user request
    kInternal,
  };

  Status() = default;  // OK

  static Status ok_status() { return Status(); }
  static Status invalid_argument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status not_found(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status already_exists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status permission_denied(std::string msg) { return {Code::kPermissionDenied, std::move(msg)}; }
  static Status io_error(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status corrupt(std::string msg) { return {Code::kCorrupt, std::move(msg)}; }
  static Status unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status cancelled(std::string msg) { return {Code::kCancelled, std::move(msg)}; }
  static Status internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not found: <message>", or "OK".
  std::string to_string() const;
  // The same code with "context: " prepended to the message.
  Status with_context(const std::string& context) const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

const char* status_code_name(Status::Code code);

// A value or the Status explaining why there is none. Constructing a Result
// from an OK Status is a programming error.
template <class T>
class Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) { assert(!std::get<Status>(data_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(data_); }
  // Status of a failed result; OK for a value.
  Status status() const { return ok() ? Status() : std::get<Status>(data_); }
  T& value() & { assert(ok()); return std::get<T>(data_); }
  const T& value() const& { assert(ok()); return std::get<T>(data_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace wattlab

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define WATTLAB_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::wattlab::Status wattlab_status_ = (expr);  \
    if (!wattlab_status_.ok()) return wattlab_status_; \
  } while (0)

// Declares or assigns `lhs` from the value of the Result `expr`, or returns
// its Status from the enclosing function. Several statements: brace it in an
// unbraced if.
#define WATTLAB_ASSIGN_OR_RETURN(lhs, expr) \
  WATTLAB_ASSIGN_OR_RETURN_IMPL_(WATTLAB_STATUS_CONCAT_(wattlab_result_, __LINE__), lhs, expr)
#define WATTLAB_STATUS_CONCAT_INNER_(a, b) a##b
#define WATTLAB_STATUS_CONCAT_(a, b) WATTLAB_STATUS_CONCAT_INNER_(a, b)
#define WATTLAB_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                   \
  if (!result.ok()) return result.status();               \
  lhs = std::move(result).value()
