// Which implementation runs each pass of each convolution and batch norm of
// a training run: wattlab's own kernels (models/) or LibTorch's, chosen by
// measurement on the machine at hand, as cuDNN's benchmark mode does. The
// speed of a kernel depends on the CPU (oneDNN has AVX-512 kernels, a 1 MiB
// L2 holds other blocks than 512 KiB), so no rule fixed in the code picks the
// faster one everywhere. Torch-free: the zoo's layers (models/kernel_session.h)
// wrap their passes as candidates; this file measures, remembers and records.
//
// For each shape and pass (forward, input gradient, weight gradient; forward
// and backward for batch norm) the first call times every candidate, keeps the
// fastest for the rest of the run and records the choice. A cache keyed by CPU
// model, LibTorch version, sgemm micro-kernel, thread count, shape, pass and
// the candidates chosen among (one text file in the user's cache folder, safe
// to delete) spares the measurement in later runs of the same kernels; a
// resumed run replays the choices of its checkpoint, so it continues with the
// kernels, and the bits, of the run it continues.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// --kernels: auto measures; libtorch runs LibTorch's kernels everywhere
// (LibTorch's results bit for bit); wattlab runs ours wherever one applies.
enum class KernelMode { kAuto, kLibTorch, kWattlab };

// "auto", "libtorch" or "wattlab"; InvalidArgument naming --kernels otherwise.
Result<KernelMode> parse_kernel_mode(const std::string& text);
const char* kernel_mode_name(KernelMode mode);

// The name of LibTorch's implementation among the candidates.
inline constexpr char kLibTorchKernel[] = "libtorch";

// The implementation one layer used for one pass at one shape.
struct LayerKernel {
  std::string layer;           // the module's path in the model, "layer1.0.conv1"; "" when unnamed
  std::string shape;           // "conv 64->64 k3 s1 p1 64x28x28", "batchnorm+relu 64x64x28x28 train"
  std::string pass;            // "forward", "input_grad", "weight_grad" or "backward"
  std::string implementation;  // "libtorch", or ours: "winograd", "gemm", "depthwise", "subsampled", "wattlab"
  std::string timings;         // when measured here: each candidate's fastest repetition, "libtorch 12.1 ms,
                               // winograd 4.3 ms"
  std::string source;          // "measured"; "cache", "process" (an earlier run of this process) or
                               // "checkpoint" (remembered); "mode" (forced by --kernels); or "only"
                               // (LibTorch's was the one implementation that applied)
};

// One line per layer and shape: "layer1.0.conv1  conv 64->64 ...  forward=winograd
// input_grad=winograd weight_grad=libtorch" (the source of each choice in
// parentheses unless it was measured, the timings in brackets when it was).
std::string format_layer_kernels(const std::vector<LayerKernel>& layers);

// One implementation of a pass, for KernelChooser::choose.
struct KernelCandidate {
  std::string name;           // kLibTorchKernel or ours
  std::function<void()> run;  // one repetition of the pass on representative inputs, output discarded
};

struct KernelChooserOptions {
  KernelMode mode = KernelMode::kAuto;
  int repetitions = 3;              // timed runs of each candidate, after one untimed warm-up run each
  std::function<double()> clock_s;  // what a repetition costs, in seconds; empty: the calling thread's CPU time
  // The cache file, "" for none (default_kernel_cache_path() for the user's),
  // and what its entries must have been measured on (kernel_cache_scope()).
  std::string cache_path;
  std::string cache_scope;
};

// Chooses, remembers and records. One per training run; thread-compatible
// (choose() is called from the thread that runs the model's forward and
// backward).
class KernelChooser {
 public:
  // Reads the entries of options.cache_path that belong to options.cache_scope
  // (a missing or unreadable cache is an empty one).
  explicit KernelChooser(KernelChooserOptions options);
  KernelChooser(const KernelChooser&) = delete;
  KernelChooser& operator=(const KernelChooser&) = delete;

  KernelMode mode() const { return options_.mode; }

  // The index in `candidates` (not empty, LibTorch's first) of the
  // implementation for `pass` at `shape`, recorded for `layer`. The first call
  // for a (shape, pass) decides: with --kernels libtorch candidates[0], with
  // wattlab candidates[1] when there is one; in auto mode the choice replayed
  // from a checkpoint, else one made earlier in this process for the same
  // scope among the same candidates, else the cache's (likewise), else the
  // candidate whose fastest repetition was fastest (interleaved, each run once
  // untimed first; a tie goes to the earlier candidate). Later calls return the same index without running
  // anything. A remembered name that no candidate has is measured anew.
  size_t choose(const std::string& layer, const std::string& shape, const std::string& pass,
                const std::vector<KernelCandidate>& candidates);

  // Makes choose() return these implementations (by "shape|pass" key, as
  // choices() gives them): a checkpoint's, for a resumed run.
  void replay(const std::map<std::string, std::string>& choices);

  // Every choice made or replayed so far, "shape|pass" -> implementation.
  std::map<std::string, std::string> choices() const { return choices_; }

  // What each layer used, in the order first asked.
  const std::vector<LayerKernel>& layers() const { return layers_; }

  // Seconds spent measuring so far, on options.clock_s (the calling thread's
  // CPU time by default).
  double measuring_s() const { return measuring_s_; }

  // Adds this run's measured choices to the cache file (its other entries
  // kept; an entry already there for the same scope and key wins), through a
  // temporary file renamed over it. OK without a cache path; IoError naming
  // the file when it cannot be written.
  Status save_cache() const;

 private:
  // The index of the fastest candidate; its timings into *timings.
  size_t measure(const std::vector<KernelCandidate>& candidates, std::string* timings);

  const KernelChooserOptions options_;
  std::map<std::string, std::string> cached_;    // the cache file's entries for this scope
  std::map<std::string, std::string> replayed_;  // a checkpoint's
  std::map<std::string, std::string> choices_;   // decided in this run
  std::map<std::string, std::string> measured_;  // the subset measured here, for the cache
  std::map<std::string, std::string> sources_;   // how each was decided
  std::map<std::string, std::string> timings_;   // what the measured ones took
  std::set<std::string> recorded_;               // "layer|shape|pass" already in layers_
  std::vector<LayerKernel> layers_;
  double measuring_s_ = 0;
};

// $XDG_CACHE_HOME/wattlab/kernels.tsv, else ~/.cache/wattlab/kernels.tsv;
// "" when neither variable is set.
std::string default_kernel_cache_path();

// What a measurement depends on besides the shape: the CPU (model name,
// vendor, family, model and stepping from /proc/cpuinfo), the sgemm
// micro-kernel in use, `libtorch_version` and the thread count.
std::string kernel_cache_scope(int threads, const std::string& libtorch_version);

}  // namespace wattlab
