// Chess-position recognition from a board image: find the board, cut out its
// 64 squares, classify each into 13 classes with a model trained by
// wattlab's trainer on rendered squares, then decode (decode.h). The API is
// free of LibTorch (the classifier lives in infer/).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/chess/decode.h"
#include "wattlab/chess/image.h"
#include "wattlab/chess/localise.h"
#include "wattlab/core/status.h"
#include "wattlab/infer/classifier.h"
#include "wattlab/train/image_dataset.h"

namespace wattlab::chess {

// Square crops: grey, kSquarePx x kSquarePx, the square and a margin of
// kSquareMargin of its side around it.
inline constexpr int kSquarePx = 32;
inline constexpr double kSquareMargin = 0.08;

// The 13 class names, in Piece order: "empty", "white pawn", ...
std::vector<std::string> square_class_names();

struct SquareDataOptions {
  int boards = 1000;             // boards rendered
  uint64_t seed = 1;             // positions (random legal games) and renders
  double min_difficulty = 0;     // each board's difficulty is uniform in [min, max]
  double max_difficulty = 1;
  std::vector<std::string> fonts;  // render_board's fonts; empty: dejavu and freeserif
  // Share of empty squares kept (they are most of a board; the rest would
  // drown the pieces), in (0, 1].
  double empty_keep = 0.4;
};

// Renders `options.boards` positions and cuts out their squares where
// locate_board finds them (as recognition will), labelled with the square's
// class: a data set of 1 x kSquarePx x kSquarePx images of 13 classes.
// Errors: render_board's; Internal when a rendered board is not found.
Result<ImageDataset> render_square_dataset(const SquareDataOptions& options);

enum class Decoder { kIndependent, kConstrained, kTemporal };
const char* decoder_name(Decoder decoder);  // "independent", "constrained", "temporal"
// InvalidArgument listing the names for anything else.
Result<Decoder> parse_decoder(const std::string& name);

struct Recognition {
  BoardLocation location;
  ProbabilityGrid probabilities{};
  Placement placement{};
  std::optional<Position> position;  // temporal decoding only: the position reached
  bool fell_back = false;            // temporal decoding only: no candidate fitted (TemporalResult)
  std::string note;                  // the decoder's: the move found, a fallback, an unsatisfied search
};

// A square classifier and the pipeline around it. Each stage is a method of
// its own so that benchmarks can time them apart.
class Recogniser {
 public:
  // The classifier in `model_path` (a folder with model.json and model.pt,
  // as `wattlab chess train` leaves in its run), which must take
  // 1 x kSquarePx x kSquarePx images of 13 classes. Errors: SavedClassifier::load's;
  // InvalidArgument for another input shape or class count.
  static Result<std::unique_ptr<Recogniser>> load(const std::string& model_path, const std::string& device = "cpu");

  SavedClassifier& classifier() { return *classifier_; }

  // Pre-processing: locate the board in `image` (RGB or grey) and cut out
  // its squares into `crops` (resized to 64 x kSquarePx x kSquarePx).
  Status locate(const Image& image, BoardLocation* location, std::vector<uint8_t>* crops) const;
  // The model: the 64 squares' class probabilities.
  Status classify(const std::vector<uint8_t>& crops, ProbabilityGrid* probabilities);
  // Post-processing: the placement by `decoder`; `previous` is needed by
  // kTemporal (InvalidArgument without it) and ignored by the others.
  static Result<Recognition> decode(const ProbabilityGrid& probabilities, Decoder decoder, const Position* previous);

  // All three stages.
  Result<Recognition> recognise(const Image& image, Decoder decoder, const Position* previous = nullptr);

 private:
  explicit Recogniser(std::unique_ptr<SavedClassifier> classifier) : classifier_(std::move(classifier)) {}
  std::unique_ptr<SavedClassifier> classifier_;
};

}  // namespace wattlab::chess
