#include "wattlab/train/image_dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace wattlab {

ImageDataset to_image_dataset(IdxDataset idx) {
  ImageDataset data;
  data.count = idx.count;
  data.images_in_files = idx.count_in_file;
  data.channels = 1;
  data.height = idx.rows;
  data.width = idx.cols;
  data.num_classes = idx.num_classes;
  data.pixels = std::move(idx.pixels);
  data.labels.assign(idx.labels.begin(), idx.labels.end());
  return data;
}

ImageDataset select_images(const ImageDataset& data, const std::vector<int64_t>& indices) {
  ImageDataset out;
  out.count = static_cast<int64_t>(indices.size());
  out.channels = data.channels;
  out.height = data.height;
  out.width = data.width;
  out.num_classes = data.num_classes;
  out.images_in_files = data.images_in_files;
  out.class_names = data.class_names;
  const int64_t bytes = data.image_bytes();
  out.pixels.resize(static_cast<size_t>(out.count * bytes));
  out.labels.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    std::memcpy(out.pixels.data() + i * bytes, data.image(indices[i]), static_cast<size_t>(bytes));
    out.labels[i] = data.labels[indices[i]];
  }
  return out;
}

void resize_bilinear(const uint8_t* in, int64_t channels, int64_t in_h, int64_t in_w, uint8_t* out, int64_t out_h,
                     int64_t out_w) {
  if (in_h == out_h && in_w == out_w) {
    std::memcpy(out, in, static_cast<size_t>(channels * in_h * in_w));
    return;
  }
  // Source coordinate of an output pixel centre, clamped to the image.
  auto source = [](int64_t o, int64_t in_size, int64_t out_size, int64_t& i0, int64_t& i1, double& frac) {
    double s = (static_cast<double>(o) + 0.5) * static_cast<double>(in_size) / static_cast<double>(out_size) - 0.5;
    s = std::clamp(s, 0.0, static_cast<double>(in_size - 1));
    i0 = static_cast<int64_t>(std::floor(s));
    i1 = std::min(i0 + 1, in_size - 1);
    frac = s - static_cast<double>(i0);
  };
  for (int64_t c = 0; c < channels; ++c) {
    const uint8_t* plane = in + c * in_h * in_w;
    uint8_t* out_plane = out + c * out_h * out_w;
    for (int64_t y = 0; y < out_h; ++y) {
      int64_t y0, y1;
      double fy;
      source(y, in_h, out_h, y0, y1, fy);
      for (int64_t x = 0; x < out_w; ++x) {
        int64_t x0, x1;
        double fx;
        source(x, in_w, out_w, x0, x1, fx);
        const double top = plane[y0 * in_w + x0] * (1 - fx) + plane[y0 * in_w + x1] * fx;
        const double bottom = plane[y1 * in_w + x0] * (1 - fx) + plane[y1 * in_w + x1] * fx;
        const double v = top * (1 - fy) + bottom * fy;
        out_plane[y * out_w + x] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
}

void resize_images(ImageDataset& data, int64_t height, int64_t width) {
  if (data.height == height && data.width == width) return;
  std::vector<uint8_t> resized(static_cast<size_t>(data.count * data.channels * height * width));
  const int64_t out_bytes = data.channels * height * width;
  for (int64_t i = 0; i < data.count; ++i) {
    resize_bilinear(data.image(i), data.channels, data.height, data.width, resized.data() + i * out_bytes, height,
                    width);
  }
  data.pixels = std::move(resized);
  data.height = height;
  data.width = width;
}

ChannelStats channel_stats(const ImageDataset& data) {
  ChannelStats stats;
  const int64_t plane = data.height * data.width;
  for (int64_t c = 0; c < data.channels; ++c) {
    uint64_t histogram[256] = {};
    for (int64_t i = 0; i < data.count; ++i) {
      const uint8_t* p = data.image(i) + c * plane;
      for (int64_t k = 0; k < plane; ++k) ++histogram[p[k]];
    }
    double sum = 0, sum_sq = 0, n = 0;
    for (int v = 0; v < 256; ++v) {
      const double x = v / 255.0;
      const double h = static_cast<double>(histogram[v]);
      sum += x * h;
      sum_sq += x * x * h;
      n += h;
    }
    if (n == 0) {
      stats.mean.push_back(0);
      stats.std.push_back(1);
      continue;
    }
    const double mean = sum / n;
    stats.mean.push_back(mean);
    stats.std.push_back(std::sqrt(std::max(sum_sq / n - mean * mean, 1e-12)));
  }
  return stats;
}

}  // namespace wattlab
