// Result<T>: a value or a gpucr::Error (an expected<T, Error> for C++20).
//
//   Result<int> parse(std::string_view);
//   Result<void> write(...);
//   int n = GPUCR_TRY(parse(s));        // returns the error from the enclosing function
//   if (auto r = write(...); !r) ...    // or inspect it
//
// Leaf code returns Result; nothing in gpucr throws for an expected failure. See ARCHITECTURE.md.
#pragma once

#include "util/error.hpp"

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace gpucr {

struct Unexpected {
  Error error;
};
inline Unexpected fail(Error e) { return Unexpected{std::move(e)}; }
inline Unexpected fail(std::string what, Exit exit = Exit::failed) {
  return Unexpected{Error(std::move(what), exit)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}
  template <class U>
    requires std::is_constructible_v<T, U&&> && (!std::is_same_v<std::decay_t<U>, Result>) &&
             (!std::is_same_v<std::decay_t<U>, Unexpected>) && (!std::is_same_v<std::decay_t<U>, T>)
  Result(U&& u) : v_(std::in_place_index<0>, T(std::forward<U>(u))) {}

  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

  T value_or(T other) const& { return ok() ? value() : std::move(other); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : err_(std::move(u.error)) {}

  explicit operator bool() const { return !err_; }
  bool ok() const { return !err_; }
  void value() const { assert(ok()); }
  const Error& error() const& { assert(!ok()); return *err_; }
  Error&& error() && { assert(!ok()); return std::move(*err_); }

 private:
  std::optional<Error> err_;
};

using Status = Result<void>;

}  // namespace gpucr

// Evaluates a Result; on error returns it from the enclosing function (which must return a
// Result), otherwise yields the value. GNU statement expression (g++ and clang).
#define GPUCR_TRY(expr)                                                   \
  ({                                                                      \
    auto&& gpucr_try_r_ = (expr);                                         \
    if (!gpucr_try_r_) return ::gpucr::Unexpected{std::move(gpucr_try_r_).error()}; \
    std::move(gpucr_try_r_).value();                                      \
  })
