#include "wattlab/train/batch_loader.h"

#include <algorithm>
#include <array>

namespace wattlab {

uint64_t batch_seed(uint64_t pass_seed, int64_t begin) {
  AugmentRng mix(pass_seed ^ (static_cast<uint64_t>(begin) * 0xd1b54a32d192ed03ULL));
  return mix.next();
}

void make_batch(const ImageDataset& data, const std::vector<int64_t>& order, int64_t begin, int64_t end,
                const LoaderOptions& options, Batch& out) {
  const int64_t count = end - begin;
  const int64_t plane = data.height * data.width;
  const int64_t image_floats = data.channels * plane;
  out.count = count;
  out.begin = begin;
  out.images.resize(static_cast<size_t>(count * image_floats));
  out.labels.resize(static_cast<size_t>(count));

  // (v / 255 - mean) / std for every byte value, per channel: one lookup per pixel.
  std::vector<std::array<float, 256>> table(static_cast<size_t>(data.channels));
  for (int64_t c = 0; c < data.channels; ++c) {
    const double mean = c < static_cast<int64_t>(options.mean.size()) ? options.mean[c] : 0.0;
    const double std = c < static_cast<int64_t>(options.std.size()) ? options.std[c] : 1.0;
    for (int v = 0; v < 256; ++v) table[c][v] = static_cast<float>((v / 255.0 - mean) / std);
  }

  AugmentRng rng(batch_seed(options.seed, begin));
  std::vector<uint8_t> scratch(options.augment.any() ? static_cast<size_t>(image_floats) : 0);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = order[begin + i];
    const uint8_t* pixels = data.image(index);
    if (options.augment.any()) {
      augment_image(pixels, data.channels, data.height, data.width, options.augment, rng, scratch.data());
      pixels = scratch.data();
    }
    float* dst = out.images.data() + i * image_floats;
    for (int64_t c = 0; c < data.channels; ++c) {
      const auto& lut = table[c];
      for (int64_t k = 0; k < plane; ++k) dst[c * plane + k] = lut[pixels[c * plane + k]];
    }
    out.labels[i] = data.labels[index];
  }
}

BatchLoader::BatchLoader(const ImageDataset& data, std::vector<int64_t> order, LoaderOptions options)
    : data_(data), order_(std::move(order)), options_(std::move(options)) {
  if (options_.prefetch_depth > 0) worker_ = std::thread([this] { work(); });
}

BatchLoader::~BatchLoader() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void BatchLoader::work() {
  const auto total = static_cast<int64_t>(order_.size());
  for (int64_t begin = 0; begin < total; begin += options_.batch_size) {
    Batch batch;
    make_batch(data_, order_, begin, std::min(begin + options_.batch_size, total), options_, batch);
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return stop_ || static_cast<int>(ready_.size()) < options_.prefetch_depth; });
    if (stop_) return;
    ready_.push_back(std::move(batch));
    changed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  worker_done_ = true;
  changed_.notify_all();
}

bool BatchLoader::next(Batch& out) {
  if (!worker_.joinable()) {
    const auto total = static_cast<int64_t>(order_.size());
    if (next_begin_ >= total) return false;
    const int64_t end = std::min(next_begin_ + options_.batch_size, total);
    make_batch(data_, order_, next_begin_, end, options_, out);
    next_begin_ = end;
    return true;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || worker_done_; });
  if (ready_.empty()) return false;
  out = std::move(ready_.front());
  ready_.pop_front();
  changed_.notify_all();
  return true;
}

}  // namespace wattlab
