// load_train_data and detect_dataset of trainer.h: torch-free, so that they are
// tested (train_data_test) and compiled without LibTorch.
#include <algorithm>
#include <cmath>
#include <system_error>
#include <utility>

#include "wattlab/train/augment.h"
#include "wattlab/train/cifar.h"
#include "wattlab/train/idx.h"
#include "wattlab/train/image_folder.h"
#include "wattlab/train/split.h"
#include "wattlab/train/trainer.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

struct Splits {
  ImageDataset train;
  ImageDataset test;
};

// The --test-subset the loaders get: with --subset and no --test-subset the
// whole test split is loaded, and in_proportion() takes its share afterwards.
int64_t test_subset_to_load(const TrainConfig& c) { return c.subset > 0 && c.test_subset == 0 ? 0 : c.test_subset; }

Result<Splits> load_idx(const TrainConfig& c) {
  Result<IdxDataset> train = load_idx_dataset(c.data_dir, "train", c.subset);
  if (!train.ok()) return train.status();
  Result<IdxDataset> test = load_idx_dataset(c.data_dir, "t10k", test_subset_to_load(c));
  if (!test.ok()) return test.status();
  Splits s{to_image_dataset(std::move(*train)), to_image_dataset(std::move(*test))};
  s.train.num_classes = s.test.num_classes = std::max(s.train.num_classes, s.test.num_classes);
  return s;
}

Result<Splits> load_cifar(const TrainConfig& c, bool cifar100) {
  auto load = cifar100 ? load_cifar100 : load_cifar10;
  Result<ImageDataset> train = load(c.data_dir, "train", c.subset);
  if (!train.ok()) return train.status();
  Result<ImageDataset> test = load(c.data_dir, "test", test_subset_to_load(c));
  if (!test.ok()) return test.status();
  return Splits{std::move(*train), std::move(*test)};
}

Result<Splits> load_folder(const TrainConfig& c) {
  const fs::path root = c.data_dir;
  fs::path test_root = root / "test";
  if (!path_exists(test_root) && path_exists(root / "val")) test_root = root / "val";
  if (!path_exists(root / "train") || !path_exists(test_root)) {
    return Status::not_found(root.string() + ": an image-folder data set needs train/ and test/ (or val/) "
                             "sub-folders, each with one folder of images per class — create them or pass "
                             "another --data");
  }
  ImageFolderOptions options;
  options.height = options.width = c.resize;
  options.channels = c.channels;
  options.subset = c.subset;
  Result<ImageDataset> train = load_image_folder(root / "train", options);
  if (!train.ok()) return train.status();
  options.height = train->height;
  options.width = train->width;
  options.channels = train->channels;
  options.class_names = train->class_names;
  options.subset = test_subset_to_load(c);
  Result<ImageDataset> test = load_image_folder(test_root, options);
  if (!test.ok()) return test.status();
  return Splits{std::move(*train), std::move(*test)};
}

// With --subset and no --test-subset: the test images that keep the share of
// the training images the subset took (at least one), chosen as --test-subset
// would choose them (a prefix of IDX and CIFAR files, which are shuffled; an
// evenly spread sample of an image folder).
void in_proportion(const TrainConfig& c, const std::string& format, const ImageDataset& train, ImageDataset& test) {
  if (c.subset <= 0 || c.test_subset != 0 || train.images_in_files <= 0) return;
  const double share = static_cast<double>(train.count) / static_cast<double>(train.images_in_files);
  const auto wanted = std::max<int64_t>(1, std::llround(share * static_cast<double>(test.images_in_files)));
  if (wanted >= test.count) return;
  std::vector<int64_t> indices(static_cast<size_t>(wanted));
  for (int64_t i = 0; i < wanted; ++i) indices[i] = format == "folder" ? i * test.count / wanted : i;
  test = select_images(test, indices);
}

}  // namespace

Result<std::string> detect_dataset(const std::string& dir) {
  const fs::path d = dir;
  if (path_exists(d / "train-images-idx3-ubyte.gz") || path_exists(d / "train-images-idx3-ubyte")) return std::string("idx");
  if (path_exists(d / "data_batch_1.bin") || path_exists(d / "cifar-10-batches-bin")) return std::string("cifar10");
  if (path_exists(d / "train.bin") || path_exists(d / "cifar-100-binary")) return std::string("cifar100");
  if (path_exists(d / "train")) return std::string("folder");
  if (!path_exists(d)) {
    return Status::not_found(dir + ": no such folder — pass --data with a data set's folder (Fashion-MNIST: "
                             "`apt-get install dataset-fashion-mnist`)");
  }
  return Status::not_found(dir + ": holds no data set wattlab recognises (IDX train-images-idx3-ubyte[.gz], "
                           "CIFAR-10 data_batch_1.bin, CIFAR-100 train.bin, or an image folder with train/ and "
                           "test/) — pass another --data, or --dataset to say which");
}

Result<TrainData> load_train_data(const TrainConfig& config) {
  TrainData data;
  data.dataset = config.dataset;
  if (data.dataset == "auto") {
    Result<std::string> detected = detect_dataset(config.data_dir);
    if (!detected.ok()) return detected.status();
    data.dataset = *detected;
  }
  if (config.channels != 0 && data.dataset != "folder") {
    return Status::invalid_argument("--channels applies to image folders only; " + config.data_dir + " holds " +
                                    data.dataset + " data — leave --channels out");
  }
  Result<Splits> splits = Status::invalid_argument("--dataset must be auto, idx, cifar10, cifar100 or folder (got \"" +
                                                   config.dataset + "\")");
  if (data.dataset == "idx") splits = load_idx(config);
  if (data.dataset == "cifar10") splits = load_cifar(config, false);
  if (data.dataset == "cifar100") splits = load_cifar(config, true);
  if (data.dataset == "folder") splits = load_folder(config);
  if (!splits.ok()) return splits.status();
  ImageDataset& train = splits->train;
  ImageDataset& test = splits->test;
  if (train.count == 0 || test.count == 0) {
    return Status::corrupt(config.data_dir + ": the training or the test split holds no images — pass another --data");
  }
  in_proportion(config, data.dataset, train, test);
  if (config.resize > 0) {
    resize_images(train, config.resize, config.resize);
    resize_images(test, config.resize, config.resize);
  }
  if (train.height != test.height || train.width != test.width || train.channels != test.channels) {
    auto shape = [](const ImageDataset& d) {
      return std::to_string(d.channels) + "x" + std::to_string(d.height) + "x" + std::to_string(d.width);
    };
    return Status::corrupt(config.data_dir + ": training images are " + shape(train) + " but test images " +
                           shape(test) + " — pass a --data holding one data set, or --resize");
  }
  if (config.val_split > 0) {
    Result<TrainValidationSplit> split = split_train_validation(train, config.val_split, config.seed);
    if (!split.ok()) return split.status();
    data.train = std::move(split->train);
    data.validation = std::move(split->validation);
  } else {
    data.train = std::move(train);
    data.validation.channels = data.train.channels;
    data.validation.height = data.train.height;
    data.validation.width = data.train.width;
    data.validation.num_classes = data.train.num_classes;
  }
  data.test = std::move(test);
  return data;
}

Status validate(const TrainConfig& config, const TrainData& data) {
  const auto channels = static_cast<size_t>(data.train.channels);
  for (const auto& [flag, values] : {std::pair{"--mean", &config.mean}, std::pair{"--std", &config.std}}) {
    if (!values->empty() && values->size() != channels) {
      return Status::invalid_argument(std::string(flag) + " needs one value per channel: " + std::to_string(channels) +
                                      " for these images (got " + std::to_string(values->size()) + ")");
    }
  }
  const int64_t side = std::min(data.train.height, data.train.width);
  return parse_augment(config.augment, config.crop_padding, side).status();
}

}  // namespace wattlab
