// The one error convention across casewatch's modules: a Status (ok, or an error message) and a
// Result<T> (a value, or the Status saying why there is none). Messages name what failed and
// where, never a value about a child. Plain values; thread-safe as such.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace casewatch {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status error(std::string message) { return Status(Code::Error, std::move(message)); }
  // What was asked for does not exist (an HTTP API answers 404).
  static Status not_found(std::string message) { return Status(Code::NotFound, std::move(message)); }
  // Who asked may not do this (an HTTP API answers 403).
  static Status forbidden(std::string message) { return Status(Code::Forbidden, std::move(message)); }
  bool ok() const { return code_ == Code::Ok; }
  bool is_not_found() const { return code_ == Code::NotFound; }
  bool is_forbidden() const { return code_ == Code::Forbidden; }
  const std::string& message() const { return message_; }

 private:
  enum class Code { Ok, Error, NotFound, Forbidden };
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::Ok;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(Status status) : status_(std::move(status)) {}  // an error
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const std::string& message() const { return status_.message(); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace casewatch
