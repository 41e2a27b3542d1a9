#include "wattlab/chess/recognition.h"

#include <random>

#include "wattlab/chess/render.h"
#include "wattlab/chess/sampler.h"

namespace wattlab::chess {

std::vector<std::string> square_class_names() {
  std::vector<std::string> names;
  for (int c = 0; c < kPieceClasses; ++c) names.push_back(piece_name(static_cast<Piece>(c)));
  return names;
}

Result<ImageDataset> render_square_dataset(const SquareDataOptions& options) {
  if (options.boards < 1) return Status::invalid_argument("rendering squares needs at least one board");
  if (!(options.min_difficulty >= 0 && options.max_difficulty <= 1 && options.min_difficulty <= options.max_difficulty))
    return Status::invalid_argument("the difficulty range must lie within [0, 1]");
  if (!(options.empty_keep > 0 && options.empty_keep <= 1)) return Status::invalid_argument("empty_keep must be in (0, 1]");
  ImageDataset data;
  data.channels = 1;
  data.height = data.width = kSquarePx;
  data.num_classes = kPieceClasses;
  data.class_names = square_class_names();
  const std::vector<Position> positions = sample_random_positions(options.boards, options.seed);
  std::mt19937_64 rng(options.seed ^ 0x5eed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<uint8_t> crops(64 * kSquarePx * kSquarePx);
  const size_t crop_bytes = kSquarePx * kSquarePx;
  for (int b = 0; b < options.boards; ++b) {
    RenderOptions render;
    render.difficulty = options.min_difficulty + unit(rng) * (options.max_difficulty - options.min_difficulty);
    render.seed = options.seed * 1000003 + static_cast<uint64_t>(b);
    render.fonts = options.fonts;
    auto board = render_board(positions[b].placement(), render);
    if (!board.ok()) return board.status();
    const Image grey = to_grey(board->image);
    auto location = locate_board(grey);
    if (!location.ok())
      return Status::internal("rendered board " + std::to_string(b) + " was not found: " + location.status().message());
    extract_squares(grey, *location, kSquarePx, kSquareMargin, crops.data());
    for (int s = 0; s < 64; ++s) {
      const Piece p = positions[b].piece_on(s);
      if (p == kEmpty && unit(rng) >= options.empty_keep) continue;
      data.pixels.insert(data.pixels.end(), crops.begin() + s * crop_bytes, crops.begin() + (s + 1) * crop_bytes);
      data.labels.push_back(p);
      ++data.count;
    }
  }
  return data;
}

const char* decoder_name(Decoder decoder) {
  switch (decoder) {
    case Decoder::kIndependent: return "independent";
    case Decoder::kConstrained: return "constrained";
    case Decoder::kTemporal: return "temporal";
  }
  return "?";
}

Result<Decoder> parse_decoder(const std::string& name) {
  for (Decoder d : {Decoder::kIndependent, Decoder::kConstrained, Decoder::kTemporal})
    if (name == decoder_name(d)) return d;
  return Status::invalid_argument("unknown decoder \"" + name + "\" (independent, constrained or temporal)");
}

Result<std::unique_ptr<Recogniser>> Recogniser::load(const std::string& model_path, const std::string& device) {
  auto classifier = SavedClassifier::load(model_path, device);
  if (!classifier.ok()) return classifier.status();
  const SavedModelInfo& info = (*classifier)->info();
  if (info.channels != 1 || info.height != kSquarePx || info.width != kSquarePx || info.num_classes != kPieceClasses) {
    return Status::invalid_argument("the model in " + (*classifier)->directory() + " takes " +
                                    std::to_string(info.channels) + "x" + std::to_string(info.height) + "x" +
                                    std::to_string(info.width) + " images of " + std::to_string(info.num_classes) +
                                    " classes; a square classifier takes 1x32x32 of 13 (train one with wattlab chess train)");
  }
  return std::unique_ptr<Recogniser>(new Recogniser(std::move(*classifier)));
}

Status Recogniser::locate(const Image& image, BoardLocation* location, std::vector<uint8_t>* crops) const {
  const Image grey = to_grey(image);
  auto found = locate_board(grey);
  if (!found.ok()) return found.status();
  *location = *found;
  crops->resize(64 * kSquarePx * kSquarePx);
  extract_squares(grey, *location, kSquarePx, kSquareMargin, crops->data());
  return Status();
}

Status Recogniser::classify(const std::vector<uint8_t>& crops, ProbabilityGrid* probabilities) {
  if (crops.size() != 64 * kSquarePx * kSquarePx) return Status::invalid_argument("classify needs the 64 squares' crops");
  return classifier_->predict(crops.data(), 64, &(*probabilities)[0][0]);
}

Result<Recognition> Recogniser::decode(const ProbabilityGrid& probabilities, Decoder decoder, const Position* previous) {
  Recognition r;
  r.probabilities = probabilities;
  switch (decoder) {
    case Decoder::kIndependent:
      r.placement = decode_independent(probabilities);
      break;
    case Decoder::kConstrained: {
      ConstrainedResult c = decode_constrained(probabilities);
      r.placement = c.placement;
      if (!c.satisfied) r.note = "no placement obeying the static rules was found; the independent reading is returned";
      else if (c.squares_changed > 0) r.note = std::to_string(c.squares_changed) + " square(s) changed to obey the static rules";
      break;
    }
    case Decoder::kTemporal: {
      if (previous == nullptr)
        return Status::invalid_argument("the temporal decoder needs the previous position (--previous FEN)");
      TemporalResult t = decode_temporal(probabilities, *previous);
      r.placement = t.placement;
      r.position = t.position;
      r.fell_back = t.fell_back;
      r.note = t.note;
      break;
    }
  }
  return r;
}

Result<Recognition> Recogniser::recognise(const Image& image, Decoder decoder, const Position* previous) {
  BoardLocation location;
  std::vector<uint8_t> crops;
  WATTLAB_RETURN_IF_ERROR(locate(image, &location, &crops));
  ProbabilityGrid probabilities;
  WATTLAB_RETURN_IF_ERROR(classify(crops, &probabilities));
  auto r = decode(probabilities, decoder, previous);
  if (r.ok()) r->location = location;
  return r;
}

}  // namespace wattlab::chess
