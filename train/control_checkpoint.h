// train/control_checkpoint.h — trained controlled neural ODEs (train/control_ode.h) and what their
// runs recorded, saved in one safetensors file (chapter 11).
//
// A run of chapter 11 is a sequence of trained networks: the cycles of an adaptive or uniform
// refinement (each network as trained, before its split, with its AdaptiveCycle record), or the
// fixed-depth networks of a comparison. Each entry i is stored as
//   "<i>.tau", "<i>.controls", "<i>.head"           the network (F64; the mesh is the tau's sums)
//   "<i>.mesh", "<i>.indicators"                    the cycle's mesh and η_k (F64, may be empty)
//   "<i>.marked"                                    the intervals split after it (I64, may be empty)
//   "<i>.goal"                                      F64 [loss, regulariser, estimate,
//                                                        effectivity.estimate, effectivity.actual]
//   "<i>.counts"                                    I64 [layers, layer_passes, total_layer_passes]
//   "unfinished.tau", ".controls", ".head"           a network whose training was stopped part way
//   "unfinished.moments" (F64: Adam's m then v), "unfinished.step" (F64 [Armijo step]),
//   "unfinished.counts" (I64 [Adam's t, iterations done, layer passes])     (only when there is one)
//   metadata {"format": "stablenn-control-run", "version": "1", "entries": "<n>", "unfinished": "0|1",
//             "dim", "outputs", "activation", ...yours}
// Doubles are stored as they are, so a network read back predicts bit for bit what it predicted
// when it was saved. The file is written atomically: a crash during a save keeps the previous one.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "train/adaptive_refinement.h"

namespace stablenn {

// Chapter 11: one trained network of a run and its record (for a fixed-depth network only layers,
// goal and layer_passes of the record mean something).
struct ControlSnapshot {
  ControlledOde model;
  AdaptiveCycle cycle;
};

// Chapter 11: a network whose training (train_controls, run in pieces) was stopped part way: the
// network, the optimiser's state and how far it got. Pieces of train_controls with the same
// DescentState continue bit for bit (train/control_descent.h), so training can go on from here.
struct ControlTraining {
  ControlledOde model;
  DescentState state;
  int64_t iterations_done = 0;
  int64_t layer_passes = 0;  // so far
};

// Chapter 11: writes `snapshots` and, when given, the `unfinished` training (all of one dim, outputs
// and activation) to `path` atomically. Keys of `metadata` that the format uses ("format",
// "version", "entries", "unfinished", "dim", "outputs", "activation") are rejected.
void save_control_run(const std::string& path, const std::vector<ControlSnapshot>& snapshots,
                      const std::map<std::string, std::string>& metadata = {},
                      const ControlTraining* unfinished = nullptr);

// Chapter 11: reads a file written by save_control_run; its metadata go to `metadata` and its
// unfinished training (or nothing) to `unfinished` when given. Throws stablenn::Error naming the file
// when it is not such a file, when an entry is missing or has the wrong size or dtype (naming it), or
// when a number is NaN or infinite.
std::vector<ControlSnapshot> load_control_run(const std::string& path,
                                              std::map<std::string, std::string>* metadata = nullptr,
                                              std::optional<ControlTraining>* unfinished = nullptr);

}  // namespace stablenn
