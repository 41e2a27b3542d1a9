// An image classification split in memory, whatever file format it came from:
// uint8 pixels laid out N x C x H x W (image after image, channel planes in
// each) and one int64 label per image. Every reader (IDX, CIFAR, image
// folders) produces one; the trainer and the loader consume it. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/train/idx.h"

namespace wattlab {

struct ImageDataset {
  std::vector<uint8_t> pixels;  // count * channels * height * width bytes
  std::vector<int64_t> labels;  // count labels, each in [0, num_classes)
  int64_t count = 0;
  int64_t channels = 1;         // 1 (grey) or 3 (RGB)
  int64_t height = 0;           // pixels
  int64_t width = 0;            // pixels
  int64_t num_classes = 0;      // classes of the whole data set, not only those present
  int64_t images_in_files = 0;  // images the split's files hold, before a subset was taken (>= count)
  std::vector<std::string> class_names;  // num_classes names when the format has them, else empty

  int64_t image_bytes() const { return channels * height * width; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
};

// An IDX split as an ImageDataset (one channel).
ImageDataset to_image_dataset(IdxDataset idx);

// The images `indices` of `data`, in that order (labels, shape and classes kept).
// Every index must be in [0, data.count).
ImageDataset select_images(const ImageDataset& data, const std::vector<int64_t>& indices);

// Resizes one image of `channels` planes from in_h x in_w to out_h x out_w with
// bilinear interpolation (pixel centres aligned, as OpenCV's INTER_LINEAR and
// PyTorch's align_corners=False), rounding to the nearest byte. Same size: a copy.
void resize_bilinear(const uint8_t* in, int64_t channels, int64_t in_h, int64_t in_w, uint8_t* out,
                     int64_t out_h, int64_t out_w);

// Every image of `data` resized to height x width (bilinear); a no-op when the
// size is already that.
void resize_images(ImageDataset& data, int64_t height, int64_t width);

// Per-channel mean and standard deviation of the pixels scaled to [0, 1]
// (population std), computed from byte histograms so the result does not depend
// on summation order. An empty data set gives mean 0 and std 1.
struct ChannelStats {
  std::vector<double> mean;  // one per channel
  std::vector<double> std;   // one per channel, > 0
};
ChannelStats channel_stats(const ImageDataset& data);

}  // namespace wattlab
