// fetchpipe/timer_task.hpp — a move-only `void()` callable that keeps small captures in place.
//
// std::function keeps a callable in its own small buffer only when the callable is trivially
// copyable (libstdc++), so a closure that holds a std::shared_ptr costs a heap allocation each time
// it is made. A timer that keeps its fetch alive is exactly such a closure, made several times per
// fetch. TimerTask stores any callable of up to kInlineBytes whose move cannot throw in place,
// and only larger ones (or ones whose move may throw) on the heap. Scheduler::schedule_task takes
// one; the pipeline's and the memory transport's timers go through it.
//
// Example:
//   auto fetch_state = std::make_shared<int>(7);
//   fetchpipe::TimerTask task([fetch_state] { std::printf("%d\n", *fetch_state); });  // no allocation
//   task();  // prints 7
#pragma once
#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace fetchpipe {

class TimerTask {
 public:
  // Room for a std::shared_ptr plus four more words of captures, or a whole std::function.
  static constexpr std::size_t kInlineBytes = 48;

  TimerTask() noexcept = default;

  // An empty std::function (or a null function pointer) makes an empty TimerTask.
  template <typename F>
    requires(!std::is_same_v<std::decay_t<F>, TimerTask> && std::is_invocable_r_v<void, std::decay_t<F>&>)
  TimerTask(F&& fn) {  // NOLINT(google-explicit-constructor): a lambda converts, as to std::function
    using Fn = std::decay_t<F>;
    if constexpr (std::is_constructible_v<bool, const Fn&> && !std::is_class_v<Fn>) {
      if (!static_cast<bool>(fn)) return;  // a null function pointer
    } else if constexpr (std::is_same_v<Fn, std::function<void()>>) {
      if (!fn) return;
    }
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(fn));
      ops_ = &inline_ops<Fn>;
    } else {
      ::new (static_cast<void*>(storage_)) Fn*(new Fn(std::forward<F>(fn)));
      ops_ = &heap_ops<Fn>;
    }
  }

  TimerTask(TimerTask&& other) noexcept : ops_(other.ops_) {
    if (ops_ != nullptr) ops_->relocate(other.storage_, storage_);
    other.ops_ = nullptr;
  }

  TimerTask& operator=(TimerTask&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      if (ops_ != nullptr) ops_->relocate(other.storage_, storage_);
      other.ops_ = nullptr;
    }
    return *this;
  }

  // Destroys the callable (and its captures) now.
  TimerTask& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }

  TimerTask(const TimerTask&) = delete;
  TimerTask& operator=(const TimerTask&) = delete;
  ~TimerTask() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  // Calls the callable; throws std::bad_function_call when empty, as std::function does.
  void operator()() {
    if (ops_ == nullptr) throw std::bad_function_call();
    ops_->invoke(storage_);
  }

  // Whether a callable of type F is kept in place (no allocation).
  template <typename F>
  static constexpr bool fits_inline() noexcept {
    return sizeof(F) <= kInlineBytes && alignof(F) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<F>;
  }

 private:
  struct Ops {
    void (*invoke)(void* storage);
    void (*relocate)(void* from, void* to) noexcept;  // move-construct at `to`, destroy at `from`
    void (*destroy)(void* storage) noexcept;
  };

  template <typename Fn>
  static constexpr Ops inline_ops{
      [](void* s) { (*std::launder(static_cast<Fn*>(s)))(); },
      [](void* from, void* to) noexcept {
        Fn* source = std::launder(static_cast<Fn*>(from));
        ::new (to) Fn(std::move(*source));
        source->~Fn();
      },
      [](void* s) noexcept { std::launder(static_cast<Fn*>(s))->~Fn(); },
  };

  template <typename Fn>
  static constexpr Ops heap_ops{
      [](void* s) { (**std::launder(static_cast<Fn**>(s)))(); },
      [](void* from, void* to) noexcept { ::new (to) Fn*(*std::launder(static_cast<Fn**>(from))); },
      [](void* s) noexcept { delete *std::launder(static_cast<Fn**>(s)); },
  };

  void reset() noexcept {
    if (ops_ == nullptr) return;
    const Ops* ops = std::exchange(ops_, nullptr);
    ops->destroy(storage_);
  }

  alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

}  // namespace fetchpipe
