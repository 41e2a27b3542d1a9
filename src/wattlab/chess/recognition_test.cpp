#include "wattlab/chess/recognition.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "wattlab/chess/render.h"
#include "wattlab/chess/sampler.h"
#include "wattlab/chess/study.h"
#include "wattlab/train/trainer.h"

namespace wattlab::chess {
namespace {

namespace fs = std::filesystem;

// A square classifier trained for a few seconds on easy renders, shared by the tests.
class RecognitionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("wattlab-chess-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    SquareDataOptions squares;
    squares.boards = 120;
    squares.max_difficulty = 0.3;
    squares.seed = 1;
    auto train = render_square_dataset(squares);
    ASSERT_TRUE(train.ok()) << train.status().message();
    squares.boards = 20;
    squares.seed = 2;
    auto test = render_square_dataset(squares);
    ASSERT_TRUE(test.ok());
    TrainData data;
    data.dataset = "chess-squares";
    data.train = std::move(*train);
    data.test = std::move(*test);
    TrainConfig config;
    config.model = "cnn";
    config.width_multiplier = 0.5;
    config.epochs = 3;
    config.batch_size = 64;
    config.learning_rate = 3e-3;
    TrainFiles files;
    files.model_dir = (*dir_ / "model").string();
    TrainObserver quiet;
    auto trained = train_model(config, data, quiet, files);
    ASSERT_TRUE(trained.ok()) << trained.status().message();
    accuracy_ = trained->epochs.back().accuracy;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string model_dir() { return (*dir_ / "model").string(); }

  static fs::path* dir_;
  static double accuracy_;
};
fs::path* RecognitionTest::dir_ = nullptr;
double RecognitionTest::accuracy_ = 0;

TEST_F(RecognitionTest, SquareDataSetHoldsLabelledCrops) {
  SquareDataOptions o;
  o.boards = 3;
  o.empty_keep = 1;
  auto d = render_square_dataset(o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->count, 3 * 64);
  EXPECT_EQ(d->num_classes, 13);
  EXPECT_EQ(d->class_names[12], "black king");
  EXPECT_EQ(d->pixels.size(), static_cast<size_t>(3 * 64 * 32 * 32));
  // Every board has one king of each colour.
  EXPECT_EQ(std::count(d->labels.begin(), d->labels.end(), 6), 3);
  EXPECT_EQ(std::count(d->labels.begin(), d->labels.end(), 12), 3);
  o.empty_keep = 0;
  EXPECT_EQ(render_square_dataset(o).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(RecognitionTest, RecognisesRenderedBoardsEndToEnd) {
  ASSERT_GT(accuracy_, 0.95) << "the square classifier did not learn";
  auto recogniser = Recogniser::load(model_dir());
  ASSERT_TRUE(recogniser.ok()) << recogniser.status().message();
  const std::vector<Position> positions = sample_random_positions(8, 77);
  int squares_right = 0;
  for (size_t i = 0; i < positions.size(); ++i) {
    RenderOptions render;
    render.difficulty = 0.1;
    render.seed = 500 + i;
    auto board = render_board(positions[i].placement(), render);
    ASSERT_TRUE(board.ok());
    auto r = (*recogniser)->recognise(board->image, Decoder::kConstrained);
    ASSERT_TRUE(r.ok()) << r.status().message();
    for (int s = 0; s < 64; ++s) squares_right += r->placement[s] == positions[i].piece_on(s);
    EXPECT_TRUE(check_placement(r->placement).ok());
  }
  EXPECT_GT(squares_right, 0.97 * 64 * 8);
}

TEST_F(RecognitionTest, TemporalDecodingFollowsAGame) {
  auto recogniser = Recogniser::load(model_dir());
  ASSERT_TRUE(recogniser.ok());
  Position previous = Position::start();
  Position truth = previous;
  for (const char* move : {"e2e4", "c7c5", "g1f3"}) {
    truth = truth.play(*parse_uci(truth, move));
    RenderOptions render;
    render.difficulty = 0.1;
    render.seed = 900 + truth.fullmove_number();
    auto board = render_board(truth.placement(), render);
    ASSERT_TRUE(board.ok());
    auto r = (*recogniser)->recognise(board->image, Decoder::kTemporal, &previous);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->position.has_value()) << r->note;
    EXPECT_EQ(r->position->fen(), truth.fen()) << r->note;
    EXPECT_FALSE(r->fell_back);
    previous = *r->position;
  }
  EXPECT_EQ(Recogniser::decode(ProbabilityGrid{}, Decoder::kTemporal, nullptr).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(RecognitionTest, StudyMeasuresEveryDecoder) {
  StudyOptions o;
  o.model_path = model_dir();
  o.difficulties = {0.1};
  o.repetitions = 1;
  o.games = 1;
  o.plies = 6;
  auto rows = run_chess_study(o);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].decoder, "independent");
  EXPECT_EQ((*rows)[2].decoder, "temporal");
  for (const auto& row : *rows) {
    EXPECT_GE(row.boards, 2);
    EXPECT_EQ(row.latency.count, row.boards);
    EXPECT_GT(row.square_accuracy, 0.9);
    EXPECT_GT(row.locate_ms + row.classify_ms + row.decode_ms, 0);
  }
  EXPECT_EQ(parse_decoder("temporal").value(), Decoder::kTemporal);
  EXPECT_FALSE(parse_decoder("psychic").ok());
}

}  // namespace
}  // namespace wattlab::chess
