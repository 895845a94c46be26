// autodiff/tape.h — the tape (Wengert list) and the switch that turns recording on and off
// (chapter 2).
//
// The tape lists the nodes of this thread in the order their ops ran. It holds them weakly: a node
// lives as long as the Var it produced (or a later node using that Var), so forgotten computations free
// themselves and the tape only needs an occasional sweep of dead entries. Backward walks it from the
// loss's entry towards the start: every node appears after the nodes of its inputs, so a single
// reverse pass sees each node after all of its consumers, with no recursion and no graph sort.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "autodiff/node.h"

namespace stablenn {

// Chapter 2: is recording on in this thread? On by default.
bool grad_enabled();
void set_grad_enabled(bool enabled);

// Chapter 2: RAII scope in which nothing is recorded (evaluation, optimiser updates).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

// RAII scope that sets recording on or off and restores the previous state (used by create_graph).
class GradModeScope {
 public:
  explicit GradModeScope(bool enabled);
  ~GradModeScope();
  GradModeScope(const GradModeScope&) = delete;
  GradModeScope& operator=(const GradModeScope&) = delete;

 private:
  bool previous_;
};

// Chapter 2: the tape of the current thread.
class Tape {
 public:
  struct Entry {
    uint64_t seq;
    std::weak_ptr<Node> node;
  };
  static Tape& current();

  void append(const std::shared_ptr<Node>& node);
  // Index of the entry with this sequence number; throws when it is not on this thread's tape.
  size_t index_of(uint64_t seq) const;
  const Entry& entry(size_t index) const { return entries_[index]; }
  size_t size() const { return entries_.size(); }
  // Number of nodes still alive (for tests and for the chapter's "memory released" check).
  size_t live_nodes() const;
  // Backward walks hold indices into the tape, so sweeping is paused while one runs.
  void begin_walk() { ++walks_; }
  void end_walk() { --walks_; }

 private:
  void sweep();  // drops entries whose node has died
  std::vector<Entry> entries_;
  uint64_t next_seq_ = 1;
  size_t sweep_at_ = 1024;
  int walks_ = 0;
};

}  // namespace stablenn
