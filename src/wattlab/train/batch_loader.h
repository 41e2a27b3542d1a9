// Turns an ImageDataset into training or evaluation batches of normalised
// floats: index gather, augmentation, uint8 -> float. With prefetch the work
// runs on a worker thread that keeps up to `prefetch_depth` ready batches in a
// bounded queue, so the model rarely waits on data; the batches are the same,
// in the same order, as without. Torch-free: the trainer wraps a Batch's
// buffers with torch::from_blob.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "wattlab/train/augment.h"
#include "wattlab/train/image_dataset.h"

namespace wattlab {

// One batch: `count` images of channels x height x width floats, and labels.
struct Batch {
  std::vector<float> images;    // count * channels * height * width, (pixel / 255 - mean[c]) / std[c]
  std::vector<int64_t> labels;  // count
  int64_t count = 0;
  int64_t begin = 0;            // position of the first image in the epoch's order
};

struct LoaderOptions {
  int64_t batch_size = 64;
  AugmentOptions augment;       // none for evaluation
  std::vector<double> mean;     // per channel, of pixels scaled to [0, 1]
  std::vector<double> std;      // per channel, > 0
  uint64_t seed = 0;            // augmentation seed of this pass (e.g. derived from run seed and epoch)
  int prefetch_depth = 2;       // ready batches kept ahead; 0: build each batch on demand
};

// Builds the batch of positions [begin, end) of `order` into `out`. The
// augmentation draws from AugmentRng(batch_seed(options.seed, begin)), so a
// batch's content depends only on the seed, the order and its position.
void make_batch(const ImageDataset& data, const std::vector<int64_t>& order, int64_t begin, int64_t end,
                const LoaderOptions& options, Batch& out);

// Seed of the augmentation generator of the batch starting at `begin`.
uint64_t batch_seed(uint64_t pass_seed, int64_t begin);

// One pass over `order` (indices into `data`) in batches of options.batch_size
// (the last one may be smaller). `data` must outlive the loader. Not
// thread-safe: one consumer calls next().
class BatchLoader {
 public:
  BatchLoader(const ImageDataset& data, std::vector<int64_t> order, LoaderOptions options);
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;
  // Stops the worker, discarding batches not taken.
  ~BatchLoader();

  // Moves the next batch into `out`; false after the last one.
  bool next(Batch& out);

  int64_t size() const { return static_cast<int64_t>(order_.size()); }

 private:
  void work();

  const ImageDataset& data_;
  const std::vector<int64_t> order_;
  const LoaderOptions options_;
  int64_t next_begin_ = 0;     // synchronous mode: the next batch to build

  std::mutex mutex_;
  std::condition_variable changed_;  // queue grew or shrank, or stop
  std::deque<Batch> ready_;          // built, not yet taken
  bool worker_done_ = false;         // the worker has queued the last batch
  bool stop_ = false;                // the destructor asks the worker to end
  std::thread worker_;               // empty without prefetch
};

}  // namespace wattlab
